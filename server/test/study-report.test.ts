import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidInputError } from '../src/errors';
import { rewriteStudyReport } from '../src/study/report';

const committed = path.join(__dirname, '..', '..', 'docs', 'study');

describe('the study report, rewritten from its results', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-study-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  // Rewriting the report recomputes every interval (protocol 2: 40,000 resamples for each
  // equivalence test): about a minute on a 2-core machine with other suites beside it.
  it("is the committed report, and says where an arm's patients are too few to show anything", async () => {
    await fs.copyFile(path.join(committed, 'results.json'), path.join(dir, 'results.json'));
    await rewriteStudyReport(dir);
    const report = await fs.readFile(path.join(dir, 'README.md'), 'utf8');
    expect(report).toBe(await fs.readFile(path.join(committed, 'README.md'), 'utf8'));
    const realVerdict = report.split('\n').findIndex((l) => l.startsWith('- **real CT**'));
    expect(report.split('\n')[realVerdict + 1]).toMatch(
      /^ {2}With 4 patients this arm \*\*cannot show any difference\*\*: the smallest two-sided p .* is 0\.125/,
    );
    const syntheticVerdict = report.split('\n').findIndex((l) => l.startsWith('- **synthetic**'));
    expect(report.split('\n')[syntheticVerdict + 1]).not.toMatch(/cannot show/);
  }, 240_000);

  it('refuses results without the context of their run, writing nothing', async () => {
    const bare = path.join(dir, 'bare');
    await fs.mkdir(bare);
    await fs.writeFile(path.join(bare, 'results.json'), '{"records": [], "sanity": []}');
    await expect(rewriteStudyReport(bare)).rejects.toThrow(
      new InvalidInputError(
        `${path.join(bare, 'results.json')}: has no context, records or sanity checks to report`,
      ),
    );
    expect(await fs.readdir(bare)).toEqual(['results.json']);
  });
});
