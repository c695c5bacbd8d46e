import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Writes `file` whole or not at all: to a process-named `.partial` beside it, synced to disk,
 * then renamed over it, so a stop while writing leaves the previous version intact.
 */
export async function writeFileDurably(file: string, data: string | Uint8Array): Promise<void> {
  const partial = `${file}.${process.pid}.partial`;
  const handle = await fs.open(partial, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(partial, file);
}

/** Removes `name` in `dir` with any `.partial` a stopped writeFileDurably left; nothing else. */
export async function removeWithPartials(dir: string, name: string): Promise<void> {
  for (const entry of await fs.readdir(dir).catch(() => [] as string[]))
    if (entry === name || (entry.startsWith(`${name}.`) && entry.endsWith('.partial')))
      await fs.rm(path.join(dir, entry), { force: true });
}
