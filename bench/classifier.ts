/**
 * The classifier against its goals and against the runtimes a user would pick instead, measured
 * side by side in one run:
 * - inference ms per slice on wasm, batches of 16 and 1, against ONNX Runtime for Node (one and
 *   two threads) and PyTorch tuned (channels_last, batch norm folded), on the same weights and
 *   slices (bench/peers.ts; the peers report how far their class scores are from PhaseLens's);
 * - a training step of 16 slices on wasm (goal: within 2x of the tuned PyTorch peer), and
 *   training throughput on wasm against the plain-JavaScript cpu backend;
 * - `classify` of a 100-slice 512x512 series from files: in this process (goal: at most 1.5 s,
 *   with its breakdown: read, choose and preprocess slices, inference and decision) and as one
 *   `phaselens classify` process (goal: at most 0.6 s), with the same stages timed in a fresh
 *   process of the built code (bench/classify-stages.cjs: modules, backend, model, read, slices,
 *   cold inference).
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../server/src/model/inference/backend';
import {
  classifySlices,
  classifyWithModel,
  decisionSlices,
  graphOf,
} from '../server/src/model/inference/classify';
import { buildPhaseNetwork } from '../server/src/model/inference/network';
import { generateCase } from '../server/src/phantom/render';
import { BENCH_CASE } from './fixtures';
import { writePhantomCase } from '../server/src/phantom/write-case';
import { readSeries } from '../server/src/series/read-series';
import { median, timeMedian, writeResult } from './common';
import { benchModel } from './model-fixture';
import { onnxRuntimePeer, peerNumber, pytorchPeer, writePeerNetwork } from './peers';

const CLASSIFY_GOAL_MS = 1500;
const CLASSIFY_CLI_GOAL_MS = 600;
const ROOT = path.join(__dirname, '..');

/** bench/classify-stages.cjs run `repeats` times on a series: the median of each stage. */
function processStages(repeats: number, seriesDir: string): Record<string, number> {
  const runs = Array.from(
    { length: repeats },
    () =>
      JSON.parse(
        execFileSync(process.execPath, [path.join(__dirname, 'classify-stages.cjs'), seriesDir], {
          cwd: ROOT,
          encoding: 'utf8',
        }),
      ) as Record<string, number>,
  );
  return Object.fromEntries(Object.keys(runs[0]).map((k) => [k, median(runs.map((r) => r[k]))]));
}

/** Wall time of a fresh Node process running `args`, median of `repeats`. */
async function processMs(repeats: number, args: string[]): Promise<number> {
  const { ms } = await timeMedian(repeats, async () => {
    execFileSync(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
  });
  return ms;
}

async function trainingStepMs(batch: number, repeats: number): Promise<number> {
  const network = buildPhaseNetwork(1);
  network.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const x = tf.randomUniform([batch, 128, 128, 3]);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % 4),
      'int32',
    ),
    4,
  );
  await network.trainOnBatch(x, y);
  const { ms } = await timeMedian(repeats, () => network.trainOnBatch(x, y));
  tf.dispose([x, y]);
  network.dispose();
  return ms;
}

async function inferenceMs(model: Parameters<typeof graphOf>[0], batch: number): Promise<number> {
  // Inference as classification runs it: the folded graph (batch norm in fused convolutions).
  const graph = graphOf(model);
  const x = tf.randomUniform([batch, 128, 128, 3]) as tf.Tensor4D;
  for (let i = 0; i < 2; i++) tf.tidy(() => graph.probabilities(x)).dispose();
  const { ms } = await timeMedian(batch === 1 ? 25 : 9, async () => {
    const p = tf.tidy(() => graph.probabilities(x));
    await p.data();
    p.dispose();
  });
  x.dispose();
  return ms / batch;
}

