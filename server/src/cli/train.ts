import { trainUsage } from './usages';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { savePhaseModel } from '../model/inference/phase-model';
import { trainModel } from '../model/training/recipe';
import { DEFAULT_TRAIN } from '../model/training/train';
import { writeTrainingCurve } from '../model/reports/report';
import { writeModelCard } from '../model/reports/model-card';
import { removeCheckpoint } from '../model/training/checkpoint';
import { intFlag, parseArgs, stringFlag, UsageError } from './args';
import { progressBar } from './progress';
import { LEARNING_RATE_SCHEDULES, type LearningRateSchedule } from '../model/training/schedule';
import { AUGMENT_PARTS, type AugmentParts } from '../model/training/augment';
import { isPhantomLever, PHANTOM_LEVERS } from '../phantom/patient';

function isSchedule(name: string): name is LearningRateSchedule {
  return (LEARNING_RATE_SCHEDULES as readonly string[]).includes(name);
}

function isAugmentParts(name: string): name is AugmentParts {
  return (AUGMENT_PARTS as readonly string[]).includes(name);
}

/**
 * Trains the phase network: on phantoms generated in memory (`--phantoms N`, the shipped
 * model's recipe) or on a folder of labelled series (`--data DIR` with labels.csv). Writes the
 * weights, metadata with the fitted temperature, the training history and curve, and a model card.
 */
export async function train(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, {
    values: [
      'data',
      'phantoms',
      'out',
      'epochs',
      'seed',
      'per-series',
      'validation',
      'matrix',
      'version',
      'schedule',
      'cache',
      'augment',
      'phantom-without',
      'patience',
      'dense-gain',
      'dense-from',
    ],
    booleans: ['no-augment'],
  });
  const outDir = stringFlag(args, 'out');
  const data = stringFlag(args, 'data');
  const phantoms = intFlag(args, 'phantoms');
  if (!outDir || (data === undefined) === (phantoms === undefined) || args.positional.length)
    throw new UsageError(`usage: ${trainUsage}`);
  const seed = intFlag(args, 'seed') ?? 1;
  const epochs = intFlag(args, 'epochs') ?? 8;
  const perSeries = intFlag(args, 'per-series') ?? 16;
  const matrix = intFlag(args, 'matrix') ?? 256;
  const validationFraction = Number(stringFlag(args, 'validation') ?? '0.1');
  if (!(validationFraction > 0 && validationFraction < 0.5))
    throw new UsageError('--validation must be a fraction between 0 and 0.5');
  if (epochs < 1 || perSeries < 1)
    throw new UsageError('--epochs and --per-series must be at least 1');
  if (phantoms !== undefined && phantoms < 8) throw new UsageError('--phantoms must be at least 8');
  const patience = intFlag(args, 'patience') ?? DEFAULT_TRAIN.patience;
  if (patience < 0) throw new UsageError('--patience must be 0 (run every epoch) or more');
  const schedule = stringFlag(args, 'schedule') ?? 'constant';
  if (!isSchedule(schedule))
    throw new UsageError(
      `--schedule must be one of ${LEARNING_RATE_SCHEDULES.join(', ')}, got "${schedule}"`,
    );
  const cache = stringFlag(args, 'cache');
  // --no-augment predates --augment: the same as --augment none.
  const augment = args.flags.has('no-augment') ? 'none' : (stringFlag(args, 'augment') ?? 'all');
  if (!isAugmentParts(augment))
    throw new UsageError(`--augment must be one of ${AUGMENT_PARTS.join(', ')}, got "${augment}"`);
  const denseGain = Number(stringFlag(args, 'dense-gain') ?? '1');
  if (!(denseGain >= 1 && denseGain <= 4))
    throw new UsageError('--dense-gain must be a number from 1 (off) to 4');
  if (denseGain > 1 && augment === 'none')
    throw new UsageError(
      '--dense-gain is part of the augmentation: it needs --augment other than none',
    );
  const denseFromFlag = stringFlag(args, 'dense-from');
  const denseFrom = denseFromFlag === undefined ? undefined : Number(denseFromFlag);
  if (denseFrom !== undefined && !(denseFrom >= 100 && denseFrom <= 1500))
    throw new UsageError('--dense-from must be a number of HU from 100 to 1500');
  if (denseFrom !== undefined && denseGain <= 1)
    throw new UsageError(
      '--dense-from says where --dense-gain applies: it needs --dense-gain above 1',
    );
  const without = [
    ...new Set((stringFlag(args, 'phantom-without') ?? '').split(',').filter((w) => w)),
  ];
  const unknown = without.find((w) => !isPhantomLever(w));
  if (unknown !== undefined)
    throw new UsageError(
      `--phantom-without takes ${PHANTOM_LEVERS.join(', ')} (comma-separated), got "${unknown}"`,
    );
  if (without.length && phantoms === undefined)
    throw new UsageError('--phantom-without needs --phantoms');
  // Beside the model it will become: the same command run again resumes where this one stopped.
  const checkpoint = path.join(outDir, 'checkpoint');
  const bar = progressBar('training');
  const { result, metadata } = await trainModel(
    {
      data,
      phantoms,
      seed,
      epochs,
      perSeries,
      matrix,
      validationFraction,
      augment,
      ...(denseGain > 1 ? { denseGain } : {}),
      ...(denseFrom !== undefined ? { denseFrom } : {}),
      schedule,
      patience,
      phantomWithout: without.filter(isPhantomLever),
      version: stringFlag(args, 'version') ?? '1.0.0',
      // The recipe, not where this run kept its files.
      command: `phaselens train ${argv.join(' ')}`
        .replace(` --out ${outDir}`, '')
        .replace(cache === undefined ? '' : ` --cache ${cache}`, ''),
      cache,
      checkpoint,
    },
    {
      preparing: progressBar('preparing series'),
      batch: (epoch, b, batches, loss, acc) =>
        bar(b, batches, `epoch ${epoch}/${epochs} loss ${loss.toFixed(3)} acc ${acc.toFixed(3)}`),
      line: (l) => out.write(`${l}\n`),
    },
  );
  await savePhaseModel({ network: result.network, metadata }, outDir);
  await fs.writeFile(
    path.join(outDir, 'training-history.json'),
    `${JSON.stringify(result.history, null, 2)}\n`,
  );
  await writeTrainingCurve(result.history, path.join(outDir, 'training-curve.png'));
  await writeModelCard(outDir, metadata);
  await removeCheckpoint(checkpoint);
  out.write(
    `Saved ${outDir} (best epoch ${result.bestEpoch}, temperature ${result.temperature.toFixed(2)}, ${result.slicesPerSecond.toFixed(1)} slices/s)\n`,
  );
  return 0;
}
