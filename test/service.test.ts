import { promises as fs } from 'node:fs';
import { filesOf } from './fixtures/files';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import { startOrthanc, type OrthancServer } from './fixtures/orthanc';
import { startProxy } from './fixtures/proxy';
import { derivedUids } from '../server/src/derived/common';
import { loadPhaseModel } from '../server/src/model/inference/phase-model';
import { DicomWebClient } from '../server/src/dicomweb/client';
import { generateCase } from '../server/src/phantom/render';
import { writeCtSeries } from '../server/src/series/write-ct';
import type { ServiceConfig } from '../server/src/service/config';
import { loadConfig, ConfigError } from '../server/src/service/config';
import { openApiDocument } from '../server/src/service/openapi';
import { startService, type RunningService } from '../server/src/service/server';
import { jsonLogger } from '../server/src/service/log';
import type { CtSeries } from '../server/src/series/types';

const TOKEN = 'test-token-0123456789abcdef';
/** The model analyses run with (the shipped one), for the derived UIDs. */
let shippedModel: { name: string; version: string } = { name: '', version: '' };
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addSchema({ ...openApiDocument, $id: 'openapi' });
/** Validates a body against a component schema of the OpenAPI document. */
function expectSchema(name: string, body: unknown): void {
  const validate = ajv.getSchema(`openapi#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema ${name}`);
  const ok = validate(body);
  expect([name, ok ? 'valid' : ajv.errorsText(validate.errors)]).toEqual([name, 'valid']);
}

/** Follows an analysis' Server-Sent Events until it ends; returns the events' analyses. */
async function follow(url: string): Promise<{ state: string; progress: { fraction: number } }[]> {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
  const events: { state: string; progress: { fraction: number } }[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += Buffer.from(value).toString();
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = block.split('\n').find((l) => l.startsWith('data: '));
      if (data) events.push(JSON.parse(data.slice(6)) as (typeof events)[number]);
    }
  }
  return events;
}