async function main(): Promise<void> {
  const backend = await selectBackend();
  const { model, shipped } = await benchModel();
  const members = model.members?.length ?? 1;
  const inference16 = await inferenceMs(model, 16);
  const inference1 = await inferenceMs(model, 1);
  const wasmStep = await trainingStepMs(16, 5);
  // The cpu backend is hundreds of times slower: one step of 4 slices is enough to compare.
  await tf.setBackend('cpu');
  const cpuStep = await trainingStepMs(4, 1);
  await tf.setBackend(backend);

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-classify-bench-'));
  const c = await generateCase('bench-classify', 1, BENCH_CASE);
  const written = await writePhantomCase(c, dir, false);
  const seriesDir = path.join(dir, written.path);
  await classifyWithModel(model, await readSeries(seriesDir));
  const classify = await timeMedian(5, async () =>
    classifyWithModel(model, await readSeries(seriesDir)),
  );
  // Where the time goes, stage by stage, on the same series.
  const series = await readSeries(seriesDir);
  const slices = decisionSlices(series);
  const breakdown = {
    readMs: (await timeMedian(5, () => readSeries(seriesDir))).ms,
    chooseAndPreprocessMs: (await timeMedian(5, async () => decisionSlices(series))).ms,
    slicesUsed: slices.length,
    inferenceAndDecisionMs: (await timeMedian(5, () => classifySlices(model, series, slices))).ms,
    members,
  };
  const cli = path.join(ROOT, 'server', 'bin', 'phaselens.js');
  const cliProcess = {
    ms: await processMs(3, [cli, 'classify', seriesDir]),
    nodeStartMs: await processMs(5, ['-e', '0']),
    // The same work in a fresh process of the built code, stage by stage (medians of three).
    stages: processStages(3, seriesDir),
  };

  const peerDir = path.join(dir, 'peers');
  await writePeerNetwork(model, slices, peerDir);
  const torch = pytorchPeer(peerDir);
  const ort = onnxRuntimePeer(peerDir);
  await fs.rm(dir, { recursive: true, force: true });

  const ort1 = peerNumber(ort, 'threads1', 'batch16MsPerSlice');
  const ort1b1 = peerNumber(ort, 'threads1', 'batch1MsPerSlice');
  const torchInference = peerNumber(torch, 'inferenceMsPerSlice');
  const torchStep = peerNumber(torch, 'trainingStepMs16');
  const strongestInference = [ort1, torchInference].filter((v): v is number => v !== null);
  const best = strongestInference.length ? Math.min(...strongestInference) : null;
  const ratio = (a: number, b: number | null): number | null => (b === null ? null : a / b);
  const result = {
    backend,
    model: shipped
      ? `${model.metadata.name} ${model.metadata.version} (${members} networks; per-slice times are one network's)`
      : 'untrained (no shipped model)',
    inference: { batch16MsPerSlice: inference16, batch1MsPerSlice: inference1 },
    trainingStep: {
      wasmMs16: wasmStep,
      wasmSlicesPerSecond: 16000 / wasmStep,
      cpuMs4: cpuStep,
      cpuSlicesPerSecond: 4000 / cpuStep,
      wasmOverCpuThroughput: 16000 / wasmStep / (4000 / cpuStep),
    },
    classify100x512FromFiles: {
      ms: classify.ms,
      runs: classify.runs,
      goalMs: CLASSIFY_GOAL_MS,
      breakdown,
    },
    classifyCliProcess: { ...cliProcess, goalMs: CLASSIFY_CLI_GOAL_MS },
    peers: { pytorch: torch, onnxRuntime: ort },
    goals: {
      classifyAtMost1500Ms: classify.ms <= CLASSIFY_GOAL_MS,
      classifyCliAtMost600Ms: cliProcess.ms <= CLASSIFY_CLI_GOAL_MS,
      inferenceNoSlowerThanStrongestPeer: best === null ? null : inference16 <= best,
      inferenceRatioToOnnxRuntime1Thread: ratio(inference16, ort1),
      inferenceBatch1RatioToOnnxRuntime1Thread: ratio(inference1, ort1b1),
      inferenceRatioToOnnxRuntime2Threads: ratio(
        inference16,
        peerNumber(ort, 'threads2', 'batch16MsPerSlice'),
      ),
      inferenceRatioToTunedPyTorch: ratio(inference16, torchInference),
      trainingStepWithin2xTunedPyTorch: torchStep === null ? null : wasmStep <= 2 * torchStep,
      trainingStepRatioToTunedPyTorch: ratio(wasmStep, torchStep),
    },
  };
  const file = await writeResult('classifier', result);
  console.log(
    JSON.stringify(result.goals),
    `inference ${inference16.toFixed(2)} ms/slice, step ${wasmStep.toFixed(0)} ms, classify ${classify.ms.toFixed(0)} ms (CLI ${cliProcess.ms.toFixed(0)} ms) -> ${file}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
