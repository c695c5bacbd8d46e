/**
 * Reading a 100-slice 512x512 CT series from files and from Orthanc over DICOMweb. The peer is
 * curl fetching the same bytes (QIDO, metadata and every frame, same parallelism) from the same
 * Orthanc in the same run; the goal is PhaseLens within 1.5x of it.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startOrthanc } from '../test/fixtures/orthanc';
import { DicomWebClient } from '../server/src/dicomweb/client';
import { readSeries } from '../server/src/series/read-series';
import { makeDemoSeries } from '../server/src/series/demo-series';
import { writeCtSeries } from '../server/src/series/write-ct';
import { median, timeMedian, writeResult } from './common';
import { curlSeriesFetch } from './fixtures';

const SLICES = 100;
const SIZE = 512;
const CONCURRENCY = Number(process.env.PHASELENS_BENCH_CONCURRENCY ?? 6);
const GOAL_RATIO = 1.5;
const REPEATS = 9;

async function main(): Promise<void> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-bench-'));
  const orthanc = await startOrthanc();
  try {
    const series = makeDemoSeries({
      rows: SIZE,
      columns: SIZE,
      slices: SLICES,
      pixelSpacing: 0.7,
      noiseHu: 15,
      seed: 'bench',
    });
    const dir = path.join(work, 'series');
    const files = await writeCtSeries(series, dir);
    const bytes = (await Promise.all(files.map((f) => fs.stat(f)))).reduce((n, s) => n + s.size, 0);
    const pixelBytes = SLICES * SIZE * SIZE * 2;

    const fromFiles = await timeMedian(5, () => readSeries(dir));

    const auth = { username: orthanc.username, password: orthanc.password };
    const client = new DicomWebClient({ url: orthanc.dicomWeb, auth });
    for (let i = 0; i < files.length; i += 20) {
      const batch = await Promise.all(files.slice(i, i + 20).map((f) => fs.readFile(f)));
      await client.storeInstances(
        batch.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)),
      );
    }
    const seriesUrl = `${orthanc.dicomWeb}/studies/${series.studyInstanceUid}/series/${series.seriesInstanceUid}`;
    await readSeries(seriesUrl, { auth }); // warm Orthanc's caches for both sides alike

    // The peer: the same requests with curl, kept-alive and as parallel.
    const curlArgs = await curlSeriesFetch(
      orthanc,
      series,
      path.join(work, 'curl.cfg'),
      CONCURRENCY,
    );
    // Interleaved, so both sides see the same background load; the ratio is of medians.
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      ours.push(
        (await timeMedian(1, () => readSeries(seriesUrl, { auth, concurrency: CONCURRENCY }))).ms,
      );
      theirs.push(
        (await timeMedian(1, async () => execFileSync('curl', curlArgs, { stdio: 'ignore' }))).ms,
      );
    }
    const fromPacs = { ms: median(ours), runs: ours };
    const curl = { ms: median(theirs), runs: theirs };
    const ratio = fromPacs.ms / curl.ms;
    const pairRatios = ours.map((t, i) => t / theirs[i]);

    const file = await writeResult('read-series', {
      series: { slices: SLICES, rows: SIZE, columns: SIZE, fileBytes: bytes },
      files: {
        ms: fromFiles.ms,
        msPerSlice: fromFiles.ms / SLICES,
        mbPerSecond: bytes / 1e6 / (fromFiles.ms / 1000),
        runs: fromFiles.runs,
      },
      orthanc: {
        ms: fromPacs.ms,
        msPerSlice: fromPacs.ms / SLICES,
        mbPerSecond: pixelBytes / 1e6 / (fromPacs.ms / 1000),
        runs: fromPacs.runs,
        concurrency: CONCURRENCY,
      },
      peer: { tool: 'curl --parallel', ms: curl.ms, runs: curl.runs },
      ratioToPeer: ratio,
      medianPairRatio: median(pairRatios),
      goal: { ratioToPeerAtMost: GOAL_RATIO, met: ratio <= GOAL_RATIO },
    });
    console.log(
      `files ${fromFiles.ms.toFixed(0)} ms (${(fromFiles.ms / SLICES).toFixed(2)} ms/slice); ` +
        `Orthanc ${fromPacs.ms.toFixed(0)} ms vs curl ${curl.ms.toFixed(0)} ms: ${ratio.toFixed(2)}x ` +
        `(goal <= ${GOAL_RATIO}x: ${ratio <= GOAL_RATIO ? 'met' : 'NOT met'}) -> ${file}`,
    );
  } finally {
    await orthanc.stop();
    await fs.rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
