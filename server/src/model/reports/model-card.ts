import { existsSync, promises as fs } from 'node:fs';
import { markdownTable } from '../../render/markdown';
import path from 'node:path';
import { PHASES } from '../../domain/phase';
import { DENSE_FROM_HU, type AugmentOptions } from '../training/augment';
import type { ModelMetadata } from '../inference/phase-model';
import { COSINE_FLOOR } from '../training/schedule';
import type { EvaluationSummary } from './report';
import { PHANTOM_GENERATOR_VERSION, type PhantomLever } from '../../phantom/patient';
import { INDETERMINATE_RATE } from '../inference/decision';
import { partsLeftOut } from '../training/recipe';

async function readJson<T>(file: string): Promise<T | undefined> {
  return existsSync(file) ? (JSON.parse(await fs.readFile(file, 'utf8')) as T) : undefined;
}

async function readText(file: string): Promise<string | undefined> {
  return existsSync(file) ? fs.readFile(file, 'utf8') : undefined;
}

/** The fields of one CSV line; a field in double quotes may hold commas (series.csv's reasons). */
export function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      const end = line.indexOf('"', i + 1);
      out.push(line.slice(i + 1, end < 0 ? line.length : end));
      i = (end < 0 ? line.length : end) + 2;
    } else {
      const comma = line.indexOf(',', i);
      const stop = comma < 0 ? line.length : comma;
      out.push(line.slice(i, stop));
      i = stop + 1;
    }
  }
  return out;
}

async function readCsv(file: string): Promise<string[][] | undefined> {
  if (!existsSync(file)) return undefined;
  return (await fs.readFile(file, 'utf8')).trim().split('\n').map(csvFields);
}

/** The card's line on augmentation, from the options the run recorded. */
export function describeAugmentation(a: AugmentOptions | null | undefined): string {
  if (!a) return '- No augmentation during training.';
  const parts: string[] = [];
  if (a.maxRotationDeg > 0 || a.elasticPx > 0 || a.maxShiftPx > 0 || a.maxAspect > 0)
    parts.push(
      `random rotation (up to ${a.maxRotationDeg} degrees), zoom (${a.scaleRange[0]}-${a.scaleRange[1]}), aspect, shift and elastic warp (body shape and organ layout, which the single atlas subject cannot vary)`,
    );
  else parts.push('no shape augmentation');
  if (a.maxOffsetHu > 0 || a.maxNoiseHu > 0 || a.kernel !== false)
    parts.push(
      `HU offset of at most ${a.maxOffsetHu} HU, ${a.kernel === false ? 'no kernel change' : 'blur or sharpening (reconstruction kernel)'}, added noise up to ${a.maxNoiseHu} HU`,
    );
  else parts.push('no scanner augmentation');
  if (a.maxDenseGain !== undefined && a.maxDenseGain > 1) {
    const from = a.denseFromHu ?? DENSE_FROM_HU;
    // Arterial aortas reach about 490 HU at 80 kVp: below that threshold they move too.
    const what = `bone, oral contrast, lipiodol, calcium, excreted contrast${from < 500 ? ', and the brightest arterial blood' : ''}`;
    parts.push(
      `everything above ${from} HU (${what}) made denser or lighter by a gain of 1/${a.maxDenseGain} to ${a.maxDenseGain} per slice (\`--dense-gain ${a.maxDenseGain}${a.denseFromHu !== undefined ? ` --dense-from ${a.denseFromHu}` : ''}\`)`,
    );
  }
  return `- Augmentation during training: ${parts.join('; ')}.`;
}

/**
 * Writes MODEL_CARD.md for a model folder from its metadata and whatever evaluations sit beside
 * it (evaluation/phantoms, evaluation/real: what `phaselens evaluate` writes; ablation.json).
 * Every number in the card comes from those files, so the card never drifts from the model.
 */
