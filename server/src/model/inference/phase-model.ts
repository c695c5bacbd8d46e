import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '../../errors';
import type { DecisionRule } from './decision';
import { FOV_MM, INPUT_SIZE, WINDOWS } from './preprocess';
import { loadModel, saveModel } from './weights-io';

/** The shipped model's folder: server/models/phaselens-phase (weights, metadata, model card). */
export const DEFAULT_MODEL_DIR = path.join(
  __dirname,
  '..',
  '..',
  '..',
  'models',
  'phaselens-phase',
);

export interface ModelMetadata {
  name: string;
  version: string;
  /** Series-level temperature (calibration), fitted on synthetic validation series. */
  temperature: number;
  input: { size: number; fovMm: number; windows: [number, number][] };
  training: Record<string, unknown>;
  /** An ensemble's member folders, relative to its own folder (none for a single network). */
  members?: string[];
  /** How slice probabilities become a call (an ensemble's, fitted when it was assembled). */
  decision?: DecisionRule;
}

/**
 * A trained network with what is needed to use it the same way it was validated. An ensemble
 * carries its members; `network` is then the first member's (maps explain whichever member most
 * supports their phase: explainingMember).
 */
export interface PhaseModel {
  network: tf.LayersModel;
  metadata: ModelMetadata;
  members?: PhaseModel[];
}

/** The networks that vote on a series: an ensemble's members, or the model itself. */
export function membersOf(model: PhaseModel): PhaseModel[] {
  return model.members?.length ? model.members : [model];
}

/** The decision rule of a model; a single network's calls follow its own temperature. */
export function decisionRuleOf(model: PhaseModel): DecisionRule {
  return (
    model.metadata.decision ?? {
      temperature: model.metadata.temperature,
      minAgreement: 0,
      unanimous: false,
    }
  );
}

const METADATA = 'phaselens-model.json';

export async function savePhaseModel(model: PhaseModel, dir: string): Promise<void> {
  await saveModel(model.network, dir);
  await fs.writeFile(path.join(dir, METADATA), `${JSON.stringify(model.metadata, null, 2)}\n`);
}

/** Writes an ensemble's metadata beside its member folders (which hold whole models). */
export async function saveEnsembleMetadata(metadata: ModelMetadata, dir: string): Promise<void> {
  await fs.writeFile(path.join(dir, METADATA), `${JSON.stringify(metadata, null, 2)}\n`);
}

/**
 * Loads a model folder (one network, or an ensemble whose metadata lists member folders),
 * refusing one whose preprocessing differs from this code's.
 */
export async function loadPhaseModel(dir = DEFAULT_MODEL_DIR): Promise<PhaseModel> {
  const metaPath = path.join(dir, METADATA);
  if (!existsSync(metaPath))
    throw new InvalidInputError(`${dir} is not a PhaseLens model folder (no ${METADATA})`);
  const metadata = JSON.parse(await fs.readFile(metaPath, 'utf8')) as ModelMetadata;
  if (metadata.members?.length) {
    const members: PhaseModel[] = [];
    for (const m of metadata.members) members.push(await loadPhaseModel(path.join(dir, m)));
    return { network: members[0].network, metadata, members };
  }
  if (!existsSync(path.join(dir, 'model.json')))
    throw new InvalidInputError(`${dir} is not a PhaseLens model folder (no model.json)`);
  const { input } = metadata;
  if (
    input.size !== INPUT_SIZE ||
    input.fovMm !== FOV_MM ||
    JSON.stringify(input.windows) !== JSON.stringify(WINDOWS)
  )
    throw new InvalidInputError(
      `model ${metadata.name} ${metadata.version} expects ${input.size}px over ${input.fovMm} mm with windows ${JSON.stringify(input.windows)}; this PhaseLens preprocesses differently`,
    );
  return { network: await loadModel(dir), metadata };
}

export function inputDescription(): ModelMetadata['input'] {
  return { size: INPUT_SIZE, fovMm: FOV_MM, windows: WINDOWS.map(([c, w]) => [c, w]) };
}
