import { createHash } from 'node:crypto';
import { PHASES } from '../src/domain/phase';
import {
  CRADLE,
  drawCase,
  PHANTOM_LEVERS,
  type CaseOptions,
  type CaseParameters,
  type PhantomLever,
} from '../src/phantom/patient';
import { generateCase } from '../src/phantom/render';
import type { ModelMetadata } from '../src/model/inference/phase-model';
import { partsLeftOut, phantomRecipeOf, withoutText } from '../src/model/training/recipe';
import { S } from '../src/phantom/structures';

/** The first case index of a seed whose draw satisfies `want`. */
function findCase(
  seed: string,
  options: CaseOptions,
  want: (d: CaseParameters) => boolean,
): number {
  for (let i = 0; i < 500; i++) if (want(drawCase(seed, i, options))) return i;
  throw new Error(`no case of seed ${seed} satisfies the condition in 500 draws`);
}

const supine = (d: CaseParameters): boolean => d.position.endsWith('S');

describe('generator 5: scanner beds and bowel contents', () => {
  const draws = Array.from({ length: 400 }, (_, i) => drawCase('bed', i));

  it('draws beds of several kinds: flat and curved, thin and thick, with and without pads and rails', () => {
    const tables = draws.map((d) => d.table);
    expect(tables.some((t) => t.curvature === 0)).toBe(true);
    expect(tables.some((t) => t.curvature > 0.001)).toBe(true);
    const thickness = tables.map((t) => t.thicknessMm);
    expect(Math.max(...thickness) - Math.min(...thickness)).toBeGreaterThan(30);
    expect(tables.some((t) => t.padMm > 0 && t.padHu < -700)).toBe(true); // foam
    expect(tables.some((t) => t.padMm > 0 && t.padHu > -150)).toBe(true); // gel
    expect(tables.some((t) => t.padMm === 0)).toBe(true);
    expect(tables.some((t) => t.railHu > 0)).toBe(true);
    const circles = draws.filter((d) => d.reconstructionCircle).length;
    expect(circles).toBeGreaterThan(0.5 * draws.length);
    expect(circles).toBeLessThan(0.9 * draws.length);
  });

  it('draws beds and dense bowel contents in every phase, at about the same rates', () => {
    for (const phase of PHASES) {
      const own = draws.filter((d) => d.phase === phase);
      const rate = (f: (d: CaseParameters) => boolean): number => own.filter(f).length / own.length;
      // 100 draws a phase: the rates (25% and 20% drawn) stay within binomial reach of them.
      expect(rate((d) => d.gastricLayerHu > 0)).toBeGreaterThan(0.12);
      expect(rate((d) => d.gastricLayerHu > 0)).toBeLessThan(0.4);
      expect(rate((d) => d.bowelResidueHu > 0)).toBeGreaterThan(0.08);
      expect(rate((d) => d.bowelResidueHu > 0)).toBeLessThan(0.35);
      const meanThickness = own.reduce((a, d) => a + d.table.thicknessMm, 0) / own.length;
      expect(Math.abs(meanThickness - 25.5)).toBeLessThan(5); // uniform 6-45 mm
    }
  });

  it('leaving out table and lumen draws and renders exactly what generator 4 did', async () => {
    // Digests of generator 4's output, computed with the code of commit d131090 (the last
    // generator-4 commit): its draws for 40 cases, and six rendered cases, supine and prone,
    // with and without oral contrast.
    const generator5 = new Set([
      'table',
      'reconstructionCircle',
      'gastricLayerHu',
      'gastricLayerLevel',
      'bowelResidueHu',
    ]);
    const without: CaseOptions = { without: ['table', 'lumen'] };
    const draws = createHash('sha256');
    for (let i = 0; i < 40; i++) {
      const d = drawCase('pin', i, without);
      expect(d.table).toEqual(CRADLE);
      draws.update(JSON.stringify(Object.entries(d).filter(([key]) => !generator5.has(key))));
    }
    expect(draws.digest('hex').slice(0, 16)).toBe('5f2c19feae03151b');
    const rendered: string[] = [];
    for (let i = 0; i < 6; i++) {
      const c = await generateCase('pin', i, { matrix: 96, slices: 6, ...without });
      const h = createHash('sha256');
      h.update(Buffer.from(c.series.hu.buffer));
      h.update(Buffer.from(c.labels.buffer));
      rendered.push(`${c.params.position} ${h.digest('hex').slice(0, 16)}`);
    }
    expect(rendered).toEqual([
      'FFS 1c26a03fccdfc7b5',
      'HFS e953007a6e71ecb8',
      'HFS 810512f36fe189df',
      'FFS 5c94113d8cd756fc',
      'HFP 190f6d4a4ddb7708',
      'HFP c98e101727658606',
    ]);
    // With them, the same patients lie on other beds.
    expect(drawCase('pin', 0).table).not.toEqual(CRADLE);
  });

  it('renders the drawn bed as thick as drawn, shells denser than the core', async () => {
    const options: CaseOptions = { range: 'upper-abdomen', matrix: 128 };
    const index = findCase(
      'bed-render',
      options,
      (d) =>
        supine(d) &&
        !d.reconstructionCircle &&
        d.table.curvature === 0 &&
        d.table.railHu === 0 &&
        d.table.padMm + d.table.thicknessMm < 40 &&
        d.table.shellMm > 3,
    );
    const c = await generateCase('bed-render', index, { ...options, slices: 3 });
    const { rows: n, columns: w } = c.series;
    const t = c.params.table;
    const ps = c.series.geometry.pixelSpacing[0];
    const o = n * w; // the middle slice
    // The thickest column of table labels: a flat bed is as thick everywhere (pad + top).
    let most = 0;
    let column = 0;
    for (let col = 0; col < w; col++) {
      let rows = 0;
      for (let r = 0; r < n; r++) if (c.labels[o + r * w + col] === S.table) rows++;
      if (rows > most) [most, column] = [rows, col];
    }
    expect(Math.abs(most - (t.padMm + t.thicknessMm) / ps)).toBeLessThanOrEqual(1.5);
    const rowsOf = (): number[] =>
      Array.from({ length: n }, (_, r) => r).filter(
        (r) => c.labels[o + r * w + column] === S.table,
      );
    const rows = rowsOf();
    // Outward from the patient: pad, upper shell, core; the shell is the densest, before blur.
    const top = rows[0] + Math.round(t.padMm / ps);
    const core = rows[rows.length - 1] - Math.round(t.thicknessMm / ps / 2);
    expect(t.shellHu - t.coreHu).toBeGreaterThanOrEqual(400); // as drawn: shells 100+, cores -300-
    expect(c.series.hu[o + top * w + column]).toBeGreaterThan(c.series.hu[o + core * w + column]);
  });

  it('pads outside the reconstruction circle at air, unlabelled and noise-free; not without one', async () => {
    const options: CaseOptions = { range: 'upper-abdomen', matrix: 128 };
    const corner = async (circle: boolean): Promise<{ padded: number; labelled: number }> => {
      const index = findCase('bed-circle', options, (d) => d.reconstructionCircle === circle);
      const c = await generateCase('bed-circle', index, { ...options, slices: 1 });
      let padded = 0;
      let labelled = 0;
      for (let r = 0; r < 8; r++)
        for (let col = 0; col < 8; col++) {
          if (c.series.hu[r * c.series.columns + col] === -1024) padded++;
          if (c.labels[r * c.series.columns + col] !== 0) labelled++;
        }
      return { padded, labelled };
    };
    expect(await corner(true)).toEqual({ padded: 64, labelled: 0 });
    expect((await corner(false)).padded).toBeLessThan(40); // air with scanner noise
  });

  it('layers dense contrast in the dependent stomach without contrast given or oral contrast', async () => {
    const options: CaseOptions = { range: 'upper-abdomen', matrix: 128, phase: 'non-contrast' };
    const index = findCase(
      'bed-lumen',
      options,
      (d) => supine(d) && d.oral !== 'positive' && d.gastricLayerHu > 400,
    );
    const c = await generateCase('bed-lumen', index, { ...options, slices: 24 });
    const { rows: n, columns: w, slices } = c.series;
    let dense = 0;
    let denseRow = 0;
    let other = 0;
    let otherRow = 0;
    for (let s = 0; s < slices; s++)
      for (let r = 0; r < n; r++)
        for (let col = 0; col < w; col++) {
          const i = (s * n + r) * w + col;
          if (c.labels[i] !== S['stomach and duodenum']) continue;
          if (c.series.hu[i] > 200) {
            dense++;
            denseRow += r;
          } else if (c.series.hu[i] > -500) {
            other++;
            otherRow += r;
          }
        }
    expect(dense).toBeGreaterThan(20);
    // Supine, rows grow towards the back: the dense layer lies behind the rest of the contents.
    expect(denseRow / dense).toBeGreaterThan(otherRow / Math.max(1, other));
  });
});

