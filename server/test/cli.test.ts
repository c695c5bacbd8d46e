import { PassThrough } from 'node:stream';
import { main } from '../src/cli/main';
import { makeDemoSeries } from '../src/series/demo-series';
import { writeCtSeries } from '../src/series/write-ct';
import { tempDir } from './helpers/series';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: '', err: '' };
  out.on('data', (d: Buffer) => (chunks.out += d.toString()));
  err.on('data', (d: Buffer) => (chunks.err += d.toString()));
  const code = await main(argv, out, err);
  return { code, ...chunks };
}

describe('phaselens CLI', () => {
  it('info prints the series summary, and JSON with --json', async () => {
    const dir = await tempDir();
    const series = makeDemoSeries({ rows: 20, columns: 24, slices: 7, seed: 'cli' });
    await writeCtSeries(series, dir);
    const text = await run(['info', dir]);
    expect(text.code).toBe(0);
    expect(text.out).toContain(`Series ${series.seriesInstanceUid}`);
    expect(text.out).toMatch(/slices\s+7 of 24 x 20 px/);
    const json = await run(['info', dir, '--json']);
    const summary = JSON.parse(json.out) as {
      slices: number;
      zRange: number[];
      hu: { max: number };
    };
    expect(summary.slices).toBe(7);
    expect(summary.zRange).toEqual([-200, -170]);
    expect(summary.hu.max).toBe(700);
  });

  it('exits 2 with one line for bad input and bad usage', async () => {
    const missing = await run(['info', '/nonexistent/series']);
    expect(missing.code).toBe(2);
    expect(missing.err).toBe('phaselens info: /nonexistent/series does not exist\n');
    const usage = await run(['info']);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/usage: phaselens info SOURCE/);
    const unknownFlag = await run(['info', 'x', '--bogus']);
    expect(unknownFlag.err).toBe('phaselens info: unknown option --bogus\n');
    expect((await run(['frobnicate'])).code).toBe(2);
  });

  it('demo writes a series and reads it back without a PACS', async () => {
    const dir = await tempDir();
    const result = await run(['demo', '--out', dir]);
    expect(result.code).toBe(0);
    expect(result.out).toContain(`Wrote a 24-slice demo CT series to ${dir}`);
    expect(result.out).toMatch(/slices\s+24 of 128 x 128 px/);
  });
});
