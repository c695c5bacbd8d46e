import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeCtSeries } from '../series/write-ct';
import { writeNiftiLabels } from '../series/write-nifti';
import { coronalThumbnail, thumbnail, tile } from '../render/montage';
import { encodePng } from '../render/png';
import type { PhantomCase } from './render';
import { legend, STRUCTURES } from './structures';

export interface WrittenCase {
  /** Folder of the DICOM series, relative to the output folder. */
  path: string;
  phase: string;
  seconds?: number;
}

/** Four axial slices and a coronal reformat, side by side. */
export function previewPng(c: PhantomCase, size = 256): Buffer {
  const s = c.series;
  const axial = [0.8, 0.6, 0.4, 0.2].map((f) =>
    thumbnail(s, Math.min(s.slices - 1, Math.floor(s.slices * f)), size),
  );
  const m = tile([...axial, coronalThumbnail(s, size)], size, 5);
  return encodePng(m.pixels, m.width, m.height);
}

/**
 * Writes one case under `out`: `case-NNNN/ct/` (DICOM), `labels.nii.gz` with `labels.json` (legend,
 * expected HU, parameters) and, on request, `preview.png`. Written in a side folder and renamed,
 * so a case folder is either complete or absent.
 */
export async function writePhantomCase(
  c: PhantomCase,
  out: string,
  preview: boolean,
): Promise<WrittenCase> {
  const name = `case-${String(c.index).padStart(4, '0')}`;
  const final = path.join(out, name);
  const work = path.join(out, `.${name}.partial`);
  await fs.rm(work, { recursive: true, force: true });
  await writeCtSeries(c.series, path.join(work, 'ct'), c.encoding);
  await writeNiftiLabels(path.join(work, 'labels.nii.gz'), c.labels, c.series, c.series.geometry);
  const expectedHu = Object.fromEntries(
    STRUCTURES.filter((s) => Number.isFinite(c.structureHu[s.id])).map((s) => [
      s.name,
      Math.round(c.structureHu[s.id] * 10) / 10,
    ]),
  );
  const meta = {
    phase: c.params.phase,
    secondsAfterInjection: c.params.seconds ?? null,
    legend: legend(),
    expectedHu,
    parameters: c.params,
    anatomy:
      'SPL Abdominal Atlas (Talos, Jakab, Kikinis, BWH 2015), modified; see server/assets/anatomy/spl-abdominal-atlas/NOTICE.md',
  };
  await fs.writeFile(path.join(work, 'labels.json'), `${JSON.stringify(meta, null, 2)}\n`);
  if (preview) await fs.writeFile(path.join(work, 'preview.png'), previewPng(c));
  await fs.rm(final, { recursive: true, force: true });
  await fs.rename(work, final);
  return { path: `${name}/ct`, phase: c.params.phase, seconds: c.params.seconds };
}

export async function writeLabelsCsv(out: string, cases: WrittenCase[]): Promise<void> {
  const lines = [
    'path,phase,seconds_after_injection',
    ...cases.map(
      (c) => `${c.path},${c.phase},${c.seconds === undefined ? '' : c.seconds.toFixed(1)}`,
    ),
  ];
  const file = path.join(out, 'labels.csv');
  await fs.writeFile(`${file}.partial`, `${lines.join('\n')}\n`);
  await fs.rename(`${file}.partial`, file);
}
