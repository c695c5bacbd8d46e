import { serveUsage } from './usages';
import { loadConfig } from '../service/config';
import { startService } from '../service/server';
import { parseArgs, UsageError } from './args';

/** Runs the HTTP service until SIGINT or SIGTERM; running analyses finish first. */
export async function serve(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, { values: [], booleans: [] });
  if (args.positional.length) throw new UsageError(`usage: ${serveUsage}`);
  const config = loadConfig();
  const service = await startService(config);
  out.write(`PhaseLens service listening on ${service.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await service.queue.idle();
  await service.close();
  return 0;
}
