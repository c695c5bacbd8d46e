// The ONNX Runtime peer (onnxruntime-node, CPU): the PhaseLens network exported by bench/peer.py,
// one and two threads, batches of 16 and 1. Usage: node ort.cjs NETWORK_DIR. Prints one JSON
// object, with the largest difference from PhaseLens's class scores (logits) on the same slices.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ort = require('onnxruntime-node');

const SIZE = 128 * 128;

function nchw(nhwc, batch) {
  const out = new Float32Array(batch * 3 * SIZE);
  for (let b = 0; b < batch; b++)
    for (let p = 0; p < SIZE; p++)
      for (let c = 0; c < 3; c++) out[(b * 3 + c) * SIZE + p] = nhwc[(b * SIZE + p) * 3 + c];
  return out;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function msPerSlice(session, input, batch) {
  const feed = {
    slice: new ort.Tensor('float32', input.subarray(0, batch * 3 * SIZE), [batch, 3, 128, 128]),
  };
  const runs = [];
  for (let i = 0; i < 12; i++) {
    const t = process.hrtime.bigint();
    await session.run(feed);
    if (i >= 3) runs.push(Number(process.hrtime.bigint() - t) / 1e6 / batch);
  }
  return median(runs);
}

async function main() {
  const dir = process.argv[2];
  const raw = fs.readFileSync(path.join(dir, 'input.bin'));
  const nhwc = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const batch = nhwc.length / (3 * SIZE);
  const input = nchw(nhwc, batch);
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'logits.json'), 'utf8'));
  const report = { onnxruntime: require('onnxruntime-node/package.json').version };
  for (const threads of [1, 2]) {
    const session = await ort.InferenceSession.create(path.join(dir, 'network.onnx'), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    if (threads === 1) {
      const { logits } = await session.run({
        slice: new ort.Tensor('float32', input, [batch, 3, 128, 128]),
      });
      let worst = 0;
      for (let b = 0; b < batch; b++)
        for (let c = 0; c < 4; c++)
          // PhaseLens's own NaN logits were written as null: a difference that is not a number.
          worst = Math.max(
            worst,
            expected[b][c] === null ? NaN : Math.abs(logits.data[b * 4 + c] - expected[b][c]),
          );
      // A non-finite difference (NaN logits) is reported as such, not as JSON null.
      report.logitsMaxAbsDifferenceToPhaseLens = Number.isFinite(worst) ? worst : String(worst);
    }
    report[`threads${threads}`] = {
      batch16MsPerSlice: await msPerSlice(session, input, 16),
      batch1MsPerSlice: await msPerSlice(session, input, 1),
    };
    await session.release();
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
