import * as tf from '@tensorflow/tfjs';
import { CONV_LAYERS, LOGITS_LAYER } from './network';

/** Where a map can be taken: the input, a block's rectified convolution, or the pooled features. */
export const MAP_LAYERS = ['input', ...CONV_LAYERS, 'pool5'] as const;
export type MapLayer = (typeof MAP_LAYERS)[number];

interface Block {
  kernel: tf.Tensor4D;
  bias: tf.Tensor1D;
  /** relu(conv(x) + bias) as one fused kernel, with a gradient for x only (plain, guided). */
  rectified: (x: tf.Tensor4D) => tf.Tensor4D;
  guidedRectified: (x: tf.Tensor4D) => tf.Tensor4D;
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
      return {
        ...folded,
        rectified: rectifiedConv(folded.kernel, folded.bias, false),
        guidedRectified: rectifiedConv(folded.kernel, folded.bias, true),
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
    while (at < end) {
      const next = order[at + 1];
      if (next.startsWith('conv')) {
        // The pooled output of the previous block (or the input) feeds this convolution.
        const input = (at === 0 ? t : maxPool2(t as tf.Tensor4D)) as tf.Tensor4D;
        const b = this.blocks[Number(next.slice(4)) - 1];
        t = guided ? b.guidedRectified(input) : b.rectified(input);
      } else if (next === 'pool5') {
        t = maxPool2(t as tf.Tensor4D);
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
    for (const b of this.blocks) tf.dispose([b.kernel, b.bias]);
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
 * output is positive; guided, also only where the incoming gradient is.
 */
function rectifiedConv(
  kernel: tf.Tensor4D,
  bias: tf.Tensor1D,
  guided: boolean,
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
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        let g = tf.mul(dy, tf.step(saved[0]));
        if (guided) g = tf.mul(g, tf.step(dy));
        return tf.conv2dTranspose(g as tf.Tensor4D, kernel, x.shape, 1, 'same');
      },
    };
  }) as (x: tf.Tensor4D) => tf.Tensor4D;
}

/**
 * 2x2 max pooling (stride 2) with a gradient made of whole-tensor kernels (nearest-neighbour
 * upsampling, a comparison, an average pool) instead of MaxPoolGrad's argmax scatter, about 3x
 * faster on wasm. Where a window holds several equal maxima the gradient is shared among them
 * (a valid subgradient; MaxPoolGrad gives it all to the first). After a ReLU such ties are
 * almost always zeros, whose gradient the ReLU below stops anyway.
 */
export const maxPool2 = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
  const y = tf.maxPool(x, 2, 2, 'valid');
  save([x, y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [input, pooled] = saved as [tf.Tensor4D, tf.Tensor4D];
      const [, h, w] = input.shape;
      const [, h2, w2] = pooled.shape;
      const up = (t: tf.Tensor4D) => tf.image.resizeNearestNeighbor(t, [2 * h2, 2 * w2]);
      let even = input;
      if (2 * h2 !== h || 2 * w2 !== w)
        even = tf.slice(input, [0, 0, 0, 0], [-1, 2 * h2, 2 * w2, -1]);
      // 1 where the input equals its window's maximum (the gap is never negative).
      const isMax = tf.sub(1, tf.step(tf.sub(up(pooled), even))) as tf.Tensor4D;
      const ties = tf.mul(tf.avgPool(isMax, 2, 2, 'valid'), 4);
      let g: tf.Tensor4D = tf.mul(isMax, up(tf.div(dy, ties) as tf.Tensor4D));
      if (2 * h2 !== h || 2 * w2 !== w)
        g = tf.pad(g, [
          [0, 0],
          [0, h - 2 * h2],
          [0, w - 2 * w2],
          [0, 0],
        ]);
      return g;
    },
  };
}) as (x: tf.Tensor4D) => tf.Tensor4D;