describe('the PhaseLens service against a real Orthanc', () => {
  let orthanc: OrthancServer;
  let service: RunningService;
  let series: CtSeries;
  const logs: string[] = [];
  let config: ServiceConfig;

  const api = (route: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${service.url}${route}`, {
      ...init,
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        'Content-Type': 'application/json',
        ...(init.headers ?? {}),
      },
    });

  beforeAll(async () => {
    orthanc = await startOrthanc();
    const c = await generateCase('service', 2, { matrix: 128, slices: 30, phase: 'arterial' });
    series = c.series;
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-service-'));
    await writeCtSeries(series, dir);
    await new DicomWebClient({
      url: orthanc.dicomWeb,
      auth: { username: orthanc.username, password: orthanc.password },
    }).storeInstances(await filesOf(dir));
    config = loadConfig({
      PHASELENS_PACS_URL: orthanc.dicomWeb,
      PHASELENS_PACS_USER: orthanc.username,
      PHASELENS_PACS_PASSWORD: orthanc.password,
      PHASELENS_API_TOKEN: TOKEN,
      PHASELENS_CORS_ORIGINS: 'http://viewer.test',
      PHASELENS_DEFAULT_MAPS: 'sam,gradcam',
      // Occlusion (about 100 inferences a slice) is offered here to make an analysis slow.
      PHASELENS_ALLOWED_MAPS: 'sam,gradcam,occlusion',
      PHASELENS_QUEUE_SIZE: '2',
      // Settings that must cross into the analysis processes and reach the objects they write.
      PHASELENS_DEVICE_SERIAL_NUMBER: 'radiology-ct-7',
      PHASELENS_MAP_FORMAT: 'uint16',
      PHASELENS_PORT: '0',
      PHASELENS_HOST: '127.0.0.1',
    });
    service = await startService(
      config,
      jsonLogger((line) => logs.push(line)),
    );
    const m = await loadPhaseModel();
    shippedModel = { name: m.metadata.name, version: m.metadata.version };
  }, 60_000);

  afterAll(async () => {
    await service?.close();
    await orthanc?.stop();
  });

  it('analyses a series: 202, SSE progress to the end, the result, and SR, SC and PM in Orthanc', async () => {
    const post = await api('/api/v1/analyses', {
      method: 'POST',
      body: JSON.stringify({
        studyInstanceUid: series.studyInstanceUid,
        seriesInstanceUid: series.seriesInstanceUid,
      }),
    });
    expect(post.status).toBe(202);
    const accepted = (await post.json()) as { id: string };
    expectSchema('AnalysisAccepted', accepted);
    expect(post.headers.get('location')).toBe(`/api/v1/analyses/${accepted.id}`);
    const events = await follow(`${service.url}/api/v1/analyses/${accepted.id}/events`);
    expect(events.length).toBeGreaterThan(2);
    events.forEach((e) => expectSchema('Analysis', e));
    const fractions = events.map((e) => e.progress.fraction);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(events[events.length - 1].state).toBe('done');

    const got = (await (await api(`/api/v1/analyses/${accepted.id}`)).json()) as {
      state: string;
      result: {
        phase: string;
        derivedSeries: {
          phaseReport: string;
          secondaryCaptures: Record<string, string>;
          parametricMaps: Record<string, string>;
        };
      };
    };
    expectSchema('Analysis', got);
    expect(got.state).toBe('done');
    const derived = got.result.derivedSeries;
    const uids = [
      derived.phaseReport,
      ...Object.values(derived.secondaryCaptures),
      ...Object.values(derived.parametricMaps),
    ];
    expect(uids).toHaveLength(5);
    const pacs = new DicomWebClient({
      url: orthanc.dicomWeb,
      auth: { username: orthanc.username, password: orthanc.password },
    });
    for (const uid of uids)
      expect(await pacs.searchForSeries({ SeriesInstanceUID: uid })).toHaveLength(1);
    // The configuration reached the Parametric Maps through the analysis process.
    for (const uid of Object.values(derived.parametricMaps)) {
      const [pm] = await pacs.retrieveSeriesMetadata(series.studyInstanceUid, uid);
      expect(pm['00181000'].Value).toEqual(['radiology-ct-7']); // DeviceSerialNumber
      expect(pm['00280100'].Value).toEqual([16]); // BitsAllocated
    }
    const before = (await (await orthanc.rest('GET', '/statistics')).json()) as {
      CountInstances: number;
    };

    const phase = (await (
      await api(`/api/v1/series/${series.seriesInstanceUid}/phase`)
    ).json()) as { source: string; phase: string };
    expectSchema('SeriesPhase', phase);
    expect(phase).toMatchObject({ source: 'service', phase: got.result.phase });

    // Again: the derived objects are replaced, not added.
    const again = (await (
      await api('/api/v1/analyses', {
        method: 'POST',
        body: JSON.stringify({
          studyInstanceUid: series.studyInstanceUid,
          seriesInstanceUid: series.seriesInstanceUid,
        }),
      })
    ).json()) as { id: string };
    await follow(`${service.url}/api/v1/analyses/${again.id}/events`);
    const after = (await (await orthanc.rest('GET', '/statistics')).json()) as {
      CountInstances: number;
    };
    expect(after.CountInstances).toBe(before.CountInstances);

    // A fresh service (no memory of the analysis) reads the phase back from the report in the PACS.
    const fresh = await startService(
      config,
      jsonLogger((line) => logs.push(line)),
    );
    try {
      const res = await fetch(`${fresh.url}/api/v1/series/${series.seriesInstanceUid}/phase`, {
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      const body = (await res.json()) as { source: string; phase: string };
      expectSchema('SeriesPhase', body);
      expect(body).toMatchObject({ source: 'pacs', phase: got.result.phase });
    } finally {
      await fresh.close();
    }
  }, 180_000);

  it('refuses unauthenticated requests, bad UIDs, unknown fields, oversized bodies and path tricks', async () => {
    const body = JSON.stringify({ studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.4' });
    expect((await fetch(`${service.url}/api/v1/analyses`, { method: 'POST', body })).status).toBe(
      401,
    );
    expect(
      (
        await api('/api/v1/analyses', {
          method: 'POST',
          body,
          headers: { Authorization: 'Bearer wrong-token-0123456789' },
        })
      ).status,
    ).toBe(401);
    const cases: [string, string][] = [
      ['malformed UID', JSON.stringify({ studyInstanceUid: '1.2.3', seriesInstanceUid: '1.02.x' })],
      [
        'unknown field',
        JSON.stringify({ studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.4', extra: 1 }),
      ],
      [
        'unknown map',
        JSON.stringify({ studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.4', maps: ['xray'] }),
      ],
      ['not JSON', '{"studyInstanceUid": '],
      [
        'oversized',
        JSON.stringify({
          studyInstanceUid: '1.2.3',
          seriesInstanceUid: '1.2.4',
          pad: 'x'.repeat(20000),
        }),
      ],
    ];
    for (const [name, payload] of cases) {
      const res = await api('/api/v1/analyses', { method: 'POST', body: payload });
      const json = (await res.json()) as unknown;
      expect([name, res.status]).toEqual([name, 400]);
      expectSchema('Error', json);
    }
    // A valid request in a body type a cross-site form can send without a preflight.
    const valid = JSON.stringify({ studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.4' });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await api('/api/v1/analyses', {
        method: 'POST',
        body: valid,
        headers: { 'Content-Type': type },
      });
      expect([type, res.status]).toEqual([type, 415]);
      expectSchema('Error', await res.json());
    }
    for (const route of [
      '/api/v1/analyses/..%2F..%2Fetc%2Fpasswd',
      '/api/v1/series/1.2.3%2F..%2F/phase',
      '/api/v1/analyses/not-a-uuid',
      '/api/v1/series/1.2.abc/phase',
    ])
      expect([route, (await api(route)).status]).toEqual([route, 400]);
    expect((await api('/api/v1/analyses/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('answers CORS only for configured origins', async () => {
    const allowed = await fetch(`${service.url}/api/v1/analyses`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://viewer.test', 'Access-Control-Request-Method': 'POST' },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://viewer.test');
    const other = await fetch(`${service.url}/api/v1/analyses`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://evil.test', 'Access-Control-Request-Method': 'POST' },
    });
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const get = await api('/healthz', { headers: { Origin: 'http://evil.test' } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
    expectSchema('Health', await get.json());
  });

  it('says 429 with Retry-After when the queue is full, and joins identical requests', async () => {
    // The PACS is down for the burst: each job spends its retries (about 2 s) before failing,
    // so the queue (one running, two waiting) is full whatever the machine's speed.
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    const ids: string[] = [];
    await orthanc.halt();
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        api('/api/v1/analyses', {
          method: 'POST',
          body: JSON.stringify({
            studyInstanceUid: '1.2.3',
            seriesInstanceUid: `1.2.999.${i}`,
            writeBack: false,
          }),
        }),
      ),
    );
    for (const res of responses) {
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
      else ids.push(((await res.json()) as { id: string }).id);
    }
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    const same = JSON.stringify({
      studyInstanceUid: '1.2.3',
      seriesInstanceUid: '1.2.999.0',
      writeBack: false,
    });
    const joined = (await (
      await api('/api/v1/analyses', { method: 'POST', body: same })
    ).json()) as { id: string; joined: boolean };
    if (joined.joined) expect(joined.id).toBe(ids[0]);
    await service.queue.idle();
    await orthanc.start();
    const failed = (await (await api(`/api/v1/analyses/${ids[0]}`)).json()) as {
      state: string;
      error: string;
    };
    expectSchema('Analysis', failed);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(/PACS|series/i);
  }, 60_000);

  it('answers a bogus charset 415, a bad path 400 saying so, and a /readyz flood with one PACS query', async () => {
    const bogus = await fetch(`${service.url}/api/v1/analyses`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        'Content-Type': 'application/json; charset=x-bogus',
      },
      body: JSON.stringify({ studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.4' }),
    });
    expect(bogus.status).toBe(415);
    const bogusBody = (await bogus.json()) as { code: string };
    expectSchema('Error', bogusBody);
    expect(bogusBody.code).toBe('unsupported-charset');
    const badPath = await api('/api/v1/analyses/%zz');
    expect(badPath.status).toBe(400);
    const badPathBody = (await badPath.json()) as { error: string; code: string };
    expectSchema('Error', badPathBody);
    expect(badPathBody).toMatchObject({
      code: 'invalid-path',
      error: expect.stringMatching(/percent-encoding/),
    });
    // Unauthenticated callers may ask /readyz as often as they like; the PACS is asked once.
    const proxy = await startProxy(orthanc.url);
    const viaProxy = await startService(
      { ...config, pacsUrl: `${proxy.url}/dicom-web` },
      jsonLogger(() => undefined),
    );
    try {
      const before = proxy.stats.requests;
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => fetch(`${viaProxy.url}/readyz`).then((r) => r.status)),
      );
      expect(answers).toEqual(answers.map(() => 200));
      expect(proxy.stats.requests - before).toBe(1);
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });

  it('reports wrong PACS credentials as 502 naming the PACS, and is not ready', async () => {
    const wrong = await startService(
      { ...config, pacsAuth: { username: orthanc.username, password: 'wrong-password' } },
      jsonLogger((line) => logs.push(line)),
    );
    try {
      const res = await fetch(`${wrong.url}/api/v1/series/${series.seriesInstanceUid}/phase`, {
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: string }).error).toContain(orthanc.dicomWeb);
      const ready = await fetch(`${wrong.url}/readyz`);
      expect(ready.status).toBe(503);
      // Anyone may call /readyz: it names the kind of failure, not the PACS's address.
      const body = await ready.text();
      expect(body).toContain('pacs-auth');
      expect(body).not.toContain(orthanc.dicomWeb);
    } finally {
      await wrong.close();
    }
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
  });

  it('fails a job clearly when the PACS goes away mid-job, leaving no report that claims a result', async () => {
    // A series never analysed, and the PACS behind a proxy that is shut once the job is past
    // reading (as if Orthanc stopped).
    const fresh = (await generateCase('service-outage', 1, { matrix: 128, slices: 30 })).series;
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-outage-'));
    await writeCtSeries(fresh, dir);
    const pacs = new DicomWebClient({
      url: orthanc.dicomWeb,
      auth: { username: orthanc.username, password: orthanc.password },
    });
    await pacs.storeInstances(await filesOf(dir));
    const proxy = await startProxy(orthanc.url);
    const viaProxy = await startService(
      { ...config, pacsUrl: `${proxy.url}/dicom-web` },
      jsonLogger((line) => logs.push(line)),
    );
    try {
      const res = await fetch(`${viaProxy.url}/api/v1/analyses`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          studyInstanceUid: fresh.studyInstanceUid,
          seriesInstanceUid: fresh.seriesInstanceUid,
          maps: ['occlusion', 'sam'],
        }),
      });
      const { id } = (await res.json()) as { id: string };
      let view = (await viaProxy.queue.view(id)) as unknown as {
        state: string;
        progress: { stage: string };
      };
      while (view.progress.stage === 'queued' || view.progress.stage === 'reading') {
        await new Promise((r) => setTimeout(r, 20));
        view = (await viaProxy.queue.view(id)) as unknown as typeof view;
      }
      await proxy.close();
      await viaProxy.queue.idle();
      const failed = (await viaProxy.queue.view(id)) as unknown as { state: string; error: string };
      expectSchema('Analysis', failed);
      expect(failed.state).toBe('failed');
      expect(failed.error).toContain(`${proxy.url}/dicom-web`);
      // No phase report for the series: nothing claims a complete result.
      const report = derivedUids(fresh.seriesInstanceUid, shippedModel, 'phase-report');
      expect(await pacs.searchForSeries({ SeriesInstanceUID: report.seriesInstanceUid })).toEqual(
        [],
      );
      expect(
        await pacs.searchForSeries({ SeriesInstanceUID: fresh.seriesInstanceUid }),
      ).toHaveLength(1);
    } finally {
      await viaProxy.close();
      await proxy.close().catch(() => undefined);
    }
  }, 120_000);

  it('never writes a token or password to its logs', () => {
    const all = logs.join('');
    expect(logs.length).toBeGreaterThan(10);
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain(orthanc.password);
    expect(all).not.toContain('wrong-password');
  });

  it('validates its configuration with one line per problem', () => {
    let error: unknown;
    try {
      loadConfig({
        PHASELENS_PACS_URL: 'ftp://x',
        PHASELENS_CONCURRENCY: 'many',
        PHASELENS_AUTH: 'none',
        PHASELENS_HOST: '0.0.0.0',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PHASELENS_PACS_URL: not an http\(s\) URL/),
        expect.stringMatching(/^PHASELENS_CONCURRENCY: expected a whole number/),
        expect.stringMatching(
          /^PHASELENS_HOST: without authentication the service binds to loopback only/,
        ),
        expect.stringMatching(/^PHASELENS_AUTH=none: also set PHASELENS_ALLOW_NO_AUTH=true/),
      ]),
    );
  });
});
