import * as tf from '@tensorflow/tfjs';
import { graphOf, preprocessSeries } from '../model/inference/classify';
import type { PhaseModel } from '../model/inference/phase-model';
import { CHANNELS, INPUT_SIZE, informativeSlices } from '../model/inference/preprocess';
import { PHASES } from '../domain/phase';
import { Canvas } from '../render/canvas';
import { heat, positiveQuantile } from '../render/colormap';
import type { MapSpec, StudySeries } from './run-study';

const TILE = 256;

/**
 * One slice of a series as the network sees it, with every map of `maps` over it, side by side:
 * the picture that lets a reader judge specificity by eye.
 */
export function exampleMontage(
  model: PhaseModel,
  s: StudySeries,
  maps: MapSpec[],
  targetPhase: number,
): Buffer {
  const graph = graphOf(model);
  const slices = informativeSlices(preprocessSeries(s.series), 5);
  const chosen = slices[Math.floor(slices.length / 2)];
  const x = tf.tensor4d(chosen.data, [1, INPUT_SIZE, INPUT_SIZE, CHANNELS]);
  const perRow = Math.min(4, maps.length + 1);
  const rows = Math.ceil((maps.length + 1) / perRow);
  const header = 18;
  const canvas = new Canvas(perRow * TILE, rows * (TILE + header), [0, 0, 0]);
  const scale = TILE / INPUT_SIZE;
  const grey = (p: number): number => Math.round(chosen.data[p * CHANNELS] * 255);
  const draw = (n: number, label: string, map?: Float32Array): void => {
    const ox = (n % perRow) * TILE;
    const oy = Math.floor(n / perRow) * (TILE + header);
    const top = map ? positiveQuantile(map, 0.995) : 0;
    for (let y = 0; y < TILE; y++)
      for (let xx = 0; xx < TILE; xx++) {
        const p = Math.floor(y / scale) * INPUT_SIZE + Math.floor(xx / scale);
        const g = grey(p);
        const t = map && top > 0 ? map[p] / top : 0;
        if (t > 0.2) {
          const a = 0.7 * Math.min(1, t);
          const c = heat(t);
          canvas.set(
            ox + xx,
            oy + header + y,
            [0, 1, 2].map((k) => Math.round(g * (1 - a) + c[k] * a)) as [number, number, number],
          );
        } else canvas.set(ox + xx, oy + header + y, [g, g, g]);
      }
    canvas.text(label, ox + 4, oy + 5, [255, 255, 255]);
  };
  draw(0, `${s.id} slice ${chosen.slice + 1}`);
  maps.forEach((spec, i) => {
    const values = tf.tidy(
      () =>
        spec.method
          .explain(graph, x, targetPhase, { layer: spec.layer })
          .dataSync() as Float32Array,
    );
    draw(i + 1, `${spec.key} for ${PHASES[targetPhase]}`, values);
  });
  x.dispose();
  return canvas.png();
}
