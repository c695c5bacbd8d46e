import * as tf from '@tensorflow/tfjs';
import {
  maxPoolGradient,
  poolGradientApplies,
  type PoolGradientRule,
} from '../kernels/max-pool-gradient';
import { inWasmMemory } from '../kernels/instance';
import { CONV_LAYERS, LOGITS_LAYER } from './network';

/** Where a map can be taken: the input, a block's rectified convolution, or the pooled features. */
export const MAP_LAYERS = ['input', ...CONV_LAYERS, 'pool5'] as const;
export type MapLayer = (typeof MAP_LAYERS)[number];

interface Block {
  kernel: tf.Tensor4D;
  bias: tf.Tensor1D;
  /** The kernel for the input gradient (turned 180 degrees, channels swapped). */
  backward: tf.Tensor4D;
  /** relu(conv(x) + bias) as one fused kernel, with a gradient for x only (plain, guided). */
  rectified: (x: tf.Tensor4D) => tf.Tensor4D;
  guidedRectified: (x: tf.Tensor4D) => tf.Tensor4D;
  /**
   * The same forward pass, whose gradient leaves the ReLU to the pooling after it (reluPool2):
   * only for a block whose output is pooled next.
   */
  convolved: (x: tf.Tensor4D) => tf.Tensor4D;
}

export interface ForwardOptions {
  /** Guided backpropagation: ReLUs pass back only positive gradients where their input was > 0. */
  guided?: boolean;
}

/**
 * The phase network as a plain function of tensors, for inference and attribution. Batch normalisation is
 * folded into the convolutions (inference mode: y = conv(x, W * s) + (beta - mean * s), with
 * s = gamma / sqrt(var + eps)), so a gradient costs convolutions, ReLU and pooling gradients only,
 * and the forward pass can be split at any layer (Grad-CAM and SAM differentiate the class score
 * with respect to a layer's activations). Slices stay independent, as in inference.
 */
export class PhaseGraph {
  private readonly blocks: Block[];
  private readonly dense: { kernel: tf.Tensor2D; bias: tf.Tensor1D };

