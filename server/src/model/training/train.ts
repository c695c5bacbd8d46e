import * as tf from '@tensorflow/tfjs';
import { PHASES } from '../../domain/phase';
import { Random } from '../../phantom/random';
import { augmentSlice, DEFAULT_AUGMENT, type AugmentOptions } from './augment';
import { fitTemperature, seriesProbabilities } from '../inference/calibrate';
import type { SliceSet } from './dataset';
import {
  CheckpointMismatchError,
  disposeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from './checkpoint';
import { buildPhaseNetwork } from '../inference/network';
import { CHANNELS, INPUT_SIZE } from '../inference/preprocess';
import { learningRateAt, ScheduledAdam, type LearningRateSchedule } from './schedule';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** How the rate moves over the planned epochs (early stopping does not shorten the plan). */
  schedule: LearningRateSchedule;
  seed: number;
  /** Stop after this many epochs without a better validation loss; 0: run every planned epoch. */
  patience: number;
  /** null: no augmentation (for the ablation). */
  augment: AugmentOptions | null;
  onBatch?: (epoch: number, batch: number, batches: number, loss: number, acc: number) => void;
  onEpoch?: (record: EpochRecord) => void;
  /** Early stopping ended the run after `epoch`, keeping `bestEpoch`'s weights. */
  onStop?: (epoch: number, bestEpoch: number) => void;
  /**
   * Folder for a checkpoint after every epoch; a run started again with the same options and
   * data resumes after the last finished epoch. Removed by the caller once the model is saved.
   */
  checkpoint?: string;
  /** The commit of the code that trains, recorded per attempt when a run is resumed. */
  code?: string;
  /** The run resumed from a checkpoint after `epoch`, written by the code `code`. */
  onResume?: (epoch: number, code: string | null) => void;
}

export const DEFAULT_TRAIN: TrainOptions = {
  epochs: 8,
  batchSize: 16,
  learningRate: 1e-3,
  // The shipped model's recipe. Cosine (an option) gave no better held-out accuracy: model card.
  schedule: 'constant',
  seed: 1,
  patience: 3,
  augment: DEFAULT_AUGMENT,
};

export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  validationLoss: number;
  validationAccuracy: number;
  /** Series-level accuracy on the validation series (slices combined as in classification). */
  validationSeriesAccuracy: number;
  seconds: number;
}

export interface TrainResult {
  network: tf.LayersModel;
  history: EpochRecord[];
  bestEpoch: number;
  temperature: number;
  slicesPerSecond: number;
  /** Epochs after which the run stopped and was resumed from its checkpoint (usually none). */
  resumedAfter: number[];
  /** The code of each attempt before the last (null where unknown), when resumed. */
  earlierCode: (string | null)[];
}

const SLICE = INPUT_SIZE * INPUT_SIZE * CHANNELS;

/** Slice probabilities of a SliceSet, in batches (no augmentation). */
export function predictSet(network: tf.LayersModel, set: SliceSet, batchSize = 32): number[][] {
  const out: number[][] = [];
  const buffer = new Float32Array(batchSize * SLICE);
  for (let start = 0; start < set.size; start += batchSize) {
    const n = Math.min(batchSize, set.size - start);
    for (let i = 0; i < n; i++) set.values(start + i, buffer.subarray(i * SLICE, (i + 1) * SLICE));
    const probs = tf.tidy(() => {
      const x = tf.tensor4d(buffer.subarray(0, n * SLICE), [n, INPUT_SIZE, INPUT_SIZE, CHANNELS]);
      return network.predict(x) as tf.Tensor2D;
    });
    out.push(...(probs.arraySync() as number[][]));
    probs.dispose();
  }
  return out;
}

function lossAndAccuracy(probabilities: number[][], labels: number[]): [number, number] {
  let loss = 0;
  let right = 0;
  probabilities.forEach((p, i) => {
    loss -= Math.log(Math.max(p[labels[i]], 1e-7));
    if (p.indexOf(Math.max(...p)) === labels[i]) right++;
  });
  return [loss / labels.length, right / labels.length];
}

/** FNV-1a of a stream of small integers. */
function fnv(feed: (mix: (v: number) => void) => void): string {
  let h = 0x811c9dc5;
  feed((v) => {
    h = Math.imul(h ^ v, 16777619) >>> 0;
  });
  return h.toString(16);
}

