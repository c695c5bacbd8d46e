import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildPhaseNetwork } from '../server/src/model/inference/network';
import {
  DEFAULT_MODEL_DIR,
  inputDescription,
  loadPhaseModel,
  type PhaseModel,
} from '../server/src/model/inference/phase-model';

/** The shipped model when present; else an untrained one (timings do not depend on weights). */
export async function benchModel(): Promise<{ model: PhaseModel; shipped: boolean }> {
  // A model folder holds phaselens-model.json (an ensemble keeps its networks in members/).
  if (existsSync(path.join(DEFAULT_MODEL_DIR, 'phaselens-model.json')))
    return { model: await loadPhaseModel(), shipped: true };
  return {
    model: {
      network: buildPhaseNetwork(1),
      metadata: {
        name: 'untrained',
        version: '0',
        temperature: 1,
        input: inputDescription(),
        training: {},
      },
    },
    shipped: false,
  };
}
