/**
 * Generating one 100-slice 512x512 synthetic case (goal: at most 3 s on this machine), and writing
 * it as DICOM. The atlas is prepared once per process and timed apart.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadAnatomy } from '../server/src/phantom/anatomy';
import { generateCase } from '../server/src/phantom/render';
import { writePhantomCase } from '../server/src/phantom/write-case';
import { timeMedian, writeResult } from './common';

const GOAL_MS = 3000;

async function main(): Promise<void> {
  const t0 = performance.now();
  await loadAnatomy();
  const anatomyMs = performance.now() - t0;
  const options = {
    matrix: 512,
    slices: 100,
    sliceThickness: 2.5,
    range: 'chest-to-pelvis' as const,
  };
  let index = 0;
  const generate = await timeMedian(5, () => generateCase('bench', index++, options));
  const c = await generateCase('bench', 0, options);
  const out = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-phantom-bench-'));
  const write = await timeMedian(3, () => writePhantomCase(c, out, false));
  await fs.rm(out, { recursive: true, force: true });
  const file = await writeResult('phantom', {
    case: { slices: c.series.slices, rows: c.series.rows, columns: c.series.columns },
    anatomyPreparationMs: anatomyMs,
    generate: { ms: generate.ms, runs: generate.runs, msPerSlice: generate.ms / c.series.slices },
    writeDicomAndLabels: { ms: write.ms, runs: write.runs },
    goal: { generateAtMostMs: GOAL_MS, met: generate.ms <= GOAL_MS },
  });
  console.log(
    `generate ${generate.ms.toFixed(0)} ms (goal <= ${GOAL_MS} ms: ${generate.ms <= GOAL_MS ? 'met' : 'NOT met'}), ` +
      `write ${write.ms.toFixed(0)} ms, atlas once ${anatomyMs.toFixed(0)} ms -> ${file}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
