import * as tf from '@tensorflow/tfjs';
import { INPUT_SIZE } from '../model/inference/preprocess';

/**
 * A layer map [n, h, w] or [n, h, w, 1] brought to the input grid with bilinear interpolation
 * between cell centres (half-pixel centres: a cell covers its receptive block, not a corner).
 */
export function toInputGrid(map: tf.Tensor): tf.Tensor4D {
  const m = (map.rank === 3 ? tf.expandDims(map, 3) : map) as tf.Tensor4D;
  if (m.shape[1] === INPUT_SIZE && m.shape[2] === INPUT_SIZE) return m;
  return tf.image.resizeBilinear(m, [INPUT_SIZE, INPUT_SIZE], false, true);
}