describe('recipes of older generators', () => {
  const metadata = (source: string): ModelMetadata => ({
    name: 'm',
    version: '1.0.0',
    temperature: 1,
    input: { size: 128, fovMm: 400, windows: [] },
    training: { source, seed: 2, validationSeries: 36 },
  });

  it('a generator-4 recipe is remade by generator 5 with its bed and lumen parts left out', () => {
    const four = phantomRecipeOf(
      metadata(
        '360 synthetic cases (generator 4 without gains, seed train-2) and 36 validation cases (seed validation-2), 256x256 matrix',
      ),
      'members/seed-2',
    );
    expect(four.without.sort()).toEqual(['gains', 'lumen', 'table']);
    const five = phantomRecipeOf(
      metadata(
        '360 synthetic cases (generator 5 without gains, seed train-2) and 36 validation cases (seed validation-2), 256x256 matrix',
      ),
      'members/seed-2',
    );
    expect(five.without).toEqual(['gains']);
    // Every lever's name, hyphenated ones too, reads back as written, alone and in company.
    const source = (without: PhantomLever[]): string =>
      `360 synthetic cases (generator 5${withoutText(without)}, seed train-2) and 36 validation cases (seed validation-2), 256x256 matrix`;
    for (const lever of PHANTOM_LEVERS) {
      expect(phantomRecipeOf(metadata(source([lever])), 'm').without).toEqual([lever]);
      const two = [...new Set<PhantomLever>(['lumen', lever])];
      expect(partsLeftOut(source(two))).toEqual(two.sort());
    }
    expect(() => partsLeftOut('360 synthetic cases (generator 5 without Gains!, seed x)')).toThrow(
      /cannot read which generator parts/,
    );
    // Remade that way, a generator-4 case is drawn as generator 4 drew it: the one cradle.
    const drawn = drawCase('validation-2', 0, { without: four.without });
    expect(drawn.table).toEqual(CRADLE);
    expect(drawn.gastricLayerHu + drawn.bowelResidueHu).toBe(0);
  });
});
