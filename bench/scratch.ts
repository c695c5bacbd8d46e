/**
 * What keeping a series' HU in scratch files (as the service's analyses do, so that memory does
 * not grow with the series) costs in time, against the same work on the volume in memory, in
 * the same run: a 300-slice 512x512 series with whole-number HU, written slice by slice as the
 * reader does, then the scope check, every slice preprocessed, and every slice read once more
 * for each of five maps' Secondary Captures. Goal: at most 1.2x the in-memory time.
 */
import os from 'node:os';
import { checkScope } from '../server/src/model/inference/scope';
import { preprocessSlice } from '../server/src/model/inference/preprocess';
import { makeDemoSeries } from '../server/src/series/demo-series';
import { sliceView, type CtSeries, type InMemorySeries } from '../server/src/series/types';
import { ScratchSpace } from '../server/src/util/planes';
import { median, writeResult } from './common';

const SLICES = 300;
const MAPS = 5;

/** The work an analysis does on the HU: scope, preprocessing, one read per slice and map. */
function analysisReads(series: CtSeries): number {
  let sum = checkScope(series).abdomenMm;
  for (let s = 0; s < series.slices; s++) sum += preprocessSlice(series, s).bodyAreaMm2;
  for (let m = 0; m < MAPS; m++)
    for (let s = 0; s < series.slices; s++) sum += sliceView(series, s)[s];
  return sum;
}

function inMemory(series: InMemorySeries): number {
  const t = performance.now();
  // The reader's copy into one array, as the in-memory path makes it.
  const hu = Int16Array.from(series.hu);
  analysisReads({ ...series, hu });
  return performance.now() - t;
}

function inScratch(series: InMemorySeries, space: ScratchSpace): number {
  const t = performance.now();
  const plane = series.rows * series.columns;
  const planes = space.planes(Int16Array, series.slices, plane, 'bench');
  for (let s = 0; s < series.slices; s++) {
    const slice = new Int16Array(plane);
    slice.set(series.hu.subarray(s * plane, (s + 1) * plane));
    planes.write(s, slice);
  }
  analysisReads({ ...series, hu: planes });
  const ms = performance.now() - t;
  space.close();
  return ms;
}

async function main(): Promise<void> {
  const demo = makeDemoSeries({ rows: 512, columns: 512, slices: SLICES, seed: 'scratch' });
  const series: InMemorySeries = { ...demo, hu: Int16Array.from(demo.hu, Math.round) };
  const space = new ScratchSpace(os.tmpdir());
  const memory: number[] = [];
  const scratch: number[] = [];
  // Interleaved rounds: the machine's noise falls on both alike.
  for (let round = 0; round < 5; round++) {
    memory.push(inMemory(series));
    scratch.push(inScratch(series, space));
  }
  const ratio = median(scratch) / median(memory);
  process.stdout.write(
    `${await writeResult('scratch', {
      series: `${SLICES} slices of 512x512, 16-bit HU; ${MAPS} maps`,
      inMemoryMs: Number(median(memory).toFixed(1)),
      inScratchMs: Number(median(scratch).toFixed(1)),
      runs: { inMemory: memory.map(Math.round), inScratch: scratch.map(Math.round) },
      ratio: Number(ratio.toFixed(3)),
      goal: { ratioAtMost: 1.2, met: ratio <= 1.2 },
    })}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
