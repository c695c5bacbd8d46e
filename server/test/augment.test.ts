import {
  augmentFor,
  augmentSlice,
  DEFAULT_AUGMENT,
  DENSE_FROM_HU,
  type AugmentOptions,
} from '../src/model/training/augment';
import { CHANNELS, INPUT_SIZE, WINDOWS } from '../src/model/inference/preprocess';
import { describeAugmentation } from '../src/model/reports/model-card';
import { Random } from '../src/phantom/random';

const N = INPUT_SIZE;

/** A body: a disk of `hu` (radius r px) in air, through the three windows. */
function disk(hu: number, r: number): Float32Array {
  const out = new Float32Array(N * N * CHANNELS);
  for (let y = 0; y < N; y++)
    for (let x = 0; x < N; x++) {
      const inside = (x - N / 2 + 0.5) ** 2 + (y - N / 2 + 0.5) ** 2 < r * r;
      WINDOWS.forEach(([c, w], k) => {
        const v = ((inside ? hu : -1000) - (c - w / 2)) / w;
        out[(y * N + x) * CHANNELS + k] = Math.min(1, Math.max(0, v));
      });
    }
  return out;
}

const area = (img: Float32Array): number => {
  let n = 0;
  for (let p = 0; p < N * N; p++) if (img[p * CHANNELS] > 0.2) n++;
  return n;
};

/** Mean HU of the soft-tissue channel over pixels well inside the body. */
const meanHu = (img: Float32Array): number => {
  let s = 0;
  let n = 0;
  for (let p = 0; p < N * N; p++) {
    const v = img[p * CHANNELS];
    if (v > 0.2) {
      s += v * WINDOWS[0][1] + WINDOWS[0][0] - WINDOWS[0][1] / 2;
      n++;
    }
  }
  return s / n;
};

