import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../../errors';
import { PHASES } from '../../domain/phase';
import { meanProbabilities } from '../inference/calibrate';
import { collectSlices, SliceSet } from './dataset';
import {
  decideSeries,
  fitDecisionRule,
  INDETERMINATE_RATE,
  type DecisionRule,
} from '../inference/decision';
import {
  inputDescription,
  loadPhaseModel,
  saveEnsembleMetadata,
  type ModelMetadata,
  type PhaseModel,
} from '../inference/phase-model';
import { phantomCacheKey, phantomRecipeOf, validationPhantoms } from './recipe';
import { predictSet } from './train';
import { writeModelCard } from '../reports/model-card';

/** What a phantom-trained member recorded about its recipe (phaselens train's metadata). */
export interface EnsembleSummary {
  rule: DecisionRule;
  validationSeries: number;
  accuracy: number;
  indeterminate: number;
  memberDisagreements: number;
}

/**
 * Assembles trained members into one ensemble model folder (`members/<name>/` each) and fits
 * its decision rule on the members' own synthetic validation series, remade from their seeds
 * (or read from the training cache): every member scores every validation series, so the rule
 * sees ensemble behaviour on series some members never validated on and none trained on.
 */
export async function assembleEnsemble(
  memberDirs: string[],
  out: string,
  options: { version: string; command: string; cache?: string },
  progress?: (done: number, total: number) => void,
): Promise<EnsembleSummary> {
  if (memberDirs.length < 1) throw new InvalidInputError('an ensemble needs at least one member');
  const members: PhaseModel[] = [];
  for (const dir of memberDirs) members.push(await loadPhaseModel(dir));
  const recipes = members.map((m, i) => phantomRecipeOf(m.metadata, memberDirs[i]));
  const sets: SliceSet[] = [];
  for (const r of recipes) {
    const file = options.cache
      ? path.join(
          options.cache,
          `validation-${phantomCacheKey(r.phantoms, r.seed, r.matrix, r.without)}.slices`,
        )
      : undefined;
    if (file && existsSync(file)) sets.push(await SliceSet.load(file));
    else {
      const fraction = r.validationSeries / r.phantoms;
      sets.push(
        await collectSlices(
          validationPhantoms(r.phantoms, r.seed, r.matrix, fraction, r.without),
          48,
        ),
      );
    }
  }
  // series[k][m][s]: member m's probabilities for slice s of validation series k.
  const series: number[][][][] = [];
  const labels: number[] = [];
  let done = 0;
  for (const set of sets) {
    const perMember = members.map((m) => predictSet(m.network, set));
    for (const [k, slices] of set.bySeries().entries()) {
      series.push(perMember.map((probs) => slices.map((i) => probs[i])));
      labels.push(set.seriesLabels[k]);
    }
    progress?.(++done, sets.length);
  }
  // Unanimity is asked only where it costs little on synthetic series: if the members disagree
  // on more than INDETERMINATE_RATE of them, it would mostly flag their own errors there.
  const disagreeing = series.filter((s) => {
    const leads = s.map((slices) => {
      const m = meanProbabilities(slices);
      return m.indexOf(Math.max(...m));
    });
    return leads.some((l) => l !== leads[0]);
  }).length;
  const unanimous = members.length > 1 && disagreeing <= INDETERMINATE_RATE * series.length;
  const rule = fitDecisionRule(series, labels, unanimous);
  let right = 0;
  let indeterminate = 0;
  let memberDisagreements = 0;
  series.forEach((s, k) => {
    const d = decideSeries(s, rule);
    if (d.call === 'indeterminate') indeterminate++;
    else if (d.call === PHASES[labels[k]]) right++;
    if (d.members.some((m) => m !== d.members[0])) memberDisagreements++;
  });
  await fs.mkdir(path.join(out, 'members'), { recursive: true });
  const names: string[] = [];
  for (const [i, dir] of memberDirs.entries()) {
    const name = `members/seed-${recipes[i].seed}`;
    names.push(name);
    await fs.cp(dir, path.join(out, name), { recursive: true });
  }
  const metadata: ModelMetadata = {
    name: members[0].metadata.name,
    version: options.version,
    temperature: rule.temperature,
    input: inputDescription(),
    training: {
      command: options.command,
      members: names,
      seeds: recipes.map((r) => r.seed),
      validation: {
        series: series.length,
        accuracy: right / series.length,
        indeterminate,
        memberDisagreements,
      },
    },
    members: names,
    decision: rule,
  };
  await saveEnsembleMetadata(metadata, out);
  await writeModelCard(out, metadata);
  return {
    rule,
    validationSeries: series.length,
    accuracy: right / series.length,
    indeterminate,
    memberDisagreements,
  };
}
