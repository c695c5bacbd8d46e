import { PHASES, type Phase } from '../domain/phase';
import { BLOOD_TISSUES, URINE_TISSUES } from './enhancement';
import { Random } from './random';
import { STRUCTURES } from './structures';

export type ScanRange = 'upper-abdomen' | 'abdomen-pelvis' | 'chest-to-pelvis';
export type OralContrast = 'none' | 'water' | 'positive';
export type PatientPosition = 'HFS' | 'FFS' | 'HFP' | 'FFP';

/**
 * The generator's version: bump it whenever a seed's cases or their rendering change, so that
 * slices cached from an older generator (`phaselens train --cache`) are not reused.
 * 2: the drawn time is the enhancement shown, and the phase label follows it.
 * 3: vessels, parenchyma and excretion scale independently per patient (and each organ a little),
 *    so no absolute HU or vessel-to-liver ratio names a phase; lipiodol deposits, calcified
 *    granulomas, a bladder still dense from an earlier injection and denser oral contrast occur
 *    in every phase.
 * 4: the atlas is warped by a smooth random deformation per patient; the liver holds portal and
 *    hepatic venous branches and the mesentery small arteries and veins (tubes that enhance
 *    with their vessel's curve); liver texture varies between patients; hepatocellular
 *    carcinomas (arterial enhancement, later washout) occur in some livers.
 * 5: scanner tables of several shapes, thicknesses and densities, with or without a pad and
 *    rails, cut by the reconstruction circle; dense contrast layered in the stomach and left in
 *    the bowel (the atlas labels small bowel and colon as one) in some patients in every phase (enhancement.md, shortcut traps 5 and 8).
 */
export const PHANTOM_GENERATOR_VERSION = 5;

/**
 * The scanner bed below a supine patient (above a prone one), outward from the patient: a gap,
 * a pad, then the table top (dense shells over a light core), curved (a cradle) or flat.
 */
export interface TableParameters {
  /** Air between the patient's back (front, prone) and the pad. */
  gapMm: number;
  padMm: number;
  padHu: number;
  thicknessMm: number;
  shellMm: number;
  shellHu: number;
  coreHu: number;
  halfWidthMm: number;
  /** Rise of the surface per mm squared from the middle (0: flat). */
  curvature: number;
  /** Lateral offset of the table's middle from the patient's (mm). */
  offsetMm: number;
  /** Dense rails along the table's edges (HU; 0: none). */
  railHu: number;
}

/** Generator 4's table: one 10 mm cradle for every patient. */
export const CRADLE: TableParameters = {
  gapMm: 4,
  padMm: 0,
  padHu: -600,
  thicknessMm: 10,
  shellMm: 1.5,
  shellHu: 400,
  coreHu: -600,
  halfWidthMm: 210,
  curvature: 0.0008,
  offsetMm: 0,
  railHu: 0,
};

