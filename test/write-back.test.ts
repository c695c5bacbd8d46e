import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startOrthanc, type OrthancServer } from './fixtures/orthanc';
import { startProxy } from './fixtures/proxy';
import { DicomWebClient } from '../server/src/dicomweb/client';
import {
  DerivedObjects,
  deriveObjects,
  inWriteOrder,
  storeDerived,
  writeDerivedFolder,
} from '../server/src/derived/derive';
import type { DerivedSeries } from '../server/src/derived/derived-series';
import { PhaseReport } from '../server/src/derived/phase-report';
import { PacsError } from '../server/src/errors';
import type { NaturalDataset } from 'dcmjs';
import { VolumeMap } from '../server/src/attribution/series-map';
import { makeDemoSeries } from '../server/src/series/demo-series';
import { decodePng } from '../server/src/render/png';
import { rleFrame } from '../server/src/derived/rle';
import type { AttributionMap } from '../server/src/domain/attribution-map';
import type { PhaseResult } from '../server/src/domain/phase-result';

const result: PhaseResult = {
  phase: 'arterial',
  leading: 'arterial' as const,
  agreement: 1,
  members: [],
  warnings: [],
  confidence: 0.91,
  probabilities: { 'non-contrast': 0.03, arterial: 0.91, 'portal-venous': 0.05, delayed: 0.01 },
  slices: [],
  model: { name: 'phaselens-phase', version: 'test' },
};