  constructor(model: tf.LayersModel) {
    this.blocks = CONV_LAYERS.map((name, i) => {
      const conv = model.getLayer(name);
      const bn = model.getLayer(`bn${i + 1}`);
      const [kernel, convBias] = conv.getWeights() as [tf.Tensor4D, tf.Tensor1D | undefined];
      const [gamma, beta, mean, variance] = bn.getWeights() as tf.Tensor1D[];
      const epsilon = (bn.getConfig().epsilon as number | undefined) ?? 1e-3;
      const folded = tf.tidy(() => {
        const scale = tf.div(gamma, tf.sqrt(tf.add(variance, epsilon)));
        const shifted = convBias ? tf.sub(convBias, mean) : tf.neg(mean);
        return {
          kernel: tf.keep(tf.mul(kernel, scale) as tf.Tensor4D),
          bias: tf.keep(tf.add(tf.mul(shifted, scale), beta) as tf.Tensor1D),
        };
      });
      const k = folded.kernel;
      if (k.shape[0] % 2 !== 1 || k.shape[1] % 2 !== 1)
        throw new Error(
          `PhaseGraph needs odd convolution kernels, ${name} has ${k.shape[0]}x${k.shape[1]}`,
        );
      // The input gradient of a stride-1 'same' convolution is a 'same' convolution by the kernel
      // turned 180 degrees with its channels swapped: made once here, so the wasm backend reuses
      // its prepared (XNNPACK) convolution instead of preparing a new one for every gradient.
      const backward = tf.keep(
        tf.tidy(() => tf.transpose(tf.reverse(k, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D),
      );
      return {
        ...folded,
        backward,
        rectified: rectifiedConv(k, folded.bias, backward, 'plain'),
        guidedRectified: rectifiedConv(k, folded.bias, backward, 'guided'),
        convolved: rectifiedConv(k, folded.bias, backward, 'pooled-next'),
      };
    });
    const [kernel, bias] = model.getLayer(LOGITS_LAYER).getWeights() as [tf.Tensor2D, tf.Tensor1D];
    this.dense = { kernel: tf.keep(kernel.clone()), bias: tf.keep(bias.clone()) };
  }

  /** The dense layer's weights for class `target` (CAM's w^c), shape [channels]. */
  classWeights(target: number): tf.Tensor1D {
    return tf.tidy(() => tf.squeeze(tf.slice(this.dense.kernel, [0, target], [-1, 1]), [1]));
  }

  /**
   * Runs from `from` (the tensor at that layer) to `to`, returning the tensor at `to`.
   * Layers in order: input, conv1 (rectified, before pooling), ..., conv5, pool5, logits.
   */
  run(
    x: tf.Tensor4D,
    from: MapLayer,
    to: MapLayer | 'logits',
    options: ForwardOptions = {},
  ): tf.Tensor {
    const order = [...MAP_LAYERS, 'logits'];
    let at = order.indexOf(from);
    const end = order.indexOf(to);
    if (at < 0 || end < 0 || end < at)
      throw new Error(`cannot run the network from ${from} to ${to}`);
    let t: tf.Tensor = x;
    const guided = options.guided === true;
    // Whether t is already the pooled form of the layer at `at` (a block pooled as it ran).
    let pooled = false;
    const pool = (a: tf.Tensor4D): tf.Tensor4D => (pooled ? a : maxPool2(a));
    while (at < end) {
      const next = order[at + 1];
      if (next.startsWith('conv')) {
        // The pooled output of the previous block (or the input) feeds this convolution.
        const input = (at === 0 ? t : pool(t as tf.Tensor4D)) as tf.Tensor4D;
        const b = this.blocks[Number(next.slice(4)) - 1];
        // A block pooled within this run takes ReLU and pooling gradients in one pass.
        pooled = at + 1 < end;
        if (pooled) t = (guided ? guidedReluPool2 : reluPool2)(b.convolved(input));
        else t = guided ? b.guidedRectified(input) : b.rectified(input);
      } else if (next === 'pool5') {
        t = pool(t as tf.Tensor4D);
        pooled = false;
      } else {
        t = tf.add(
          tf.matMul(tf.mean(t, [1, 2]) as tf.Tensor2D, this.dense.kernel),
          this.dense.bias,
        );
      }
      at++;
    }
    return t;
  }

  /**
   * Class probabilities for inference: each block one fused convolution + bias + ReLU kernel
   * (batch norm folded in), then pooling. About 1.5x faster on wasm than the layers model,
   * which runs convolution, batch norm and ReLU as three passes.
   */
  probabilities(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let t: tf.Tensor4D = x;
      for (const b of this.blocks) {
        const conv = tf.fused.conv2d({
          x: t,
          filter: b.kernel,
          strides: 1,
          pad: 'same',
          bias: b.bias,
          activation: 'relu',
        });
        t = tf.maxPool(conv, 2, 2, 'valid');
      }
      const pooled = tf.mean(t, [1, 2]) as tf.Tensor2D;
      return tf.softmax(
        tf.add(tf.matMul(pooled, this.dense.kernel), this.dense.bias),
      ) as tf.Tensor2D;
    });
  }

  /** Class scores (before softmax), [n, classes]. */
  logits(x: tf.Tensor4D, options: ForwardOptions = {}): tf.Tensor2D {
    return this.run(x, 'input', 'logits', options) as tf.Tensor2D;
  }

