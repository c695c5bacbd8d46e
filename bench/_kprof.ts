import * as tf from '@tensorflow/tfjs';
import { METHODS, PhaseGraph } from '../server/src/attribution/index';
import { selectBackend } from '../server/src/model/backend';
import { benchModel } from './model-fixture';
async function main() {
  await selectBackend();
  const { model } = await benchModel();
  const graph = new PhaseGraph(model.network);
  const x = tf.randomUniform([16, 128, 128, 3]) as tf.Tensor4D;
  const m = process.argv[2] ?? 'saliency';
  for (let i = 0; i < 3; i++) tf.tidy(() => METHODS[m].explain(graph, x, 1)).dispose();
  const agg = new Map<string, number>(); let total = 0;
  for (let r = 0; r < 5; r++) {
    const info = await tf.profile(() => tf.tidy(() => METHODS[m].explain(graph, x, 1)));
    for (const k of info.kernels) { const t = Number(await k.kernelTimeMs); agg.set(k.name, (agg.get(k.name) ?? 0) + t / 5); total += t / 5; }
  }
  console.log('total kernel ms', total.toFixed(1));
  for (const [k, v] of [...agg].sort((a, b) => b[1] - a[1])) console.log(v.toFixed(1).padStart(7), k);
  const t0 = performance.now(); for (let i = 0; i < 5; i++) { const t = tf.tidy(() => METHODS[m].explain(graph, x, 1)); await t.data(); t.dispose(); }
  console.log('wall per batch', ((performance.now() - t0) / 5).toFixed(1));
  const t1 = performance.now(); for (let i = 0; i < 5; i++) { const t = tf.tidy(() => graph.probabilities(x)); await t.data(); t.dispose(); }
  console.log('inference per batch', ((performance.now() - t1) / 5).toFixed(1));
}
main();
