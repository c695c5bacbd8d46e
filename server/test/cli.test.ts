import { PHANTOM_GENERATOR_VERSION } from '../src/phantom/patient';
import { PassThrough } from 'node:stream';
import { main } from '../src/cli/main';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { generateCase } from '../src/phantom/render';
import { makeDemoSeries } from '../src/series/demo-series';
import { writeCtSeries } from '../src/series/write-ct';
import { tempDir } from './helpers/series';
import { loadPhaseModel } from '../src/model/inference/phase-model';
import { modelKey, savePartialStudy, studyRun } from '../src/study/partial';
import type { SeriesRecord } from '../src/study/run-study';

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

  it('demo generates a phantom, classifies it with the shipped model and writes the five maps', async () => {
    const dir = await tempDir();
    const result = await run(['demo', '--out', dir, '--phase', 'portal-venous']);
    expect(result.code).toBe(0);
    // One synthetic series per phase, each with the model's decision, right or wrong.
    for (const phase of ['non-contrast', 'arterial', 'portal-venous', 'delayed'])
      expect(result.out).toMatch(
        new RegExp(
          `\\n  ${phase} +-> (non-contrast|arterial|portal-venous|delayed|indeterminate) +\\d+%  (right|WRONG\\n     why wrong: .+|unsure\\n     why unsure: .+)\\n`,
        ),
      );
    expect(result.out).toMatch(
      /Phase: (portal-venous|indeterminate) \(confidence [01]\.\d\d; truth: portal-venous\)/,
    );
    for (const m of ['cam', 'gradcam', 'saliency', 'guided', 'sam']) {
      const png = await fs.readFile(path.join(dir, `map-${m}.png`));
      expect(png.subarray(1, 4).toString()).toBe('PNG');
    }
  }, 120_000);

  it('train writes a loadable model with its card and curve, keeps slices in --cache, and refuses an unknown schedule', async () => {
    const dir = await tempDir();
    const argv = [
      'train',
      '--phantoms',
      '8',
      '--epochs',
      '2',
      '--per-series',
      '2',
      '--matrix',
      '64',
    ];
    const result = await run([
      ...argv,
      '--cache',
      path.join(dir, 'cache'),
      '--out',
      path.join(dir, 'model'),
    ]);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/Training on 16 slices of 8 series/);
    expect(result.out).toMatch(/epoch 2: loss \d/);
    const model = await loadPhaseModel(path.join(dir, 'model'));
    const training = model.metadata.training as {
      command: string;
      learningRate: { schedule: string };
    };
    // The recorded command is the recipe: where this run cached its slices is not part of it.
    expect(training.command).toBe(`phaselens ${argv.join(' ')}`);
    expect(training.learningRate.schedule).toBe('constant');
    // The commit of the code that trained (this is a git checkout), for bit-for-bit reproduction.
    expect((training as unknown as { code: string }).code).toMatch(/^[0-9a-f]{7,}/);
    // Keyed by the generator's version: slices of an older generator are never reused.
    expect((await fs.readdir(path.join(dir, 'cache'))).sort()).toEqual([
      `train-8-1-64-g${PHANTOM_GENERATOR_VERSION}-2.slices`,
      `validation-8-1-64-g${PHANTOM_GENERATOR_VERSION}.slices`,
    ]);
    const card = await fs.readFile(path.join(dir, 'model', 'MODEL_CARD.md'), 'utf8');
    expect(card).toContain('Adam at a constant learning rate of 0.001');
    const curve = await fs.readFile(path.join(dir, 'model', 'training-curve.png'));
    expect(curve.subarray(1, 4).toString()).toBe('PNG');
    // The per-epoch checkpoint (for resuming a stopped run) goes once the model is saved.
    expect((await fs.readdir(path.join(dir, 'model'))).sort()).toEqual([
      'MODEL_CARD.md',
      'model.json',
      'phaselens-model.json',
      'training-curve.png',
      'training-history.json',
      'weights.bin',
    ]);
    model.network.dispose();
    // A second seed, and the two assembled into an ensemble whose rule is fitted on their
    // validation series (read back from the cache).
    const second = await run([
      ...argv,
      '--seed',
      '2',
      '--cache',
      path.join(dir, 'cache'),
      '--out',
      path.join(dir, 'model-2'),
    ]);
    expect(second.code).toBe(0);
    const assembled = await run([
      'ensemble',
      '--members',
      `${path.join(dir, 'model')},${path.join(dir, 'model-2')}`,
      '--cache',
      path.join(dir, 'cache'),
      '--out',
      path.join(dir, 'ensemble'),
    ]);
    expect(assembled.code).toBe(0);
    expect(assembled.out).toMatch(/^Ensemble of 2 members in .*: temperature \d/);
    expect(assembled.out).toMatch(
      /\n16 synthetic validation series: \d+\.\d% right, \d+ indeterminate/,
    );
    const ensemble = await loadPhaseModel(path.join(dir, 'ensemble'));
    expect(ensemble.members?.map((m) => m.metadata.training.seed)).toEqual([1, 2]);
    // Unanimity is required only when the members agreed on at least 99% of validation series.
    const disagreed = Number(/members disagreed on (\d+)/.exec(assembled.out)?.[1]);
    expect(Number.isInteger(disagreed)).toBe(true);
    expect(ensemble.metadata.decision?.unanimous).toBe(disagreed / 16 <= 0.01);
    expect(ensemble.metadata.decision?.minAgreement).toBeGreaterThan(0);
    const bad = await run(['train', '--phantoms', '8', '--schedule', 'linear', '--out', dir]);
    expect(bad.code).toBe(2);
    expect(bad.err).toBe(
      'phaselens train: --schedule must be one of constant, cosine, got "linear"\n',
    );
    // Where the dense gain applies means nothing without the gain, and must be a plausible HU.
    const orphan = await run(['train', '--phantoms', '8', '--dense-from', '500', '--out', dir]);
    expect(orphan.code).toBe(2);
    expect(orphan.err).toMatch(/^phaselens train: --dense-from .* needs --dense-gain above 1\n$/);
    const absurd = ['train', '--phantoms', '8', '--dense-gain', '2', '--dense-from', '5000'];
    const far = await run([...absurd, '--out', dir]);
    expect(far.code).toBe(2);
    expect(far.err).toBe('phaselens train: --dense-from must be a number of HU from 100 to 1500\n');
  }, 400_000);

  it('train stops early only as --patience says, and says so; --patience 0 runs every epoch', async () => {
    const dir = await tempDir();
    const argv = ['train', '--phantoms', '8', '--epochs', '6', '--per-series', '2'];
    const common = ['--matrix', '64', '--cache', path.join(dir, 'cache')];
    const full = await run([...argv, ...common, '--patience', '0', '--out', path.join(dir, 'a')]);
    expect(full.code).toBe(0);
    expect(full.out).not.toMatch(/stopped early/);
    const history = JSON.parse(
      await fs.readFile(path.join(dir, 'a', 'training-history.json'), 'utf8'),
    ) as { validationLoss: number }[];
    expect(history).toHaveLength(6);
    // Training is deterministic for a seed: with patience 1 the run is the same up to the first
    // epoch whose validation loss is no better than the best before it, and ends there.
    const losses = history.map((h) => h.validationLoss);
    const stop = losses.findIndex((l, i) => i > 0 && l >= Math.min(...losses.slice(0, i))) + 1;
    const early = await run([...argv, ...common, '--patience', '1', '--out', path.join(dir, 'b')]);
    expect(early.code).toBe(0);
    const kept = JSON.parse(
      await fs.readFile(path.join(dir, 'b', 'training-history.json'), 'utf8'),
    ) as unknown[];
    if (stop === 0) {
      expect(kept).toHaveLength(6);
    } else {
      const best = losses.indexOf(Math.min(...losses.slice(0, stop - 1))) + 1;
      expect(kept).toHaveLength(stop);
      expect(early.out).toContain(
        `stopped early after epoch ${stop} of 6: no better validation loss since epoch ${best}`,
      );
    }
    const model = await loadPhaseModel(path.join(dir, 'b'));
    expect((model.metadata.training as { patience: number }).patience).toBe(1);
    model.network.dispose();
    const bad = await run([...argv, '--patience', '-1', '--out', dir]);
    expect(bad.err).toBe('phaselens train: --patience must be 0 (run every epoch) or more\n');
  }, 300_000);

  it('classify prints the phase, and JSON with per-slice probabilities with --json', async () => {
    const dir = await tempDir();
    const c = await generateCase('cli-classify', 3, { matrix: 128, phase: 'delayed' });
    await writeCtSeries(c.series, dir);
    const text = await run(['classify', dir]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(
      /^Phase: ((non-contrast|arterial|portal-venous|delayed) \(confidence [01]\.\d\d\)|indeterminate \(leaning \S+ [01]\.\d\d\): .+)\n/,
    );
    const json = JSON.parse((await run(['classify', dir, '--json'])).out) as {
      phase: string;
      probabilities: Record<string, number>;
      slices: { index: number; probabilities: Record<string, number> }[];
      seriesInstanceUid: string;
    };
    expect(json.seriesInstanceUid).toBe(c.series.seriesInstanceUid);
    expect(Object.values(json.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(json.slices.length).toBeGreaterThan(3);
    expect(text.out).toContain(`Phase: ${json.phase}`);
  }, 60_000);

  it('refuses unknown maps, layers and models with one line and exit code 2', async () => {
    const bad = await run(['explain', '/nonexistent', '--out', '/tmp/x', '--maps', 'cam,xray']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^phaselens explain: unknown map method "xray" \(known: cam, /);
    const layer = await run(['explain', '/nonexistent', '--out', '/tmp/x', '--layer', 'conv9']);
    expect(layer.err).toMatch(/unknown layer "conv9"/);
    const model = await run(['classify', '/nonexistent', '--model', '/nonexistent-model']);
    expect(model.code).toBe(2);
    expect(model.err).toMatch(/is not a PhaseLens model folder/);
  });
  it('study resumes an unfinished run from its partial results, and refuses those of another run', async () => {
    const dir = await tempDir();
    const argv = ['study', '--phantoms', '1', '--slices', '1'];
    const first = await run([...argv, '--out', path.join(dir, 'a')]);
    expect(first.code).toBe(0);
    // A finished run leaves no partial results behind.
    expect(await fs.readdir(path.join(dir, 'a'))).not.toContain('partial-results.json');
    const { context, records } = JSON.parse(
      await fs.readFile(path.join(dir, 'a', 'results.json'), 'utf8'),
    ) as { context: { model: string; protocol: number }; records: SeriesRecord[] };
    expect(records.map((r) => r.id)).toEqual(['phantom study-2/0']);
    expect(context.protocol).toBe(2);
    // As a run stopped after its first series leaves it (marked, to see it is kept, not remade).
    const identity = studyRun({
      model: modelKey(await loadPhaseModel()),
      series: ['phantom study-2/0'],
      slices: 1,
      protocol: 2,
    });
    await savePartialStudy(path.join(dir, 'b'), identity, [{ ...records[0], confidence: 0.123 }]);
    const resumed = await run([...argv, '--out', path.join(dir, 'b')]);
    expect(resumed.code).toBe(0);
    expect(resumed.out).toContain('resuming: 1 of 1 series already studied');
    expect(resumed.out).not.toContain('studied phantom');
    const after = JSON.parse(await fs.readFile(path.join(dir, 'b', 'results.json'), 'utf8')) as {
      records: SeriesRecord[];
    };
    expect(after.records[0].confidence).toBe(0.123);
    expect(await fs.readdir(path.join(dir, 'b'))).not.toContain('partial-results.json');
    // Partial results of other settings are refused, and nothing is written.
    await savePartialStudy(path.join(dir, 'c'), identity, records);
    const other = await run([...argv, '--slices', '2', '--out', path.join(dir, 'c')]);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/holds a partial study of another run/);
    expect(await fs.readdir(path.join(dir, 'c'))).toEqual(['partial-results.json']);
  }, 300_000);
});
