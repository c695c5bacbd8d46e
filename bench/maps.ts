/**
 * Attribution maps against their goals, in one run:
 * - per slice, each method's time as a multiple of one inference (goal: saliency, guided
 *   backpropagation and SAM each at most 3x);
 * - all five paper maps for a 100-slice 512x512 series, from preprocessing to maps on the CT
 *   grid (goal: at most 10 s);
 * - saliency against the PyTorch peer tuned (bench/peer.py; goal: on par), where python3-torch exists.
 */
import * as tf from '@tensorflow/tfjs';
import { METHODS, PAPER_METHODS, PhaseGraph } from '../server/src/attribution/index';
import { explainSeries } from '../server/src/attribution/explain-series';
import { selectBackend } from '../server/src/model/inference/backend';
import { generateCase } from '../server/src/phantom/render';
import { BENCH_CASE } from './fixtures';
import { timeMedian, writeResult } from './common';
import { peerNumber, pytorchPeer } from './peers';
import { benchModel } from './model-fixture';

const BATCH = 16;

async function main(): Promise<void> {
  const backend = await selectBackend();
  const { model } = await benchModel();
  const graph = new PhaseGraph(model.network);
  const x = tf.randomUniform([BATCH, 128, 128, 3]) as tf.Tensor4D;
  const run = async (f: () => tf.Tensor): Promise<void> => {
    const t = tf.tidy(f);
    await t.data();
    t.dispose();
  };
  // One inference as classification runs it (the folded graph), the unit of the goal.
  await run(() => graph.probabilities(x));
  const inference = await timeMedian(7, () => run(() => graph.probabilities(x)));
  const perSlice: Record<string, { msPerSlice: number; timesInference: number }> = {};
  for (const [name, method] of Object.entries(METHODS)) {
    const repeats = ['occlusion', 'integrated-gradients', 'smoothgrad'].includes(name) ? 1 : 5;
    await run(() => method.explain(graph, x, 1));
    const t = await timeMedian(repeats, () => run(() => method.explain(graph, x, 1)));
    perSlice[name] = { msPerSlice: t.ms / BATCH, timesInference: t.ms / inference.ms };
    console.log(
      `${name}: ${(t.ms / BATCH).toFixed(1)} ms/slice, ${(t.ms / inference.ms).toFixed(2)}x inference`,
    );
  }
  x.dispose();
  graph.dispose();

  const c = await generateCase('bench-maps', 2, BENCH_CASE);
  const methods = PAPER_METHODS.map((m) => METHODS[m]);
  const series = await timeMedian(3, () => explainSeries(model, c.series, { methods }));

  // The peer's saliency is the strongest of its variants (channels_last or not), one thread.
  const peer = pytorchPeer();
  const saliencyMs = perSlice.saliency.msPerSlice;
  const within3x = (m: string): boolean => perSlice[m].timesInference <= 3;
  const result = {
    backend,
    inferenceMsPerSlice: inference.ms / BATCH,
    methods: perSlice,
    paperMapsFor100x512Series: { ms: series.ms, runs: series.runs, goalMs: 10000 },
    peer,
    goals: {
      saliencyWithin3xInference: within3x('saliency'),
      guidedWithin3xInference: within3x('guided'),
      samWithin3xInference: within3x('sam'),
      paperMapsWithin10s: series.ms <= 10000,
      saliencyRatioToPeer:
        peerNumber(peer, 'saliencyMsPerSlice') === null
          ? null
          : saliencyMs / (peerNumber(peer, 'saliencyMsPerSlice') as number),
    },
  };
  const file = await writeResult('maps', result);
  console.log(
    JSON.stringify(result.goals),
    `five maps for 100 slices: ${series.ms.toFixed(0)} ms -> ${file}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
