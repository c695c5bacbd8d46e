import { promises as fs } from 'node:fs';
import path from 'node:path';
import { generateCase, type PhantomCase } from '../src/phantom/render';
import { writeLabelsCsv, writePhantomCase } from '../src/phantom/write-case';
import { drawCase } from '../src/phantom/patient';
import { S } from '../src/phantom/structures';
import { type Phase } from '../src/domain/phase';
import { phaseAt } from '../src/phantom/enhancement';
import { readSeries } from '../src/series/read-series';
import { readNifti } from '../src/series/read-nifti';
import { dciodvfy, maxAbsDiff, runTool, tempDir } from './helpers/series';

/**
 * Mean HU inside a structure, away from its edges: voxels whose whole 5 x 5 in-plane
 * neighbourhood is the structure (the kernel blur reaches one voxel out), as are the voxels
 * above and below (thick slices average along z).
 */
function meanInside(c: PhantomCase, id: number): { mean: number; count: number } {
  const { rows: h, columns: w, slices } = c.series;
  const l = c.labels;
  let sum = 0;
  let count = 0;
  for (let s = 1; s < slices - 1; s++) {
    const o = s * w * h;
    for (let y = 2; y < h - 2; y++) {
      for (let x = 2; x < w - 2; x++) {
        const p = o + y * w + x;
        if (l[p] !== id || l[p - w * h] !== id || l[p + w * h] !== id) continue;
        let inside = true;
        for (let dy = -2; dy <= 2 && inside; dy++) {
          for (let dx = -2; dx <= 2; dx++) {
            if (l[p + dy * w + dx] !== id) {
              inside = false;
              break;
            }
          }
        }
        if (inside) {
          sum += c.series.hu[p];
          count++;
        }
      }
    }
  }
  return { mean: sum / count, count };
}

const SECONDS: Record<Phase, number | undefined> = {
  'non-contrast': undefined,
  arterial: 35,
  'portal-venous': 70,
  delayed: 480,
};

