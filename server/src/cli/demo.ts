import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeDemoSeries } from '../series/demo-series';
import { readSeries } from '../series/read-series';
import { formatSummary, summarizeSeries } from '../series/summary';
import { writeCtSeries } from '../series/write-ct';
import { parseArgs, stringFlag } from './args';

export const demoUsage = 'phaselens demo [--out DIR]';

/**
 * The built-in demo, no PACS needed: writes a small CT series as DICOM files, reads it back the
 * way any series is read, and prints its summary.
 */
export async function demo(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, { values: ['out'], booleans: [] });
  const dir =
    stringFlag(args, 'out') ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-demo-')));
  const series = makeDemoSeries({
    rows: 128,
    columns: 128,
    slices: 24,
    pixelSpacing: 3,
    noiseHu: 12,
  });
  await writeCtSeries(series, dir);
  out.write(`Wrote a ${series.slices}-slice demo CT series to ${dir}\n\n`);
  const read = await readSeries(dir);
  out.write(`${formatSummary(summarizeSeries(read))}\n\n`);
  out.write('Next: phaselens info <folder | file.nii.gz | DICOMweb series URL>\n');
  return 0;
}
