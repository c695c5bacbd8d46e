import { promises as fs } from 'node:fs';
import { markdownTable } from '../render/markdown';
import path from 'node:path';
import { lineChart, type Series } from '../render/chart';
import type { Rgb } from '../render/canvas';
import { bootstrapDifference, bootstrapMean, type Estimate } from './bootstrap';
import { CURVE_FRACTIONS } from './metrics';
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
];
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

type Measure = 'deletion' | 'insertion' | 'keptFraction' | 'mass' | 'auc';

const fmt = (e: Estimate, digits = 3): string =>
  Number.isFinite(e.mean)
    ? `${e.mean.toFixed(digits)} [${e.low.toFixed(digits)}, ${e.high.toFixed(digits)}]`
    : 'n/a';

function values(records: SeriesRecord[], key: string, measure: Measure): number[] {
  return records.map((r) => (r.maps[key] as MapMeasures | undefined)?.[measure] ?? NaN);
}

/** Is `a` better than `b` on a measure, judged by the paired bootstrap interval of a - b? */
function verdict(
  records: SeriesRecord[],
  a: string,
  b: string,
  measure: Measure,
  lowerIsBetter: boolean,
): { text: string; better: boolean; worse: boolean } {
  const d = bootstrapDifference(values(records, a, measure), values(records, b, measure));
  if (!Number.isFinite(d.mean)) return { text: 'n/a', better: false, worse: false };
  const better = lowerIsBetter ? d.high < 0 : d.low > 0;
  const worse = lowerIsBetter ? d.low > 0 : d.high < 0;
  return {
    text: `${a} - ${b}: ${fmt(d)}${better ? ' (better)' : worse ? ' (worse)' : ' (no clear difference)'}`,
    better,
    worse,
  };
}

