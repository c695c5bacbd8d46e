/**
 * The model card's lever table: every model and decision rule on the same series, each series
 * generated or read once. Levers: the generator (the candidate ensemble's members against the
 * previously shipped ensemble, trained on an older generator, and the single 1.0.0 network), the
 * series decision (product of experts against the mean of probabilities with an indeterminate
 * threshold), and the ensemble (each member alone, three seeds, against all three). Every rule
 * is fitted on synthetic validation series (the candidate members' own, from the training
 * cache), or is the one a model shipped with; the real series only score.
 *
 * Run: npx tsx scripts/evaluate-levers.ts --ensemble DIR --previous DIR --baseline DIR --out DIR
 *        --cache DIR [--baseline-name "model 1.0.0 (generator 2)"] [--heldout1 40]
 *        [--heldout2 100] [--evaluation DIR] [--also DIR] [--ensemble-name NAME] [--also-name NAME]
 * With --also, another ensemble's members and its own rule join the table (an earlier
 * candidate, so a lever's runs sit beside the runs without it on the same series).
 * With --evaluation, both candidates' results (the ensemble with its rule, and the previous
 * ensemble with its shipped rule) are also written as `phaselens evaluate` writes them
 * (DIR/ensemble/phantoms for heldout-1, .../phantoms-seed2 for heldout-2, .../real; the same under
 * DIR/previous), so the series are generated once.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { AugmentOptions } from '../server/src/model/training/augment';
import { selectBackend } from '../server/src/model/inference/backend';
import {
  graphOf,
  preprocessSeries,
  sliceProbabilities,
} from '../server/src/model/inference/classify';
import {
  meanProbabilities,
  reliability,
  temperProbabilities,
} from '../server/src/model/inference/calibrate';
import {
  labelledFolder,
  phantomSeries,
  SliceSet,
  type LabelledSeries,
} from '../server/src/model/training/dataset';
import {
  decideSeries,
  fitDecisionRule,
  type DecisionRule,
} from '../server/src/model/inference/decision';
import {
  loadPhaseModel,
  membersOf,
  type PhaseModel,
} from '../server/src/model/inference/phase-model';
import { informativeSlices } from '../server/src/model/inference/preprocess';
import { phantomCacheKey, phantomRecipeOf } from '../server/src/model/training/recipe';
import { PHANTOM_GENERATOR_VERSION } from '../server/src/phantom/patient';
import { checkScope } from '../server/src/model/inference/scope';
import { predictSet } from '../server/src/model/training/train';
import { PHASES } from '../server/src/domain/phase';
import { writeEvaluation, type SeriesOutcome } from '../server/src/model/reports/report';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const need = (k: string): string => {
  const v = args.get(k);
  if (!v) throw new Error(`--${k} is required`);
  return v;
};

/** The decision before generator 3: mean log-probability over slices, divided by T. */
function productOfExperts(slices: number[][], temperature: number): number[] {
  const mean = PHASES.map(
    (_, c) => slices.reduce((a, s) => a + Math.log(Math.max(s[c], 1e-7)), 0) / slices.length,
  );
  const scaled = mean.map((v) => v / temperature);
  const top = Math.max(...scaled);
  const e = scaled.map((v) => Math.exp(v - top));
  const t = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / t);
}

function fitProductOfExperts(series: number[][][], labels: number[]): number {
  let best = 1;
  let bestLoss = Infinity;
  for (let e = -4; e <= 6; e += 0.125) {
    const t = 2 ** e;
    let loss = 0;
    series.forEach(
      (s, i) => (loss -= Math.log(Math.max(productOfExperts(s, t)[labels[i]], 1e-12))),
    );
    if (loss < bestLoss) [best, bestLoss] = [t, loss];
  }
  return best;
}

interface Call {
  call: string;
  probabilities: number[];
  reason?: string;
}

interface Lever {
  name: string;
  /** Index of the networks it uses (into `networks`). */
  networks: number[];
  decide(memberSlices: number[][][]): Call;
}

/** A lever that decides by a fitted or shipped rule: mean of probabilities, indeterminate below it. */
function ruleLever(name: string, networks: number[], rule: DecisionRule): Lever {
  return {
    name,
    networks,
    decide: (m) => {
      const d = decideSeries(m, rule);
      return {
        call: d.call,
        probabilities: d.probabilities,
        ...(d.reason ? { reason: d.reason } : {}),
      };
    },
  };
}