/** What each phantom generator version draws (patient.ts has the version history). */
function generatorDescription(version: number): string {
  const base =
    'anatomy from the SPL Abdominal Atlas label map, scaled per patient; enhancement from published time-attenuation values (aorta, portal vein, liver, spleen, pancreas, renal cortex and medulla, collecting system, bowel wall), with independent per-patient gains for blood, parenchyma and urine (and a little per organ), so that no absolute HU or vessel-to-liver ratio names a phase; scanner realism (kVp, noise texture, slice thickness, FOV, table, oral contrast up to about 1200 HU, calcifications, calcified granulomas, lipiodol deposits and a bladder still dense from an earlier study in every phase, stones, cysts, metal).';
  if (version < 4) return base;
  const four = `${base} Since version 4 the atlas is also smoothly warped per patient, the liver holds portal and hepatic venous branches and the mesentery small arteries and veins (tapering trees that enhance with their vessel), liver texture varies between patients, and some livers hold hepatocellular carcinomas (arterial enhancement, later washout).`;
  if (version < 5) return four;
  return `${four} Since version 5 scanner beds differ between patients (flat or curved table tops 6-45 mm thick with dense shells over a light core, foam mattresses, gel pads or none, rails), the reconstruction circle cuts them in most series, and a dependent layer of dense contrast in the stomach or dense residue in the bowel occurs in every phase.`;
}

/** Which generator drew a held-out set, as its evaluation recorded it. */
const drawnBy = (e: EvaluationSummary): string =>
  e.generator === undefined
    ? 'generator version not recorded'
    : `drawn by phantom generator ${e.generator}${e.generator === PHANTOM_GENERATOR_VERSION ? '' : `; the code's is now ${PHANTOM_GENERATOR_VERSION}`}`;

/** What each generator part a recipe can leave out stands for (PHANTOM_LEVERS). */
/** Every lever a recipe can leave out, in words (the compiler asks for a new one's). */
const LEFT_OUT: Record<PhantomLever, string> = {
  gains:
    'the per-patient and per-organ gains, tissue shift and portal lag (every patient enhances with the typical curves, scaled only by dose and body size)',
  confounders: 'the lipiodol deposits, calcified granulomas and residual bladder contrast',
  table:
    "generator 5's scanner beds and reconstruction circle (every patient lies on generator 4's one 10 mm cradle)",
  lumen: "generator 5's dense gastric layer and bowel residue",
  'vascular-gains':
    "the vascular and excretion gains, their organs' own gains and the portal lag (blood and urine enhance with the typical curves; the parenchyma keeps its per-patient gains)",
};

