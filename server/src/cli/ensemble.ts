import { ensembleUsage } from './usages';
import { assembleEnsemble } from '../model/training/ensemble';
import { selectBackend } from '../model/inference/backend';
import { parseArgs, stringFlag, UsageError } from './args';
import { progressBar } from './progress';

/**
 * Assembles models trained by `phaselens train` (different seeds) into one ensemble folder and
 * fits its decision rule (temperature, agreement threshold) on their synthetic validation series.
 */
export async function ensemble(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, { values: ['members', 'out', 'version', 'cache'], booleans: [] });
  const dir = stringFlag(args, 'out');
  const members = (stringFlag(args, 'members') ?? '').split(',').filter(Boolean);
  if (!dir || members.length < 1 || args.positional.length)
    throw new UsageError(`usage: ${ensembleUsage}`);
  await selectBackend(() => undefined);
  const cache = stringFlag(args, 'cache');
  const version = stringFlag(args, 'version') ?? '2.0.0';
  const s = await assembleEnsemble(
    members,
    dir,
    {
      version,
      cache,
      command: `phaselens ensemble ${argv.join(' ')}`
        .replace(` --out ${dir}`, '')
        .replace(cache === undefined ? '' : ` --cache ${cache}`, ''),
    },
    progressBar('scoring validation series'),
  );
  out.write(
    `Ensemble of ${members.length} member${members.length > 1 ? 's' : ''} in ${dir}: temperature ${s.rule.temperature.toFixed(3)}, indeterminate below ${(s.rule.minAgreement * 100).toFixed(1)}% agreement${s.rule.unanimous ? ' or when members disagree' : ''}\n` +
      `${s.validationSeries} synthetic validation series: ${(s.accuracy * 100).toFixed(1)}% right, ${s.indeterminate} indeterminate, members disagreed on ${s.memberDisagreements}\n`,
  );
  return 0;
}
