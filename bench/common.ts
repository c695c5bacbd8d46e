import { existsSync, promises as fs } from 'node:fs';
import { analysisProcessPids, peakMiB } from '../test/fixtures/processes';
import os from 'node:os';
import path from 'node:path';

export const RESULTS = path.join(__dirname, 'results');

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Wall time of `run`, repeated; the median, since these machines are noisy. */
export async function timeMedian(
  repeats: number,
  run: () => Promise<unknown>,
): Promise<{ ms: number; runs: number[] }> {
  const runs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = process.hrtime.bigint();
    await run();
    runs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return { ms: median(runs), runs };
}

export function machine(): Record<string, unknown> {
  return {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
}

export async function writeResult(name: string, result: Record<string, unknown>): Promise<string> {
  await fs.mkdir(RESULTS, { recursive: true });
  const file = path.join(RESULTS, `${name}.json`);
  await fs.writeFile(
    file,
    `${JSON.stringify({ benchmark: name, date: new Date().toISOString(), machine: machine(), ...result }, null, 2)}\n`,
  );
  return file;
}

/** Debian's python3 (where python3-torch installs), before any other on the PATH. */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Peak memory (VmHWM) of each analysis process this process started, in MiB. */
export function analysisProcessPeaksMiB(): number[] {
  return analysisProcessPids().map(peakMiB);
}