  /**
   * The activations at `layer` and the gradient of the target class score with respect to
   * them (each slice's own score: the slices are independent).
   */
  layerGradient(
    x: tf.Tensor4D,
    layer: MapLayer,
    target: number,
    options: ForwardOptions = {},
  ): { activations: tf.Tensor4D; gradient: tf.Tensor4D } {
    const activations = (
      layer === 'input' ? x : this.run(x, 'input', layer, options)
    ) as tf.Tensor4D;
    const score = (a: tf.Tensor): tf.Scalar =>
      tf.sum(tf.slice(this.run(a as tf.Tensor4D, layer, 'logits', options), [0, target], [-1, 1]));
    const gradient = tf.grad(score)(activations) as tf.Tensor4D;
    return { activations, gradient };
  }

  dispose(): void {
    for (const b of this.blocks) tf.dispose([b.kernel, b.bias, b.backward]);
    tf.dispose([this.dense.kernel, this.dense.bias]);
  }
}

/** ReLU whose backward pass is guided: gradient kept only where it and the input are positive. */
export const guidedRelu = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.relu(x),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.mul(tf.mul(dy, tf.step(saved[0])), tf.step(dy)),
  };
}) as (x: tf.Tensor) => tf.Tensor;

/**
 * relu(conv(x, kernel) + bias) for attribution: the forward pass is the fused kernel inference
 * uses, and the gradient is for x alone (the weights are constants here), so a map costs no
 * separate bias and ReLU passes, and no weight gradients. ReLU's gradient passes where the
 * output is positive; guided, also only where the incoming gradient is; 'pooled-next' leaves it
 * to reluPool2, which applies it together with the pooling's.
 */
function rectifiedConv(
  kernel: tf.Tensor4D,
  bias: tf.Tensor1D,
  backward: tf.Tensor4D,
  rule: 'plain' | 'guided' | 'pooled-next',
): (x: tf.Tensor4D) => tf.Tensor4D {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    // The kernel itself: under a gradient tape tf.fused.conv2d would fall back to three passes.
    const y = tf.engine().runKernel(
      'FusedConv2D',
      { x, filter: kernel, bias },
      {
        strides: [1, 1],
        pad: 'same',
        dataFormat: 'NHWC',
        dilations: [1, 1],
        activation: 'relu',
      },
    ) as tf.Tensor4D;
    if (rule !== 'pooled-next') save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        let g = dy;
        if (rule !== 'pooled-next') g = tf.mul(dy, tf.step(saved[0]));
        if (rule === 'guided') g = tf.mul(g, tf.step(dy));
        return tf.conv2d(g as tf.Tensor4D, backward, 1, 'same');
      },
    };
  }) as (x: tf.Tensor4D) => tf.Tensor4D;
}

/**
 * Window-wise binary ops between a full-size tensor (cropped to whole windows) and a pooled
 * one: views of [n, 2h, 2w, c] as [n*h, 2, w, 2, c] and of [n, h, w, c] as [n*h, 1, w, 1, c]
 * broadcast the pooled value over its window, with no upsampled copy (faster on wasm than
 * nearest-neighbour resizing followed by the op).
 */
function windowWise(
  op: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  full: tf.Tensor4D,
  pooled: tf.Tensor4D,
): tf.Tensor4D {
  const [n, h, w, c] = pooled.shape;
  const result = op(tf.reshape(full, [n * h, 2, w, 2, c]), tf.reshape(pooled, [n * h, 1, w, 1, c]));
  return tf.reshape(result, [n, 2 * h, 2 * w, c]);
}

/** The input cropped to whole 2x2 windows, and the gradient padded back to the input's size. */
function evenPart(input: tf.Tensor4D, pooled: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = input.shape;
  const [, h2, w2] = pooled.shape;
  return 2 * h2 === h && 2 * w2 === w
    ? input
    : tf.slice(input, [0, 0, 0, 0], [-1, 2 * h2, 2 * w2, -1]);
}
function padBack(g: tf.Tensor4D, input: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = input.shape;
  const [, h2, w2] = g.shape;
  if (h2 === h && w2 === w) return g;
  return tf.pad(g, [
    [0, 0],
    [0, h - h2],
    [0, w - w2],
    [0, 0],
  ]);
}

