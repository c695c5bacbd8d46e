import { promises as fs } from 'node:fs';
import { InvalidInputError } from '../errors';
import { markdownTable } from '../render/markdown';
import path from 'node:path';
import { lineChart, type Series } from '../render/chart';
import type { Rgb } from '../render/canvas';
import { PHASES } from '../domain/phase';
import { STRUCTURES } from '../phantom/structures';
import { bootstrapMean, type Estimate } from './bootstrap';
import { phaseMaskStructures, MASK_MIN_DIFFERENCE_HU } from './masks';
import { BASELINES, CURVE_FRACTIONS } from './metrics';
import {
  ALPHA,
  canShowDifference,
  compare,
  COMPARISONS,
  equivalenceLevel,
  marginOf,
  PRIMARY,
  RESAMPLES,
  SECONDARY,
  smallestPossibleP,
  verdictOn,
  type ComparisonResult,
  type Measure,
  type ProtocolVersion,
} from './protocol';
import {
  layerKey,
  RANDOMISATION_STAGES,
  type MapMeasures,
  type SanityRecord,
  type SeriesRecord,
} from './run-study';

const MAIN = [
  'cam',
  'gradcam',
  'saliency',
  'guided',
  'sam',
  'integrated-gradients',
  'smoothgrad',
  'occlusion',
  'control-input',
  'control-edge',
  'control-random',
];
const CURVE_MAPS = MAIN.slice(0, 8);
const LAYERS = ['input', 'conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'pool5'] as const;
const COLOURS: Rgb[] = [
  [230, 120, 20],
  [40, 120, 200],
  [120, 120, 120],
  [150, 60, 170],
  [200, 30, 40],
  [30, 160, 90],
  [160, 160, 40],
  [90, 60, 30],
];

const fmt = (e: Pick<Estimate, 'mean' | 'low' | 'high'>, digits = 3): string =>
  Number.isFinite(e.mean)
    ? `${e.mean.toFixed(digits)} [${e.low.toFixed(digits)}, ${e.high.toFixed(digits)}]`
    : 'n/a';

const pValue = (p: number): string =>
  !Number.isFinite(p) ? 'n/a' : p < 0.001 ? '<0.001' : p.toFixed(3);

function values(records: SeriesRecord[], key: string, get: (m: MapMeasures) => number): number[] {
  return records.map((r) => {
    const m = r.maps[key] as MapMeasures | undefined;
    return m ? get(m) : NaN;
  });
}

function findingText(c: ComparisonResult): string {
  if (c.finding === 'a better') return `**${c.a} better**`;
  if (c.finding === 'b better') return `**${c.b} better**`;
  if (c.finding === 'equivalent') return `**equivalent** (within ±${c.margin})`;
  return c.finding;
}

/** Where an equivalence test was made (protocol 2's primary measure), its interval has a column. */
function comparisonTable(results: ComparisonResult[]): string {
  const level = results.find((c) => c.estimate.equivalence)?.estimate.equivalence?.level;
  const interval = (c: ComparisonResult): string => {
    const e = c.estimate.equivalence;
    return e ? `[${e.low.toFixed(3)}, ${e.high.toFixed(3)}]` : 'n/a';
  };
  return markdownTable(
    [
      'comparison (a vs b)',
      'a - b, mean [95% interval]',
      ...(level === undefined ? [] : [`${(level * 100).toFixed(1)}% interval (equivalence)`]),
      'p',
      'Holm p',
      'finding',
    ],
    results.map((c) => [
      c.question,
      fmt(c.estimate),
      ...(level === undefined ? [] : [interval(c)]),
      pValue(c.estimate.p),
      pValue(c.adjustedP),
      findingText(c),
    ]),
  );
}

/** What a report says of the run it reports: kept in results.json, so the report can be rewritten. */
export interface StudyContext {
  model: string;
  command: string;
  slicesPerSeries: number;
  examples: string[];
  /** When the numbers are older than the code that writes the report: which run they are from. */
  note?: string;
  /** The protocol the run followed (absent: protocol 1, which predates the field). */
  protocol?: ProtocolVersion;
}

/** Rewrites the report and figures of a study from its results.json, without rerunning it. */
export async function rewriteStudyReport(dir: string): Promise<void> {
  const file = path.join(dir, 'results.json');
  let saved: { context?: StudyContext; records?: SeriesRecord[]; sanity?: SanityRecord[] };
  try {
    saved = JSON.parse(await fs.readFile(file, 'utf8')) as typeof saved;
  } catch (error) {
    throw new InvalidInputError(
      `${file}: cannot be read as a study's results (${(error as Error).message})`,
    );
  }
  if (!saved.context || !saved.records || !saved.sanity)
    throw new InvalidInputError(`${file}: has no context, records or sanity checks to report`);
  await writeStudyReport(dir, saved.records, saved.sanity, saved.context);
}

export async function writeStudyReport(
  dir: string,
  records: SeriesRecord[],
  sanity: SanityRecord[],
  context: StudyContext,
): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(
    path.join(dir, 'results.json'),
    `${JSON.stringify({ context, records, sanity }, null, 2)}\n`,
  );
  const phantoms = records.filter((r) => r.kind === 'phantom');
  const real = records.filter((r) => r.kind === 'real');
  const groups: [string, SeriesRecord[]][] = [
    ['synthetic', phantoms],
    ['real CT', real],
  ];

  // Figures: mean deletion and insertion curves per method.
  for (const [name, group] of groups) {
    if (group.length === 0) continue;
    for (const curve of ['deletionCurve', 'insertionCurve'] as const) {
      const series: Series[] = CURVE_MAPS.map((key, i) => ({
        label: key,
        colour: COLOURS[i % COLOURS.length],
        points: CURVE_FRACTIONS.map((f, k) => [
          f * 100,
          bootstrapMean(group.map((r) => r.maps[key][curve][k])).mean,
        ]),
      }));
      await fs.writeFile(
        path.join(
          dir,
          `${curve === 'deletionCurve' ? 'deletion' : 'insertion'}-${name.replace(' ', '-')}.png`,
        ),
        lineChart({
          title: `${curve === 'deletionCurve' ? 'Deletion' : 'Insertion'} curves, ${name}`,
          xLabel: '% of body voxels removed (deletion) or restored (insertion), in map order',
          yLabel: 'probability of the decided phase',
          yRange: [0, 1],
          series,
          width: 760,
          height: 440,
        }),
      );
    }
  }
  // Per-layer figure: SAM against Grad-CAM, deletion area by layer.
  for (const [name, group] of groups) {
    if (group.length === 0) continue;
    const byLayer = (method: 'gradcam' | 'sam', measure: Measure): [number, number][] =>
      LAYERS.flatMap((layer, i) => {
        if (method === 'gradcam' && layer === 'input') return [];
        return [[i, bootstrapMean(values(group, layerKey(method, layer), measure.get)).mean]];
      });
    await fs.writeFile(
      path.join(dir, `layers-${name.replace(' ', '-')}.png`),
      lineChart({
        title: `SAM and Grad-CAM by layer, ${name}`,
        xLabel: 'layer: 0 input, 1-5 conv1-conv5, 6 pool5',
        yLabel: 'deletion area, tissue-mean baseline (lower: more specific)',
        yRange: [0, 1],
        series: [
          { label: 'SAM', colour: COLOURS[4], points: byLayer('sam', PRIMARY) },
          { label: 'Grad-CAM', colour: COLOURS[1], points: byLayer('gradcam', PRIMARY) },
        ],
      }),
    );
  }
  await fs.writeFile(
    path.join(dir, 'sanity.png'),
    lineChart({
      title: 'Cascading randomisation (Adebayo 2018)',
      xLabel: `stage: 0 trained, then ${RANDOMISATION_STAGES.map((s, i) => `${i + 1} ${s}`).join(', ')} re-drawn`,
      yLabel: 'rank correlation with the trained map',
      yRange: [-0.2, 1],
      series: sanity.map((s, i) => ({
        label: s.method,
        colour: COLOURS[i % COLOURS.length],
        points: [[0, 1], ...s.correlation.map((c, k): [number, number] => [k + 1, c])],
      })),
      width: 760,
    }),
  );

  const lines = reportLines(records, sanity, context, groups);
  await fs.writeFile(path.join(dir, 'README.md'), lines.join('\n'));
}