describe('synthetic multiphase CT: physics', () => {
  const cases = new Map<Phase, PhantomCase>();

  beforeAll(async () => {
    for (const phase of Object.keys(SECONDS) as Phase[]) {
      cases.set(
        phase,
        await generateCase('physics', 0, {
          typical: true,
          phase,
          seconds: SECONDS[phase],
          matrix: 384,
          range: 'chest-to-pelvis',
        }),
      );
    }
  });

  const measured = new Map<string, { mean: number; count: number }>();
  const hu = (phase: Phase, structure: string): number => {
    const key = `${phase}/${structure}`;
    const m = measured.get(key) ?? meanInside(cases.get(phase)!, S[structure]);
    measured.set(key, m);
    expect(m.count).toBeGreaterThan(20);
    return m.mean;
  };

  it.each<[string, Phase, number, number]>([
    // seed.md / enhancement.md ranges at 120 kVp
    ['aorta', 'non-contrast', 35, 50],
    ['aorta', 'arterial', 250, 450],
    ['aorta', 'portal-venous', 150, 200],
    ['aorta', 'delayed', 90, 140],
    ['portal and superior mesenteric vein', 'non-contrast', 35, 50],
    ['portal and superior mesenteric vein', 'arterial', 80, 150],
    ['portal and superior mesenteric vein', 'portal-venous', 160, 220],
    ['liver', 'non-contrast', 55, 65],
    ['liver', 'portal-venous', 105, 125],
    ['renal cortex', 'non-contrast', 30, 40],
    ['renal medulla', 'non-contrast', 30, 40],
    ['renal cortex', 'arterial', 150, 260],
    ['collecting system and ureters', 'non-contrast', 0, 15],
    ['collecting system and ureters', 'portal-venous', 0, 20],
    ['collecting system and ureters', 'delayed', 500, 2000],
    ['collecting system and ureters', 'arterial', 0, 15],
    ['renal medulla', 'arterial', 50, 130],
    ['renal medulla', 'portal-venous', 150, 200],
    ['renal cortex', 'portal-venous', 170, 220],
    ['renal cortex', 'delayed', 100, 170],
    ['liver', 'arterial', 65, 100],
    ['liver', 'delayed', 80, 105],
    ['portal and superior mesenteric vein', 'delayed', 90, 140],
  ])('%s in the %s phase lies in the published range', (structure, phase, lo, hi) => {
    const v = hu(phase, structure);
    expect(v).toBeGreaterThanOrEqual(lo);
    expect(v).toBeLessThanOrEqual(hi);
  });

  it('orders the aorta arterial > portal-venous > delayed > non-contrast', () => {
    const a = (['arterial', 'portal-venous', 'delayed', 'non-contrast'] as Phase[]).map((p) =>
      hu(p, 'aorta'),
    );
    expect(a[0]).toBeGreaterThan(a[1]);
    expect(a[1]).toBeGreaterThan(a[2]);
    expect(a[2]).toBeGreaterThan(a[3]);
  });

  it('shows corticomedullary differentiation in the arterial phase only', () => {
    const diff = (p: Phase): number => hu(p, 'renal cortex') - hu(p, 'renal medulla');
    expect(diff('arterial')).toBeGreaterThan(80);
    expect(Math.abs(diff('portal-venous'))).toBeLessThan(40);
    expect(Math.abs(diff('non-contrast'))).toBeLessThan(10);
  });

  it('portal vein outshines the hepatic veins late in the arterial phase, not after', () => {
    expect(
      hu('arterial', 'portal and superior mesenteric vein') - hu('arterial', 'hepatic veins'),
    ).toBeGreaterThan(40);
    expect(hu('portal-venous', 'hepatic veins')).toBeGreaterThan(130);
  });

  it('renders each structure at its model HU: the masks line up with the structures', () => {
    for (const [phase, c] of cases) {
      for (const name of ['aorta', 'liver', 'spleen', 'renal cortex', 'inferior vena cava']) {
        const { mean } = meanInside(c, S[name]);
        // Noise averages out; texture and kernel blur move an organ mean by a few HU at most.
        expect({ phase, name, mean: Math.round(mean) }).toEqual({
          phase,
          name,
          mean: expect.closeTo(c.structureHu[S[name]], -1.2),
        });
      }
      // Air outside the body is air.
      expect(c.series.hu[0]).toBeLessThan(-900);
    }
  });
});

