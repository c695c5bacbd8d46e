import type { InMemorySeries, HuArray, Vec3 } from '../../src/series/types';
import { deterministicUid } from '../../src/util/uid';

/**
 * The series resampled along its slice normal to `spacing` mm (linear interpolation between
 * neighbouring slices), as a scanner reconstructing at another interval would give it.
 */
export function resampleSlices(series: InMemorySeries, spacing: number): InMemorySeries {
  const { rows, columns } = series;
  const plane = rows * columns;
  const p = series.geometry.positions;
  const first = p[0];
  const last = p[p.length - 1];
  const length = Math.hypot(last[0] - first[0], last[1] - first[1], last[2] - first[2]);
  const count = Math.floor(length / spacing) + 1;
  const step = series.geometry.sliceSpacing;
  const hu = new Float32Array(count * plane);
  const positions: Vec3[] = [];
  const direction = [0, 1, 2].map((k) => (last[k] - first[k]) / (length || 1));
  for (let i = 0; i < count; i++) {
    const z = i * spacing;
    const f = z / step;
    const a = Math.min(series.slices - 1, Math.floor(f));
    const b = Math.min(series.slices - 1, a + 1);
    const t = f - a;
    const sa = series.hu.subarray(a * plane, (a + 1) * plane);
    const sb = series.hu.subarray(b * plane, (b + 1) * plane);
    const out = hu.subarray(i * plane, (i + 1) * plane);
    for (let v = 0; v < plane; v++) out[v] = sa[v] + (sb[v] - sa[v]) * t;
    positions.push([0, 1, 2].map((k) => first[k] + direction[k] * z) as Vec3);
  }
  return derived(series, `resampled-${spacing}`, hu, positions, spacing);
}

/** The slices whose index lies in [from, to) (a partial scan range). */
export function cropSlices(series: InMemorySeries, from: number, to: number): InMemorySeries {
  const plane = series.rows * series.columns;
  return derived(
    series,
    `cropped-${from}-${to}`,
    series.hu.slice(from * plane, to * plane),
    series.geometry.positions.slice(from, to),
    series.geometry.sliceSpacing,
  );
}

function derived(
  series: InMemorySeries,
  tag: string,
  hu: HuArray,
  positions: Vec3[],
  spacing: number,
): InMemorySeries {
  const seriesInstanceUid = deterministicUid(series.seriesInstanceUid, tag);
  return {
    ...series,
    seriesInstanceUid,
    slices: positions.length,
    hu,
    geometry: { ...series.geometry, positions, sliceSpacing: spacing },
    instances: positions.map((_, i) => ({
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      sopInstanceUid: deterministicUid(seriesInstanceUid, i),
    })),
  };
}
