import { stringOf } from './pixel-module';
import type { CtSeries, InMemorySeries } from './types';

export interface SeriesSummary {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  patientId?: string;
  seriesDescription?: string;
  slices: number;
  rows: number;
  columns: number;
  pixelSpacing: [number, number];
  sliceSpacing: number;
  zRange: [number, number];
  hu: { min: number; median: number; max: number; p99: number };
  source: CtSeries['source'];
}

/** Figures a reader checks first: size, spacing, coverage and the HU range. */
export function summarizeSeries(series: InMemorySeries): SeriesSummary {
  // A strided sample keeps this O(1 MB) on any series size.
  const step = Math.max(1, Math.floor(series.hu.length / 1_000_000));
  const sample = new Float32Array(Math.ceil(series.hu.length / step));
  for (let i = 0, j = 0; i < series.hu.length; i += step, j++) sample[j] = series.hu[i];
  sample.sort();
  const z = series.geometry.positions.map((p) => p[2]);
  return {
    studyInstanceUid: series.studyInstanceUid,
    seriesInstanceUid: series.seriesInstanceUid,
    patientId: stringOf(series.header.PatientID),
    seriesDescription: stringOf(series.header.SeriesDescription),
    slices: series.slices,
    rows: series.rows,
    columns: series.columns,
    pixelSpacing: series.geometry.pixelSpacing,
    sliceSpacing: series.geometry.sliceSpacing,
    zRange: [Math.min(...z), Math.max(...z)],
    hu: {
      min: sample[0],
      median: sample[sample.length >> 1],
      max: sample[sample.length - 1],
      p99: sample[Math.floor(sample.length * 0.99)],
    },
    source: series.source,
  };
}

export function formatSummary(s: SeriesSummary): string {
  const mm = (v: number): string => v.toFixed(2);
  return [
    `Series ${s.seriesInstanceUid}${s.seriesDescription ? ` ("${s.seriesDescription}")` : ''}`,
    `  study      ${s.studyInstanceUid}`,
    `  patient    ${s.patientId ?? '(none)'}`,
    `  slices     ${s.slices} of ${s.columns} x ${s.rows} px`,
    `  spacing    ${mm(s.pixelSpacing[1])} x ${mm(s.pixelSpacing[0])} mm in-plane, ${mm(s.sliceSpacing)} mm between slices`,
    `  z range    ${s.zRange[0].toFixed(1)} .. ${s.zRange[1].toFixed(1)} mm`,
    `  HU         min ${s.hu.min}, median ${s.hu.median}, 99th percentile ${s.hu.p99}, max ${s.hu.max}`,
    `  source     ${s.source.kind}: ${s.source.location}`,
  ].join('\n');
}