describe('training augmentation', () => {
  it('is the identity at strength 0 and deterministic for a seed', () => {
    const src = disk(60, 40);
    const same = augmentSlice(src, new Random('a'), DEFAULT_AUGMENT, 0);
    let diff = 0;
    for (let i = 0; i < src.length; i++) diff = Math.max(diff, Math.abs(same[i] - src[i]));
    expect(diff).toBeLessThan(1e-6);
    const a = augmentSlice(src, new Random('b'));
    const b = augmentSlice(src, new Random('b'));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(augmentSlice(src, new Random('c')))).not.toEqual(Array.from(a));
  });

  it('changes the body size within the drawn zoom, and keeps HU within the offset bound', () => {
    const src = disk(150, 40);
    const base = area(src);
    const hu = meanHu(src);
    const [lo, hi] = DEFAULT_AUGMENT.scaleRange;
    const aspect = 1 + DEFAULT_AUGMENT.maxAspect;
    let changed = 0;
    for (let i = 0; i < 20; i++) {
      const out = augmentSlice(src, new Random(`size-${i}`));
      const ratio = area(out) / base;
      // Area scales with zoom squared (aspect preserves area); the warp adds a little.
      expect(ratio).toBeGreaterThan(lo * lo * 0.85);
      expect(ratio).toBeLessThan(hi * hi * aspect * 1.15);
      if (Math.abs(ratio - 1) > 0.05) changed++;
      // Mean HU inside the body: offset at most 12 HU, zero-mean noise, edges blurred a little.
      expect(Math.abs(meanHu(out) - hu)).toBeLessThan(DEFAULT_AUGMENT.maxOffsetHu + 8);
    }
    expect(changed).toBeGreaterThan(10);
  });

  it('splits into shape and scanner parts for the ablation', () => {
    const src = disk(150, 40);
    // Scanner only: the body keeps its outline; its HU move.
    const scanner = augmentFor('scanner') as AugmentOptions;
    // Shape only: the outline moves; inside, HU stay those of the source (no noise, offset, kernel).
    const shape = augmentFor('shape') as AugmentOptions;
    let outlineMoved = 0;
    let scannerMoved = 0;
    for (let i = 0; i < 10; i++) {
      const a = augmentSlice(src, new Random(`parts-${i}`), scanner);
      // (The kernel's blur moves the edge by a pixel at most: 2% of this disk's area.)
      expect(Math.abs(area(a) / area(src) - 1)).toBeLessThan(0.03);
      if (Math.abs(meanHu(a) - 150) > 0.5) scannerMoved++;
      const b = augmentSlice(src, new Random(`parts-${i}`), shape);
      if (Math.abs(area(b) / area(src) - 1) > 0.05) outlineMoved++;
      let inner = 0;
      for (let p = 0; p < N * N; p++) if (b[p * CHANNELS] > 0.2 && b[p * CHANNELS] < 0.99) inner++;
      expect(inner).toBeGreaterThan(0);
      // Inside the body (away from its blurred edge) every pixel is the source's 150 HU.
      const y = N / 2;
      for (let x = N / 2 - 10; x < N / 2 + 10; x++) {
        const v = b[(y * N + x) * CHANNELS];
        expect(v * WINDOWS[0][1] + WINDOWS[0][0] - WINDOWS[0][1] / 2).toBeCloseTo(150, 3);
      }
    }
    expect(outlineMoved).toBeGreaterThan(3);
    expect(scannerMoved).toBeGreaterThan(3);
    expect(augmentFor('none')).toBeNull();
    expect(augmentFor('all')).toBe(DEFAULT_AUGMENT);
  });

  it('makes dense material denser or lighter by the dense gain, and leaves soft tissue alone', () => {
    // Shape only (no noise, offset or kernel), so HU inside the disk are exactly the source's.
    const shape = augmentFor('shape') as AugmentOptions;
    const dense = { ...shape, maxDenseGain: 2 };
    const centreHu = (img: Float32Array): number => {
      const p = (N / 2) * N + N / 2;
      return img[p * CHANNELS + 2] * WINDOWS[2][1] + WINDOWS[2][0] - WINDOWS[2][1] / 2;
    };
    const bone = disk(900, 40);
    const gains: number[] = [];
    for (let i = 0; i < 40; i++) {
      const g =
        (centreHu(augmentSlice(bone, new Random(`dense-${i}`), dense)) - DENSE_FROM_HU) / 600;
      expect(g).toBeGreaterThan(0.5 - 1e-3);
      expect(g).toBeLessThan(2 + 1e-3);
      gains.push(g);
    }
    // Log-uniform in [1/2, 2]: about half the slices lighter, half denser, some by over 1.5x.
    expect(gains.filter((g) => g < 1).length).toBeGreaterThan(10);
    expect(gains.filter((g) => g > 1).length).toBeGreaterThan(10);
    expect(gains.some((g) => g > 1.5) && gains.some((g) => g < 1 / 1.5)).toBe(true);
    // Enhanced parenchyma (150 HU) is below the dense threshold: unchanged.
    const liver = disk(150, 40);
    const out = augmentSlice(liver, new Random('dense-liver'), dense);
    const p = (N / 2) * N + N / 2;
    expect(out[p * CHANNELS] * WINDOWS[0][1] + WINDOWS[0][0] - WINDOWS[0][1] / 2).toBeCloseTo(
      150,
      3,
    );
    // Off (absent or 1), the random stream and the output are those of the recipe without it.
    const plain = augmentSlice(bone, new Random('same'), shape);
    expect(
      Array.from(augmentSlice(bone, new Random('same'), { ...shape, maxDenseGain: 1 })),
    ).toEqual(Array.from(plain));
    expect(centreHu(plain)).toBeCloseTo(900, 2);
  });

  it('applies the dense gain only above its threshold where a recipe moves it', () => {
    const shape = augmentFor('shape') as AugmentOptions;
    const from500 = { ...shape, maxDenseGain: 2, denseFromHu: 500 };
    const centre = (img: Float32Array): number => {
      const p = (N / 2) * N + N / 2;
      return img[p * CHANNELS + 2] * WINDOWS[2][1] + WINDOWS[2][0] - WINDOWS[2][1] / 2;
    };
    // An arterial aorta of 450 HU: moved by the default threshold (300), left alone at 500.
    let movedAt300 = 0;
    let boneMoved = 0;
    for (let i = 0; i < 20; i++) {
      const seed = `from-${i}`;
      const aorta = disk(450, 40);
      expect(centre(augmentSlice(aorta, new Random(seed), from500))).toBeCloseTo(450, 2);
      const at300 = centre(augmentSlice(aorta, new Random(seed), { ...from500, denseFromHu: 300 }));
      if (Math.abs(at300 - 450) > 5) movedAt300++;
      // Bone at 900 HU still moves, by the same gain measured from the new threshold.
      const g = (centre(augmentSlice(disk(900, 40), new Random(seed), from500)) - 500) / 400;
      expect(g).toBeGreaterThan(0.5 - 1e-3);
      expect(g).toBeLessThan(2 + 1e-3);
      if (Math.abs(g - 1) > 0.01) boneMoved++;
    }
    expect(movedAt300).toBeGreaterThan(15);
    // The gain is applied above the new threshold, not merely allowed.
    expect(boneMoved).toBeGreaterThan(15);
  });

  it('leaves air outside the body black in every window', () => {
    const out = augmentSlice(disk(60, 30), new Random('air'));
    for (let k = 0; k < CHANNELS; k++) expect(out[k]).toBe(0); // corner pixel
  });
});

describe("the model card's line on augmentation", () => {
  it('names the dense-material gain where a run used it, and only then', () => {
    const shape = augmentFor('shape') as AugmentOptions;
    expect(describeAugmentation(DEFAULT_AUGMENT)).not.toContain('denser or lighter');
    expect(describeAugmentation({ ...shape, maxDenseGain: 1 })).not.toContain('denser or lighter');
    const line = describeAugmentation({ ...DEFAULT_AUGMENT, maxDenseGain: 2 });
    expect(line).toContain(`above ${DENSE_FROM_HU} HU`);
    expect(line).toContain('1/2 to 2');
    expect(line).toContain('--dense-gain 2');
    expect(line).toContain('brightest arterial blood');
    const from500 = describeAugmentation({ ...DEFAULT_AUGMENT, maxDenseGain: 2, denseFromHu: 500 });
    expect(from500).toContain('above 500 HU');
    expect(from500).toContain('--dense-gain 2 --dense-from 500');
    expect(from500).not.toContain('arterial');
    expect(describeAugmentation(null)).toBe('- No augmentation during training.');
  });
});
