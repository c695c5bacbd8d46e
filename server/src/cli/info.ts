import { infoUsage } from './usages';
import { readSeries } from '../series/read-series';
import { formatSummary, summarizeSeries } from '../series/summary';
import { intFlag, parseArgs, stringFlag, UsageError } from './args';
import { pacsAuthFromEnv } from './pacs-auth';
import { progressBar } from './progress';

/** Reads a series and prints what it holds. */
export async function info(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, { values: ['series', 'acquisition'], booleans: ['json'] });
  const [source, ...extra] = args.positional;
  if (!source || extra.length > 0) throw new UsageError(`usage: ${infoUsage}`);
  const series = await readSeries(source, {
    seriesInstanceUid: stringFlag(args, 'series'),
    acquisitionNumber: intFlag(args, 'acquisition'),
    auth: pacsAuthFromEnv(),
    onProgress: progressBar('reading slices'),
  });
  const summary = summarizeSeries(series);
  out.write(
    args.flags.has('json')
      ? `${JSON.stringify(summary, null, 2)}\n`
      : `${formatSummary(summary)}\n`,
  );
  return 0;
}