/** The labels and a strided sample of every slice's bytes: which data a run saw. */
function dataFingerprint(set: SliceSet): string {
  return fnv((mix) =>
    set.slices.forEach((slice, i) => {
      mix(set.labels[i]);
      for (let k = 0; k < slice.length; k += 257) mix(slice[k]);
    }),
  );
}

/**
 * What makes two runs the same run, for resuming: options, data, the network's layers and the
 * compute backend (the callbacks, checkpoint folder and code version aside: the code of each
 * attempt is recorded instead, as sessions commit while a run goes on).
 */
function runIdentity(
  train: SliceSet,
  validation: SliceSet,
  network: tf.LayersModel,
  options: TrainOptions,
): string {
  const layers = JSON.stringify(network.toJSON(null, false));
  return JSON.stringify({
    epochs: options.epochs,
    batchSize: options.batchSize,
    learningRate: options.learningRate,
    schedule: options.schedule,
    seed: options.seed,
    patience: options.patience,
    augment: options.augment,
    train: [train.size, dataFingerprint(train)],
    validation: [validation.size, dataFingerprint(validation)],
    network: fnv((mix) => {
      for (let i = 0; i < layers.length; i++) mix(layers.charCodeAt(i));
    }),
    backend: tf.getBackend(),
  });
}

/** Which parts of two run identities differ, in words, for the refusal. */
function identityDifference(saved: string, current: string): string {
  let before: Record<string, unknown> = {};
  try {
    before = JSON.parse(saved) as Record<string, unknown>;
  } catch {
    return 'the checkpoint predates this format: all';
  }
  const now = JSON.parse(current) as Record<string, unknown>;
  const keys = Object.keys(now).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(now[k]));
  return keys.length ? keys.join(', ') : 'their parts';
}

/**
 * Trains the phase network on `train`, validating on `validation` after every epoch, keeping the
 * weights of the best validation loss (early stopping), then fits the series-level temperature
 * on the validation series. Deterministic for a seed (shuffling, augmentation, initialisation).
 */
