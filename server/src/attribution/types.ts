import type * as tf from '@tensorflow/tfjs';
import type { MapLayer, PhaseGraph } from '../model/inference/phase-graph';

export interface ExplainOptions {
  /** For layer-wise methods (Grad-CAM, SAM): where the map is taken. */
  layer?: MapLayer;
  /** Seeds for the stochastic methods (SmoothGrad). */
  seed?: number;
}

/**
 * One attribution method. `explain` returns a non-negative map per slice on the network's input
 * grid, [n, INPUT_SIZE, INPUT_SIZE, 1], for the class index `target`.
 */
export interface AttributionMethod {
  name: string;
  /** What the map shows, in a line (for reports and the viewer). */
  description: string;
  /** Layers the method can use; absent: it works on the input only. */
  layers?: readonly MapLayer[];
  defaultLayer?: MapLayer;
  explain(
    graph: PhaseGraph,
    input: tf.Tensor4D,
    target: number,
    options?: ExplainOptions,
  ): tf.Tensor4D;
}
