import { promises as fs } from 'node:fs';
import path from 'node:path';
import { METHODS, PAPER_METHODS } from '../attribution/index';
import { explainSeries } from '../attribution/explain-series';
import { mapPreview, previewSlices } from '../attribution/preview';
import { selectBackend } from '../model/inference/backend';
import { classifyWithModel } from '../model/inference/classify';
import { DEFAULT_MODEL_DIR, loadPhaseModel } from '../model/inference/phase-model';
import { PHASES, type Phase } from '../domain/phase';
import { generateCase } from '../phantom/render';
import type { CaseParameters } from '../phantom/patient';
import { writePhantomCase } from '../phantom/write-case';
import { readSeries } from '../series/read-series';
import { parseArgs, stringFlag, UsageError } from './args';

const pct = (v: number): string => `${Math.round(v * 100)}%`;

/**
 * A line on a wrong demo row: where the synthetic case sits against the phase boundaries it was
 * drawn across, or, away from them, that it is one of the model's errors (model card).
 */
function whyWrong(p: CaseParameters, called: string): string {
  const shown = p.seconds === undefined ? undefined : p.seconds * p.timeScale;
  const at = shown === undefined ? '' : `${shown.toFixed(0)} s of enhancement`;
  if (shown !== undefined && shown < 25)
    return `early arterial (${at}): the organs have barely enhanced, so it reads as ${called}.`;
  if (shown !== undefined && Math.abs(shown - 50) < 10)
    return `${at} is near the arterial / portal-venous boundary (50 s).`;
  if (shown !== undefined && shown > 100 && shown < 200)
    return `${at} is near the portal-venous / delayed boundary (150 s).`;
  return `an error of the model on this synthetic patient (${at || 'no contrast'}, ${p.kvp} kVp); the model card's confusion matrix shows how often such errors happen.`;
}

/**
 * The built-in demo, no PACS needed: generates a synthetic abdominal CT series in each phase,
 * classifies all four with the shipped model (right or wrong, as they come), then writes one of
 * them (--phase, default portal-venous) as DICOM, reads it back the way any series is read and
 * writes the five attribution maps of the paper as PNG previews.
 */
export async function demo(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, { values: ['out', 'phase'], booleans: [] });
  const dir = path.resolve(stringFlag(args, 'out') ?? 'phaselens-demo');
  const phase = (stringFlag(args, 'phase') ?? 'portal-venous') as Phase;
  if (!PHASES.includes(phase)) throw new UsageError(`--phase must be one of ${PHASES.join(', ')}`);
  await selectBackend(() => undefined);
  const model = await loadPhaseModel(DEFAULT_MODEL_DIR);
  out.write('Synthetic series, one per phase, classified by the shipped model:\n');
  for (const truth of PHASES) {
    const one = await generateCase('demo', 0, {
      phase: truth,
      matrix: 256,
      range: 'abdomen-pelvis',
    });
    const r = await classifyWithModel(model, one.series);
    const verdict = r.phase === truth ? 'right' : r.phase === 'indeterminate' ? 'unsure' : 'WRONG';
    out.write(
      `  ${truth.padEnd(14)} -> ${r.phase.padEnd(14)} ${pct(r.confidence).padStart(4)}  ${verdict}\n`,
    );
    if (r.phase === 'indeterminate') out.write(`     why unsure: ${r.reason ?? ''}\n`);
    else if (r.phase !== truth) out.write(`     why wrong: ${whyWrong(one.params, r.phase)}\n`);
  }
  const c = await generateCase('demo', 0, { phase, matrix: 256, range: 'abdomen-pelvis' });
  await fs.mkdir(dir, { recursive: true });
  const written = await writePhantomCase(c, dir, false);
  const series = await readSeries(path.join(dir, written.path));
  out.write(
    `\nThe ${phase} series (${series.slices} slices of ${series.columns} x ${series.rows}) as DICOM: ${path.join(dir, written.path)}\n`,
  );
  const { result, maps, slices } = await explainSeries(model, series, {
    methods: PAPER_METHODS.map((m) => METHODS[m]),
  });
  out.write(
    `\nPhase: ${result.phase} (confidence ${result.confidence.toFixed(2)}; truth: ${phase})${result.reason ? `\n  ${result.reason}` : ''}\n  ${PHASES.map((p) => `${p} ${result.probabilities[p].toFixed(2)}`).join('  ')}\n  model ${result.model.name} ${result.model.version}, ${result.slices.length} slices used\n\n`,
  );
  const shown = previewSlices(slices);
  const files: string[] = [];
  for (const map of maps) {
    const name = `map-${map.method}.png`;
    await fs.writeFile(path.join(dir, name), mapPreview(series, map, result, shown));
    files.push(name);
  }
  out.write(
    `Attribution maps: ${files.map((f) => path.join(dir, f)).join('\n                  ')}\n\n`,
  );
  out.write(
    'Next: phaselens classify <folder | file.nii.gz | DICOMweb series URL>, phaselens explain SOURCE --out DIR\n',
  );
  return 0;
}
