import { Canvas, type Rgb } from './canvas';

export interface Series {
  label: string;
  colour: Rgb;
  points: [number, number][];
  dashed?: boolean;
}

const AXIS: Rgb = [60, 60, 60];
const GRID: Rgb = [225, 225, 225];

/** A line chart with axes, ticks, a title and a legend, as PNG bytes. */
export function lineChart(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  yRange?: [number, number];
  width?: number;
  height?: number;
}): Buffer {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const c = new Canvas(width, height);
  const left = 60;
  const right = width - 20;
  const top = 40;
  const bottom = height - 50;
  const xs = options.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = options.series.flatMap((s) => s.points.map((p) => p[1]));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  const [y0, y1] = options.yRange ?? [Math.min(0, ...ys), Math.max(...ys) * 1.05 || 1];
  const px = (x: number): number => left + ((x - x0) / (x1 - x0)) * (right - left);
  const py = (y: number): number => bottom - ((y - y0) / (y1 - y0)) * (bottom - top);
  for (let t = 0; t <= 5; t++) {
    const y = y0 + ((y1 - y0) * t) / 5;
    c.line(left, py(y), right, py(y), GRID);
    c.text(y.toFixed(y1 - y0 < 5 ? 2 : 0), left - 6, py(y) - 4, AXIS, 1, 'right');
  }
  const xStep = Math.max(1, Math.ceil((x1 - x0) / 10));
  for (let x = Math.ceil(x0); x <= x1; x += xStep) {
    c.line(px(x), bottom, px(x), bottom + 4, AXIS);
    c.text(String(x), px(x), bottom + 8, AXIS, 1, 'centre');
  }
  c.line(left, top, left, bottom, AXIS);
  c.line(left, bottom, right, bottom, AXIS);
  c.text(options.title, width / 2, 12, [0, 0, 0], 2, 'centre');
  c.text(options.xLabel, (left + right) / 2, height - 20, AXIS, 1, 'centre');
  c.text(options.yLabel, 8, top - 14, AXIS);
  options.series.forEach((s, k) => {
    for (let i = 1; i < s.points.length; i++) {
      const [a, b] = [s.points[i - 1], s.points[i]];
      if (s.dashed && i % 2 === 0) continue;
      c.line(px(a[0]), py(a[1]), px(b[0]), py(b[1]), s.colour, 2);
    }
    for (const p of s.points) c.fill(px(p[0]) - 2, py(p[1]) - 2, 5, 5, s.colour);
    const ly = top + 6 + k * 14;
    c.fill(right - 150, ly, 16, 4, s.colour);
    c.text(s.label, right - 128, ly - 2, AXIS);
  });
  return c.png();
}

/** A confusion matrix (rows true, columns predicted) with counts, shaded by row fraction. */
export function confusionChart(title: string, labels: string[], matrix: number[][]): Buffer {
  const cell = 90;
  const left = 130;
  const top = 70;
  const size = labels.length * cell;
  const c = new Canvas(left + size + 20, top + size + 40);
  c.text(title, c.width / 2, 10, [0, 0, 0], 2, 'centre');
  c.text('predicted', left + size / 2, 30, AXIS, 1, 'centre');
  matrix.forEach((row, r) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    c.text(labels[r], left - 8, top + r * cell + cell / 2 - 4, AXIS, 1, 'right');
    row.forEach((v, k) => {
      const f = v / total;
      const shade: Rgb =
        r === k
          ? [255 - 180 * f, 255 - 80 * f, 255 - 180 * f]
          : [255, 255 - 160 * f, 255 - 160 * f];
      c.fill(
        left + k * cell + 1,
        top + r * cell + 1,
        cell - 2,
        cell - 2,
        shade.map(Math.round) as Rgb,
      );
      c.text(
        String(v),
        left + k * cell + cell / 2,
        top + r * cell + cell / 2 - 7,
        [0, 0, 0],
        2,
        'centre',
      );
    });
  });
  labels.forEach((l, k) =>
    c.text(l.slice(0, 14), left + k * cell + cell / 2, top - 14, AXIS, 1, 'centre'),
  );
  c.text('true', 10, top + size + 16, AXIS);
  return c.png();
}

/** Reliability diagram: accuracy against confidence per bin, with the diagonal and counts. */
export function reliabilityChart(
  title: string,
  bins: { lower: number; upper: number; count: number; confidence: number; accuracy: number }[],
  ece: number,
): Buffer {
  const width = 480;
  const height = 480;
  const c = new Canvas(width, height);
  const left = 60;
  const right = width - 20;
  const top = 50;
  const bottom = height - 50;
  const px = (x: number): number => left + x * (right - left);
  const py = (y: number): number => bottom - y * (bottom - top);
  c.text(title, width / 2, 10, [0, 0, 0], 2, 'centre');
  c.text(`expected calibration error ${ece.toFixed(3)}`, width / 2, 30, AXIS, 1, 'centre');
  for (let t = 0; t <= 5; t++) {
    c.line(left, py(t / 5), right, py(t / 5), GRID);
    c.text((t / 5).toFixed(1), left - 6, py(t / 5) - 4, AXIS, 1, 'right');
    c.text((t / 5).toFixed(1), px(t / 5), bottom + 8, AXIS, 1, 'centre');
  }
  for (const b of bins) {
    if (b.count === 0) continue;
    c.fill(
      px(b.lower) + 2,
      py(b.accuracy),
      px(b.upper) - px(b.lower) - 4,
      py(0) - py(b.accuracy),
      [90, 140, 220],
    );
    c.text(
      String(b.count),
      (px(b.lower) + px(b.upper)) / 2,
      py(b.accuracy) - 12,
      AXIS,
      1,
      'centre',
    );
  }
  c.line(px(0), py(0), px(1), py(1), [200, 60, 60], 1);
  c.line(left, top, left, bottom, AXIS);
  c.line(left, bottom, right, bottom, AXIS);
  c.text('confidence', (left + right) / 2, height - 20, AXIS, 1, 'centre');
  c.text('accuracy', 8, top - 14, AXIS);
  return c.png();
}
