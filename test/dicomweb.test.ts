import { existsSync, promises as fs } from 'node:fs';
import { filesOf } from './fixtures/files';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startOrthanc, freePort, type OrthancServer } from './fixtures/orthanc';
import { startProxy } from './fixtures/proxy';
import { DicomWebClient } from '../server/src/dicomweb/client';
import { readSeries } from '../server/src/series/read-series';
import { makeDemoSeries } from '../server/src/series/demo-series';
import { writeCtSeries } from '../server/src/series/write-ct';
import { TransferSyntax } from '../server/src/series/transfer-syntax';
import {
  PacsAuthError,
  PacsError,
  PacsTimeoutError,
  PacsUnreachableError,
  SeriesNotFoundError,
} from '../server/src/errors';
import type { CtSeries, HuArray } from '../server/src/series/types';

const REAL_PV = path.resolve(
  __dirname,
  '..',
  '..',
  'shared',
  'data',
  'real-ct',
  'hcc048-portal-venous',
);

function seriesUrl(
  root: string,
  s: Pick<CtSeries, 'studyInstanceUid' | 'seriesInstanceUid'>,
): string {
  return `${root}/studies/${s.studyInstanceUid}/series/${s.seriesInstanceUid}`;
}

function expectSameHu(a: HuArray, b: HuArray): void {
  expect(a.length).toBe(b.length);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  expect(diff).toBe(0);
}

