import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import type { CtSeries, HuArray } from '../../src/series/types';

export async function tempDir(prefix = 'phaselens-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export function maxAbsDiff(a: HuArray, b: HuArray): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Runs a DICOM command-line tool (dcmtk, dicom3tools), failing with an install hint when absent. */
export function runTool(tool: string, args: string[]): string {
  try {
    return execFileSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error(`${tool} is not installed: apt-get install -y dcmtk dicom3tools`);
    }
    throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

/**
 * dciodvfy's findings for one file: its Error and Warning lines (it writes them to stderr, with
 * the IOD name, whatever the verdict).
 */
export function dciodvfy(file: string): string[] {
  const run = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
  if (run.error) throw new Error('dciodvfy is not installed: apt-get install -y dicom3tools');
  return `${run.stdout}${run.stderr}`
    .split('\n')
    .filter((l) => /^(Error|Warning)/.test(l))
    .filter((l) => !PRIVATE_SCHEME_WARNING.test(l));
}

/**
 * dciodvfy knows a fixed list of private coding schemes and warns on any other, although PS3.3
 * C.12.1.1.2 lets an object declare its own in CodingSchemeIdentificationSequence (the phase
 * report does, and its test checks the declaration). Only that warning, for PhaseLens' scheme.
 */
const PRIVATE_SCHEME_WARNING =
  /^Warning - Unrecognized defined term <99PHASELENS> for value 1 of attribute <Coding Scheme Designator>$/;

/** Copies a series with new per-slice positions, to test sorting and geometry checks. */
export function withPositions(series: CtSeries, positions: [number, number, number][]): CtSeries {
  return { ...series, geometry: { ...series.geometry, positions } };
}

export const SHARED = path.resolve(__dirname, '..', '..', '..', '..', 'shared');
export const REAL_CT = path.join(SHARED, 'data', 'real-ct');
