import { promises as fs } from 'node:fs';
import { filesOf } from './fixtures/files';
import os from 'node:os';
import path from 'node:path';
import { nonCtSeries } from './fixtures/non-ct';
import { startOrthanc, type OrthancServer } from './fixtures/orthanc';
import { DicomWebClient } from '../server/src/dicomweb/client';
import { selectBackend } from '../server/src/model/inference/backend';
import { loadPhaseModel, type PhaseModel } from '../server/src/model/inference/phase-model';
import { generateCase } from '../server/src/phantom/render';
import { ctSliceDatasets, encodePart10, writeCtSeries } from '../server/src/series/write-ct';
import { jsonLogger } from '../server/src/service/log';
import { watchOrthanc, type WatchEvent, type WatcherOptions } from '../server/src/service/watcher';
import type { RunAnalysis } from '../server/src/service/jobs';
import { AnalysisCrashedError } from '../server/src/errors';

describe('the watcher (auto-tagging) against a real Orthanc', () => {
  let orthanc: OrthancServer;
  let model: PhaseModel;
  let work: string;
  const ctUids: string[] = [];

  beforeAll(async () => {
    await selectBackend(() => undefined);
    model = await loadPhaseModel();
    orthanc = await startOrthanc({ StableAge: 1 });
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-watch-'));
    const pacs = new DicomWebClient({
      url: orthanc.dicomWeb,
      auth: { username: orthanc.username, password: orthanc.password },
    });
    for (let i = 0; i < 3; i++) {
      const c = await generateCase('watch', i, { matrix: 64, slices: 12 });
      const dir = path.join(work, `ct-${i}`);
      await writeCtSeries(c.series, dir);
      await pacs.storeInstances(await filesOf(dir));
      ctUids.push(c.series.seriesInstanceUid);
    }
    // A non-CT series: secondary captures (modality OT).
    await pacs.storeInstances(nonCtSeries('watch-ot'));
  }, 120_000);

  afterAll(async () => {
    await orthanc?.stop();
    if (work) await fs.rm(work, { recursive: true, force: true });
  });

  /**
   * Runs the watcher from `cursorFile` until a series with `uid` is decided (or a minute),
   * returning every event; `extra` options (an analysis runner, say) replace the defaults.
   */
  const watchUntil = async (
    cursorFile: string,
    uid: string,
    extra: Partial<WatcherOptions> = {},
  ): Promise<WatchEvent[]> => {
    const events: WatchEvent[] = [];
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), 60_000);
    await watchOrthanc(
      {
        orthancUrl: orthanc.url,
        pacsUrl: orthanc.dicomWeb,
        auth: { username: orthanc.username, password: orthanc.password },
        cursorFile,
        maps: [],
        pollMs: 150,
        signal: stop.signal,
        onSeries: (e) => {
          events.push(e);
          if (e.seriesInstanceUid === uid) stop.abort();
        },
        ...extra,
      },
      model,
      jsonLogger(() => undefined),
    );
    clearTimeout(timer);
    return events;
  };

  it('tags each new CT series once, skips the rest, and survives a crash without losing or repeating', async () => {
    const options = {
      orthancUrl: orthanc.url,
      pacsUrl: orthanc.dicomWeb,
      auth: { username: orthanc.username, password: orthanc.password },
      cursorFile: path.join(work, 'cursor.json'),
      maps: [],
      pollMs: 300,
    };
    const log = jsonLogger(() => undefined);
    // First run: stops ("crashes") right after the first series is tagged.
    const first: WatchEvent[] = [];
    const stopFirst = new AbortController();
    await watchOrthanc(
      {
        ...options,
        signal: stopFirst.signal,
        onSeries: (e) => {
          first.push(e);
          if (e.action === 'analysed') stopFirst.abort();
        },
      },
      model,
      log,
    );
    expect(first.filter((e) => e.action === 'analysed')).toHaveLength(1);
    // The crash came before the cursor was saved: the feed is replayed from the start.
    await fs.rm(options.cursorFile, { force: true });
    const second: WatchEvent[] = [];
    const stopSecond = new AbortController();
    const deadline = setTimeout(() => stopSecond.abort(), 90_000);
    await watchOrthanc(
      {
        ...options,
        signal: stopSecond.signal,
        onSeries: (e) => {
          second.push(e);
          if (second.length >= 4) stopSecond.abort();
        },
      },
      model,
      log,
    );
    clearTimeout(deadline);
    const analysed = [...first, ...second]
      .filter((e) => e.action === 'analysed')
      .map((e) => e.seriesInstanceUid);
    expect([...analysed].sort()).toEqual([...ctUids].sort());
    const skipped = second.filter((e) => e.action === 'skipped').map((e) => e.reason);
    expect(skipped).toEqual(
      expect.arrayContaining([expect.stringMatching(/^already tagged/), 'modality OT']),
    );
    // Three phase reports in the PACS, and the phase as user metadata on each CT series.
    const reports = await orthanc.find('Series', { Modality: 'SR' });
    expect(reports).toHaveLength(3);
    for (const e of [...first, ...second].filter((x) => x.action === 'analysed')) {
      const res = await orthanc.rest('GET', `/series/${e.orthancId}/metadata/PhaseLensPhase`);
      expect(await res.text()).toBe(e.phase);
    }
  }, 180_000);

  it('reconnects when Orthanc restarts, and tags what arrives afterwards', async () => {
    const log: string[] = [];
    const stop = new AbortController();
    const cursorFile = path.join(work, 'cursor-restart.json');
    // Start from the end of the feed: only what arrives from now on.
    const last = (
      (await (await orthanc.rest('GET', '/changes?limit=1&last')).json()) as { Last: number }
    ).Last;
    await fs.writeFile(cursorFile, JSON.stringify({ last }));
    const events: WatchEvent[] = [];
    const watcher = watchOrthanc(
      {
        orthancUrl: orthanc.url,
        pacsUrl: orthanc.dicomWeb,
        auth: { username: orthanc.username, password: orthanc.password },
        cursorFile,
        maps: [],
        pollMs: 200,
        signal: stop.signal,
        onSeries: (e) => {
          events.push(e);
          if (e.action === 'analysed') stop.abort();
        },
      },
      model,
      jsonLogger((line) => log.push(line)),
    );
    await orthanc.halt();
    await new Promise((r) => setTimeout(r, 1500));
    await orthanc.start();
    const c = await generateCase('watch-restart', 0, { matrix: 64, slices: 12 });
    const dir = path.join(work, 'after-restart');
    await writeCtSeries(c.series, dir);
    await new DicomWebClient({
      url: orthanc.dicomWeb,
      auth: { username: orthanc.username, password: orthanc.password },
    }).storeInstances(await filesOf(dir));
    const timer = setTimeout(() => stop.abort(), 60_000);
    await watcher;
    clearTimeout(timer);
    expect(log.join('')).toContain('Orthanc unreachable; retrying');
    expect(log.join('')).toContain('Orthanc reachable again');
    expect(events.filter((e) => e.action === 'analysed').map((e) => e.seriesInstanceUid)).toEqual([
      c.series.seriesInstanceUid,
    ]);
  }, 120_000);

  it('passes over a series whose UID is a path trick, and repairs a tag lost in a crash', async () => {
    // First: every CT series tagged (the first test did it), then one tag lost, as when the
    // watcher dies between storing the report and setting the metadata.
    const [someSeries] = await orthanc.find('Series', { SeriesInstanceUID: ctUids[0] });
    await orthanc.rest('DELETE', `/series/${someSeries}/metadata/PhaseLensPhase`);
    expect(
      (await orthanc.rest('GET', `/series/${someSeries}/metadata/PhaseLensPhase`)).status,
    ).toBe(404);
    const last = (
      (await (await orthanc.rest('GET', '/changes?limit=1&last')).json()) as { Last: number }
    ).Last;
    // A series stored with a UID that would steer a DICOMweb URL elsewhere.
    const c = await generateCase('watch-trick', 0, { matrix: 64, slices: 12 });
    const trick = '1.2.3/../../../../tools/now';
    for (const ds of ctSliceDatasets({ ...c.series, seriesInstanceUid: trick }))
      await orthanc.rest(
        'POST',
        '/instances',
        new Uint8Array(encodePart10(ds, '1.2.840.10008.1.2.1')),
      );
    const cursorFile = path.join(work, 'cursor-trick.json');
    await fs.writeFile(cursorFile, JSON.stringify({ last }));
    const events = await watchUntil(cursorFile, trick);
    expect(events.find((e) => e.seriesInstanceUid === trick)?.reason).toBe(
      'SeriesInstanceUID "1.2.3/../../../../tools/now" is not a DICOM UID',
    );
    // The cursor moved past it.
    expect(JSON.parse(await fs.readFile(cursorFile, 'utf8')).last).toBeGreaterThan(last);
    // From the start of the feed again: the lost tag is set back from the report in the PACS.
    await fs.writeFile(cursorFile, JSON.stringify({ last: 0 }));
    const seen = await watchUntil(cursorFile, ctUids[0]);
    expect(seen.find((e) => e.seriesInstanceUid === ctUids[0])?.reason).toMatch(/^already tagged /);
    const tag = await orthanc.rest('GET', `/series/${someSeries}/metadata/PhaseLensPhase`);
    expect(tag.status).toBe(200);
    expect(await tag.text()).toMatch(
      /^(non-contrast|arterial|portal-venous|delayed|indeterminate)$/,
    );
  }, 150_000);

  it('retries a series while its scratch folder fails, never tagging it failed, and tags it once the folder is back', async () => {
    const last = (
      (await (await orthanc.rest('GET', '/changes?limit=1&last')).json()) as { Last: number }
    ).Last;
    const c = await generateCase('watch-scratch', 0, { matrix: 64, slices: 12 });
    const dir = path.join(work, 'ct-scratch');
    await writeCtSeries(c.series, dir);
    await new DicomWebClient({
      url: orthanc.dicomWeb,
      auth: { username: orthanc.username, password: orthanc.password },
    }).storeInstances(await filesOf(dir));
    const cursorFile = path.join(work, 'cursor-scratch.json');
    await fs.writeFile(cursorFile, JSON.stringify({ last }));
    // The scratch folder is gone (a tmp cleaner, an unmounted disk): every analysis fails.
    const scratchDir = path.join(work, 'scratch-gone');
    const warnings: string[] = [];
    const events: WatchEvent[] = [];
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), 90_000);
    const watching = watchOrthanc(
      {
        orthancUrl: orthanc.url,
        pacsUrl: orthanc.dicomWeb,
        auth: { username: orthanc.username, password: orthanc.password },
        cursorFile,
        maps: [],
        pollMs: 100,
        scratch: { dir: scratchDir, mb: 1024 },
        signal: stop.signal,
        onSeries: (e) => {
          events.push(e);
          if (e.seriesInstanceUid === c.series.seriesInstanceUid) stop.abort();
        },
      },
      model,
      jsonLogger((line) => {
        const entry = JSON.parse(line) as { message: string; error?: string };
        if (entry.message === 'series not decided; will retry' && entry.error)
          warnings.push(entry.error);
      }),
    );
    // Well past the five tries a series that fails on its own gets.
    while (warnings.length < 8 && !stop.signal.aborted) await new Promise((r) => setTimeout(r, 50));
    expect(warnings.slice(0, 8)).toEqual(
      Array(8).fill(
        "the scratch folder (PHASELENS_SCRATCH_DIR) is not usable (ENOENT); the service's administrator must check it",
      ),
    );
    expect(events.filter((e) => e.seriesInstanceUid === c.series.seriesInstanceUid)).toEqual([]);
    await fs.mkdir(scratchDir);
    await watching;
    clearTimeout(timer);
    const decided = events.find((e) => e.seriesInstanceUid === c.series.seriesInstanceUid);
    expect(decided?.action).toBe('analysed');
    const [id] = await orthanc.find('Series', { SeriesInstanceUID: c.series.seriesInstanceUid });
    expect(await (await orthanc.rest('GET', `/series/${id}/metadata/PhaseLensPhase`)).text()).toBe(
      decided?.phase,
    );
  }, 150_000);

  it('passes over a series whose analysis keeps crashing after five tries, tagging it failed, and goes on', async () => {
    const last = (
      (await (await orthanc.rest('GET', '/changes?limit=1&last')).json()) as { Last: number }
    ).Last;
    const pacs = new DicomWebClient({
      url: orthanc.dicomWeb,
      auth: { username: orthanc.username, password: orthanc.password },
    });
    const poison = await generateCase('watch-poison', 0, { matrix: 64, slices: 12 });
    const after = await generateCase('watch-poison', 1, { matrix: 64, slices: 12 });
    for (const [c, name] of [
      [poison, 'ct-poison'],
      [after, 'ct-after-poison'],
    ] as const) {
      await writeCtSeries(c.series, path.join(work, name));
      await pacs.storeInstances(await filesOf(path.join(work, name)));
    }
    const cursorFile = path.join(work, 'cursor-poison.json');
    await fs.writeFile(cursorFile, JSON.stringify({ last }));
    const poisonUid = poison.series.seriesInstanceUid;
    let tries = 0;
    const events = await watchUntil(cursorFile, after.series.seriesInstanceUid, {
      // The analysis process dies on the poison series only (out of memory, say).
      run: async (job) => {
        if (job.request.seriesInstanceUid === poisonUid) {
          tries++;
          throw new AnalysisCrashedError('the analysis process ended with signal SIGKILL');
        }
        return { phase: 'portal-venous' } as Awaited<ReturnType<RunAnalysis>>;
      },
    });
    expect(tries).toBe(5);
    const passed = events.find((e) => e.orthancId && e.reason?.includes('passed over'));
    expect(passed?.action).toBe('skipped');
    expect(passed?.reason).toBe(
      'failed 5 times, passed over: the analysis process ended with signal SIGKILL',
    );
    const [id] = await orthanc.find('Series', { SeriesInstanceUID: poisonUid });
    expect(passed?.orthancId).toBe(id);
    expect(await (await orthanc.rest('GET', `/series/${id}/metadata/PhaseLensPhase`)).text()).toBe(
      'failed',
    );
    // The feed moved on: the series stored after it was decided.
    expect(events.at(-1)?.seriesInstanceUid).toBe(after.series.seriesInstanceUid);
  }, 90_000);
});
