/**
 * The watcher for archives without a change feed: QIDO-RS polling by study date, against a real
 * Orthanc used only through DICOMweb.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { filesOf } from './fixtures/files';
import { nonCtSeries } from './fixtures/non-ct';
import { startOrthanc, type OrthancServer } from './fixtures/orthanc';
import { DicomWebClient } from '../server/src/dicomweb/client';
import { selectBackend } from '../server/src/model/inference/backend';
import { loadPhaseModel, type PhaseModel } from '../server/src/model/inference/phase-model';
import { generateCase } from '../server/src/phantom/render';
import { writeCtSeries } from '../server/src/series/write-ct';
import { jsonLogger } from '../server/src/service/log';
import { watchQido } from '../server/src/service/qido-watcher';
import { MAX_SERIES_TRIES } from '../server/src/service/watch-common';
import type { RunAnalysis } from '../server/src/service/jobs';
import { AnalysisCrashedError, PacsError } from '../server/src/errors';
import type { WatchEvent } from '../server/src/service/watcher';

// The synthetic studies are dated 2026-01-01 (server/src/series/write-ct.ts).
const STUDY_DAY = new Date('2026-01-01T12:00:00Z');

describe('the QIDO-RS watcher (archives without a change feed) against a real Orthanc', () => {
  let orthanc: OrthancServer;
  let pacs: DicomWebClient;
  let model: PhaseModel;
  let work: string;
  const ctUids: string[] = [];

  const storeCt = async (i: number): Promise<string> => {
    const c = await generateCase('qido', i, { matrix: 64, slices: 12 });
    const dir = path.join(work, `ct-${i}`);
    await writeCtSeries(c.series, dir);
    await pacs.storeInstances(await filesOf(dir));
    return c.series.seriesInstanceUid;
  };

  beforeAll(async () => {
    await selectBackend(() => undefined);
    model = await loadPhaseModel();
    orthanc = await startOrthanc();
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-qido-'));
    pacs = new DicomWebClient({
      url: orthanc.dicomWeb,
      auth: { username: orthanc.username, password: orthanc.password },
    });
    for (let i = 0; i < 2; i++) ctUids.push(await storeCt(i));
    // Not CT: a series of secondary captures in a CT-dated study.
    await pacs.storeInstances(nonCtSeries('qido-ot'));
  }, 120_000);

  afterAll(async () => {
    await orthanc?.stop();
    if (work) await fs.rm(work, { recursive: true, force: true });
  });

  /**
   * Runs the watcher until `enough` says stop (or the timeout), returning what it decided; `run`
   * replaces the analyses where given.
   */
  async function runWatcher(
    stateFile: string,
    enough: (events: WatchEvent[]) => boolean,
    now = STUDY_DAY,
    timeoutMs = 60_000,
    run?: RunAnalysis,
  ): Promise<WatchEvent[]> {
    const events: WatchEvent[] = [];
    const stop = new AbortController();
    const deadline = setTimeout(() => stop.abort(), timeoutMs);
    const idle = setInterval(() => enough(events) && stop.abort(), 200);
    await watchQido(
      {
        pacsUrl: orthanc.dicomWeb,
        auth: { username: orthanc.username, password: orthanc.password },
        stateFile,
        maps: [],
        pollMs: 300,
        now: () => now,
        signal: stop.signal,
        ...(run ? { run } : {}),
        onSeries: (e) => events.push(e),
      },
      model,
      jsonLogger(() => undefined),
    );
    clearTimeout(deadline);
    clearInterval(idle);
    return events;
  }

  it('tags each CT series of recent studies once, and after a restart only what is new', async () => {
    const stateFile = path.join(work, 'state.json');
    const first = await runWatcher(
      stateFile,
      (e) => e.filter((x) => x.action === 'analysed').length >= 2,
    );
    expect(
      first
        .filter((e) => e.action === 'analysed')
        .map((e) => e.seriesInstanceUid)
        .sort(),
    ).toEqual([...ctUids].sort());
    // The phase reports and maps the watcher wrote are not CT: never analysed.
    expect(first.filter((e) => e.action === 'analysed')).toHaveLength(2);

    // Restarted with its state, after a third CT series arrived: only that one is analysed.
    const third = await storeCt(2);
    const second = await runWatcher(stateFile, (e) => e.some((x) => x.action === 'analysed'));
    expect(second.filter((e) => e.action === 'analysed').map((e) => e.seriesInstanceUid)).toEqual([
      third,
    ]);

    // Its state lost (a crash before it was written): every CT series has its report, so none is
    // analysed again.
    await fs.rm(stateFile);
    const third_run = await runWatcher(stateFile, (e) => e.length >= 3);
    expect(third_run.filter((e) => e.action === 'analysed')).toEqual([]);
    expect(third_run.map((e) => e.reason)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^already tagged/)]),
    );
    const reports = await orthanc.find('Series', { Modality: 'SR' });
    expect(reports).toHaveLength(3);
  }, 180_000);

  it('does not look at studies dated outside its window, and forgets series it no longer sees', async () => {
    // A series seen once, still settling, whose study then left the window.
    const stateFile = path.join(work, 'state-later.json');
    await fs.writeFile(
      stateFile,
      JSON.stringify({ decided: {}, pending: { [ctUids[0]]: { instances: 3 } } }),
    );
    const events = await runWatcher(stateFile, () => false, new Date('2026-03-01T12:00:00Z'), 3000);
    expect(events).toEqual([]);
    const state = JSON.parse(await fs.readFile(stateFile, 'utf8')) as { pending: object };
    expect(state.pending).toEqual({});
  }, 90_000);

  it('retries a series while its scratch folder fails, never recording it failed, and tags it once the folder is back', async () => {
    const uid = await storeCt(3);
    const stateFile = path.join(work, 'state-scratch.json');
    const scratchDir = path.join(work, 'scratch-gone');
    const retries: string[] = [];
    const events: WatchEvent[] = [];
    const stop = new AbortController();
    const deadline = setTimeout(() => stop.abort(), 120_000);
    const watching = watchQido(
      {
        pacsUrl: orthanc.dicomWeb,
        auth: { username: orthanc.username, password: orthanc.password },
        stateFile,
        maps: [],
        pollMs: 100,
        now: () => STUDY_DAY,
        scratch: { dir: scratchDir, mb: 1024 },
        signal: stop.signal,
        onSeries: (e) => {
          events.push(e);
          if (e.seriesInstanceUid === uid) stop.abort();
        },
      },
      model,
      jsonLogger((line) => {
        // Whichever series it meets first (a series before this one may be waiting too).
        const entry = JSON.parse(line) as { message: string };
        if (entry.message === 'series not decided; will retry') retries.push(line);
      }),
    );
    // Well past the five tries a series that fails on its own gets.
    while (retries.length < 8 && !stop.signal.aborted) await new Promise((r) => setTimeout(r, 50));
    expect(retries.length).toBeGreaterThanOrEqual(8);
    expect(retries[0]).toContain(
      'the scratch folder (PHASELENS_SCRATCH_DIR) is not usable (ENOENT)',
    );
    // Nothing decided while the folder is gone: no series recorded failed and passed over.
    expect(
      events.filter((e) => e.action !== 'skipped' || !/^already tagged/.test(e.reason ?? '')),
    ).toEqual([]);
    await fs.mkdir(scratchDir);
    await watching;
    clearTimeout(deadline);
    expect(events.find((e) => e.seriesInstanceUid === uid)?.action).toBe('analysed');
  }, 180_000);

  /**
   * Runs the watcher until it decides `uid` (or the timeout) with `analyse` as the analysis of
   * that series (every other series is decided at once); how often `analyse` ran, and its event.
   */
  async function decideWith(
    uid: string,
    stateFile: string,
    analyse: (call: number) => Promise<Awaited<ReturnType<RunAnalysis>>>,
    timeoutMs: number,
  ): Promise<{ calls: number; event: WatchEvent | undefined }> {
    let calls = 0;
    const decided = (events: WatchEvent[]) => events.find((e) => e.seriesInstanceUid === uid);
    const events = await runWatcher(
      stateFile,
      (e) => !!decided(e),
      STUDY_DAY,
      timeoutMs,
      (job) =>
        job.request.seriesInstanceUid === uid
          ? analyse(++calls)
          : Promise.resolve({ phase: 'portal-venous' } as Awaited<ReturnType<RunAnalysis>>),
    );
    return { calls, event: decided(events) };
  }

  it('does not pass a series over for an archive that goes away mid-series more often than a series may fail, and tags it once back', async () => {
    const uid = await storeCt(4);
    // The archive goes down while this series is analysed, more often than a series may fail
    // on its own, for longer than the client's own retries (about 2 s) wait; then it is back.
    const { calls, event } = await decideWith(
      uid,
      path.join(work, 'state-outage.json'),
      async (call) => {
        if (call > MAX_SERIES_TRIES + 1)
          return { phase: 'arterial' } as Awaited<ReturnType<RunAnalysis>>;
        await orthanc.halt();
        setTimeout(() => void orthanc.start(), 2500);
        throw new PacsError('the PACS closed the connection while the series was read');
      },
      150_000,
    );
    expect(calls).toBe(MAX_SERIES_TRIES + 2);
    expect(event).toEqual({ seriesInstanceUid: uid, action: 'analysed', phase: 'arterial' });
  }, 180_000);

  it('passes over a series whose analysis keeps failing while the archive answers, after five tries', async () => {
    const uid = await storeCt(5);
    // The analysis process dies on this series only (out of memory, say); the archive is up.
    const { calls, event } = await decideWith(
      uid,
      path.join(work, 'state-poison.json'),
      () =>
        Promise.reject(new AnalysisCrashedError('the analysis process ended with signal SIGKILL')),
      90_000,
    );
    expect(calls).toBe(MAX_SERIES_TRIES);
    expect(event).toEqual({
      seriesInstanceUid: uid,
      action: 'skipped',
      reason: `failed ${MAX_SERIES_TRIES} times, passed over: the analysis process ended with signal SIGKILL`,
    });
  }, 120_000);
});