describe('write-back of derived objects', () => {
  let orthanc: OrthancServer;
  let client: DicomWebClient;
  const series = makeDemoSeries({ rows: 96, columns: 96, slices: 6, seed: 'write-back' });
  const volumes = ['sam', 'gradcam'].map((method, k) => ({
    method,
    target: 'arterial' as const,
    values: Float32Array.from({ length: series.hu.length }, (_, i) => ((i * (k + 3)) % 97) / 97),
  }));
  const maps: AttributionMap[] = volumes.map((m) => new VolumeMap(m, series));
  const objects = deriveObjects(series, result, maps);

  beforeAll(async () => {
    orthanc = await startOrthanc();
    client = new DicomWebClient({
      url: orthanc.dicomWeb,
      auth: { username: orthanc.username, password: orthanc.password },
    });
  });
  afterAll(async () => {
    await orthanc?.stop();
  });

  const count = async (): Promise<{ series: number; instances: number }> => {
    const stats = (await (await orthanc.rest('GET', '/statistics')).json()) as {
      CountSeries: number;
      CountInstances: number;
    };
    return { series: stats.CountSeries, instances: stats.CountInstances };
  };

  it('stores every object by STOW-RS, reads them back identical, and replaces them when rerun', async () => {
    const total = await storeDerived(objects, client);
    const ordered = [...inWriteOrder(objects)];
    expect(total).toBe(2 * series.slices + 2 + 1);
    expect(ordered).toHaveLength(total);
    expect(await count()).toEqual({ series: 5, instances: total });
    // Read back: the SR through Orthanc's REST (Part 10 bytes) parses to the same phase report.
    const found = await orthanc.find('Instance', {
      SOPInstanceUID: String(objects.phaseReport.SOPInstanceUID),
    });
    const ds = await orthanc.instance(found[0]);
    expect(PhaseReport.read(ds)?.phase).toBe('arterial');
    // Every stored instance is byte-identical to what was sent (pixel data included; the
    // Parametric Map went out frame by frame).
    for (const sent of [objects.ofKind('parametric-map')[1].dataset]) {
      const ids = await orthanc.find('Instance', { SOPInstanceUID: String(sent.SOPInstanceUID) });
      const back = await orthanc.instance(ids[0]);
      // float32 maps (the default) carry Float Pixel Data, 16-bit ones Pixel Data.
      const pixels = (d: NaturalDataset): Buffer =>
        Buffer.from(((d.FloatPixelData ?? d.PixelData) as ArrayBuffer[])[0]);
      expect(pixels(back).length).toBeGreaterThan(0);
      expect(pixels(back).equals(pixels(sent))).toBe(true);
      expect(back.SeriesInstanceUID).toBe(sent.SeriesInstanceUID);
    }
    // Secondary Captures go as RLE Lossless: Orthanc keeps the bytes sent, and its own decoder
    // gives back the image's pixels exactly.
    const image = objects.ofKind('secondary-capture')[0].dataset(0);
    const ids = await orthanc.find('Instance', { SOPInstanceUID: String(image.SOPInstanceUID) });
    const back = await orthanc.instance(ids[0]);
    const fragments = Buffer.concat((back.PixelData as ArrayBuffer[]).map((f) => Buffer.from(f)));
    const frame = rleFrame(
      new Uint8Array((image.PixelData as ArrayBuffer[])[0]),
      series.rows,
      series.columns,
      3,
    );
    // The frame as sent (a fragment is padded to an even length).
    expect(fragments.subarray(0, frame.length).equals(Buffer.from(frame))).toBe(true);
    const tags = (
      await (await orthanc.rest('GET', `/instances/${ids[0]}/metadata/TransferSyntax`)).text()
    ).trim();
    expect(tags).toBe('1.2.840.10008.1.2.5');
    const preview = decodePng(
      new Uint8Array(
        await (await orthanc.rest('GET', `/instances/${ids[0]}/preview`)).arrayBuffer(),
      ),
    );
    expect([preview.width, preview.height, preview.channels]).toEqual([
      series.columns,
      series.rows,
      3,
    ]);
    expect(
      Buffer.from(preview.pixels).equals(Buffer.from((image.PixelData as ArrayBuffer[])[0])),
    ).toBe(true);
    // The same analysis again (new creation time): same UIDs, replaced, no copies.
    await storeDerived(
      deriveObjects(series, result, maps, { created: new Date(Date.now() + 60000) }),
      client,
    );
    expect(await count()).toEqual({ series: 5, instances: total });
    // Maps for another target phase are other objects: added beside the first ones, which stay;
    // the phase report (one per series and model) is replaced.
    const delayed = volumes.map((m) => new VolumeMap({ ...m, target: 'delayed' }, series));
    await storeDerived(deriveObjects(series, result, delayed), client);
    expect(await count()).toEqual({ series: 9, instances: total + 2 * series.slices + 2 });
    const first = await orthanc.find('Instance', {
      SOPInstanceUID: String(objects.ofKind('parametric-map')[0].dataset.SOPInstanceUID),
    });
    expect(first).toHaveLength(1);
  });

  it('a STOW failure is reported with the PACS named and leaves no phase report behind', async () => {
    const fresh = makeDemoSeries({ rows: 96, columns: 96, slices: 4, seed: 'write-back-fail' });
    const failing = deriveObjects(
      fresh,
      result,
      volumes.map(
        (m) => new VolumeMap({ ...m, values: m.values.slice(0, fresh.hu.length) }, fresh),
      ),
    );
    // The PACS answers the second STOW request with 500 from then on.
    let stows = 0;
    const proxy = await startProxy(orthanc.url, {
      decide: (_n, req) => (req.method === 'POST' && ++stows >= 2 ? { status: 500 } : 'forward'),
    });
    try {
      const flaky = new DicomWebClient({
        url: `${proxy.url}/dicom-web`,
        auth: { username: orthanc.username, password: orthanc.password },
        retries: 0,
      });
      await expect(storeDerived(failing, flaky, undefined, 4)).rejects.toThrow(PacsError);
      await expect(storeDerived(failing, flaky, undefined, 4)).rejects.toThrow(
        /PACS http:\/\/127\.0\.0\.1:\d+\/dicom-web/,
      );
    } finally {
      await proxy.close();
    }
    const sr = await orthanc.find('Instance', {
      SOPInstanceUID: String(failing.phaseReport.SOPInstanceUID),
    });
    expect(sr).toEqual([]);
  });

  it('writes a folder atomically: a complete set or nothing', async () => {
    const dir = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-derived-')), 'dicom');
    const files = await writeDerivedFolder(objects, dir);
    expect(files).toHaveLength(objects.count);
    const folders = await fs.readdir(dir);
    expect(folders).toHaveLength(5);
    // Named for what they hold: the report, and per map its Secondary Capture and Parametric Map.
    expect(folders).toContain('phase-report');
    expect(
      folders.filter((f) => /^secondary-capture-[a-z0-9-]+-for-[a-z-]+$/.test(f)),
    ).toHaveLength(2);
    expect(folders.filter((f) => /^parametric-map-[a-z0-9-]+-for-[a-z-]+$/.test(f))).toHaveLength(
      2,
    );
    const parent = await fs.readdir(path.dirname(dir));
    expect(parent.filter((n) => n.includes('partial'))).toEqual([]);
    // A failure after most objects are written (the last one cannot be named: a full disk, say).
    const [report] = objects.ofKind('phase-report');
    const failingReport: DerivedSeries = {
      kind: report.kind,
      key: report.key,
      seriesInstanceUid: report.seriesInstanceUid,
      count: 1,
      completes: true,
      // eslint-disable-next-line require-yield
      *objects() {
        throw new Error('no space left on device');
      },
    };
    const failing = new DerivedObjects([
      ...objects.series.filter((s) => s !== report),
      failingReport,
    ]);
    await expect(writeDerivedFolder(failing, dir)).rejects.toThrow(/no space left/);
    // The previous complete result is still there, and no staging folder is left behind.
    expect(await fs.readdir(dir)).toHaveLength(5);
    expect((await fs.readdir(path.dirname(dir))).filter((n) => n.includes('partial'))).toEqual([]);
  });
});
