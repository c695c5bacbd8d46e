import type { PacsAuth } from '../dicomweb/client';

/**
 * PACS credentials come from the environment, never from the command line (where they would
 * show in the process list and shell history).
 */
export function pacsAuthFromEnv(env: NodeJS.ProcessEnv = process.env): PacsAuth | undefined {
  if (env.PHASELENS_PACS_TOKEN) return { token: env.PHASELENS_PACS_TOKEN };
  if (env.PHASELENS_PACS_USER)
    return { username: env.PHASELENS_PACS_USER, password: env.PHASELENS_PACS_PASSWORD ?? '' };
  return undefined;
}
