// Where one `phaselens classify` process spends its time, stage by stage, on the built code
// (what users run): loading the modules, starting the compute backend, loading the model,
// reading the series, choosing and preprocessing slices, and the first (cold) inference.
// Usage: node bench/classify-stages.cjs SERIES_DIR. Prints one JSON object (ms).
'use strict';
const since = (t) => Number(process.hrtime.bigint() - t) / 1e6;
const fs = require('node:fs');
const path = require('node:path');
const dist = path.join(__dirname, '..', 'server', 'dist');
// The built code must be that of the sources: a stale build would time other code.
const newest = (dir) =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .reduce(
      (t, e) =>
        Math.max(
          t,
          e.isDirectory()
            ? newest(path.join(dir, e.name))
            : fs.statSync(path.join(dir, e.name)).mtimeMs,
        ),
      0,
    );
const built = fs.existsSync(path.join(dist, 'cli', 'main.js'))
  ? fs.statSync(path.join(dist, 'cli', 'main.js')).mtimeMs
  : 0;
if (built < newest(path.join(__dirname, '..', 'server', 'src'))) {
  process.stderr.write('server/dist is older than server/src: run npm run build first\n');
  process.exit(1);
}
const t0 = process.hrtime.bigint();
let t = t0;
const { selectBackend } = require(`${dist}/model/inference/backend`);
const { loadPhaseModel } = require(`${dist}/model/inference/phase-model`);
const { readSeries } = require(`${dist}/series/read-series`);
const { decisionSlices, classifySlices } = require(`${dist}/model/inference/classify`);
require(`${dist}/cli/classify`);
const stages = { loadModulesMs: since(t) };

async function main() {
  t = process.hrtime.bigint();
  await selectBackend(() => undefined);
  stages.startBackendMs = since(t);
  t = process.hrtime.bigint();
  const model = await loadPhaseModel();
  stages.loadModelMs = since(t);
  t = process.hrtime.bigint();
  const series = await readSeries(process.argv[2]);
  stages.readMs = since(t);
  t = process.hrtime.bigint();
  const slices = decisionSlices(series);
  stages.chooseAndPreprocessMs = since(t);
  t = process.hrtime.bigint();
  await classifySlices(model, series, slices);
  stages.coldInferenceAndDecisionMs = since(t);
  stages.totalInProcessMs = since(t0);
  process.stdout.write(`${JSON.stringify(stages)}\n`);
}
main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
