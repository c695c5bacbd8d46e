import { promises as fs } from 'node:fs';
import { buffersOf } from './fixtures/files';
import os from 'node:os';
import path from 'node:path';
import { startTestService } from './fixtures/service';
import { startOrthanc, type OrthancServer } from './fixtures/orthanc';
import { DicomWebClient } from '../server/src/dicomweb/client';
import { generateCase } from '../server/src/phantom/render';
import { writeCtSeries } from '../server/src/series/write-ct';
import type { RunningService } from '../server/src/service/server';
import { PhaseLensClient, ServiceError } from '../extension/src/api';
import { initialState, reduce, type PanelState } from '../extension/src/panel-state';
import type { AnalysisView } from '../extension/src/types';

const TOKEN = 'extension-token-0123456789';

describe('the extension client and panel state against the real service', () => {
  let orthanc: OrthancServer;
  let service: RunningService;
  let study = '';
  let seriesUid = '';

  beforeAll(async () => {
    orthanc = await startOrthanc();
    const c = await generateCase('extension', 1, { matrix: 96, slices: 16, phase: 'delayed' });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-extension-'));
    const files = await writeCtSeries(c.series, dir);
    await new DicomWebClient({
      url: orthanc.dicomWeb,
      auth: { username: orthanc.username, password: orthanc.password },
    }).storeInstances(await buffersOf(files));
    study = c.series.studyInstanceUid;
    seriesUid = c.series.seriesInstanceUid;
    service = await startTestService(orthanc, TOKEN);
  }, 60_000);

  afterAll(async () => {
    await service?.close();
    await orthanc?.stop();
  });

  it('drives the panel from no result, through Analyse and progress, to the phase and the strip', async () => {
    const client = new PhaseLensClient({
      baseUrl: service.url,
      authorization: () => `Bearer ${TOKEN}`,
    });
    let state: PanelState = reduce(initialState, {
      type: 'series-changed',
      seriesInstanceUid: seriesUid,
    });
    const stored = await client.storedPhase(seriesUid);
    state = reduce(state, { type: 'stored-result', seriesInstanceUid: seriesUid, summary: stored });
    expect(state.kind).toBe('idle');
    state = reduce(state, { type: 'analyse', seriesInstanceUid: seriesUid });
    const { id } = await client.analyse(study, seriesUid);
    state = reduce(state, { type: 'accepted', seriesInstanceUid: seriesUid, analysisId: id });
    const seen: AnalysisView[] = [];
    await client.follow(id, (view) => {
      seen.push(view);
      state = reduce(state, { type: 'update', seriesInstanceUid: seriesUid, view });
    });
    expect(seen.length).toBeGreaterThan(1);
    expect(state.kind).toBe('result');
    if (state.kind !== 'result') return;
    expect(state.slices.length).toBeGreaterThan(0);
    const result = reduce(state, { type: 'viewport-slice', index: 8 });
    expect(result).toMatchObject({ kind: 'result', viewportSlice: 8 });
    // Another viewer opening the series later sees the stored result at once.
    const again = await client.storedPhase(seriesUid);
    expect(again?.phase).toBe(state.summary.phase);
  }, 120_000);

  it('turns refusals into failures the panel can explain', async () => {
    const wrong = new PhaseLensClient({
      baseUrl: service.url,
      authorization: () => 'Bearer wrong-token-000000000',
    });
    await expect(wrong.analyse(study, seriesUid)).rejects.toMatchObject({
      failure: { status: 401 },
    });
    const nowhere = new PhaseLensClient({
      baseUrl: 'http://127.0.0.1:9',
      authorization: () => `Bearer ${TOKEN}`,
    });
    const error = await nowhere.analyse(study, seriesUid).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).failure.status).toBeUndefined();
  });
});