describe('DICOMweb against a real Orthanc', () => {
  let orthanc: OrthancServer;
  let work: string;
  const demo = makeDemoSeries({ rows: 64, columns: 72, slices: 12, noiseHu: 20, seed: 'dicomweb' });
  let auth: { username: string; password: string };
  let client: DicomWebClient;

  beforeAll(async () => {
    orthanc = await startOrthanc();
    auth = { username: orthanc.username, password: orthanc.password };
    client = new DicomWebClient({ url: orthanc.dicomWeb, auth });
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-dicomweb-'));
    await writeCtSeries(demo, path.join(work, 'demo'));
    await client.storeInstances(await filesOf(path.join(work, 'demo')));
  });

  afterAll(async () => {
    await orthanc?.stop();
    if (work) await fs.rm(work, { recursive: true, force: true });
  });

  it('reads back exactly the HU of the files stored by STOW-RS, and a subset of slices', async () => {
    const fromFiles = await readSeries(path.join(work, 'demo'));
    const fromPacs = await readSeries(seriesUrl(orthanc.dicomWeb, demo), { auth });
    expectSameHu(fromPacs.hu, fromFiles.hu);
    expect(fromPacs.geometry).toEqual(fromFiles.geometry);
    expect(fromPacs.instances).toEqual(fromFiles.instances);
    expect(fromPacs.source.kind).toBe('dicomweb');

    const pick = (z: number[]): number[] => z.map((_, i) => i).filter((i) => i % 5 === 1);
    const proxy = await startProxy(orthanc.url);
    try {
      const subset = await readSeries(seriesUrl(`${proxy.url}/dicom-web`, demo), {
        auth,
        select: pick,
      });
      const fileSubset = await readSeries(path.join(work, 'demo'), { select: pick });
      expect(subset.slices).toBe(3);
      expectSameHu(subset.hu, fileSubset.hu);
      // QIDO + metadata + exactly three frame requests.
      expect(proxy.stats.requests).toBe(5);
      expect(proxy.stats.urls.filter((u) => u.includes('/frames/'))).toHaveLength(3);
    } finally {
      await proxy.close();
    }
  });

  (existsSync(REAL_PV) ? it : it.skip)(
    'round-trips the real portal-venous series (../shared present)',
    async () => {
      await client.storeInstances(await filesOf(REAL_PV));
      const fromFiles = await readSeries(REAL_PV);
      const fromPacs = await readSeries(seriesUrl(orthanc.dicomWeb, fromFiles), { auth });
      expectSameHu(fromPacs.hu, fromFiles.hu);
      expect(fromPacs.geometry.positions).toEqual(fromFiles.geometry.positions);
    },
  );

  it('reads a JPEG-LS series transcoded by the server and decoded locally, to the same HU', async () => {
    const jls = makeDemoSeries({ rows: 40, columns: 48, slices: 6, noiseHu: 30, seed: 'jls-pacs' });
    const native = path.join(work, 'jls-native');
    const compressed = path.join(work, 'jls');
    await writeCtSeries(jls, native);
    await fs.mkdir(compressed);
    for (const n of await fs.readdir(native)) {
      execFileSync('dcmcjpls', [path.join(native, n), path.join(compressed, n)]);
    }
    await client.storeInstances(await filesOf(compressed));
    const url = seriesUrl(orthanc.dicomWeb, jls);
    const served = await readSeries(url, { auth, frames: 'uncompressed' });
    const local = await readSeries(url, { auth, frames: 'as-stored' });
    const auto = await readSeries(url, { auth });
    expectSameHu(served.hu, jls.hu);
    expectSameHu(local.hu, jls.hu);
    expectSameHu(auto.hu, jls.hu);
    // As stored really means JPEG-LS on the wire.
    const frame = await client.retrieveFrame(
      jls.studyInstanceUid,
      jls.seriesInstanceUid,
      jls.instances[0].sopInstanceUid,
      1,
      true,
    );
    expect(frame.transferSyntaxUid).toBe(TransferSyntax.JpegLsLossless);
  });

  it('falls back to local decoding when the server cannot transcode', async () => {
    // The proxy plays a server without a transcoder: uncompressed frame requests get 406.
    let refused = 0;
    const proxy = await startProxy(orthanc.url, {
      decide: (_n, req) => {
        if (
          !/\/frames\//.test(req.url ?? '') ||
          /transfer-syntax=\*/.test(String(req.headers.accept))
        )
          return 'forward';
        refused++;
        return { status: 406 };
      },
    });
    try {
      const series = await readSeries(seriesUrl(`${proxy.url}/dicom-web`, demo), {
        auth,
        retryDelayMs: 5,
        concurrency: 4,
      });
      expectSameHu(series.hu, demo.hu);
      // Only the frames already in flight when the first refusal came back ask again.
      expect(refused).toBeGreaterThanOrEqual(1);
      expect(refused).toBeLessThanOrEqual(4);
    } finally {
      await proxy.close();
    }
  });

  it('passes a bearer token to the PACS', async () => {
    // A gateway that accepts the token and talks to Orthanc with its own credentials.
    const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    const proxy = await startProxy(orthanc.url, {
      authorization: basic,
      decide: (_n, req) =>
        req.headers.authorization === 'Bearer viewer-token' ? 'forward' : { status: 401 },
    });
    try {
      const series = await readSeries(seriesUrl(`${proxy.url}/dicom-web`, demo), {
        auth: { token: 'viewer-token' },
      });
      expect(series.slices).toBe(12);
      expect(new Set(proxy.stats.authorizations)).toEqual(new Set(['Bearer viewer-token']));
    } finally {
      await proxy.close();
    }
  });

  it('a wrong password is a PacsAuthError naming the PACS, not retried', async () => {
    const url = seriesUrl(orthanc.dicomWeb, demo);
    const attempt = readSeries(url, { auth: { username: auth.username, password: 'wrong' } });
    await expect(attempt).rejects.toBeInstanceOf(PacsAuthError);
    await expect(attempt).rejects.toThrow(
      `PACS ${orthanc.dicomWeb} refused the credentials (HTTP 401)`,
    );
  });

  it('a series that does not exist is a SeriesNotFoundError', async () => {
    const url = seriesUrl(orthanc.dicomWeb, {
      studyInstanceUid: demo.studyInstanceUid,
      seriesInstanceUid: '1.2.3.4.5',
    });
    await expect(readSeries(url, { auth })).rejects.toBeInstanceOf(SeriesNotFoundError);
    await expect(readSeries(url, { auth })).rejects.toThrow(
      /series 1\.2\.3\.4\.5 is not in the PACS/,
    );
  });

  it('an unreachable server is a PacsUnreachableError after the retries', async () => {
    const port = await freePort();
    const started = Date.now();
    const attempt = readSeries(seriesUrl(`http://127.0.0.1:${port}/dicom-web`, demo), {
      auth,
      retries: 2,
      retryDelayMs: 20,
    });
    await expect(attempt).rejects.toBeInstanceOf(PacsUnreachableError);
    await expect(attempt).rejects.toThrow(`PACS http://127.0.0.1:${port}/dicom-web is unreachable`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a server that does not answer is a PacsTimeoutError', async () => {
    const proxy = await startProxy(orthanc.url, { decide: () => 'hang' });
    try {
      const attempt = readSeries(seriesUrl(`${proxy.url}/dicom-web`, demo), {
        auth,
        timeoutMs: 300,
        retries: 1,
        retryDelayMs: 10,
      });
      await expect(attempt).rejects.toBeInstanceOf(PacsTimeoutError);
      await expect(attempt).rejects.toThrow(/did not answer .* within 300 ms/);
      // Metadata was tried twice (one retry) before the reader gave up.
      expect(proxy.stats.urls.filter((u) => u.endsWith('/metadata'))).toHaveLength(2);
    } finally {
      await proxy.close();
    }
  });

  it('retries 5xx answers with backoff, then succeeds; gives up after the retries', async () => {
    const flaky = await startProxy(orthanc.url, {
      decide: (n) => (n <= 2 ? { status: 503 } : 'forward'),
    });
    try {
      const series = await readSeries(seriesUrl(`${flaky.url}/dicom-web`, demo), {
        auth,
        retries: 3,
        retryDelayMs: 10,
      });
      expectSameHu(series.hu, demo.hu);
    } finally {
      await flaky.close();
    }
    const broken = await startProxy(orthanc.url, { decide: () => ({ status: 500 }) });
    try {
      const attempt = readSeries(seriesUrl(`${broken.url}/dicom-web`, demo), {
        auth,
        retries: 2,
        retryDelayMs: 10,
      });
      await expect(attempt).rejects.toBeInstanceOf(PacsError);
      await expect(attempt).rejects.toThrow(/HTTP 500/);
      expect(broken.stats.urls.filter((u) => u.endsWith('/metadata'))).toHaveLength(3);
    } finally {
      await broken.close();
    }
  });

  it('keeps the number of frame requests in flight within the limit', async () => {
    const proxy = await startProxy(orthanc.url);
    try {
      await readSeries(seriesUrl(`${proxy.url}/dicom-web`, demo), { auth, concurrency: 3 });
      expect(proxy.stats.maxFramesInFlight).toBeLessThanOrEqual(3);
      expect(proxy.stats.maxFramesInFlight).toBeGreaterThan(1);
    } finally {
      await proxy.close();
    }
  });
});
