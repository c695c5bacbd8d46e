/**
 * Rewrites a model folder's training curve and MODEL_CARD.md from what the folder holds
 * (phaselens-model.json, evaluation/phantoms, evaluation/real, ablation.json): run after
 * `phaselens evaluate` so the card carries the evaluation.
 *   npx tsx scripts/model-card.ts server/models/phaselens-phase
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeModelCard } from '../server/src/model/reports/model-card';
import type { ModelMetadata } from '../server/src/model/inference/phase-model';
import { writeTrainingCurve } from '../server/src/model/reports/report';
import type { EpochRecord } from '../server/src/model/training/train';

async function main(): Promise<void> {
  const dir = process.argv[2] ?? path.join(__dirname, '..', 'server', 'models', 'phaselens-phase');
  const metadata = JSON.parse(
    await fs.readFile(path.join(dir, 'phaselens-model.json'), 'utf8'),
  ) as ModelMetadata;
  const history = (metadata.training as { history?: EpochRecord[] }).history ?? [];
  if (history.length) await writeTrainingCurve(history, path.join(dir, 'training-curve.png'));
  await writeModelCard(dir, metadata);
  console.log(`wrote ${path.join(dir, 'MODEL_CARD.md')}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