/**
 * The 2x2 pooling gradient from whole-tensor kernels: `dy` shared among the positions of each
 * window marked in `hit` (1 where the input is its window's maximum), so tied maxima share it.
 * Windows without a hit pass nothing. Comparisons are Sub and Step: the wasm backend runs
 * GreaterEqual and Maximum several times slower.
 */
function routeToHits(input: tf.Tensor4D, hit: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  const count = tf.mul(tf.avgPool(hit, 2, 2, 'valid'), 4);
  // count + (count < 1): a window without hits divides by 1 (0/0 would be NaN).
  const ties = tf.add(count, tf.step(tf.sub(1, count)));
  return padBack(windowWise(tf.mul, hit, tf.div(dy, ties) as tf.Tensor4D), input);
}

/**
 * 2x2 max pooling (stride 2) whose gradient sends dy to the positions `hits` marks with 1 in
 * each window (shared among them), then through `after`. On wasm, where the shape allows, the
 * one-pass kernel of kernels/max-pool-gradient.c applies the same `rule` instead.
 */
function poolRoutedTo(
  rule: PoolGradientRule,
  hits: (input: tf.Tensor4D, pooled: tf.Tensor4D) => tf.Tensor,
  after: (g: tf.Tensor4D) => tf.Tensor4D = (g) => g,
): (x: tf.Tensor4D) => tf.Tensor4D {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    const y = tf.maxPool(x, 2, 2, 'valid');
    save([x, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [input, pooled] = saved as [tf.Tensor4D, tf.Tensor4D];
        if (poolGradientApplies(input) && inWasmMemory(input, pooled, dy))
          return maxPoolGradient(input, pooled, dy as tf.Tensor4D, rule);
        const hit = hits(input, pooled) as tf.Tensor4D;
        return after(routeToHits(input, hit, dy as tf.Tensor4D));
      },
    };
  }) as (x: tf.Tensor4D) => tf.Tensor4D;
}

/**
 * 2x2 max pooling (stride 2) with a gradient made of whole-tensor kernels (window-wise
 * comparison, an average pool) instead of MaxPoolGrad's argmax scatter, about 3x
 * faster on wasm. Where a window holds several equal maxima the gradient is shared among them
 * (a valid subgradient; MaxPoolGrad gives it all to the first). After a ReLU such ties are
 * almost always zeros, whose gradient the ReLU below stops anyway.
 */
export const maxPool2 = poolRoutedTo('plain', (input, pooled) =>
  // 1 where the input equals its window's maximum (the gap is never negative).
  tf.sub(1, tf.step(windowWise((a, b) => tf.sub(b, a), evenPart(input, pooled), pooled))),
);

/**
 * Just below 1 (2 ulps at most): a rectified window's maximum times this is passed by its
 * maximum alone (or by a tie within 2 ulps of it), and by nothing when the maximum is 0.
 */
const BELOW_ONE = 1 - 2 ** -22;

/** step(x - max * BELOW_ONE): 1 at a window's positive maximum; 0 elsewhere and where it is 0. */
const positiveMaxima = (input: tf.Tensor4D, pooled: tf.Tensor4D): tf.Tensor =>
  tf.step(windowWise(tf.sub, evenPart(input, pooled), tf.mul(pooled, BELOW_ONE) as tf.Tensor4D));

/**
 * 2x2 max pooling of rectified activations whose gradient is that of the ReLU before it and
 * the pooling together: the gradient reaches a window's maxima when that maximum is positive,
 * as maxPool2 followed by the ReLU's step would give, in fewer full-size passes.
 * Guided, only positive gradients pass.
 */
export const reluPool2 = poolRoutedTo('rectified', positiveMaxima);
export const guidedReluPool2 = poolRoutedTo('guided', positiveMaxima, (g) => tf.relu(g));
