/**
 * Dense-material probe, synthetic series only: classifies phantoms with the HU above 300 (bone,
 * oral contrast, lipiodol, calcium, excreted contrast) stretched by a gain (HU' = 300 + (HU -
 * 300) x gain) and reports, per true phase and gain, how the calls and the mean probability of
 * delayed move. A model that reads dense material as a phase cue moves; one that reads the
 * vessels and organs does not. Real series are never used here.
 *
 * Run: npx tsx scripts/dense-probe.ts --out FILE.json [--model DIR] [--seed probe-1] [--phantoms 40]
 */
import { promises as fs } from 'node:fs';
import { selectBackend } from '../server/src/model/inference/backend';
import { classifyWithModel } from '../server/src/model/inference/classify';
import { phantomSeries } from '../server/src/model/training/dataset';
import { DEFAULT_MODEL_DIR, loadPhaseModel } from '../server/src/model/inference/phase-model';
import { DENSE_FROM_HU } from '../server/src/model/training/augment';
import { PHASES, type Phase } from '../server/src/domain/phase';
import type { InMemorySeries } from '../server/src/series/types';

const GAINS = [1, 1.5, 2];

function flag(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const value = i > 0 ? process.argv[i + 1] : fallback;
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

interface Cell {
  series: number;
  calls: Record<string, number>;
  meanDelayed: number;
}

async function main(): Promise<void> {
  const out = flag('out');
  const modelDir = flag('model', DEFAULT_MODEL_DIR);
  const seed = flag('seed', 'probe-1');
  const count = Number(flag('phantoms', '40'));
  await selectBackend(() => undefined);
  const model = await loadPhaseModel(modelDir);
  const cells = new Map<string, Cell>();
  const series = phantomSeries(seed, count, 256);
  for (const [n, s] of series.entries()) {
    const base = (await s.load()) as InMemorySeries;
    const line: string[] = [];
    for (const gain of GAINS) {
      const hu = Float32Array.from(base.hu);
      for (let i = 0; i < hu.length; i++)
        if (hu[i] > DENSE_FROM_HU) hu[i] = DENSE_FROM_HU + (hu[i] - DENSE_FROM_HU) * gain;
      const result = await classifyWithModel(model, { ...base, hu });
      const key = `${s.phase}@${gain}`;
      const cell = cells.get(key) ?? { series: 0, calls: {}, meanDelayed: 0 };
      cell.series++;
      cell.calls[result.phase] = (cell.calls[result.phase] ?? 0) + 1;
      cell.meanDelayed += result.probabilities.delayed;
      cells.set(key, cell);
      line.push(`x${gain} ${result.phase} (delayed ${result.probabilities.delayed.toFixed(2)})`);
    }
    process.stderr.write(`${n + 1}/${count} ${s.id} ${s.phase}: ${line.join(', ')}\n`);
  }
  const table: Record<Phase, Record<string, Cell>> = Object.fromEntries(
    PHASES.map((p) => [p, {}]),
  ) as Record<Phase, Record<string, Cell>>;
  for (const [key, cell] of cells) {
    const [phase, gain] = key.split('@') as [Phase, string];
    table[phase][`x${gain}`] = { ...cell, meanDelayed: cell.meanDelayed / cell.series };
  }
  const report = {
    model: `${model.metadata.name} ${model.metadata.version}`,
    modelDir,
    seed,
    phantoms: count,
    denseFromHu: DENSE_FROM_HU,
    gains: GAINS,
    byTruePhase: table,
  };
  await fs.writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  for (const phase of PHASES)
    process.stdout.write(
      `${phase}: ${GAINS.map((g) => {
        const c = table[phase][`x${g}`];
        return c
          ? `x${g} right ${c.calls[phase] ?? 0}/${c.series}, mean P(delayed) ${c.meanDelayed.toFixed(2)}`
          : '';
      }).join('; ')}\n`,
    );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