/** Writes the study report (README.md), its figures and the raw results under `dir`. */
export async function writeStudyReport(
  dir: string,
  records: SeriesRecord[],
  sanity: SanityRecord[],
  context: { model: string; command: string; slicesPerSeries: number; examples: string[] },
): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(
    path.join(dir, 'results.json'),
    `${JSON.stringify({ records, sanity }, null, 2)}\n`,
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
      const series: Series[] = MAIN.map((key, i) => ({
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
        return [[i, bootstrapMean(values(group, layerKey(method, layer), measure)).mean]];
      });
    await fs.writeFile(
      path.join(dir, `layers-${name.replace(' ', '-')}.png`),
      lineChart({
        title: `SAM and Grad-CAM by layer, ${name}`,
        xLabel: 'layer: 0 input, 1-5 conv1-conv5, 6 pool5',
        yLabel: 'deletion area (lower: more specific)',
        yRange: [0, 1],
        series: [
          { label: 'SAM', colour: COLOURS[4], points: byLayer('sam', 'deletion') },
          { label: 'Grad-CAM', colour: COLOURS[1], points: byLayer('gradcam', 'deletion') },
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

  const lines: string[] = [];
  lines.push('# Which attribution map says most specifically what the classifier used?');
  lines.push('');
  lines.push(
    `The specificity study of Philbrick et al. (AJR 2018), rerun on the PhaseLens classifier (${context.model}). Reproduce with \`${context.command}\`.`,
  );
  lines.push('');
  lines.push(
    `**Data.** ${phantoms.length} synthetic series from a seed never used in training (structure labels known) and ${real.length} real series (\`../shared/data/real-ct/\`, evaluation only). ${context.slicesPerSeries} informative slices per series, evenly spread. Maps explain the series decision (the predicted phase). Intervals are 95% bootstrap intervals over series (2000 resamples); with three real series they are wide by nature.`,
  );
  lines.push('');
  lines.push(
    "**Measures.** *Deletion area*: the decided phase's probability as the map's top body voxels are replaced by a blurred copy (25 mm box), integrated over the fraction replaced: lower means the map found what the model needs. *Insertion area*: the same, restoring voxels into the blurred copy: higher is better. *Keep-top-k*: the smallest share of body voxels (1, 2, 5, 10, 20 or 50%) that, kept alone, still gives the same decision on the slice: lower is better. *Ground truth* (phantoms): the share of the map's mass inside the structures that carry the phase (aorta, arteries, portal and splenic veins, liver, renal cortex and medulla, collecting systems) and the ROC AUC of map values for those voxels.",
  );
  lines.push('');
  lines.push(
    "**SAM here.** The paper's exact SAM formula is not available to this project; PhaseLens reads it as the element-wise product of a layer's activations and the class-score gradient with respect to them, rectified and summed over channels (at the input: rectified gradient x input), i.e. Captum's LayerGradientXActivation, rectified. The conclusions below hold for that reading.",
  );
  lines.push('');
  lines.push('## All maps');
  lines.push('');
  for (const [name, group] of groups) {
    if (group.length === 0) continue;
    lines.push(`### ${name} (${group.length} series)`);
    lines.push('');
    const header = [
      'map',
      'deletion area (lower better)',
      'insertion area (higher better)',
      'kept share (lower better)',
    ];
    if (name === 'synthetic') header.push('mass in phase structures', 'ROC AUC');
    lines.push(
      markdownTable(
        header,
        MAIN.map((key) => {
          const row = [
            key,
            fmt(bootstrapMean(values(group, key, 'deletion'))),
            fmt(bootstrapMean(values(group, key, 'insertion'))),
            fmt(bootstrapMean(values(group, key, 'keptFraction'))),
          ];
          if (name === 'synthetic')
            row.push(
              fmt(bootstrapMean(values(group, key, 'mass'))),
              fmt(bootstrapMean(values(group, key, 'auc'))),
            );
          return row;
        }),
      ),
    );
    lines.push('');
    lines.push(
      `![deletion curves](deletion-${name.replace(' ', '-')}.png) ![insertion curves](insertion-${name.replace(' ', '-')}.png)`,
    );
    lines.push('');
  }
  lines.push('## By layer: SAM against Grad-CAM');
  lines.push('');
  for (const [name, group] of groups) {
    if (group.length === 0) continue;
    lines.push(`### ${name}`);
    lines.push('');
    const header = [
      'layer',
      'SAM deletion',
      'Grad-CAM deletion',
      'SAM insertion',
      'Grad-CAM insertion',
    ];
    if (name === 'synthetic') header.push('SAM mass', 'Grad-CAM mass');
    lines.push(
      markdownTable(
        header,
        LAYERS.map((layer) => {
          const sam = layerKey('sam', layer);
          const gc = layer === 'input' ? undefined : layerKey('gradcam', layer);
          const cell = (key: string | undefined, m: Measure): string =>
            key ? fmt(bootstrapMean(values(group, key, m))) : '-';
          const row = [
            layer,
            cell(sam, 'deletion'),
            cell(gc, 'deletion'),
            cell(sam, 'insertion'),
            cell(gc, 'insertion'),
          ];
          if (name === 'synthetic') row.push(cell(sam, 'mass'), cell(gc, 'mass'));
          return row;
        }),
      ),
    );
    lines.push('');
    lines.push(`![by layer](layers-${name.replace(' ', '-')}.png)`);
    lines.push('');
  }

  lines.push("## Do the paper's results hold here?");
  lines.push('');
  lines.push(
    'A result holds when, for every comparison, SAM is better on at least one measure: the 95% bootstrap interval of the paired difference excludes zero in its favour.',
  );
  lines.push('');
  for (const [name, group] of groups) {
    if (group.length === 0) continue;
    lines.push(`**${name}.**`);
    lines.push('');
    const first = ['guided', 'cam', 'gradcam'].map((other) => ({
      other,
      deletion: verdict(group, 'sam', other, 'deletion', true),
      mass: name === 'synthetic' ? verdict(group, 'sam', other, 'mass', false) : undefined,
    }));
    const holds1 = first.every((f) => f.deletion.better || f.mass?.better);
    lines.push(
      `1. *SAMs are more specific than guided backpropagation, CAM and Grad-CAM*: ${holds1 ? '**holds**' : '**not shown**'} (paired differences in deletion area${name === 'synthetic' ? ' and mass in phase structures' : ''}, SAM minus the other; negative deletion or positive mass favours SAM):`,
    );
    for (const f of first) {
      lines.push(`   - ${f.deletion.text}${f.mass ? `; mass ${f.mass.text}` : ''}`);
    }
    const shallow = (['conv1', 'conv2'] as const).map((layer) => ({
      layer,
      deletion: verdict(
        group,
        layerKey('sam', layer),
        layerKey('gradcam', layer),
        'deletion',
        true,
      ),
      mass:
        name === 'synthetic'
          ? verdict(group, layerKey('sam', layer), layerKey('gradcam', layer), 'mass', false)
          : undefined,
    }));
    const holds2 = shallow.every((f) => f.deletion.better || f.mass?.better);
    lines.push(
      `2. *At shallow layers SAMs are more specific than Grad-CAM*: ${holds2 ? '**holds**' : '**not shown**'}:`,
    );
    for (const f of shallow)
      lines.push(`   - ${f.layer}: ${f.deletion.text}${f.mass ? `; mass ${f.mass.text}` : ''}`);
    lines.push('');
  }
  lines.push('## Sanity checks (Adebayo et al. 2018)');
  lines.push('');
  lines.push(
    "Weights re-drawn layer by layer from the top (logits first, then conv5 down to conv1); the rank correlation of each map with the trained model's map over body voxels. A map that explains the model must decorrelate as the weights it depends on are destroyed.",
  );
  lines.push('');
  lines.push(
    markdownTable(
      ['map', ...RANDOMISATION_STAGES.map((s) => `${s} re-drawn`)],
      sanity.map((s) => [s.method, ...s.correlation.map((c) => c.toFixed(2))]),
    ),
  );
  lines.push('');
  lines.push('![sanity](sanity.png)');
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
      ['series', 'kind', 'truth', 'decided', 'confidence', 'slices studied'],
      records.map((r) => [
        r.id,
        r.kind,
        r.truth,
        r.predicted,
        r.confidence.toFixed(2),
        r.slices.map((s) => s + 1).join(' '),
      ]),
    ),
  );
  lines.push('');
  await fs.writeFile(path.join(dir, 'README.md'), lines.join('\n'));
}
