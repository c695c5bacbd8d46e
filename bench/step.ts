import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../server/src/model/backend';
import { buildPhaseNetwork } from '../server/src/model/network';
(async () => {
  await selectBackend();
  const m = buildPhaseNetwork();
  m.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const x = tf.randomUniform([16, 128, 128, 3]); const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4);
  for (let i = 0; i < 6; i++) { const t = performance.now(); await m.trainOnBatch(x, y); console.log('step', (performance.now() - t).toFixed(0), 'ms'); }
  const t = performance.now(); const p = m.predict(tf.randomUniform([64, 128, 128, 3])) as tf.Tensor; await p.data(); console.log('infer per slice', ((performance.now() - t) / 64).toFixed(1), 'ms');
})();
