import { studyUsage } from './usages';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { selectBackend } from '../model/inference/backend';
import { classifyWithModel } from '../model/inference/classify';
import { labelledFolder } from '../model/training/dataset';
import { DEFAULT_MODEL_DIR, loadPhaseModel } from '../model/inference/phase-model';
import { PHASES } from '../domain/phase';
import { generateCase } from '../phantom/render';
import { exampleMontage } from '../study/examples';
import { rewriteStudyReport, writeStudyReport } from '../study/report';
import { CURRENT_PROTOCOL } from '../study/protocol';
import {
  loadPartialStudy,
  modelKey,
  removePartialStudy,
  savePartialStudy,
  studyRun,
} from '../study/partial';
import {
  sanityChecks,
  studyMaps,
  studySeries,
  type SeriesRecord,
  type StudySeries,
} from '../study/run-study';
import { intFlag, parseArgs, stringFlag, UsageError } from './args';
import { progressBar } from './progress';

/**
 * The map-specificity study: synthetic series with known structures (seed `study-S`, never used
 * in training) and, with --data, labelled real series. Writes a Markdown report with tables,
 * bootstrap intervals and figures.
 */
export async function study(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, {
    values: ['out', 'data', 'phantoms', 'slices', 'seed', 'model', 'protocol'],
    booleans: ['report-only'],
  });
  const dir = stringFlag(args, 'out');
  if (!dir || args.positional.length) throw new UsageError(`usage: ${studyUsage}`);
  // After a change to the report alone: the same numbers, told again.
  if (args.flags.has('report-only')) {
    await rewriteStudyReport(dir);
    out.write(`Rewrote ${path.join(dir, 'README.md')} from its results.json\n`);
    return 0;
  }
  // The report follows the protocol its run names: 1 reproduces the protocol-1 report.
  const protocol = intFlag(args, 'protocol') ?? CURRENT_PROTOCOL;
  if (protocol !== 1 && protocol !== 2) throw new UsageError('--protocol must be 1 or 2');
  // Protocol 2's run: 40 synthetic patients from seed study-2 (protocol 1 used 12 from study-1).
  const phantoms = intFlag(args, 'phantoms') ?? 40;
  const slices = intFlag(args, 'slices') ?? 6;
  const seed = intFlag(args, 'seed') ?? 2;
  if (phantoms < 0 || slices < 1) throw new UsageError('--phantoms >= 0 and --slices >= 1');
  await selectBackend(() => undefined);
  const modelDir = stringFlag(args, 'model') ?? DEFAULT_MODEL_DIR;
  const model = await loadPhaseModel(modelDir);
  const list: StudySeries[] = [];
  for (let i = 0; i < phantoms; i++) {
    const c = await generateCase(`study-${seed}`, i, { matrix: 256 });
    const plain = await generateCase(`study-${seed}`, i, { matrix: 256, withoutContrast: true });
    list.push({
      id: `phantom study-${seed}/${i}`,
      patient: `phantom study-${seed}/${i}`,
      withoutContrast: plain.series,
      kind: 'phantom',
      truth: c.params.phase,
      series: c.series,
      labels: c.labels,
    });
  }
  const data = stringFlag(args, 'data');
  if (data) {
    for (const s of await labelledFolder(data))
      list.push({
        id: s.id,
        patient: s.patient ?? s.id,
        kind: 'real',
        truth: s.phase,
        series: await s.load(),
      });
  }
  if (list.length === 0) throw new UsageError('nothing to study: give --phantoms N or --data DIR');
  const maps = studyMaps();
  const bar = progressBar('studying series');
  // The same command run again after a stop resumes after the last series it measured.
  const run = studyRun({
    model: modelKey(model),
    series: list.map((l) => l.id),
    slices,
    protocol,
  });
  const earlier = await loadPartialStudy(dir, run);
  if (earlier.length)
    out.write(`resuming: ${earlier.length} of ${list.length} series already studied\n`);
  const records: SeriesRecord[] = [];
  for (const s of list) {
    const kept = earlier.find((r) => r.id === s.id);
    if (kept) {
      records.push(kept);
      continue;
    }
    records.push(await studySeries(model, s, slices, maps));
    await savePartialStudy(dir, run, records);
    bar(records.length, list.length);
    out.write(`studied ${s.id} (${records.length}/${list.length})\n`);
  }
  const sanitySeries = list.filter((s) => s.kind === 'phantom').slice(0, 3);
  const sanityMaps = maps.filter((m) =>
    [
      'cam',
      'gradcam',
      'saliency',
      'guided',
      'sam',
      'integrated-gradients',
      'control-input',
    ].includes(m.key),
  );
  const sanity = sanitySeries.length ? sanityChecks(model, sanitySeries, 3, sanityMaps) : [];
  await fs.mkdir(dir, { recursive: true });
  const examples: string[] = [];
  for (const s of [
    list.find((l) => l.kind === 'phantom' && l.truth === 'arterial'),
    list.find((l) => l.kind === 'real'),
  ]) {
    if (!s) continue;
    const decided = await classifyWithModel(model, s.series);
    const name = `example-${s.kind}-${s.truth}.png`;
    await fs.writeFile(
      path.join(dir, name),
      exampleMontage(
        model,
        s,
        maps.filter((m) => m.main && !m.key.startsWith('control-')),
        PHASES.indexOf(decided.leading),
      ),
    );
    examples.push(name);
  }
  await writeStudyReport(dir, records, sanity, {
    model: `${model.metadata.name} ${model.metadata.version}`,
    command: `npx phaselens ${['study', ...argv].join(' ')}`,
    slicesPerSeries: slices,
    examples,
    protocol,
  });
  await removePartialStudy(dir);
  out.write(`Wrote ${path.join(dir, 'README.md')} with figures\n`);
  return 0;
}
