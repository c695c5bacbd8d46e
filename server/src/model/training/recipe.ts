import { InvalidInputError } from '../../errors';
import {
  isPhantomLever,
  PHANTOM_GENERATOR_VERSION,
  type PhantomLever,
} from '../../phantom/patient';
import { Random } from '../../phantom/random';
import { augmentFor, type AugmentParts } from './augment';
import { selectBackend } from '../inference/backend';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import {
  collectSlices,
  labelledFolder,
  phantomSeries,
  SliceSet,
  type LabelledSeries,
} from './dataset';
import { inputDescription, type ModelMetadata } from '../inference/phase-model';
import type { LearningRateSchedule } from './schedule';
import { DEFAULT_TRAIN, trainPhaseNetwork, type TrainResult } from './train';

export interface RecipeOptions {
  /** A folder with labels.csv, or */
  data?: string;
  /** a number of phantom cases generated in memory (the shipped model's recipe). */
  phantoms?: number;
  /** Generator parts the phantoms leave out (a lever ablation); none by default. */
  phantomWithout?: readonly PhantomLever[];
  seed: number;
  epochs: number;
  perSeries: number;
  matrix: number;
  validationFraction: number;
  augment: AugmentParts;
  /** The augmentation's dense-material gain bound (`maxDenseGain`); absent or 1: off. */
  denseGain?: number;
  /** HU above which that gain applies (`denseFromHu`); absent: the augmentation's default. */
  denseFrom?: number;
  schedule: LearningRateSchedule;
  /** Epochs without a better validation loss before training stops; 0: never early. */
  patience?: number;
  version: string;
  command: string;
  /** A folder where the preprocessed slices are kept, so runs on the same data skip preparing. */
  cache?: string;
  /** A folder for the per-epoch checkpoint, from which the same run started again resumes. */
  checkpoint?: string;
}

export interface RecipeProgress {
  preparing?: (done: number, total: number) => void;
  batch?: (epoch: number, batch: number, batches: number, loss: number, acc: number) => void;
  line?: (text: string) => void;
}

/**
 * The commit of the code that trains, where it runs from a git checkout: float rounding differs
 * between kernel versions, and a model is only reproduced bit for bit by the code that made it.
 */
function codeVersion(): string | undefined {
  try {
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: __dirname,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: __dirname,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return dirty ? `${commit} with uncommitted changes` : commit;
  } catch {
    return undefined;
  }
}

/** The cache key of a phantom recipe's slices (the validation set's file is `validation-KEY.slices`). */
export function phantomCacheKey(
  phantoms: number,
  seed: number,
  matrix: number,
  without: readonly PhantomLever[] = [],
): string {
  const left = without.length ? `-without-${[...without].sort().join('-')}` : '';
  return `${phantoms}-${seed}-${matrix}-g${PHANTOM_GENERATOR_VERSION}${left}`;
}

/** How a phantom recipe's source names the generator parts it leaves out ('' when none). */
export function withoutText(without: readonly PhantomLever[]): string {
  return without.length ? ` without ${[...without].sort().join(' and ')}` : '';
}

/**
 * Generator parts added in a version that a recipe can leave out: with them left out, the code's
 * generator draws what that version's predecessor drew. (Versions before 5 changed the generator
 * in ways that cannot be left out; their recipes are remade by the code's generator as it is.)
 */
const PARTS_ADDED: Record<number, PhantomLever[]> = { 5: ['table', 'lumen'] };

/** What a model trained on phantoms was trained on, read back from its metadata. */
export interface PhantomRecipe {
  seed: number;
  phantoms: number;
  matrix: number;
  validationSeries: number;
  /** Generator parts its phantoms left out. */
  without: PhantomLever[];
}

/** The generator parts a recipe's source text says its phantoms left out (withoutText's form). */
export function partsLeftOut(source: string): string[] {
  // "generator 4 without gains and confounders, seed ..."; lever names may hold hyphens.
  const listed = /generator \d+ without ([a-z -]+?),/.exec(source)?.[1];
  if (listed === undefined) {
    if (/generator \d+ without/.test(source))
      throw new InvalidInputError(`cannot read which generator parts "${source}" leaves out`);
    return [];
  }
  return listed.split(' and ');
}

