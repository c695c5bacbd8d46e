/**
 * The service while analyses compute in their own processes, against a real Orthanc:
 * - /healthz latency (median, p99, worst) while a five-map analysis of a 300-slice 512x512
 *   series runs, written back (goal: p99 at most 100 ms);
 * - peak memory (VmHWM) of the analysis process for one analysis of a 100-, a 300- and a
 *   600-slice 512x512 series with the five default maps, written back to the PACS as the viewer
 *   asks (goal: flat, the 600-slice peak within 1.1x the 100-slice one, and at most 1 GB);
 * - throughput of 12 small analyses with PHASELENS_CONCURRENCY 1 and 2, against the same
 *   analyses back to back through the library in this process (goal: concurrency 2 at least
 *   1.5x concurrency 1 on two cores).
 */
import { loadPhaseModel } from '../server/src/model/inference/phase-model';
import { generateCase } from '../server/src/phantom/render';
import { analysisRunner } from '../server/src/service/analysis';
import type { Job } from '../server/src/service/jobs';
import type { RunningService } from '../server/src/service/server';
import { startOrthanc, type OrthancServer } from '../test/fixtures/orthanc';
import { startTestService } from '../test/fixtures/service';
import { storeSeries } from '../test/fixtures/store';
import { analysisProcessPeaksMiB, writeResult } from './common';

const TOKEN = 'bench-token-0123456789abcdef';
const FIVE = ['cam', 'gradcam', 'saliency', 'guided', 'sam'];

async function store(
  orthanc: OrthancServer,
  seed: string,
  slices: number,
  matrix: number,
  sliceThickness = 0.5,
): Promise<{ study: string; series: string }> {
  // Thin slices for the long series (0.5 mm, so 600 fit a chest-to-pelvis range); the short
  // ones at 5 mm, so they still span the abdomen.
  const c = await generateCase(seed, 0, {
    matrix,
    slices,
    sliceThickness,
    range: sliceThickness < 2 ? 'chest-to-pelvis' : 'abdomen-pelvis',
  });
  if (c.series.slices !== slices)
    throw new Error(`${seed}: the phantom has ${c.series.slices} slices, not ${slices}`);
  await storeSeries(orthanc, c.series);
  return { study: c.series.studyInstanceUid, series: c.series.seriesInstanceUid };
}

async function analyse(
  service: RunningService,
  s: { study: string; series: string },
  maps: string[],
  writeBack = false,
): Promise<string> {
  const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
  const res = await fetch(`${service.url}/api/v1/analyses`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      studyInstanceUid: s.study,
      seriesInstanceUid: s.series,
      maps,
      writeBack,
    }),
  });
  const { id } = (await res.json()) as { id: string };
  for (;;) {
    const view = (await (
      await fetch(`${service.url}/api/v1/analyses/${id}`, { headers })
    ).json()) as { state: string; error?: string };
    if (view.state === 'done') return view.state;
    if (view.state === 'failed') throw new Error(`analysis failed: ${view.error}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<void> {
  // Orthanc stops however the measurement ends (a failed analysis left it running before).
  const orthanc = await startOrthanc();
  try {
    await measure(orthanc);
  } finally {
    await orthanc.stop();
  }
}

async function measure(orthanc: OrthancServer): Promise<void> {
  const result: Record<string, unknown> = {};

  // Memory per series length, and /healthz during the 300-slice analysis.
  const memory: Record<string, number> = {};
  for (const slices of [100, 300, 600]) {
    const s = await store(orthanc, `isolation-${slices}`, slices, 512);
    const service = await startTestService(orthanc, TOKEN, {
      PHASELENS_DEFAULT_MAPS: FIVE.join(','),
    });
    const latencies: number[] = [];
    let running = true;
    const probe = (async () => {
      while (running) {
        const t = performance.now();
        await fetch(`${service.url}/healthz`);
        latencies.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const t0 = Date.now();
    await analyse(service, s, FIVE, true);
    const ms = Date.now() - t0;
    running = false;
    await probe;
    memory[`${slices} slices`] = Math.max(...analysisProcessPeaksMiB());
    await service.close();
    if (slices === 300) {
      latencies.sort((a, b) => a - b);
      const at = (q: number): number =>
        Number(
          latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1),
        );
      result.healthz = {
        during: `five-map analysis of a 300-slice 512x512 series, written back (${ms} ms)`,
        probes: latencies.length,
        medianMs: at(0.5),
        p99Ms: at(0.99),
        worstMs: at(1),
        goal: { p99AtMostMs: 100, met: at(0.99) <= 100 },
      };
    }
  }
  const peak = Math.max(...Object.values(memory));
  // Flat: the longest series' peak within 10% of the shortest's (HU and maps in scratch files).
  const growth = memory['600 slices'] / memory['100 slices'];
  result.analysisPeakMiB = {
    ...memory,
    growth600Over100: Number(growth.toFixed(3)),
    goal: { atMostMiB: 1024, growthAtMost: 1.1, met: peak <= 1024 && growth <= 1.1 },
  };

  // Throughput: 12 small analyses, concurrency 1 and 2, and back to back in this process.
  const small = [];
  for (let i = 0; i < 6; i++) small.push(await store(orthanc, `throughput-${i}`, 24, 128, 5));
  const work = small.flatMap((s) => [
    [s, ['sam']],
    [s, ['gradcam']],
  ]) as [{ study: string; series: string }, string[]][];
  const throughput: Record<string, number> = {};
  for (const concurrency of [1, 2]) {
    const service = await startTestService(orthanc, TOKEN, {
      PHASELENS_CONCURRENCY: String(concurrency),
      PHASELENS_QUEUE_SIZE: '50',
    });
    const t0 = Date.now();
    await Promise.all(work.map(([s, maps]) => analyse(service, s, maps)));
    throughput[`concurrency ${concurrency}`] = Date.now() - t0;
    await service.close();
  }
  const model = await loadPhaseModel();
  const run = analysisRunner(model, orthanc.dicomWeb, {
    username: orthanc.username,
    password: orthanc.password,
  });
  const t1 = Date.now();
  for (const [s, maps] of work)
    await run(
      {
        id: 'direct',
        request: {
          studyInstanceUid: s.study,
          seriesInstanceUid: s.series,
          maps,
          writeBack: false,
        },
      } as Job,
      () => undefined,
    );
  throughput['back to back'] = Date.now() - t1;
  const speedup = throughput['concurrency 1'] / throughput['concurrency 2'];
  result.throughputMs = {
    analyses: work.length,
    ...throughput,
    speedupWithTwo: Number(speedup.toFixed(2)),
    goal: { speedupAtLeast: 1.5, met: speedup >= 1.5 },
  };
  process.stdout.write(`${await writeResult('isolation', result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