async function main(): Promise<void> {
  await selectBackend(() => undefined);
  const ensemble = await loadPhaseModel(need('ensemble'));
  const previous = await loadPhaseModel(need('previous'));
  const baseline = await loadPhaseModel(need('baseline'));
  const out = need('out');
  const cache = args.get('cache');
  const members = membersOf(ensemble);
  const previousMembers = membersOf(previous);
  const also = args.get('also') ? await loadPhaseModel(need('also')) : undefined;
  const alsoMembers = also ? membersOf(also) : [];
  // "4" or "4 without gains": the generator and the parts its phantoms left out.
  const generatorOf = (m: PhaseModel): string =>
    /generator (\d+(?: without [a-z -]+?)?),/.exec(String(m.metadata.training.source))?.[1] ??
    /generator (\d+)/.exec(String(m.metadata.training.source))?.[1] ??
    '?';
  // Where a network's recipe differs from the shipped one (constant rate, 8 epochs), the
  // difference is part of its name: those are levers.
  const recipeDifference = (m: PhaseModel): string => {
    const rate = (m.metadata.training as { learningRate?: { schedule?: string } }).learningRate;
    const epochs = /--epochs[= ](\d+)/.exec(String(m.metadata.training.command))?.[1];
    const augmentation = (m.metadata.training as { augmentation?: AugmentOptions | null })
      .augmentation;
    const dense = augmentation?.maxDenseGain;
    const denseFrom = augmentation?.denseFromHu;
    return (
      (rate?.schedule && rate.schedule !== 'constant' ? `, ${rate.schedule}` : '') +
      (epochs && epochs !== '8' ? `, ${epochs} epochs` : '') +
      (dense !== undefined && dense > 1 ? `, dense gain ${dense}` : '') +
      (denseFrom !== undefined ? ` from ${denseFrom} HU` : '')
    );
  };
  const named = (m: PhaseModel): string =>
    `generator ${generatorOf(m)}${recipeDifference(m)}, seed ${String(m.metadata.training.seed)}`;
  const networks: { name: string; model: PhaseModel }[] = [
    ...members.map((m) => ({ name: named(m), model: m })),
    ...alsoMembers.map((m) => ({ name: named(m), model: m })),
    ...previousMembers.map((m) => ({ name: named(m), model: m })),
    {
      // Models from before generator 3 do not record their generator: --baseline-name says it.
      name:
        args.get('baseline-name') ??
        `model ${baseline.metadata.version} (generator ${generatorOf(baseline)})`,
      model: baseline,
    },
  ];
  const duplicate = networks.find((n, i) => networks.findIndex((o) => o.name === n.name) !== i);
  if (duplicate) throw new Error(`two networks would both be named "${duplicate.name}"`);
  const ensembleName =
    args.get('ensemble-name') ??
    `ensemble ${ensemble.metadata.version} (generator ${generatorOf(members[0])}${recipeDifference(members[0])})`;
  const previousName = `ensemble ${previous.metadata.version} (generator ${generatorOf(previousMembers[0])})`;

  // Synthetic validation series of every candidate member, scored by every network: what each
  // fitted rule is fitted on.
  const validation: number[][][][] = []; // [series][network][slice][class]
  const validationLabels: number[] = [];
  for (const m of members) {
    const r = phantomRecipeOf(m.metadata, 'a member');
    const key = phantomCacheKey(r.phantoms, r.seed, r.matrix, r.without);
    const file = path.join(cache ?? '', `validation-${key}.slices`);
    if (!cache || !existsSync(file)) throw new Error(`no cached validation slices at ${file}`);
    const set = await SliceSet.load(file);
    const perNetwork = networks.map((n) => predictSet(n.model.network, set));
    set.bySeries().forEach((slices, k) => {
      validation.push(perNetwork.map((p) => slices.map((i) => p[i])));
      validationLabels.push(set.seriesLabels[k]);
    });
  }
  const rulesFor = (indices: number[], unanimous: boolean): DecisionRule =>
    fitDecisionRule(
      validation.map((s) => indices.map((i) => s[i])),
      validationLabels,
      unanimous,
    );
  const poeTemperature = (i: number): number =>
    fitProductOfExperts(
      validation.map((s) => s[i]),
      validationLabels,
    );

  const levers: Lever[] = [];
  networks.forEach((n, i) => {
    const t = poeTemperature(i);
    levers.push({
      name: `${n.name}: product of experts`,
      networks: [i],
      decide: (m) => {
        const p = productOfExperts(m[0], t);
        return { call: PHASES[p.indexOf(Math.max(...p))], probabilities: p };
      },
    });
    // The baseline keeps the rule it ships with, where it has one (phaselens ensemble of one).
    const own = i === networks.length - 1 ? baseline.metadata.decision : undefined;
    const rule = own ?? rulesFor([i], false);
    levers.push(ruleLever(`${n.name}: mean + indeterminate`, [i], rule));
  });
  const memberIdx = members.map((_, i) => i);
  const shipped = ensemble.metadata.decision ?? rulesFor(memberIdx, true);
  const alsoIdx = alsoMembers.map((_, i) => members.length + i);
  const previousIdx = previousMembers.map((_, i) => members.length + alsoMembers.length + i);
  const previousRule = previous.metadata.decision ?? rulesFor(previousIdx, true);
  levers.push(ruleLever(`${previousName}: mean + its shipped rule`, previousIdx, previousRule));
  if (also?.metadata.decision)
    levers.push(
      ruleLever(
        `${args.get('also-name') ?? `ensemble ${also.metadata.version} (generator ${generatorOf(alsoMembers[0])}${recipeDifference(alsoMembers[0])})`}: mean + its rule`,
        alsoIdx,
        also.metadata.decision,
      ),
    );
  levers.push({
    name: `${ensembleName}: mean, no indeterminate`,
    networks: memberIdx,
    decide: (m) => {
      const p = temperProbabilities(meanProbabilities(m.flat()), shipped.temperature);
      return { call: PHASES[p.indexOf(Math.max(...p))], probabilities: p };
    },
  });
  levers.push(ruleLever(`${ensembleName}: mean + its indeterminate rule`, memberIdx, shipped));

  const sets: [string, LabelledSeries[]][] = [
    ['heldout-1', phantomSeries('heldout-1', Number(args.get('heldout1') ?? 40), 256)],
    ['heldout-2', phantomSeries('heldout-2', Number(args.get('heldout2') ?? 100), 256)],
    ['real', await labelledFolder(path.join(__dirname, '..', '..', 'shared', 'data'))],
  ];
  const results: Record<string, unknown> = {};
  const lines: string[] = [];
  const realRows: string[][] = [];
  for (const [setName, list] of sets) {
    // [series][network][slice][class]
    const scored: { id: string; truth: number; slices: number[][][]; outOfScope?: string }[] = [];
    for (const s of list) {
      const series = await s.load();
      const scope = checkScope(series);
      const truth = PHASES.indexOf(s.phase);
      if (scope.problem) {
        scored.push({ id: s.id, truth, slices: [], outOfScope: scope.problem });
        continue;
      }
      const slices = informativeSlices(preprocessSeries(series));
      const perNetwork: number[][][] = [];
      for (const n of networks) perNetwork.push(await sliceProbabilities(graphOf(n.model), slices));
      scored.push({ id: s.id, truth, slices: perNetwork });
      process.stderr.write(`\r${setName}: ${scored.length}/${list.length}`);
    }
    process.stderr.write('\n');
    results[setName] = {};
    // Each candidate's evaluation folders for this set (what `phaselens evaluate` writes): the
    // ensemble's rule, and the previously shipped ensemble with its own.
    const candidates: [string, Lever][] = [
      ['ensemble', levers[levers.length - 1]],
      ['previous', levers.find((l) => l.name.startsWith(previousName)) as Lever],
    ];
    for (const [tag, lever] of candidates) {
      const outcomes: SeriesOutcome[] = scored.map((s) => {
        if (s.outOfScope)
          return {
            id: s.id,
            truth: s.truth,
            probabilities: PHASES.map(() => 0),
            call: 'out-of-scope',
            reason: s.outOfScope,
            sliceVotes: PHASES.map(() => 0),
          };
        const memberSlices = lever.networks.map((i) => s.slices[i]);
        const c = lever.decide(memberSlices);
        const sliceVotes = PHASES.map(() => 0);
        memberSlices[0].forEach((_, k) => {
          const mean = PHASES.map((_p, cls) => memberSlices.reduce((a, m) => a + m[k][cls], 0));
          sliceVotes[mean.indexOf(Math.max(...mean))]++;
        });
        return {
          id: s.id,
          truth: s.truth,
          probabilities: c.probabilities,
          call: c.call,
          ...(c.reason ? { reason: c.reason } : {}),
          sliceVotes,
        };
      });
      const folder = { 'heldout-1': 'phantoms', 'heldout-2': 'phantoms-seed2', real: 'real' }[
        setName
      ];
      if (folder && args.get('evaluation'))
        await writeEvaluation(
          outcomes,
          path.join(need('evaluation'), tag, folder),
          setName === 'real' ? 'Real CT' : 'Held-out phantoms',
          setName === 'real' ? undefined : PHANTOM_GENERATOR_VERSION,
        );
    }
    for (const lever of levers) {
      const calls = scored.map((s) => {
        if (s.outOfScope)
          return {
            id: s.id,
            truth: s.truth,
            call: 'out-of-scope',
            probabilities: PHASES.map(() => 0),
          };
        const c = lever.decide(lever.networks.map((i) => s.slices[i]));
        return { id: s.id, truth: s.truth, ...c };
      });
      const right = calls.filter((c) => c.call === PHASES[c.truth]).length;
      const wrong = calls.filter(
        (c) => (PHASES as readonly string[]).includes(c.call) && c.call !== PHASES[c.truth],
      );
      const inScope = calls.filter((c) => c.call !== 'out-of-scope');
      const ece = reliability(
        inScope.map((c) => c.probabilities),
        inScope.map((c) => c.truth),
      ).ece;
      const summary = {
        series: calls.length,
        right,
        wrong: wrong.length,
        indeterminate: calls.filter((c) => c.call === 'indeterminate').length,
        worstWrongConfidence: Math.max(0, ...wrong.map((c) => Math.max(...c.probabilities))),
        ece,
        calls: calls.map((c) => ({
          id: c.id,
          truth: PHASES[c.truth],
          call: c.call,
          confidence: Math.max(...c.probabilities),
        })),
      };
      (results[setName] as Record<string, unknown>)[lever.name] = summary;
      lines.push(
        `| ${setName} | ${lever.name} | ${right}/${calls.length} | ${wrong.length} | ${summary.indeterminate} | ${summary.worstWrongConfidence.toFixed(2)} | ${ece.toFixed(3)} |`,
      );
      if (setName === 'real')
        realRows.push([
          lever.name,
          ...summary.calls.map(
            (c) =>
              `${c.call === c.truth ? '' : c.call === 'indeterminate' ? '? ' : '**x** '}${c.call} ${c.confidence.toFixed(2)}`,
          ),
        ]);
    }
    if (setName === 'real') {
      // Per-slice agreement with the truth, per network, on each real series.
      const agreement = scored.map((s) => ({
        id: s.id,
        truth: PHASES[s.truth],
        perNetwork: networks.map((n, i) => {
          const votes = PHASES.map(() => 0);
          for (const p of s.slices[i] ?? []) votes[p.indexOf(Math.max(...p))]++;
          return {
            network: n.name,
            votes: Object.fromEntries(PHASES.map((p, k) => [p, votes[k]])),
          };
        }),
      }));
      results.realSliceVotes = agreement;
      results.realIds = scored.map((s) => s.id);
    }
  }
  results.rules = { shipped, members: members.map((_, i) => rulesFor([i], false)) };
  results.generator = PHANTOM_GENERATOR_VERSION;
  await fs.mkdir(out, { recursive: true });
  await fs.writeFile(path.join(out, 'levers.json'), `${JSON.stringify(results, null, 2)}\n`);
  const ids = (results.realIds as string[]).map((id) => id.replace(/^real-ct\//, ''));
  const md = [
    `Held-out synthetic series drawn by phantom generator ${PHANTOM_GENERATOR_VERSION} with every part in (seeds heldout-1 and heldout-2).`,
    '',
    '| series set | model and decision | right | wrong | indeterminate | highest wrong confidence | ECE |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...lines,
    '',
    `| model and decision | ${ids.join(' | ')} |`,
    `| --- | ${ids.map(() => '---').join(' | ')} |`,
    ...realRows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ].join('\n');
  await fs.writeFile(path.join(out, 'levers.md'), md);
  process.stdout.write(md);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