/**
 * Reads a phantom recipe back from a model's training metadata (`source`, as trainModel writes
 * it), so its validation series can be remade; throws for a model trained otherwise.
 */
export function phantomRecipeOf(metadata: ModelMetadata, dir: string): PhantomRecipe {
  const t = metadata.training;
  const source = String(t.source ?? '');
  const phantoms = /^(\d+) synthetic cases/.exec(source);
  const matrix = /(\d+)x\d+ matrix/.exec(source);
  if (!phantoms || !matrix || typeof t.seed !== 'number' || typeof t.validationSeries !== 'number')
    throw new InvalidInputError(
      `${dir}: not a model trained on phantoms by phaselens train (its validation series cannot be remade)`,
    );
  const without = partsLeftOut(source);
  const unknown = without.find((w) => !isPhantomLever(w));
  if (unknown !== undefined)
    throw new InvalidInputError(`${dir}: its phantoms leave out an unknown part "${unknown}"`);
  // A recipe of an older generator is remade by the code's with the parts added since left out.
  // Sources from before generator 3 name no version: they are older than any listed here.
  const version = Number(/generator (\d+)/.exec(source)?.[1] ?? 0);
  const since = Object.entries(PARTS_ADDED)
    .filter(([v]) => Number(v) > version)
    .flatMap(([, parts]) => parts);
  return {
    seed: t.seed,
    phantoms: Number(phantoms[1]),
    matrix: Number(matrix[1]),
    validationSeries: t.validationSeries,
    without: [...new Set([...without.filter(isPhantomLever), ...since])],
  };
}

/** Validation phantoms of a phantom recipe: their own seed, so no patient is shared with training. */
export function validationPhantoms(
  phantoms: number,
  seed: number,
  matrix: number,
  fraction: number,
  without: readonly PhantomLever[] = [],
): LabelledSeries[] {
  const count = Math.max(8, Math.round(phantoms * fraction));
  return phantomSeries(`validation-${seed}`, count, matrix, without);
}

/** Splits labelled series into training and validation by series (never by slice). */
export function splitSeries(
  series: LabelledSeries[],
  fraction: number,
  seed: number,
): [LabelledSeries[], LabelledSeries[]] {
  const random = new Random(`split/${seed}`);
  const keyed = series.map((s) => ({ s, key: random.uniform() }));
  keyed.sort((a, b) => a.key - b.key);
  const n = Math.max(1, Math.round(series.length * fraction));
  return [keyed.slice(n).map((k) => k.s), keyed.slice(0, n).map((k) => k.s)];
}

/**
 * The whole training recipe: data, split, preprocessing, training with early stopping and
 * temperature calibration. What `phaselens train` runs; deterministic for its options.
 */