export async function trainPhaseNetwork(
  train: SliceSet,
  validation: SliceSet,
  options: TrainOptions = DEFAULT_TRAIN,
): Promise<TrainResult> {
  const network = buildPhaseNetwork(options.seed);
  const optimizer = new ScheduledAdam(options.learningRate);
  network.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const random = new Random(`train/${options.seed}`);
  const history: EpochRecord[] = [];
  let best: { loss: number; epoch: number; weights: tf.Tensor[] } | undefined;
  const batchData = new Float32Array(options.batchSize * SLICE);
  const plain = new Float32Array(SLICE);
  let trainedSlices = 0;
  let trainingSeconds = 0;
  let firstEpoch = 1;
  const resumedAfter: number[] = [];
  /** The code of each earlier attempt (null where unknown), in order. */
  const earlierCode: (string | null)[] = [];
  const identity = runIdentity(train, validation, network, options);
  const saved = options.checkpoint ? await loadCheckpoint(options.checkpoint) : undefined;
  if (saved) {
    if (saved.state.run !== identity) {
      disposeCheckpoint(saved);
      throw new CheckpointMismatchError(
        `${options.checkpoint} holds the checkpoint of another training run (${identityDifference(saved.state.run, identity)} differ); remove it or train into another folder`,
      );
    }
    try {
      network.setWeights(saved.tensors.network);
      // Adam's moments and step count, so the resumed steps are the ones the run would have taken.
      await optimizer.setWeights(saved.tensors.optimizer);
    } catch (error) {
      disposeCheckpoint(saved);
      throw new CheckpointMismatchError(
        `${options.checkpoint}: its weights do not fit this network (${(error as Error).message.split('\n')[0]}); remove it or train into another folder`,
      );
    }
    tf.dispose(saved.tensors.optimizer.map((t) => t.tensor));
    best = {
      loss: saved.state.bestLoss,
      epoch: saved.state.bestEpoch,
      weights: saved.tensors.best,
    };
    tf.dispose(saved.tensors.network);
    history.push(...(saved.state.history as EpochRecord[]));
    random.skip(saved.state.randomDraws);
    trainedSlices = saved.state.trainedSlices;
    trainingSeconds = saved.state.trainingSeconds;
    firstEpoch = saved.state.epoch + 1;
    resumedAfter.push(...saved.state.resumedAfter, saved.state.epoch);
    earlierCode.push(...saved.state.earlierCode, saved.state.code);
    options.onResume?.(saved.state.epoch, saved.state.code);
  }
  let stopped = false;
  for (let epoch = firstEpoch; epoch <= options.epochs && !stopped; epoch++) {
    const started = Date.now();
    const order = Array.from({ length: train.size }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = random.int(0, i);
      [order[i], order[j]] = [order[j], order[i]];
    }
    const batches = Math.floor(order.length / options.batchSize);
    const plannedSteps = options.epochs * batches;
    let lossSum = 0;
    let accSum = 0;
    for (let b = 0; b < batches; b++) {
      const labels = new Int32Array(options.batchSize);
      for (let i = 0; i < options.batchSize; i++) {
        const index = order[b * options.batchSize + i];
        const values = train.values(index, plain);
        batchData.set(
          options.augment ? augmentSlice(values, random, options.augment) : values,
          i * SLICE,
        );
        labels[i] = train.labels[index];
      }
      const [x, y] = tf.tidy(() => [
        tf.tensor4d(batchData, [options.batchSize, INPUT_SIZE, INPUT_SIZE, CHANNELS]),
        tf.oneHot(tf.tensor1d(labels, 'int32'), PHASES.length),
      ]);
      optimizer.rate = learningRateAt(
        options.schedule,
        options.learningRate,
        (epoch - 1) * batches + b,
        plannedSteps,
      );
      const result = (await network.trainOnBatch(x, y)) as number[];
      tf.dispose([x, y]);
      lossSum += result[0];
      accSum += result[1];
      trainedSlices += options.batchSize;
      options.onBatch?.(epoch, b + 1, batches, lossSum / (b + 1), accSum / (b + 1));
    }
    trainingSeconds += (Date.now() - started) / 1000;
    const validationProbabilities = predictSet(network, validation);
    const [validationLoss, validationAccuracy] = lossAndAccuracy(
      validationProbabilities,
      validation.labels,
    );
    const seriesRight = validation.bySeries().filter((slices, s) => {
      const p = seriesProbabilities(slices.map((i) => validationProbabilities[i]));
      return p.indexOf(Math.max(...p)) === validation.seriesLabels[s];
    }).length;
    const record: EpochRecord = {
      epoch,
      loss: lossSum / Math.max(1, batches),
      accuracy: accSum / Math.max(1, batches),
      validationLoss,
      validationAccuracy,
      validationSeriesAccuracy: seriesRight / Math.max(1, validation.seriesIds.length),
      seconds: (Date.now() - started) / 1000,
    };
    history.push(record);
    if (!best || validationLoss < best.loss) {
      best?.weights.forEach((w) => w.dispose());
      best = { loss: validationLoss, epoch, weights: network.getWeights().map((w) => w.clone()) };
    } else if (options.patience > 0 && epoch - best.epoch >= options.patience) {
      stopped = true;
    }
    // Saved before it is reported, unless the run ends here (its model is saved instead).
    if (options.checkpoint && !stopped && epoch < options.epochs) {
      const optimizerState = await optimizer.getWeights();
      await saveCheckpoint(options.checkpoint, {
        state: {
          run: identity,
          epoch,
          history,
          bestLoss: best.loss,
          bestEpoch: best.epoch,
          randomDraws: random.drawn,
          trainedSlices,
          trainingSeconds,
          resumedAfter,
          code: options.code ?? null,
          earlierCode,
        },
        tensors: { network: network.getWeights(), best: best.weights, optimizer: optimizerState },
      });
      // The step count is a fresh scalar; the moments are the optimiser's own variables.
      optimizerState[0]?.tensor.dispose();
    }
    options.onEpoch?.(record);
    // Said, not silent: a run planned for more epochs ended here.
    if (stopped) options.onStop?.(epoch, best.epoch);
  }
  if (!best) throw new Error('training ran no epoch');
  network.setWeights(best.weights);
  best.weights.forEach((w) => w.dispose());
  const probabilities = predictSet(network, validation);
  const groups = validation.bySeries();
  const temperature = fitTemperature(
    groups.map((g) => g.map((i) => probabilities[i])),
    validation.seriesLabels,
  );
  return {
    network,
    history,
    bestEpoch: best.epoch,
    temperature,
    slicesPerSecond: trainedSlices / Math.max(1e-9, trainingSeconds),
    resumedAfter,
    earlierCode,
  };
}