/** Everything that varies between synthetic cases, drawn from a seed. */
export interface CaseParameters {
  phase: Phase;
  /** Seconds after injection start (the scan delay); undefined without contrast. */
  seconds?: number;
  /** Circulation speed: the body's effective time, which sets the phase, is seconds * this. */
  timeScale: number;
  /** Multiplies every enhancement: dose, body size, cardiac output. */
  enhancementScale: number;
  kvp: 80 | 100 | 120 | 140;
  /** Subcutaneous fat (mm), thin to obese. */
  fatMm: number;
  /** In-plane scale of the anatomy (body width), and cranio-caudal scale. */
  scaleXY: number;
  scaleZ: number;
  bloodHu: number;
  liverHu: number;
  marrowHu: number;
  oral: OralContrast;
  /** Noise SD (HU) at 5 mm; thinner slices get more. */
  noiseSd: number;
  /** Noise texture: peak frequency of the band-pass (cycles/mm), low for iterative reconstruction. */
  noisePeak: number;
  sliceThickness: number;
  matrix: number;
  fovMm: number;
  range: ScanRange;
  position: PatientPosition;
  pixelRepresentation: 0 | 1;
  rescaleIntercept: 0 | -1024;
  metal: boolean;
  calcification: number;
  cysts: number;
  /** Per-structure offsets (HU) so no two patients share exact values. */
  jitter: number[];
  /**
   * Gains on the enhancement of blood (injection rate, cardiac output), of parenchyma (iodine
   * dose per body weight) and of urine (renal function). They move independently between
   * patients, so the ratio of aorta to liver, or of liver to urine, is no phase label by itself.
   */
  vascularGain: number;
  parenchymaGain: number;
  excretionGain: number;
  /** A further gain per structure id (organs differ within a patient too). */
  organGain: number[];
  /** Seconds the splanchnic transit runs late (positive) or early against the average patient. */
  portalLag: number;
  /** Shift (HU) of every unenhanced soft-tissue value: hydration, calibration, iron. */
  tissueShift: number;
  /** Lipiodol clusters in the liver after chemoembolisation (dense, non-iodinated-contrast). */
  lipiodol: number;
  /** Calcified granulomas in liver and spleen. */
  granulomas: number;
  /** HU of the dependent bladder layer left from an earlier contrast study; 0 when none. */
  residualBladderHu: number;
  /** Peak displacement (mm) of the smooth deformation applied to the atlas. */
  warpMm: number;
  /** How many small-vessel branches the liver and mesentery hold, relative to typical (0: none). */
  vesselBranches: number;
  /** Share of a small vessel's own enhancement that survives partial volume (0-1). */
  vesselFill: number;
  /** Amplitude (HU) of the liver's parenchymal texture. */
  liverTexture: number;
  /** Hepatocellular carcinomas in the liver. */
  tumours: number;
  table: TableParameters;
  /** Pixels outside the reconstruction circle (diameter: the FOV) are padding, not image. */
  reconstructionCircle: boolean;
  /** HU of a dependent layer of dense contrast in the stomach, and how high it fills (0: none). */
  gastricLayerHu: number;
  gastricLayerLevel: number;
  /** HU of dense contrast or stool left in the bowel from an earlier study (0: none). */
  bowelResidueHu: number;
}

/**
 * Parts of the generator a training recipe can leave out, to measure what each adds (a lever
 * ablation): 'gains' are generator 3's per-patient and per-organ enhancement gains, tissue shift
 * and portal lag; 'confounders' its lipiodol, calcified granulomas and residual bladder contrast;
 * 'table' generator 5's tables and reconstruction circle (generator 4's one cradle instead);
 * 'lumen' generator 5's dense gastric layer and bowel residue. 'vascular-gains' is the blood and
 * urine part of 'gains' alone (vascular and excretion gains, their organs' own gains, portal lag):
 * left out, a patient's parenchyma still enhances more or less than its vessels, as published
 * spreads say it does (enhancement.md: liver portal-venous enhancement SD 11-12 HU on a fixed
 * protocol), while the vessels and urine follow the average curves.
 */
export const PHANTOM_LEVERS = ['gains', 'confounders', 'table', 'lumen', 'vascular-gains'] as const;
export type PhantomLever = (typeof PHANTOM_LEVERS)[number];

export function isPhantomLever(value: string): value is PhantomLever {
  return (PHANTOM_LEVERS as readonly string[]).includes(value);
}

export interface CaseOptions {
  phase?: Phase;
  seconds?: number;
  kvp?: CaseParameters['kvp'];
  matrix?: number;
  sliceThickness?: number;
  range?: ScanRange;
  /** A typical patient: no habitus, timing or dose spread, no confounders (for physics tests). */
  typical?: boolean;
  noiseSd?: number;
  /**
   * The same patient, scanner and noise with no contrast given: the case drawn for its phase,
   * then rendered without enhancement (a baseline for the map study).
   */
  withoutContrast?: boolean;
  /** Hepatocellular carcinomas to draw in the liver (default: drawn, in 30% of patients). */
  tumours?: number;
  /** false: no small-vessel trees (the atlas's own vessels only), for tests. */
  smallVessels?: boolean;
  /** Generator parts left out (drawn as usual, then reset, so every other draw is unchanged). */
  without?: readonly PhantomLever[];
}

function secondsFor(phase: Phase, random: Random): number | undefined {
  switch (phase) {
    case 'non-contrast':
      return undefined;
    case 'arterial':
      // Early arterial starts at 15-25 s (enhancement.md, section 3).
      return random.uniform(17, 48);
    case 'portal-venous':
      return random.uniform(58, 120);
    case 'delayed':
      return Math.exp(random.uniform(Math.log(180), Math.log(900)));
  }
}