export async function trainModel(
  options: RecipeOptions,
  progress: RecipeProgress = {},
): Promise<{ result: TrainResult; metadata: ModelMetadata }> {
  const backend = await selectBackend();
  // The code that trains is the code at the start: a checkout may move while a run goes on.
  const code = codeVersion();
  let trainSeries: LabelledSeries[];
  let validationSeries: LabelledSeries[];
  let source: string;
  const { seed, matrix } = options;
  const without = options.phantomWithout ?? [];
  if (options.phantoms !== undefined) {
    // Validation phantoms come from their own seed: no patient is shared with training.
    trainSeries = phantomSeries(`train-${seed}`, options.phantoms, matrix, without);
    validationSeries = validationPhantoms(
      options.phantoms,
      seed,
      matrix,
      options.validationFraction,
      without,
    );
    const count = validationSeries.length;
    source = `${options.phantoms} synthetic cases (generator ${PHANTOM_GENERATOR_VERSION}${withoutText(without)}, seed train-${seed}) and ${count} validation cases (seed validation-${seed}), ${matrix}x${matrix} matrix`;
  } else if (options.data !== undefined) {
    if (without.length)
      throw new InvalidInputError('generator parts can only be left out of phantoms, not --data');
    const all = await labelledFolder(options.data);
    if (all.length < 8)
      throw new InvalidInputError(
        `${options.data}: at least 8 labelled series are needed, found ${all.length}`,
      );
    [trainSeries, validationSeries] = splitSeries(all, options.validationFraction, seed);
    source = `${all.length} labelled series from ${options.data}`;
  } else {
    throw new InvalidInputError('training needs --data or --phantoms');
  }
  const total = trainSeries.length + validationSeries.length;
  const cached = async (name: string, make: () => Promise<SliceSet>): Promise<SliceSet> => {
    if (!options.cache) return make();
    const file = path.join(options.cache, `${name}.slices`);
    if (existsSync(file)) return SliceSet.load(file);
    const set = await make();
    await fs.mkdir(options.cache, { recursive: true });
    await set.save(file);
    return set;
  };
  // Phantom slices depend on the generator too: a newer one must not reuse an older one's cache.
  const key =
    options.phantoms !== undefined
      ? phantomCacheKey(options.phantoms, seed, matrix, without)
      : `${path.basename(options.data ?? 'data')}-${seed}-${matrix}`;
  const trainSet = await cached(`train-${key}-${options.perSeries}`, () =>
    collectSlices(trainSeries, options.perSeries, (d) => progress.preparing?.(d, total)),
  );
  const validationSet = await cached(`validation-${key}`, () =>
    collectSlices(validationSeries, 48, (d) => progress.preparing?.(trainSeries.length + d, total)),
  );
  progress.line?.(
    `Training on ${trainSet.size} slices of ${trainSeries.length} series, validating on ${validationSet.size} slices of ${validationSeries.length} series (${backend})`,
  );
  const parts = augmentFor(options.augment);
  const augment =
    parts && options.denseGain !== undefined && options.denseGain > 1
      ? {
          ...parts,
          maxDenseGain: options.denseGain,
          ...(options.denseFrom !== undefined ? { denseFromHu: options.denseFrom } : {}),
        }
      : parts;
  const patience = options.patience ?? DEFAULT_TRAIN.patience;
  const result = await trainPhaseNetwork(trainSet, validationSet, {
    ...DEFAULT_TRAIN,
    epochs: options.epochs,
    seed,
    augment,
    schedule: options.schedule,
    patience,
    onBatch: progress.batch,
    checkpoint: options.checkpoint,
    code,
    onResume: (epoch, earlier) =>
      progress.line?.(
        `resuming after epoch ${epoch} of ${options.epochs} from the checkpoint in ${options.checkpoint}${earlier !== (code ?? null) ? ` (written by code ${earlier ?? 'unknown'}; this is ${code ?? 'unknown'})` : ''}`,
      ),
    onStop: (epoch, bestEpoch) =>
      progress.line?.(
        `stopped early after epoch ${epoch} of ${options.epochs}: no better validation loss since epoch ${bestEpoch}`,
      ),
    onEpoch: (r) =>
      progress.line?.(
        `epoch ${r.epoch}: loss ${r.loss.toFixed(3)} acc ${r.accuracy.toFixed(3)}, validation loss ${r.validationLoss.toFixed(3)} acc ${r.validationAccuracy.toFixed(3)}, series ${r.validationSeriesAccuracy.toFixed(3)} (${r.seconds.toFixed(0)} s)`,
      ),
  });
  const metadata: ModelMetadata = {
    name: 'phaselens-phase',
    version: options.version,
    temperature: result.temperature,
    input: inputDescription(),
    training: {
      command: options.command,
      source,
      seed,
      augmentation: augment,
      learningRate: { base: DEFAULT_TRAIN.learningRate, schedule: options.schedule },
      patience,
      slicesPerSeries: options.perSeries,
      trainingSeries: trainSeries.length,
      validationSeries: validationSeries.length,
      trainingSlices: trainSet.size,
      validationSlices: validationSet.size,
      bestEpoch: result.bestEpoch,
      // A resumed run is the same run (its checkpoint holds the optimiser and random stream).
      ...(result.resumedAfter.length ? { resumedAfterEpochs: result.resumedAfter } : {}),
      // Each attempt's code, where any differs from the code that finished the run.
      ...(result.earlierCode.some((c) => c !== (code ?? null))
        ? { earlierAttemptsCode: result.earlierCode }
        : {}),
      history: result.history,
      slicesPerSecond: result.slicesPerSecond,
      backend,
      code,
    },
  };
  return { result, metadata };
}
