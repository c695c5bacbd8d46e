import * as tf from '@tensorflow/tfjs';

/** How the learning rate moves over a training run. */
export type LearningRateSchedule = 'constant' | 'cosine';

export const LEARNING_RATE_SCHEDULES: readonly LearningRateSchedule[] = ['constant', 'cosine'];

/** The cosine schedule ends at this fraction of the base rate, not at zero: the last epochs still learn. */
export const COSINE_FLOOR = 0.05;

/**
 * The learning rate for step `step` (0-based) of `totalSteps`. Cosine annealing (Loshchilov and
 * Hutter 2017, without restarts) lets the late epochs settle: at a constant rate the validation
 * loss of batch-normalised networks swings from epoch to epoch, and the checkpoint chosen on it
 * is partly luck.
 */
export function learningRateAt(
  schedule: LearningRateSchedule,
  base: number,
  step: number,
  totalSteps: number,
): number {
  if (schedule === 'constant' || totalSteps <= 1) return base;
  const t = Math.min(1, Math.max(0, step / (totalSteps - 1)));
  return base * (COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** Adam whose learning rate can be set between steps (tfjs keeps it protected). */
export class ScheduledAdam extends tf.AdamOptimizer {
  constructor(learningRate: number) {
    super(learningRate, 0.9, 0.999);
  }

  get rate(): number {
    return this.learningRate;
  }

  set rate(value: number) {
    if (!(value >= 0 && Number.isFinite(value)))
      throw new RangeError(`learning rate must be a finite number >= 0, got ${value}`);
    this.learningRate = value;
  }
}
