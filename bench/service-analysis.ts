/**
 * One warm analysis in the service, without maps or write-back, of a 100-slice 512x512 series
 * read from Orthanc: from the POST to the result, against curl fetching what the analysis reads
 * (the series' instances and metadata and every frame, as parallel) from the same Orthanc.
 * Interleaved rounds; the goal is at most 1.5x (issue #20). The service is polled every 20 ms,
 * so its time includes up to that much waiting.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buffersOf } from '../test/fixtures/files';
import { startOrthanc } from '../test/fixtures/orthanc';
import { startTestService } from '../test/fixtures/service';
import { DicomWebClient } from '../server/src/dicomweb/client';
import { generateCase } from '../server/src/phantom/render';
import { writeCtSeries } from '../server/src/series/write-ct';
import { median, timeMedian, writeResult } from './common';
import { BENCH_CASE, curlSeriesFetch } from './fixtures';

const GOAL_RATIO = 1.5;
const ROUNDS = 7;
const CONCURRENCY = 6;
const TOKEN = 'bench-token-0123456789abcdef';

async function main(): Promise<void> {
  const orthanc = await startOrthanc();
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-analysis-bench-'));
  try {
    const auth = { username: orthanc.username, password: orthanc.password };
    const c = await generateCase('bench-classify', 1, BENCH_CASE);
    const series = c.series;
    const files = await writeCtSeries(series, path.join(work, 'series'));
    const pacs = new DicomWebClient({ url: orthanc.dicomWeb, auth });
    for (let i = 0; i < files.length; i += 20)
      await pacs.storeInstances(await buffersOf(files.slice(i, i + 20)));

    const service = await startTestService(orthanc, TOKEN);
    const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
    const analyse = async (): Promise<string> => {
      const res = await fetch(`${service.url}/api/v1/analyses`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          studyInstanceUid: series.studyInstanceUid,
          seriesInstanceUid: series.seriesInstanceUid,
          maps: [],
          writeBack: false,
        }),
      });
      const { id } = (await res.json()) as { id: string };
      for (;;) {
        const view = (await (
          await fetch(`${service.url}/api/v1/analyses/${id}`, { headers })
        ).json()) as { state: string; result?: { phase: string }; error?: { message: string } };
        if (view.state === 'failed') throw new Error(`analysis failed: ${view.error?.message}`);
        if (view.state === 'done') return view.result?.phase ?? '?';
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    // The peer: what the analysis reads, by curl, kept alive and as parallel.
    const curlArgs = await curlSeriesFetch(
      orthanc,
      series,
      path.join(work, 'curl.cfg'),
      CONCURRENCY,
    );
    const curl = (): void => {
      execFileSync('curl', curlArgs, { stdio: 'ignore' });
    };

    // Warm: the analysis process started, Orthanc's caches filled for both sides alike.
    const phase = await analyse();
    curl();
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      ours.push((await timeMedian(1, analyse)).ms);
      theirs.push((await timeMedian(1, async () => curl())).ms);
    }
    await service.close();
    const ratio = median(ours) / median(theirs);
    const file = await writeResult('service-analysis', {
      series: { slices: series.slices, rows: series.rows, columns: series.columns },
      phase,
      analysis: { ms: median(ours), runs: ours, pollMs: 20 },
      peer: { tool: 'curl --parallel', concurrency: CONCURRENCY, ms: median(theirs), runs: theirs },
      ratioToCurl: ratio,
      goal: { atMost: GOAL_RATIO, met: ratio <= GOAL_RATIO },
    });
    console.log(
      `warm analysis without maps ${median(ours).toFixed(0)} ms, curl ${median(theirs).toFixed(0)} ms (${ratio.toFixed(2)}x; goal ${GOAL_RATIO}x) -> ${file}`,
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
