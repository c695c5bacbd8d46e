/**
 * The classifier against its goals, measured side by side in one run:
 * - inference ms per slice on wasm (goal: no slower than the PyTorch peer, one thread);
 * - a training step of 16 slices on wasm (goal: within 2x of the peer), and training throughput
 *   on wasm against the plain-JavaScript cpu backend;
 * - `classify` of a 100-slice 512x512 series from files (goal: at most 1.5 s).
 * The peer (bench/peer.py) runs where Debian's python3-torch is installed.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../server/src/model/inference/backend';
import { classifyWithModel, graphOf } from '../server/src/model/inference/classify';
import { buildPhaseNetwork } from '../server/src/model/inference/network';
import { generateCase } from '../server/src/phantom/render';
import { writePhantomCase } from '../server/src/phantom/write-case';
import { readSeries } from '../server/src/series/read-series';
import { PYTHON, timeMedian, writeResult } from './common';
import { benchModel } from './model-fixture';

const CLASSIFY_GOAL_MS = 1500;

function peer(): Record<string, number | string> | undefined {
  try {
    const out = execFileSync(PYTHON, [path.join(__dirname, 'peer.py')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 600_000,
    });
    return JSON.parse(out.trim().split('\n').pop() as string) as Record<string, number | string>;
  } catch {
    return undefined;
  }
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

async function main(): Promise<void> {
  const backend = await selectBackend();
  const { model, shipped } = await benchModel();
  // Inference as classification runs it: the folded graph (batch norm in fused convolutions).
  const graph = graphOf(model);
  const x = tf.randomUniform([16, 128, 128, 3]) as tf.Tensor4D;
  tf.tidy(() => graph.probabilities(x));
  const inference = await timeMedian(9, async () => {
    const p = tf.tidy(() => graph.probabilities(x));
    await p.data();
    p.dispose();
  });
  x.dispose();
  const wasmStep = await trainingStepMs(16, 5);
  // The cpu backend is hundreds of times slower: one step of 4 slices is enough to compare.
  await tf.setBackend('cpu');
  const cpuStep = await trainingStepMs(4, 1);
  await tf.setBackend(backend);

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-classify-bench-'));
  const c = await generateCase('bench-classify', 1, {
    matrix: 512,
    slices: 100,
    sliceThickness: 2.5,
    range: 'abdomen-pelvis',
  });
  const written = await writePhantomCase(c, dir, false);
  const seriesDir = path.join(dir, written.path);
  await classifyWithModel(model, await readSeries(seriesDir));
  const classify = await timeMedian(5, async () =>
    classifyWithModel(model, await readSeries(seriesDir)),
  );
  await fs.rm(dir, { recursive: true, force: true });

  const p = peer();
  const inferenceMs = inference.ms / 16;
  const result = {
    backend,
    model: shipped
      ? `${model.metadata.name} ${model.metadata.version}`
      : 'untrained (no shipped model)',
    inference: { msPerSlice: inferenceMs, batch: 16, runs: inference.runs },
    trainingStep: {
      wasmMs16: wasmStep,
      wasmSlicesPerSecond: 16000 / wasmStep,
      cpuMs4: cpuStep,
      cpuSlicesPerSecond: 4000 / cpuStep,
      wasmOverCpuThroughput: 16000 / wasmStep / (4000 / cpuStep),
    },
    classify100x512FromFiles: { ms: classify.ms, runs: classify.runs, goalMs: CLASSIFY_GOAL_MS },
    peer: p ?? 'python3-torch not installed: peer not measured',
    goals: {
      classifyAtMost1500Ms: classify.ms <= CLASSIFY_GOAL_MS,
      inferenceNoSlowerThanPeer: p ? inferenceMs <= Number(p.inferenceMsPerSlice) : null,
      trainingStepWithin2xPeer: p ? wasmStep <= 2 * Number(p.trainingStepMs16) : null,
      inferenceRatioToPeer: p ? inferenceMs / Number(p.inferenceMsPerSlice) : null,
      trainingStepRatioToPeer: p ? wasmStep / Number(p.trainingStepMs16) : null,
    },
  };
  const file = await writeResult('classifier', result);
  console.log(
    JSON.stringify(result.goals),
    `inference ${inferenceMs.toFixed(1)} ms/slice, step ${wasmStep.toFixed(0)} ms, classify ${classify.ms.toFixed(0)} ms -> ${file}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