describe('synthetic multiphase CT: files', () => {
  it('is deterministic for a seed and differs between seeds', async () => {
    const a = await generateCase('det', 3, { matrix: 96, slices: 8 });
    const b = await generateCase('det', 3, { matrix: 96, slices: 8 });
    const c = await generateCase('det2', 3, { matrix: 96, slices: 8 });
    expect(maxAbsDiff(a.series.hu, b.series.hu)).toBe(0);
    expect(a.labels).toEqual(b.labels);
    expect(a.params).toEqual(b.params);
    expect(c.params).not.toEqual(a.params);
  });

  it('dciodvfy, as these tests call it, reports a broken CT image', async () => {
    const out = await tempDir();
    const c = await generateCase('broken', 0, { matrix: 64, slices: 1 });
    const written = await writePhantomCase(c, out, false);
    const [file] = await fs.readdir(path.join(out, written.path));
    const broken = path.join(out, 'broken.dcm');
    await fs.copyFile(path.join(out, written.path, file), broken);
    runTool('dcmodify', ['-nb', '-ea', '(0008,0020)', broken]);
    expect(dciodvfy(path.join(out, written.path, file))).toEqual([]);
    expect(dciodvfy(broken)).toContain(
      'Error - Missing attribute Type 2 Required Element=<StudyDate> Module=<GeneralStudy>',
    );
  });

  it('writes DICOM that dciodvfy accepts and the readers read back exactly, with aligned labels', async () => {
    const out = await tempDir();
    const c = await generateCase('files', 1, { matrix: 128, slices: 12 });
    const written = await writePhantomCase(c, out, true);
    await writeLabelsCsv(out, [written]);
    const ctDir = path.join(out, written.path);
    const files = await fs.readdir(ctDir);
    expect(files).toHaveLength(12);
    for (const f of files.slice(0, 3)) {
      expect(dciodvfy(path.join(ctDir, f))).toEqual([]);
    }
    const series = await readSeries(ctDir);
    expect(maxAbsDiff(series.hu, c.series.hu)).toBe(0);
    const labels = await readNifti(path.join(out, 'case-0001', 'labels.nii.gz'));
    expect(labels.geometry.orientation).toEqual(series.geometry.orientation);
    labels.geometry.positions.forEach((p, i) =>
      p.forEach((v, k) => expect(v).toBeCloseTo(series.geometry.positions[i][k], 3)),
    );
    expect(labels.geometry.pixelSpacing[0]).toBeCloseTo(series.geometry.pixelSpacing[0], 4);
    expect(Array.from(labels.hu, (v) => v)).toEqual(Array.from(c.labels));
    const csv = await fs.readFile(path.join(out, 'labels.csv'), 'utf8');
    expect(csv.split('\n')[0]).toBe('path,phase,seconds_after_injection');
    expect(csv.split('\n')[1]).toMatch(new RegExp(`^case-0001/ct,${c.params.phase},`));
    const meta = JSON.parse(
      await fs.readFile(path.join(out, 'case-0001', 'labels.json'), 'utf8'),
    ) as { legend: Record<string, { name: string }> };
    expect(meta.legend[String(S.aorta)].name).toBe('aorta');
    expect((await fs.stat(path.join(out, 'case-0001', 'preview.png'))).size).toBeGreaterThan(1000);
  });

  it('every pixel encoding passes dciodvfy with zero errors and reads back exactly', async () => {
    const out = await tempDir();
    const seen = new Set<string>();
    for (let i = 0; seen.size < 3 && i < 40; i++) {
      const params = drawCase('encodings', i);
      const key = `${params.pixelRepresentation}/${params.rescaleIntercept}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const c = await generateCase('encodings', i, { matrix: 64, slices: 2 });
      const written = await writePhantomCase(c, out, false);
      const dir = path.join(out, written.path);
      for (const f of await fs.readdir(dir)) {
        expect(dciodvfy(path.join(dir, f))).toEqual([]);
      }
      expect(maxAbsDiff((await readSeries(dir)).hu, c.series.hu)).toBe(0);
    }
    expect(seen.size).toBe(3);
  });

  it('varies scanner and patient the way real archives do', () => {
    const draws = Array.from({ length: 60 }, (_, i) => drawCase('spread', i));
    const distinct = <T>(f: (d: (typeof draws)[number]) => T): number => new Set(draws.map(f)).size;
    expect(distinct((d) => d.phase)).toBe(4);
    expect(distinct((d) => d.kvp)).toBeGreaterThanOrEqual(3);
    expect(distinct((d) => d.sliceThickness)).toBeGreaterThanOrEqual(4);
    expect(distinct((d) => d.range)).toBe(3);
    expect(distinct((d) => d.oral)).toBe(3);
    expect(distinct((d) => `${d.pixelRepresentation}/${d.rescaleIntercept}`)).toBe(3);
    expect(draws.some((d) => d.position.endsWith('P'))).toBe(true);
    expect(draws.some((d) => d.metal)).toBe(true);
    expect(Math.min(...draws.map((d) => d.fatMm))).toBeLessThan(10);
    expect(Math.max(...draws.map((d) => d.fatMm))).toBeGreaterThan(45);
    // Timing scatters within each phase rather than sitting on four fixed looks.
    const arterial = draws.filter((d) => d.phase === 'arterial').map((d) => d.seconds ?? 0);
    expect(Math.max(...arterial) - Math.min(...arterial)).toBeGreaterThan(10);
  });

  it('labels each case with the phase its image shows: the effective time, not the scan delay', () => {
    // The circulation factor stretches time by up to 15%; the label must follow what it does to
    // the enhancement, or cases near a boundary carry the neighbouring phase's name.
    let spread = 0;
    for (let i = 0; i < 400; i++) {
      const d = drawCase('labels', i);
      const shown = d.seconds === undefined ? undefined : d.seconds * d.timeScale;
      expect(phaseAt(shown)).toBe(d.phase);
      if (d.seconds !== undefined && Math.abs(d.seconds - (shown as number)) > 3) spread++;
    }
    expect(spread).toBeGreaterThan(50); // the scan delay does differ from the time shown
  });
});

/** Mean HU of the voxels labelled `id` that have a liver voxel within `reach` pixels in-plane. */
function meanNearLiver(c: PhantomCase, id: number, reach: number): { mean: number; count: number } {
  const { rows: h, columns: w, slices } = c.series;
  const l = c.labels;
  let sum = 0;
  let count = 0;
  for (let s = 0; s < slices; s++) {
    const o = s * w * h;
    for (let y = reach; y < h - reach; y++) {
      for (let x = reach; x < w - reach; x++) {
        const p = o + y * w + x;
        if (l[p] !== id) continue;
        let near = false;
        for (let dy = -reach; dy <= reach && !near; dy++)
          for (let dx = -reach; dx <= reach; dx++)
            if (l[p + dy * w + dx] === S.liver) {
              near = true;
              break;
            }
        if (near) {
          sum += c.series.hu[p];
          count++;
        }
      }
    }
  }
  return { mean: sum / count, count };
}

describe('synthetic multiphase CT: anatomy inside the organs', () => {
  const cases = new Map<Phase, PhantomCase>();

  beforeAll(async () => {
    for (const phase of Object.keys(SECONDS) as Phase[]) {
      cases.set(
        phase,
        await generateCase('anatomy', 0, {
          typical: true,
          phase,
          seconds: SECONDS[phase],
          matrix: 256,
          range: 'upper-abdomen',
          tumours: 2,
        }),
      );
    }
  });

  it('the liver holds portal and hepatic branches beyond the atlas vessels', async () => {
    const without = await generateCase('anatomy', 0, {
      typical: true,
      phase: 'portal-venous',
      seconds: SECONDS['portal-venous'],
      matrix: 256,
      range: 'upper-abdomen',
      tumours: 2,
      smallVessels: false,
    });
    const withTrees = cases.get('portal-venous')!;
    for (const vessel of ['portal and superior mesenteric vein', 'hepatic veins']) {
      const bare = meanNearLiver(without, S[vessel], 2).count;
      expect({ vessel, ratio: meanNearLiver(withTrees, S[vessel], 2).count / bare > 1.5 }).toEqual({
        vessel,
        ratio: true,
      });
    }
  });

  it('portal and hepatic branches in the liver enhance with their veins, not with the liver', () => {
    const contrast = (phase: Phase, vessel: string): number => {
      const c = cases.get(phase)!;
      const branches = meanNearLiver(c, S[vessel], 2);
      expect(branches.count).toBeGreaterThan(200);
      return branches.mean - meanInside(c, S.liver).mean;
    };
    // Unenhanced blood (about 44 HU) is darker than liver (about 60 HU).
    expect(contrast('non-contrast', 'portal and superior mesenteric vein')).toBeLessThan(-5);
    expect(contrast('portal-venous', 'portal and superior mesenteric vein')).toBeGreaterThan(30);
    expect(contrast('portal-venous', 'hepatic veins')).toBeGreaterThan(20);
    // Hepatic veins are still unenhanced at 35 s while the liver has begun to enhance.
    expect(contrast('arterial', 'hepatic veins')).toBeLessThan(0);
  });

  it('a hepatocellular carcinoma enhances above the liver in the arterial phase and washes out after', () => {
    const difference = (phase: Phase): number => {
      const c = cases.get(phase)!;
      const tumour = meanInside(c, S['liver tumour']);
      expect(tumour.count).toBeGreaterThan(50);
      return tumour.mean - meanInside(c, S.liver).mean;
    };
    expect(difference('arterial')).toBeGreaterThan(25);
    expect(difference('portal-venous')).toBeLessThan(-5);
    expect(difference('delayed')).toBeLessThan(-5);
  });
});