export function drawCase(seed: string, index: number, options: CaseOptions = {}): CaseParameters {
  const random = new Random(`${seed}/case/${index}`);
  // Phases cycle so any run of four cases holds each once; the seed shuffles the start.
  const phase = options.phase ?? PHASES[(index + new Random(seed).int(0, 3)) % 4];
  const typical = options.typical === true;
  // The drawn time is the enhancement the body shows, on which the phase windows are defined; the
  // scan delay is that time over the patient's circulation factor (below). Drawn the other way
  // round, a slow or fast circulation carried some cases across a phase boundary that their
  // label did not follow (an 'arterial' scan at 45 s showing 51 s of enhancement).
  const shown = options.seconds === undefined ? secondsFor(phase, random) : undefined;
  const kvp = options.kvp ?? (typical ? 120 : random.pick([80, 100, 120, 120, 120, 140] as const));
  const fatMm = typical ? 20 : Math.exp(random.uniform(Math.log(4), Math.log(70)));
  const matrix = options.matrix ?? 512;
  const sliceThickness =
    options.sliceThickness ?? (typical ? 5 : random.pick([1, 1.25, 2, 2.5, 3, 5]));
  const drawn: CaseParameters = {
    phase,
    seconds: options.seconds,
    timeScale: typical ? 1 : random.uniform(0.85, 1.15),
    enhancementScale: typical ? 1 : Math.exp(random.normal(0, 0.15)) * (1.1 - fatMm / 200),
    kvp,
    fatMm,
    // The atlas subject is small (labelled structures span 206 mm left-right); adults need ~1.35.
    scaleXY: typical ? 1.35 : random.uniform(1.15, 1.55),
    scaleZ: typical ? 2 : random.uniform(1.8, 2.2),
    bloodHu: typical ? 44 : random.uniform(35, 50),
    liverHu: typical ? 60 : random.chance(0.15) ? random.uniform(25, 45) : random.uniform(52, 68),
    marrowHu: typical ? 180 : random.uniform(100, 250),
    oral: typical ? 'water' : random.pick(['none', 'water', 'positive', 'positive'] as const),
    noiseSd: options.noiseSd ?? (typical ? 10 : random.uniform(7, 22)),
    noisePeak: typical ? 0.3 : random.uniform(0.15, 0.4),
    sliceThickness,
    matrix,
    fovMm: 0, // set from the body size when the case is laid out
    range:
      options.range ??
      (typical
        ? 'abdomen-pelvis'
        : random.pick(['upper-abdomen', 'abdomen-pelvis', 'chest-to-pelvis'] as const)),
    position: typical ? 'FFS' : random.pick(['HFS', 'FFS', 'FFS', 'HFP'] as const),
    // Unsigned pixels need intercept -1024 to hold air, so three encodings, not four.
    ...(typical
      ? { pixelRepresentation: 1 as const, rescaleIntercept: -1024 as const }
      : random.pick([
          { pixelRepresentation: 1 as const, rescaleIntercept: -1024 as const },
          { pixelRepresentation: 1 as const, rescaleIntercept: 0 as const },
          { pixelRepresentation: 0 as const, rescaleIntercept: -1024 as const },
        ])),
    metal: !typical && random.chance(0.12),
    calcification: typical ? 0 : random.int(0, 8),
    cysts: typical ? 0 : random.int(0, 3),
    jitter: Array.from({ length: 32 }, () => (typical ? 0 : random.normal(0, 5))),
    vascularGain: 1,
    parenchymaGain: 1,
    excretionGain: 1,
    organGain: [],
    tissueShift: 0,
    portalLag: 0,
    lipiodol: 0,
    granulomas: 0,
    residualBladderHu: 0,
    warpMm: 0,
    vesselBranches: 0,
    vesselFill: 0,
    liverTexture: 7,
    tumours: 0,
    table: CRADLE,
    reconstructionCircle: false,
    gastricLayerHu: 0,
    gastricLayerLevel: 0,
    bowelResidueHu: 0,
  };
  if (shown !== undefined) drawn.seconds = shown / drawn.timeScale;
  if (options.withoutContrast) drawn.seconds = undefined;
  // Generator 3's parameters come from their own stream, so the draws above stay as they were.
  const more = new Random(`${seed}/case/${index}/gains`);
  const gain = (sd: number): number => (typical ? 1 : Math.exp(more.normal(0, sd)));
  drawn.vascularGain = gain(0.18);
  drawn.parenchymaGain = gain(0.2);
  drawn.excretionGain = gain(0.35);
  drawn.organGain = Array.from({ length: 32 }, () => gain(0.08));
  drawn.tissueShift = typical ? 0 : more.normal(0, 4);
  // Splenic and mesenteric return lag the aorta by 6-10 and 12-20 s (enhancement.md, section 1).
  drawn.portalLag = typical ? 0 : more.uniform(-3, 5);
  drawn.lipiodol = !typical && more.chance(0.15) ? more.int(1, 3) : 0;
  drawn.granulomas = !typical && more.chance(0.2) ? more.int(1, 5) : 0;
  drawn.residualBladderHu =
    !typical && phase !== 'delayed' && more.chance(0.08) ? more.uniform(80, 600) : 0;
  // Generator 4's anatomy, again from its own stream.
  const shape = new Random(`${seed}/case/${index}/anatomy`);
  drawn.warpMm = typical ? 0 : shape.uniform(2, 14);
  drawn.vesselBranches = typical ? 1 : shape.uniform(0.5, 1.5);
  drawn.vesselFill = typical ? 0.8 : shape.uniform(0.55, 0.95);
  drawn.liverTexture = typical ? 7 : shape.uniform(3, 16);
  drawn.tumours = !typical && shape.chance(0.3) ? shape.int(1, 3) : 0;
  if (options.tumours !== undefined) drawn.tumours = options.tumours;
  // Generator 5's bed and bowel contents, from their own stream, drawn whatever the phase.
  const bed = new Random(`${seed}/case/${index}/bed`);
  if (!typical) {
    const flat = bed.chance(0.5);
    const thicknessMm = bed.uniform(6, 45);
    // A foam mattress (near air), a thin gel pad (near water) or nothing under the patient.
    const padKind = bed.pick(['foam', 'foam', 'gel', 'none', 'none'] as const);
    const pad =
      padKind === 'foam'
        ? { padMm: bed.uniform(20, 70), padHu: bed.uniform(-950, -700) }
        : padKind === 'gel'
          ? { padMm: bed.uniform(5, 20), padHu: bed.uniform(-100, 40) }
          : { padMm: 0, padHu: 0 };
    drawn.table = {
      gapMm: bed.uniform(0, 6),
      ...pad,
      thicknessMm,
      shellMm: bed.uniform(0.8, Math.min(4, thicknessMm / 3)),
      shellHu: bed.uniform(100, 1200),
      coreHu: bed.uniform(-980, -300),
      halfWidthMm: bed.uniform(180, 260),
      curvature: flat ? 0 : bed.uniform(0.0002, 0.0016),
      offsetMm: bed.normal(0, 8),
      railHu: bed.chance(0.3) ? bed.uniform(500, 2000) : 0,
    };
    drawn.reconstructionCircle = bed.chance(0.7);
    if (bed.chance(0.25)) {
      drawn.gastricLayerHu = Math.exp(bed.uniform(Math.log(250), Math.log(1800)));
      drawn.gastricLayerLevel = bed.uniform(0.05, 0.6);
    }
    drawn.bowelResidueHu = bed.chance(0.2) ? bed.uniform(200, 1200) : 0;
  }
  if (options.without?.includes('gains')) {
    drawn.vascularGain = drawn.parenchymaGain = drawn.excretionGain = 1;
    drawn.organGain = [];
    drawn.tissueShift = 0;
    drawn.portalLag = 0;
  }
  if (options.without?.includes('vascular-gains')) {
    drawn.vascularGain = drawn.excretionGain = 1;
    drawn.portalLag = 0;
    drawn.organGain = drawn.organGain.map((g, id) => {
      const tissue = STRUCTURES.find((s) => s.id === id)?.tissue;
      return tissue && (BLOOD_TISSUES.has(tissue) || URINE_TISSUES.has(tissue)) ? 1 : g;
    });
  }
  if (options.without?.includes('confounders')) {
    drawn.lipiodol = drawn.granulomas = drawn.residualBladderHu = 0;
  }
  if (options.without?.includes('table')) {
    drawn.table = CRADLE;
    drawn.reconstructionCircle = false;
  }
  if (options.without?.includes('lumen')) {
    drawn.gastricLayerHu = drawn.gastricLayerLevel = drawn.bowelResidueHu = 0;
  }
  if (options.smallVessels === false) drawn.vesselBranches = 0;
  return drawn;
}
