import { serveUsage } from './usages';
import { loadConfig } from '../service/config';
import { startService } from '../service/server';
import { parseArgs, UsageError } from './args';

/**
 * Runs the HTTP service until SIGINT or SIGTERM. Then it takes no new analyses (503) and says it
 * is not ready, while queued and running ones finish, for at most PHASELENS_SHUTDOWN_SECONDS
 * (default 60); what is left then is logged as abandoned.
 */
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
  service.drain();
  const seconds = Number(process.env.PHASELENS_SHUTDOWN_SECONDS ?? 60);
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    service.queue.idle().then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), seconds * 1000))),
  ]);
  clearTimeout(timer);
  if (!finished)
    process.stderr.write(
      `phaselens serve: stopped after ${seconds} s with analyses still running; they are lost\n`,
    );
  await service.close();
  return 0;
}
