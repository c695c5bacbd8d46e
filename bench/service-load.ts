/**
 * The service under load (loopback only, bounded): 20 concurrent clients submit 100 distinct
 * analyses (10 series x 10 map sets) and follow them to the end, against a real Orthanc. Reports
 * lost or failed jobs, 5xx and 429 counts, peak RSS, series per minute and p95 time to result;
 * then runs the same 100 analyses back to back through the library (what the CLI does) in the same
 * process. Goal: service throughput within 1.2x of back to back.
 */
import { promises as fs } from 'node:fs';
import { buffersOf } from '../test/fixtures/files';
import os from 'node:os';
import path from 'node:path';
import { DicomWebClient } from '../server/src/dicomweb/client';
import { loadPhaseModel } from '../server/src/model/inference/phase-model';
import { generateCase } from '../server/src/phantom/render';
import { writeCtSeries } from '../server/src/series/write-ct';
import { analysisRunner } from '../server/src/service/analysis';
import type { Job } from '../server/src/service/jobs';
import { startOrthanc } from '../test/fixtures/orthanc';
import { startTestService } from '../test/fixtures/service';
import { analysisProcessPeaksMiB, writeResult } from './common';

const CLIENTS = 20;

const MAP_SETS = [
  ['sam'],
  ['cam'],
  ['gradcam'],
  ['saliency'],
  ['guided'],
  ['sam', 'cam'],
  ['sam', 'gradcam'],
  ['cam', 'gradcam'],
  ['saliency', 'guided'],
  ['sam', 'guided'],
];
const TOKEN = 'bench-token-0123456789abcdef';

async function main(): Promise<void> {
  const orthanc = await startOrthanc();
  const auth = { username: orthanc.username, password: orthanc.password };
  const pacs = new DicomWebClient({ url: orthanc.dicomWeb, auth });
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-load-'));
  const series: { study: string; series: string }[] = [];
  for (let i = 0; i < 10; i++) {
    const c = await generateCase('load', i, { matrix: 96, slices: 16 });
    const files = await writeCtSeries(c.series, path.join(work, String(i)));
    await pacs.storeInstances(await buffersOf(files));
    series.push({ study: c.series.studyInstanceUid, series: c.series.seriesInstanceUid });
  }
  const requests = series.flatMap((s) =>
    MAP_SETS.map((maps) => ({
      studyInstanceUid: s.study,
      seriesInstanceUid: s.series,
      maps,
      writeBack: false,
    })),
  );

  const service = await startTestService(orthanc, TOKEN, { PHASELENS_QUEUE_SIZE: '40' });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
  let next = 0;
  let tooMany = 0;
  let serverErrors = 0;
  const latencies: number[] = [];
  const outcomes: string[] = [];
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < requests.length) {
        const request = requests[next++];
        const t0 = Date.now();
        let id: string | undefined;
        while (!id) {
          const res = await fetch(`${service.url}/api/v1/analyses`, {
            method: 'POST',
            headers,
            body: JSON.stringify(request),
          });
          if (res.status >= 500) serverErrors++;
          if (res.status === 429) {
            tooMany++;
            await new Promise((r) =>
              setTimeout(r, Math.min(1000, Number(res.headers.get('retry-after') ?? 1) * 1000)),
            );
            continue;
          }
          id = ((await res.json()) as { id: string }).id;
        }
        for (;;) {
          const res = await fetch(`${service.url}/api/v1/analyses/${id}`, { headers });
          if (res.status >= 500) serverErrors++;
          const view = (await res.json()) as { state: string };
          if (view.state === 'done' || view.state === 'failed') {
            outcomes.push(view.state);
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        latencies.push(Date.now() - t0);
      }
    }),
  );
  const serviceMs = Date.now() - started;
  clearInterval(sampler);
  // Analyses run in their own process: its high-water mark is part of the service's memory.
  const analysisPeakMiB = analysisProcessPeaksMiB();
  await service.close();

  // The same analyses back to back, through the library.
  const model = await loadPhaseModel();
  const run = analysisRunner(model, orthanc.dicomWeb, auth);
  const t1 = Date.now();
  for (const request of requests) await run({ id: 'direct', request } as Job, () => undefined);
  const directMs = Date.now() - t1;
  await orthanc.stop();

  latencies.sort((a, b) => a - b);
  const result = {
    clients: CLIENTS,
    analyses: requests.length,
    done: outcomes.filter((o) => o === 'done').length,
    failed: outcomes.filter((o) => o === 'failed').length,
    lost: requests.length - outcomes.length,
    serverErrors,
    tooManyRequests: tooMany,
    peakRssMiB: Math.round(peakRss / 2 ** 20),
    analysisProcessPeakMiB: analysisPeakMiB,
    service: {
      ms: serviceMs,
      seriesPerMinute: (requests.length / serviceMs) * 60000,
      p95MsToResult: latencies[Math.floor(0.95 * latencies.length)],
    },
    backToBack: { ms: directMs, seriesPerMinute: (requests.length / directMs) * 60000 },
    ratio: serviceMs / directMs,
    goal: { ratioAtMost: 1.2, met: serviceMs / directMs <= 1.2 },
  };
  const file = await writeResult('service-load', result);
  console.log(JSON.stringify(result), '->', file);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
