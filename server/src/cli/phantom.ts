import { phantomUsage } from './usages';
import { promises as fs } from 'node:fs';
import { generateCase } from '../phantom/render';
import { writeLabelsCsv, writePhantomCase, type WrittenCase } from '../phantom/write-case';
import { intFlag, parseArgs, stringFlag, UsageError } from './args';
import { progressBar } from './progress';

/** Writes synthetic multiphase abdominal CT cases with structure labels. */
export async function phantom(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, {
    values: ['out', 'cases', 'seed', 'matrix'],
    booleans: ['preview'],
  });
  const dir = stringFlag(args, 'out');
  if (!dir || args.positional.length > 0) throw new UsageError(`usage: ${phantomUsage}`);
  const cases = intFlag(args, 'cases') ?? 4;
  const matrix = intFlag(args, 'matrix') ?? 512;
  if (cases < 1 || cases > 100000) throw new UsageError('--cases must be between 1 and 100000');
  if (matrix < 64 || matrix > 1024) throw new UsageError('--matrix must be between 64 and 1024');
  const seed = stringFlag(args, 'seed') ?? '1';
  await fs.mkdir(dir, { recursive: true });
  const progress = progressBar('generating cases');
  const written: WrittenCase[] = [];
  for (let i = 0; i < cases; i++) {
    const c = await generateCase(seed, i, { matrix });
    written.push(await writePhantomCase(c, dir, args.flags.has('preview')));
    progress(i + 1, cases);
  }
  await writeLabelsCsv(dir, written);
  const counts = written.reduce<Record<string, number>>(
    (m, c) => ({ ...m, [c.phase]: (m[c.phase] ?? 0) + 1 }),
    {},
  );
  out.write(
    `Wrote ${cases} ${cases === 1 ? 'case' : 'cases'} to ${dir} (${Object.entries(counts)
      .map(([p, n]) => `${n} ${p}`)
      .join(', ')}); labels in ${dir}/labels.csv\n`,
  );
  return 0;
}