/** The fewest patients with which the primary family can show a difference. */
function minimumPatients(): number {
  let n = 1;
  while (!canShowDifference(n)) n++;
  return n;
}

function reportLines(
  records: SeriesRecord[],
  sanity: SanityRecord[],
  context: StudyContext,
  groups: [string, SeriesRecord[]][],
): string[] {
  const phantoms = records.filter((r) => r.kind === 'phantom');
  const real = records.filter((r) => r.kind === 'real');
  const patients = new Set(real.map((r) => r.patient)).size;
  const present = groups.filter(([, g]) => g.length > 0);
  const protocol = context.protocol ?? 1;
  const margin = marginOf(protocol);
  const primary = new Map(
    present.map(([name, g]) => [name, compare(g, PRIMARY, COMPARISONS, margin)]),
  );
  const lines: string[] = [];
  lines.push('# Which attribution map says most specifically what the classifier used?');
  lines.push('');
  lines.push(
    `The specificity study of Philbrick et al. (AJR 2018), rerun on the PhaseLens classifier (${context.model}) under the protocol in [PROTOCOL.md](PROTOCOL.md), which was written before these numbers. Reproduce with \`${context.command}\` (byte-identical for the same code, data and seed).${context.note ? ` ${context.note}` : ''}`,
  );
  lines.push('');
  lines.push('## Verdict');
  lines.push('');
  lines.push(
    `By the protocol${protocol >= 2 ? ` (version ${protocol})` : ''}: a result of the paper holds when SAM is more specific than every map it is compared with at the matched layer, on the primary measure (${PRIMARY.label}, lower is better), after Holm's correction at ${ALPHA}, and SAM also beats the input intensity itself.${margin === undefined ? '' : ` It does not hold when any of those maps is more specific, or when SAM and one of them are **equivalent**: the ${(equivalenceLevel() * 100).toFixed(1)}% interval of their difference (two one-sided tests at ${ALPHA}, Bonferroni over ${COMPARISONS.length} comparisons) lies within ±${margin}, a difference too small to matter. Equivalence is tested only in an arm with enough patients to show a difference. "Holds" asks for significance alone, as in protocol 1: a significant advantage smaller than the margin can hold where it is measured loosely and be equivalent where it is measured tightly.`}`,
  );
  lines.push('');
  for (const [name, results] of primary) {
    const v1 = verdictOn(1, results);
    const v2 = verdictOn(2, results);
    const control = results.find((c) => c.b === 'control-input');
    lines.push(
      `- **${name}**: result 1 (*SAM is more specific than saliency, guided backpropagation, Grad-CAM and CAM*) **${v1}**; result 2 (*at shallow layers SAM is more specific than Grad-CAM*) **${v2}**. SAM against the input intensity: ${control ? `${findingText(control)} (${fmt(control.estimate)})` : 'n/a'}.`,
    );
    // A reader must know when "not shown" is all the design could give.
    const patientCount = Math.max(...results.map((c) => c.estimate.patients));
    if (!canShowDifference(patientCount))
      lines.push(
        `  With ${patientCount} patients this arm **cannot show any difference**: the smallest two-sided p a sign-flip test over them can give is ${smallestPossibleP(patientCount).toFixed(3)}, and Holm's correction over ${COMPARISONS.length} comparisons needs one below ${(ALPHA / COMPARISONS.length).toFixed(4)} (at least ${minimumPatients()} patients). Its "not shown" is no evidence against the paper; its intervals are descriptive only.`,
      );
  }
  lines.push('');
  lines.push(
    "**SAM here.** The paper's exact SAM formula is not available to this project; PhaseLens reads it as the element-wise product of a layer's activations and the class-score gradient with respect to them, rectified and summed over channels (at the input: rectified gradient x input), i.e. Captum's LayerGradientXActivation, rectified. The verdict is about that reading.",
  );
  lines.push('');
  lines.push(
    `**Data.** ${phantoms.length} synthetic series (${phantoms.length} synthetic patients, one atlas anatomy, a seed never used in training; structure labels known) and ${real.length} real series from ${patients} patients (\`../shared/data/real-ct/\`, evaluation only). ${context.slicesPerSeries} informative slices per series, evenly spread. Maps explain the series' leading phase. Intervals: ${RESAMPLES} bootstrap resamples of patients (a patient's series together), 95% percentile intervals; two-sided p-values from sign-flip permutations of patients, Holm-corrected within each measure's family of ${COMPARISONS.length} comparisons.`,
  );
  lines.push('');
  lines.push('## Primary measure: every comparison');
  lines.push('');
  for (const [name, results] of primary) {
    lines.push(`### ${name}`);
    lines.push('');
    lines.push(comparisonTable(results));
    lines.push('');
  }
  lines.push('## Secondary measures');
  lines.push('');
  lines.push(
    'Reported for every comparison, Holm-corrected within each measure; they do not decide the verdict.',
  );
  lines.push('');
  for (const [name, group] of present) {
    for (const measure of SECONDARY) {
      if (measure.needsLabels && name !== 'synthetic') continue;
      lines.push(
        `### ${name}: ${measure.label} (${measure.lowerIsBetter ? 'lower' : 'higher'} is better)`,
      );
      lines.push('');
      lines.push(comparisonTable(compare(group, measure)));
      lines.push('');
    }
  }
  lines.push('## Every map, including the controls');
  lines.push('');
  for (const [name, group] of present) {
    const measures = [PRIMARY, ...SECONDARY].filter((m) => !m.needsLabels || name === 'synthetic');
    lines.push(`### ${name} (${group.length} series; mean [95% bootstrap interval over series])`);
    lines.push('');
    lines.push(
      markdownTable(
        ['map', ...measures.map((m) => m.label)],
        MAIN.map((key) => [
          key,
          ...measures.map((m) => fmt(bootstrapMean(values(group, key, m.get)))),
        ]),
      ),
    );
    lines.push('');
    if (name !== 'synthetic' || group.length === 0) continue;
    lines.push(
      `![deletion curves](deletion-${name.replace(' ', '-')}.png) ![insertion curves](insertion-${name.replace(' ', '-')}.png)`,
    );
    lines.push('');
  }
  lines.push('## Ground truth per decided phase, and chance');
  lines.push('');
  lines.push(
    `The mask for a decided phase is every structure whose HU in that phase differs by ${MASK_MIN_DIFFERENCE_HU} HU or more from its mean over the other phases, in the generator's own time-attenuation table (bowel left out: its label holds the lumen). A map that knows nothing puts the mask's share of the body inside it (chance); the mass measure above is reported minus that share.`,
  );
  lines.push('');
  lines.push(
    markdownTable(
      ['decided phase', 'mask structures', 'synthetic series', 'mean chance (area share)'],
      PHASES.map((p) => {
        const rs = phantoms.filter((r) => r.predicted === p);
        const chance = bootstrapMean(rs.map((r) => r.maps.sam?.chance ?? NaN));
        return [
          p,
          phaseMaskStructures(p)
            .map((id) => STRUCTURES.find((s) => s.id === id)?.name ?? String(id))
            .join(', '),
          String(rs.length),
          Number.isFinite(chance.mean) ? chance.mean.toFixed(3) : 'n/a',
        ];
      }),
    ),
  );
  lines.push('');
  lines.push('## Deletion baselines and their floors');
  lines.push('');
  lines.push(
    'The probability of the decided phase with every body voxel replaced by the baseline (where deletion ends and insertion starts). A high floor means the baseline itself still carries the phase, so deletion measures less.',
  );
  lines.push('');
  lines.push(
    markdownTable(
      ['baseline', ...present.map(([name]) => name)],
      BASELINES.map((b) => [
        b,
        ...present.map(([, g]) => fmt(bootstrapMean(g.map((r) => r.floor[b])))),
      ]),
    ),
  );
  lines.push('');
  lines.push('## By layer: SAM against Grad-CAM');
  lines.push('');
  for (const [name, group] of present) {
    lines.push(`### ${name}`);
    lines.push('');
    lines.push(
      markdownTable(
        ['layer', `SAM ${PRIMARY.label}`, `Grad-CAM ${PRIMARY.label}`],
        LAYERS.map((layer) => [
          layer,
          fmt(bootstrapMean(values(group, layerKey('sam', layer), PRIMARY.get))),
          layer === 'input'
            ? '-'
            : fmt(bootstrapMean(values(group, layerKey('gradcam', layer), PRIMARY.get))),
        ]),
      ),
    );
    lines.push('');
    lines.push(`![by layer](layers-${name.replace(' ', '-')}.png)`);
    lines.push('');
  }
  lines.push('## Sanity checks (Adebayo et al. 2018)');
  lines.push('');
  lines.push(
    "Weights re-drawn layer by layer from the top (logits first, then conv5 down to conv1); the rank correlation of each map with the trained model's map over body voxels. A map that explains the model must decorrelate as the weights it depends on are destroyed. A map multiplied by the input keeps whatever correlation the input's own brightness gives it.",
  );
  lines.push('');
  lines.push(
    markdownTable(
      ['map', ...RANDOMISATION_STAGES.map((s) => `${s} re-drawn`)],
      sanity.map((s) => [s.method, ...s.correlation.map((c) => c.toFixed(2))]),
    ),
  );
  const last = (key: string): string => {
    const c = sanity.find((s) => s.method === key)?.correlation;
    return c ? c[c.length - 1].toFixed(2) : 'n/a';
  };
  lines.push('');
  lines.push(
    `With every layer re-drawn, SAM keeps a rank correlation of ${last('sam')} with its trained map, against ${last('saliency')} for saliency and ${last('integrated-gradients')} for integrated gradients: part of SAM's pattern is the input, not the model.`,
  );
  lines.push('');
  lines.push('![sanity](sanity.png)');
  lines.push('');
  lines.push('## Limitations');
  lines.push('');
  lines.push(
    [
      "- Every synthetic series is the same atlas subject, scaled and deformed; intervals over synthetic patients cover the generator's variation, not real patients'.",
      `- ${real.length} real series from ${patients} patients: intervals over so few patients are wide, and real series have no structure labels, so only the model-based measures apply to them.`,
      "- The masks come from the generator's table, not from what the model uses: a map can be right about the model and still put mass outside them.",
      '- Deletion and insertion replace voxels with a baseline the network never saw in training; every baseline carries some information (see the floors). The same-patient non-contrast baseline exists for phantoms only.',
      "- SAM is PhaseLens's reading of the paper's map; the paper's own formula may differ.",
      '- Maps explain one network (the first member of the shipped ensemble); the other members are not studied.',
    ].join('\n'),
  );
  lines.push('');
  if (context.examples.length) {
    lines.push('## Examples');
    lines.push('');
    for (const e of context.examples) lines.push(`![${e}](${e})`);
    lines.push('');
  }
  lines.push('## Series');
  lines.push('');
  lines.push(
    markdownTable(
      ['series', 'patient', 'kind', 'truth', 'leading phase', 'confidence', 'slices studied'],
      records.map((r) => [
        r.id,
        r.patient,
        r.kind,
        r.truth,
        r.predicted,
        r.confidence.toFixed(2),
        r.slices.map((s) => s + 1).join(' '),
      ]),
    ),
  );
  lines.push('');
  return lines;
}
