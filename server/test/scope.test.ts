import { readdirSync } from 'node:fs';
import path from 'node:path';
import { main } from '../src/cli/main';
import { checkScope } from '../src/model/inference/scope';
import { generateCase } from '../src/phantom/render';
import { readSeries } from '../src/series/read-series';
import { tempDir } from './helpers/series';
import { abdomen, abdominalMr, chest, head, onMattress, writeNiftiVolume } from './helpers/volumes';
import { sliceBody } from '../src/model/inference/preprocess';

const REAL = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'real-ct');

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) =>
    ({ write: (s: string) => (f(s), true) }) as unknown as NodeJS.WritableStream;
  const code = await main(
    args,
    sink((s) => (out += s)),
    sink((s) => (err += s)),
  );
  return { code, out, err };
}

describe('scope: only abdominal CT gets a phase', () => {
  it('an abdomen made in the test is in scope', () => {
    const check = checkScope(abdomen());
    expect(check.problem).toBeUndefined();
    expect(check.abdomenMm).toBe(150);
  });

  it('a head is out of scope: no fat, a small cross-section', () => {
    expect(checkScope(head()).problem).toMatch(/^no abdomen: 0 of 30 slices/);
  });

  it('a chest without abdomen is out of scope: mostly lung', () => {
    expect(checkScope(chest()).problem).toMatch(/^no abdomen: 0 of 30 slices/);
  });

  it('a foam mattress under the patient is not lung: an abdomen on one stays in scope, a chest not', () => {
    // The mattress has lung density and spans the table's width: counted as lung inside the
    // body's bounding box, it made abdomens on thick mattresses read as chests.
    expect(checkScope(onMattress(abdomen())).problem).toBeUndefined();
    expect(checkScope(onMattress(chest())).problem).toMatch(/^no abdomen: 0 of 30 slices/);
    const slice = sliceBody(onMattress(abdomen()), 10);
    expect(slice.lungFraction).toBeLessThan(0.01);
    expect(sliceBody(onMattress(chest()), 10).lungFraction).toBeGreaterThan(0.35);
    // Rails seal the table's light core: a pocket of lung density as wide as the table, no lung.
    expect(sliceBody(onMattress(abdomen(), true), 10).lungFraction).toBeLessThan(0.01);
    expect(checkScope(onMattress(chest(), true)).problem).toMatch(/^no abdomen: 0 of 30 slices/);
  });

  it('an MR volume is not CT: no air at -1000 HU', () => {
    expect(checkScope(abdominalMr()).problem).toMatch(
      /^intensities are not CT-like \(0% of pixels/,
    );
  });

  it('phantoms of every scan range are in scope', async () => {
    for (const range of ['upper-abdomen', 'abdomen-pelvis', 'chest-to-pelvis'] as const) {
      const c = await generateCase('scope', 0, { matrix: 128, range });
      expect(checkScope(c.series).problem).toBeUndefined();
    }
  });

  it('every real series in ../shared/data/real-ct is in scope', async () => {
    const names = readdirSync(REAL);
    expect(names.length).toBeGreaterThanOrEqual(9);
    for (const name of names) {
      const check = checkScope(await readSeries(path.join(REAL, name)));
      expect({ name, problem: check.problem }).toEqual({ name, problem: undefined });
    }
  });

  it('phaselens classify answers out-of-scope for an MR NIfTI and a head, with the reason', async () => {
    const dir = await tempDir();
    const mr = path.join(dir, 'abdomen-t1.nii');
    const brain = path.join(dir, 'head.nii');
    await writeNiftiVolume(mr, abdominalMr());
    await writeNiftiVolume(brain, head());
    const a = await cli(['classify', mr]);
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/^Phase: out-of-scope \(intensities are not CT-like/);
    const b = await cli(['classify', brain, '--json']);
    expect(b.code).toBe(0);
    const json = JSON.parse(b.out) as { phase: string; reason: string; probabilities?: unknown };
    expect(json.phase).toBe('out-of-scope');
    expect(json.reason).toMatch(/^no abdomen/);
    expect(json.probabilities).toBeUndefined();
  });
});
