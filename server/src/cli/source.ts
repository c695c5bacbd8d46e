import { selectBackend } from '../model/inference/backend';
import { DEFAULT_MODEL_DIR, loadPhaseModel, type PhaseModel } from '../model/inference/phase-model';
import { readSeries } from '../series/read-series';
import type { CtSeries } from '../series/types';
import { intFlag, stringFlag, type ParsedArgs } from './args';
import { pacsAuthFromEnv } from './pacs-auth';
import { progressBar } from './progress';

/** The flags every command that reads a series and runs the model shares. */
export const SOURCE_FLAGS = ['model', 'series', 'acquisition'];

/** Loads the model (--model) and reads SOURCE (--series, --acquisition, PACS credentials). */
export async function modelAndSeries(
  args: ParsedArgs,
  source: string,
): Promise<{ model: PhaseModel; series: CtSeries }> {
  await selectBackend(() => undefined);
  const model = await loadPhaseModel(stringFlag(args, 'model') ?? DEFAULT_MODEL_DIR);
  const series = await readSeries(source, {
    seriesInstanceUid: stringFlag(args, 'series'),
    acquisitionNumber: intFlag(args, 'acquisition'),
    auth: pacsAuthFromEnv(),
    onProgress: progressBar('reading slices'),
  });
  return { model, series };
}
