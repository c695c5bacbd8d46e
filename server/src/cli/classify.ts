import { classifyUsage } from './usages';
import { classifyWithModel } from '../model/inference/classify';
import { PHASES } from '../domain/phase';
import { OutOfScopeError } from '../errors';
import { parseArgs, UsageError } from './args';
import { modelAndSeries } from './source';

/**
 * Prints the phase of a series: the call (a phase, `indeterminate` with its reason, or
 * `out-of-scope` for input that is not abdominal CT), confidence, class probabilities (and per
 * slice in JSON).
 */
export async function classify(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, {
    values: ['model', 'series', 'acquisition'],
    booleans: ['json', 'help'],
  });
  if (args.flags.has('help')) {
    out.write(`usage: ${classifyUsage}\n`);
    return 0;
  }
  const [source, ...extra] = args.positional;
  if (!source || extra.length > 0) throw new UsageError(`usage: ${classifyUsage}`);
  const { model, series } = await modelAndSeries(args, source);
  const ids = {
    seriesInstanceUid: series.seriesInstanceUid,
    studyInstanceUid: series.studyInstanceUid,
  };
  let result;
  try {
    result = await classifyWithModel(model, series);
  } catch (error) {
    if (!(error instanceof OutOfScopeError)) throw error;
    // Not a failure: the answer for this input is that no phase applies.
    const reason = error.message.replace(/^out of scope: /, '');
    out.write(
      args.flags.has('json')
        ? `${JSON.stringify({ ...ids, phase: 'out-of-scope', reason, warnings: series.warnings ?? [] }, null, 2)}\n`
        : `Phase: out-of-scope (${reason})\n`,
    );
    return 0;
  }
  if (args.flags.has('json')) {
    out.write(`${JSON.stringify({ ...ids, ...result }, null, 2)}\n`);
    return 0;
  }
  const call =
    result.phase === 'indeterminate'
      ? `Phase: indeterminate (leaning ${result.leading} ${result.confidence.toFixed(2)}): ${result.reason ?? ''}`
      : `Phase: ${result.phase} (confidence ${result.confidence.toFixed(2)})`;
  out.write(
    [
      call,
      `  ${PHASES.map((p) => `${p} ${result.probabilities[p].toFixed(2)}`).join('  ')}`,
      `  ${result.slices.length} of ${series.slices} slices used; model ${result.model.name} ${result.model.version}${result.members.length > 1 ? ` (${result.members.length} members: ${result.members.join(', ')})` : ''}`,
      ...result.warnings.map((w) => `  warning: ${w}`),
      '',
    ].join('\n'),
  );
  return 0;
}
