/**
 * Write-back of a 100-slice 512x512 series against the PACS itself: making, encoding and storing
 * all objects by STOW-RS takes at most 1.2x the time Orthanc takes to ingest the same bytes
 * (the same multipart batches, two at a time) posted by curl in the same run. Also the older
 * fixed goal (all objects within 3 s), and the bytes written.
 * derive, encode and STOW-RS to a real Orthanc, for one map (the default a viewer asks for
 * first) and for the five maps of the paper. `deriveMs` is the objects' checks and set-up; the
 * images (fusion, annotation) and parametric maps are made as they are written, inside
 * `encodeAndStoreMs`, while the PACS stores the batches before them.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { deriveObjects, inWriteOrder, storeDerived } from '../server/src/derived/derive';
import { DicomWebClient } from '../server/src/dicomweb/client';
import { generateCase } from '../server/src/phantom/render';
import { BENCH_CASE } from './fixtures';
import { VolumeMap } from '../server/src/attribution/series-map';
import { startOrthanc } from '../test/fixtures/orthanc';
import { timeMedian, writeResult } from './common';
import type { AttributionMap } from '../server/src/domain/attribution-map';
import type { PhaseResult } from '../server/src/domain/phase-result';

const GOAL_MS = 3000;
const GOAL_RATIO = 1.2;
const BATCH = 16;

/** Multipart/related STOW-RS bodies of the objects, in write order, BATCH objects each. */
async function multipartFiles(objects: ReturnType<typeof deriveObjects>, dir: string) {
  const files: string[] = [];
  let bytes = 0;
  let parts: Buffer[] = [];
  const boundary = 'phaselens-bench-boundary';
  const flush = async (): Promise<void> => {
    if (!parts.length) return;
    const body = Buffer.concat([
      ...parts.flatMap((p) => [
        Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
        p,
        Buffer.from('\r\n'),
      ]),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
    const file = path.join(dir, `batch-${files.length}.bin`);
    await fs.writeFile(file, body);
    files.push(file);
    parts = [];
  };
  for (const object of inWriteOrder(objects)) {
    const encoded = Buffer.concat([...object.chunks()]);
    bytes += encoded.length;
    parts.push(encoded);
    if (parts.length === BATCH) await flush();
  }
  await flush();
  return { files, bytes, boundary };
}

const run = promisify(execFile);

async function main(): Promise<void> {
  const c = await generateCase('bench-write-back', 1, BENCH_CASE);
  const series = c.series;
  const result: PhaseResult = {
    phase: 'arterial',
    leading: 'arterial' as const,
    agreement: 1,
    members: [],
    warnings: [],
    confidence: 0.9,
    probabilities: { 'non-contrast': 0.02, arterial: 0.9, 'portal-venous': 0.06, delayed: 0.02 },
    slices: [],
    model: { name: 'bench', version: '0' },
  };
  const map = (method: string): AttributionMap =>
    new VolumeMap(
      {
        method,
        target: 'arterial',
        values: Float32Array.from({ length: series.hu.length }, (_, i) => ((i * 7) % 1009) / 1009),
      },
      series,
    );
  const orthanc = await startOrthanc();
  try {
    const client = new DicomWebClient({
      url: orthanc.dicomWeb,
      auth: { username: orthanc.username, password: orthanc.password },
    });
    const measure = async (methods: string[]): Promise<Record<string, unknown>> => {
      const maps = methods.map(map);
      const derive = await timeMedian(3, async () => deriveObjects(series, result, maps));
      const objects = deriveObjects(series, result, maps);
      const store = await timeMedian(3, () => storeDerived(objects, client));
      const total = await timeMedian(3, () =>
        storeDerived(deriveObjects(series, result, maps), client),
      );
      // The peer: curl posts the same bytes, two batches at a time, to the same Orthanc.
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-stow-'));
      const bodies = await multipartFiles(objects, dir);
      const curl = await timeMedian(3, async () => {
        const queue = [...bodies.files];
        await Promise.all(
          [0, 1].map(async () => {
            for (let f = queue.shift(); f; f = queue.shift())
              await run('curl', [
                '-sS',
                '-f',
                '-o',
                '/dev/null',
                '-u',
                `${orthanc.username}:${orthanc.password}`,
                '-H',
                `Content-Type: multipart/related; type="application/dicom"; boundary=${bodies.boundary}`,
                // No "Expect: 100-continue" wait (Orthanc does not answer it): curl at its best.
                '-H',
                'Expect:',
                '--data-binary',
                `@${f}`,
                `${orthanc.dicomWeb}/studies`,
              ]);
          }),
        );
      });
      await fs.rm(dir, { recursive: true });
      const ratio = total.ms / curl.ms;
      return {
        maps: methods,
        objects: objects.count,
        bytes: bodies.bytes,
        megabytes: Number((bodies.bytes / 2 ** 20).toFixed(1)),
        curlSameBytesMs: curl.ms,
        ratioToCurl: Number(ratio.toFixed(2)),
        goalRatio: { atMost: GOAL_RATIO, met: ratio <= GOAL_RATIO },
        deriveMs: derive.ms,
        encodeAndStoreMs: store.ms,
        totalMs: total.ms,
        totalRuns: total.runs,
        goalMs: GOAL_MS,
        met: total.ms <= GOAL_MS,
      };
    };
    const one = await measure(['sam']);
    const five = await measure(['cam', 'gradcam', 'saliency', 'guided', 'sam']);
    const file = await writeResult('write-back', {
      series: { slices: series.slices, rows: series.rows, columns: series.columns },
      oneMap: one,
      fiveMaps: five,
    });
    console.log(
      `one map: ${Number(one.totalMs).toFixed(0)} ms (${String(one.ratioToCurl)}x curl), five maps: ${Number(five.totalMs).toFixed(0)} ms (${String(five.ratioToCurl)}x curl; goal ${GOAL_RATIO}x) -> ${file}`,
    );
  } finally {
    await orthanc.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