export async function writeModelCard(dir: string, metadata: ModelMetadata): Promise<void> {
  const t = metadata.training as {
    command?: string;
    source?: string;
    bestEpoch?: number;
    trainingSlices?: number;
    validationSlices?: number;
    slicesPerSecond?: number;
    history?: { epoch: number; validationAccuracy: number; validationLoss: number }[];
    backend?: string;
    augmentation?: unknown;
    learningRate?: { base: number; schedule: string };
    code?: string;
  };
  const phantoms = await readJson<EvaluationSummary>(
    path.join(dir, 'evaluation', 'phantoms', 'evaluation.json'),
  );
  // Further held-out phantom sets (other seeds), if evaluated.
  const more: [string, EvaluationSummary][] = [];
  if (existsSync(path.join(dir, 'evaluation')))
    for (const name of (await fs.readdir(path.join(dir, 'evaluation'))).sort())
      if (name.startsWith('phantoms-')) {
        const e = await readJson<EvaluationSummary>(
          path.join(dir, 'evaluation', name, 'evaluation.json'),
        );
        if (e) more.push([name, e]);
      }
  const real = await readCsv(path.join(dir, 'evaluation', 'real', 'series.csv'));
  const ablation = await readJson<{ rows: string[][]; header: string[]; note: string }>(
    path.join(dir, 'ablation.json'),
  );
  const lines: string[] = [];
  lines.push(`# Model card: ${metadata.name} ${metadata.version}`);
  lines.push('');
  lines.push(
    'A convolutional network that reads axial abdominal CT slices and predicts the contrast phase of the series: non-contrast, arterial, portal-venous or delayed. It implements the classifier of Philbrick et al., *What Does Deep Learning See? Insights From a Classifier Trained to Predict Contrast Enhancement Phase From CT Images*, AJR 2018, in TensorFlow.js.',
  );
  lines.push('');
  lines.push('## Intended use');
  lines.push('');
  lines.push(
    '- Research and workflow support: tagging the phase of CT series in a PACS, checking protocol compliance, and studying what the classifier attends to (attribution maps).',
  );
  lines.push(
    '- **Not for diagnosis** and not a medical device. A wrong phase tag must not change patient care; a radiologist reads the images.',
  );
  lines.push(
    '- Input: axial CT of the abdomen (any slice thickness from 1 to 12.5 mm, any pixel size, any stored orientation). Other body regions, non-axial reformats and non-CT images are out of scope (the software refuses non-axial and non-CT input).',
  );
  lines.push('');
  lines.push('## Model');
  lines.push('');
  lines.push(
    '- Five blocks of 3x3 convolution (16, 32, 64, 128, 128 filters), batch normalisation, ReLU and 2x2 max pooling; global average pooling; one dense layer to four class scores; softmax. About 245k parameters.',
  );
  lines.push(
    `- Input: ${metadata.input.size}x${metadata.input.size} pixels over a fixed ${metadata.input.fovMm} mm field of view centred on the body, in the radiological view, each source pixel footprint area-averaged; three HU windows as channels (centre/width ${metadata.input.windows.map(([c, w]) => `${c}/${w}`).join(', ')}).`,
  );
  const rule = metadata.decision;
  if (metadata.members?.length && rule) {
    const seeds = (t as { seeds?: number[] }).seeds ?? [];
    lines.push(
      metadata.members.length > 1
        ? `- **An ensemble of ${metadata.members.length} such networks** (\`${metadata.members.join('`, `')}\`), trained by the same recipe from seeds ${seeds.join(', ')}. Attribution maps explain the member that most supports the phase they are for.`
        : `- One such network (\`${metadata.members[0]}\`, seed ${seeds.join(', ')}), with the decision rule below fitted for it.`,
    );
    lines.push(
      `- Series decision: the informative slices (enough body, not mostly lung; at most 48, evenly spread) of every member are averaged as probabilities (no product of experts: a few sure slices cannot outvote the rest), then sharpened by a temperature of ${rule.temperature.toFixed(3)} fitted on synthetic validation series. The call is **indeterminate**, with the reason, ${rule.unanimous ? 'when the members lead with different phases, or ' : ''}when the leading phase holds less than ${(rule.minAgreement * 100).toFixed(1)}% of the averaged probability (the threshold below which ${(INDETERMINATE_RATE * 100).toFixed(0)}% of the synthetic validation series fall).`,
    );
  } else
    lines.push(
      `- Series decision: the informative slices (enough body, not mostly lung; at most 48, evenly spread) are averaged as probabilities, then sharpened or softened by a temperature of ${metadata.temperature.toFixed(2)} fitted on synthetic validation series (calibration).`,
    );
  lines.push(
    '- Scope check before any network runs: intensities that are not CT (no air near -1000 HU, an MR volume) and series whose slices show an abdomen on less than 30% of their length (a head, a chest) are refused as `out-of-scope`, with the reason.',
  );
  lines.push('');
  lines.push('## Training data');
  lines.push('');
  const memberCards = metadata.members?.length
    ? await Promise.all(
        metadata.members.map(async (m) => ({
          dir: m,
          meta: await readJson<ModelMetadata>(path.join(dir, m, 'phaselens-model.json')),
        })),
      )
    : [];
  if (memberCards.length) {
    lines.push(
      '- Synthetic CT only; no real CT was used for training, tuning, calibration, thresholds or checkpoint choice. Each member:',
    );
    for (const { dir: m, meta } of memberCards) {
      const mt = (meta?.training ?? {}) as typeof t;
      lines.push(
        `  - \`${m}\`: ${mt.source ?? '?'}; \`npx ${mt.command ?? 'phaselens train'} --out ${m}\`; best epoch ${mt.bestEpoch ?? '?'}; code of commit ${mt.code ?? '?'}.`,
      );
    }
    lines.push(
      `- Assembled by \`npx ${t.command ?? 'phaselens ensemble'} --out MODEL_DIR\`, which fits the decision rule on the members' synthetic validation series.`,
    );
  } else
    lines.push(
      `- Synthetic CT only: ${t.source ?? 'see phaselens-model.json'}. No real CT was used for training, tuning, calibration or checkpoint choice.`,
    );
  // The generator this model was trained on (its members' record), which may be older than
  // the code's: describe that one.
  const trainedSource = String(
    (memberCards[0]?.meta?.training as typeof t | undefined)?.source ?? t.source ?? '',
  );
  const trainedOn = Number(/generator (\d+)/.exec(trainedSource)?.[1]) || PHANTOM_GENERATOR_VERSION;
  const left = partsLeftOut(trainedSource);
  lines.push(
    `- The phantoms come from the PhaseLens generator (\`server/src/phantom/\`), version ${trainedOn}${trainedOn === PHANTOM_GENERATOR_VERSION ? '' : ` (the code's is now ${PHANTOM_GENERATOR_VERSION})`}: ${generatorDescription(trainedOn)}${left.length ? ` **Left out of this model's phantoms** (\`--phantom-without\`): ${left.map((w) => (w in LEFT_OUT ? LEFT_OUT[w as PhantomLever] : w)).join('; ')}.` : ''}`,
  );
  // An ensemble's members share one recipe: the first member's record describes it.
  const recipe = memberCards.length ? ((memberCards[0].meta?.training ?? {}) as typeof t) : t;
  lines.push(describeAugmentation(recipe.augmentation as AugmentOptions | null | undefined));
  const learningRate = recipe.learningRate;
  if (learningRate)
    lines.push(
      learningRate.schedule === 'cosine'
        ? `- Optimiser: Adam, learning rate ${learningRate.base} falling along a cosine to ${COSINE_FLOOR * 100}% of it over the planned epochs; the weights of the epoch with the lowest validation loss are kept.`
        : `- Optimiser: Adam at a constant learning rate of ${learningRate.base}; the weights of the epoch with the lowest validation loss are kept.`,
    );
  if (!memberCards.length)
    lines.push(
      `- Reproduce: \`npx ${t.command ?? 'phaselens train'} --out MODEL_DIR\` (fixed seed; ${t.trainingSlices ?? '?'} training slices, ${t.validationSlices ?? '?'} validation slices; best epoch ${t.bestEpoch ?? '?'}; ${t.slicesPerSecond ? `${t.slicesPerSecond.toFixed(1)} slices/s on ${t.backend}` : ''}).`,
    );
  if (t.code)
    lines.push(
      `- Trained by the code of commit ${t.code}. Bit for bit, only that code reproduces these weights: later kernels round differently, and training amplifies the difference into another model (see the ablation table).`,
    );
  lines.push('');
  if (memberCards.length)
    lines.push(
      memberCards.map((m) => `![training curve, ${m.dir}](${m.dir}/training-curve.png)`).join(' '),
    );
  else lines.push('![training curve](training-curve.png)');
  lines.push('');
  lines.push('## Results');
  lines.push('');
  if (phantoms) {
    lines.push(
      `**Synthetic series from seeds never used in training** (${phantoms.series} series, ${drawnBy(phantoms)}): ${(phantoms.accuracy * 100).toFixed(1)}% right${phantoms.indeterminate !== undefined ? `, ${phantoms.indeterminate} indeterminate` : ''}, expected calibration error ${phantoms.ece.toFixed(3)}.`,
    );
    lines.push('');
    lines.push(
      markdownTable(
        ['phase', 'series', 'accuracy'],
        PHASES.map((p) => [
          p,
          String(phantoms.perPhase[p].series),
          `${(phantoms.perPhase[p].accuracy * 100).toFixed(1)}%`,
        ]),
      ),
    );
    lines.push('');
    lines.push(
      '![confusion matrix](evaluation/phantoms/confusion-matrix.png) ![reliability](evaluation/phantoms/reliability.png)',
    );
    lines.push('');
    for (const [name, e] of more) {
      lines.push(
        `**Another held-out set** (\`evaluation/${name}\`, ${e.series} series, ${drawnBy(e)}): ${(e.accuracy * 100).toFixed(1)}% right${e.indeterminate !== undefined ? `, ${e.indeterminate} indeterminate` : ''}, expected calibration error ${e.ece.toFixed(3)}; per phase ${PHASES.map((p) => `${p} ${(e.perPhase[p].accuracy * 100).toFixed(0)}%`).join(', ')}.`,
      );
      lines.push('');
    }
  } else {
    lines.push('No phantom evaluation yet (`phaselens evaluate --phantoms N --seed S`).');
    lines.push('');
  }
  if (real) {
    lines.push(
      '**Real CT** (`../shared/data/real-ct/`, evaluation only: nine series from four patients, three per phase for non-contrast, arterial and portal-venous, no delayed series). Every series is listed, wrong ones included; the last columns count the slices whose own leading phase is each phase:',
    );
    lines.push('');
    const [header, ...rows] = real;
    lines.push(markdownTable(header, rows));
    lines.push('');
  }
  const levers = await readText(path.join(dir, 'evaluation', 'levers', 'levers.md'));
  if (levers) {
    lines.push('## Levers, measured on the same series');
    lines.push('');
    lines.push(
      'Every model and decision rule on the same held-out synthetic series and the nine real series (`scripts/evaluate-levers.ts`; rules fitted on synthetic validation series only: the newest candidate\'s, for every single network\'s "mean + indeterminate" row). "Generator G, seed N" is one network alone, trained on phantom generator G; "generator G without P" left part P of the generator out of its phantoms (`--phantom-without P`, a lever ablation); each ensemble and the 1.0.0 network are named with the generator they were trained on; ", dense gain G": trained with `--dense-gain G` (everything above 300 HU made denser or lighter at random, by up to G times), "from H HU" with `--dense-from H` (above H HU instead). The parts: ' +
        Object.entries(LEFT_OUT)
          .map(([part, what]) => `\`${part}\`, ${what}`)
          .join('; ') +
        '.',
    );
    lines.push('');
    lines.push(levers);
    const choice = await readText(path.join(dir, 'evaluation', 'levers', 'choice.md'));
    if (choice) lines.push(choice, '');
    // Earlier lever tables (on another generator's held-out series) stay as they were measured.
    for (const name of (await fs.readdir(path.join(dir, 'evaluation'))).sort()) {
      if (!name.startsWith('levers-')) continue;
      const earlier = await readText(path.join(dir, 'evaluation', name, 'levers.md'));
      if (!earlier) continue;
      lines.push(`### Earlier lever table (\`evaluation/${name}\`)`, '', earlier);
      const why = await readText(path.join(dir, 'evaluation', name, 'choice.md'));
      if (why) lines.push(why, '');
    }
  }
  // The shipped model's folder sits at server/models/<name>: the study report is docs/study.
  const study = await readText(path.join(dir, '..', '..', '..', 'docs', 'study', 'README.md'));
  const verdict = study?.split('\n## Verdict\n')[1]?.split('\n## ')[0];
  if (verdict) {
    lines.push("## What the maps show: the specificity study's verdict");
    lines.push('');
    lines.push(
      'Quoted from [the study report](../../../docs/study/README.md) on this model (protocol: [PROTOCOL.md](../../../docs/study/PROTOCOL.md)):',
    );
    lines.push('');
    lines.push(verdict.trim());
    lines.push('');
  }
  const misses = await readText(path.join(dir, 'evaluation', 'maps-on-misses.md'));
  if (misses) {
    lines.push('## What the maps show on the misses');
    lines.push('');
    lines.push(misses);
  }
  if (ablation) {
    lines.push('## What mattered (ablation)');
    lines.push('');
    lines.push(markdownTable(ablation.header, ablation.rows));
    lines.push('');
    lines.push(ablation.note);
    lines.push('');
  }
  lines.push('## Limits');
  lines.push('');
  lines.push(
    '- Trained on synthetic anatomy derived from one atlas subject: real anatomy, pathology, post-operative changes and devices vary far more. The real-CT check rests on nine series from four patients (none delayed); per-class performance on real CT is not established.',
  );
  lines.push(
    '- The phase boundaries are a continuum (late arterial and early portal-venous overlap); confidence near 0.5 between neighbouring phases means exactly that.',
  );
  lines.push(
    '- Calibration was fitted on synthetic validation series; on real CT the confidence may be over- or under-stated.',
  );
  lines.push(
    '- What a run learns that carries to real CT is not stable from run to run: runs that score the same on held-out synthetic series can differ on the real series, confidently (see the lever table). Held-out synthetic accuracy alone does not vouch for real-CT behaviour.',
  );
  lines.push(
    '- Pixels only: descriptive tags (SeriesDescription, ContrastBolusAgent, protocol) are never read.',
  );
  lines.push('');
  lines.push('## Licences and credits');
  lines.push('');
  lines.push(
    "- SPL Abdominal Atlas (anatomy of the phantoms): Talos I-F., Jakab M., Kikinis R., Surgical Planning Laboratory, Brigham and Women's Hospital, 2015, under the 3D Slicer licence (`server/assets/anatomy/spl-abdominal-atlas/LICENSE-SLICER.txt` and `NOTICE.md`). Research use, no endorsement implied.",
  );
  lines.push(
    '- Real CT used for evaluation only: HCC-TACE-Seg collection, The Cancer Imaging Archive, CC BY 4.0 (HCC_002, HCC_009, HCC_048); TotalSegmentator example CT, Apache-2.0 (non-contrast). See `../shared/data/README.md`.',
  );
  lines.push(
    '- Time-attenuation values: the sources listed in `../shared/docs/enhancement.md`. Method: Philbrick KA et al., AJR 2018;211:1184-1193.',
  );
  lines.push('- Weights: trained by `phaselens train`; released with PhaseLens under its licence.');
  lines.push('');
  await fs.writeFile(path.join(dir, 'MODEL_CARD.md'), lines.join('\n'));
}
