import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { filesOf } from './fixtures/files';
import { startOrthanc, type OrthancServer } from './fixtures/orthanc';
import { startTestService } from './fixtures/service';
import { DicomWebClient } from '../server/src/dicomweb/client';
import { selectBackend } from '../server/src/model/inference/backend';
import { generateCase } from '../server/src/phantom/render';
import { writeCtSeries } from '../server/src/series/write-ct';
import type { RunningService } from '../server/src/service/server';

/** Pass-through mode: a stored result is read only with credentials the PACS accepts for it. */
describe('pass-through authentication against a real Orthanc', () => {
  let orthanc: OrthancServer;
  let service: RunningService;
  let work: string;
  let study = '';
  let series = '';
  const basic = (user: string, password: string): string =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  beforeAll(async () => {
    await selectBackend(() => undefined);
    orthanc = await startOrthanc();
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-pass-'));
    const c = await generateCase('passthrough', 1, { matrix: 96, slices: 16 });
    await writeCtSeries(c.series, work);
    await new DicomWebClient({
      url: orthanc.dicomWeb,
      auth: { username: orthanc.username, password: orthanc.password },
    }).storeInstances(await filesOf(work));
    study = c.series.studyInstanceUid;
    series = c.series.seriesInstanceUid;
    service = await startTestService(orthanc, 'unused-token-of-16+', {
      PHASELENS_AUTH: 'passthrough',
      PHASELENS_WRITE_BACK: 'false',
    });
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    await orthanc?.stop();
    if (work) await fs.rm(work, { recursive: true, force: true });
  });

  it("another caller's result is not shown to credentials the PACS refuses", async () => {
    const good = basic(orthanc.username, orthanc.password);
    const bad = basic(orthanc.username, 'not-the-password');
    const posted = await fetch(`${service.url}/api/v1/analyses`, {
      method: 'POST',
      headers: { Authorization: good, 'Content-Type': 'application/json' },
      body: JSON.stringify({ studyInstanceUid: study, seriesInstanceUid: series, maps: [] }),
    });
    expect(posted.status).toBe(202);
    const { id } = (await posted.json()) as { id: string };
    await service.queue.idle();
    const asGood = await fetch(`${service.url}/api/v1/series/${series}/phase`, {
      headers: { Authorization: good },
    });
    expect(asGood.status).toBe(200);
    for (const route of [
      `/api/v1/series/${series}/phase`,
      `/api/v1/analyses/${id}`,
      `/api/v1/analyses/${id}/events`,
    ]) {
      const res = await fetch(`${service.url}${route}`, { headers: { Authorization: bad } });
      const body = (await res.json()) as { error: string; analysisId?: string };
      expect({ route, status: res.status }).toEqual({ route, status: 401 });
      expect(body.error).toBe('the PACS does not let these credentials read this series');
      expect(JSON.stringify(body)).not.toContain(study);
    }
  }, 120_000);

  it('stopping: no new analyses (503 with Retry-After) and not ready, while it drains', async () => {
    const good = basic(orthanc.username, orthanc.password);
    service.drain();
    const posted = await fetch(`${service.url}/api/v1/analyses`, {
      method: 'POST',
      headers: { Authorization: good, 'Content-Type': 'application/json' },
      body: JSON.stringify({ studyInstanceUid: study, seriesInstanceUid: series, maps: [] }),
    });
    expect(posted.status).toBe(503);
    expect(posted.headers.get('retry-after')).toBe('30');
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { status: string }).status).toBe('stopping');
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });
});
