import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '../errors';
import { FOV_MM, INPUT_SIZE, WINDOWS } from './preprocess';
import { loadModel, saveModel } from './weights-io';

/** The shipped model's folder: server/models/phaselens-phase (weights, metadata, model card). */
export const DEFAULT_MODEL_DIR = path.join(__dirname, '..', '..', 'models', 'phaselens-phase');

export interface ModelMetadata {
  name: string;
  version: string;
  /** Series-level temperature (calibration), fitted on synthetic validation series. */
  temperature: number;
  input: { size: number; fovMm: number; windows: [number, number][] };
  training: Record<string, unknown>;
}

/** A trained network with what is needed to use it the same way it was validated. */
export interface PhaseModel {
  network: tf.LayersModel;
  metadata: ModelMetadata;
}

const METADATA = 'phaselens-model.json';

export async function savePhaseModel(model: PhaseModel, dir: string): Promise<void> {
  await saveModel(model.network, dir);
  await fs.writeFile(path.join(dir, METADATA), `${JSON.stringify(model.metadata, null, 2)}\n`);
}

/** Loads a model folder, refusing one whose preprocessing differs from this code's. */
export async function loadPhaseModel(dir = DEFAULT_MODEL_DIR): Promise<PhaseModel> {
  const metaPath = path.join(dir, METADATA);
  if (!existsSync(metaPath) || !existsSync(path.join(dir, 'model.json')))
    throw new InvalidInputError(
      `${dir} is not a PhaseLens model folder (no ${METADATA} or model.json)`,
    );
  const metadata = JSON.parse(await fs.readFile(metaPath, 'utf8')) as ModelMetadata;
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
