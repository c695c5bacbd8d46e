import { PhaseLensError } from '../errors';
import { UsageError } from './args';
import {
  classifyUsage,
  demoUsage,
  ensembleUsage,
  evaluateUsage,
  explainUsage,
  infoUsage,
  phantomUsage,
  serveUsage,
  studyUsage,
  trainUsage,
  watchUsage,
  workerUsage,
} from './usages';

type Command = (argv: string[], out: NodeJS.WritableStream) => Promise<number>;

/**
 * A command loaded when it runs: `classify` need not load express and bullmq, nor `serve` the
 * training code (loading every command cost a third of a second at each start).
 */
const lazy =
  (load: () => Promise<Command>): Command =>
  async (argv, out) =>
    (await load())(argv, out);

const commands: Record<string, { run: Command; usage: string; summary: string }> = {
  demo: {
    run: lazy(() => import('./demo').then((m) => m.demo)),
    usage: demoUsage,
    summary: 'read a built-in demo CT series, no PACS needed',
  },
  info: {
    run: lazy(() => import('./info').then((m) => m.info)),
    usage: infoUsage,
    summary: 'read a CT series (folder, NIfTI, DICOMweb URL) and summarise it',
  },
  classify: {
    run: lazy(() => import('./classify').then((m) => m.classify)),
    usage: classifyUsage,
    summary: 'print the contrast phase of a CT series, with confidence and probabilities',
  },
  explain: {
    run: lazy(() => import('./explain').then((m) => m.explain)),
    usage: explainUsage,
    summary: 'classify a series and write its attribution maps (CAM, Grad-CAM, saliency, ...)',
  },
  serve: {
    run: lazy(() => import('./serve').then((m) => m.serve)),
    usage: serveUsage,
    summary: 'run the HTTP service the OHIF extension calls (analyses, SSE progress, phase lookup)',
  },
  worker: {
    run: lazy(() => import('./worker').then((m) => m.worker)),
    usage: workerUsage,
    summary: 'run analyses from the shared Redis queue (scale-out: one per machine or core)',
  },
  watch: {
    run: lazy(() => import('./watch').then((m) => m.watch)),
    usage: watchUsage,
    summary: 'tag the phase of every new CT series in Orthanc (phase report + series metadata)',
  },
  study: {
    run: lazy(() => import('./study').then((m) => m.study)),
    usage: studyUsage,
    summary: "measure how specific each attribution map is (the paper's study); writes a report",
  },
  train: {
    run: lazy(() => import('./train').then((m) => m.train)),
    usage: trainUsage,
    summary:
      'train the phase network on phantoms or labelled series; writes weights and a model card',
  },
  ensemble: {
    run: lazy(() => import('./ensemble').then((m) => m.ensemble)),
    usage: ensembleUsage,
    summary:
      'assemble trained models into an ensemble and fit its indeterminate rule on synthetic validation series',
  },
  evaluate: {
    run: lazy(() => import('./evaluate').then((m) => m.evaluate)),
    usage: evaluateUsage,
    summary: 'accuracy, confusion matrix and calibration on labelled series or held-out phantoms',
  },
  phantom: {
    run: lazy(() => import('./phantom').then((m) => m.phantom)),
    usage: phantomUsage,
    summary: 'write synthetic multiphase abdominal CT with structure labels',
  },
};

function help(): string {
  const lines = Object.entries(commands).map(
    ([name, c]) => `  ${name.padEnd(8)} ${c.summary}\n           ${c.usage}`,
  );
  return `PhaseLens: contrast phase of abdominal CT\n\nCommands:\n${lines.join('\n')}\n\nPACS credentials: PHASELENS_PACS_USER and PHASELENS_PACS_PASSWORD, or PHASELENS_PACS_TOKEN.\n`;
}

/** Runs the CLI; returns the exit code (0 ok, 1 processing failure, 2 bad usage or input). */
export async function main(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === 'help') {
    out.write(help());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    err.write(`phaselens: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  try {
    return await command.run(rest, out);
  } catch (error) {
    if (error instanceof UsageError) {
      err.write(`phaselens ${name}: ${error.message}\n`);
      return 2;
    }
    if (error instanceof PhaseLensError) {
      err.write(`phaselens ${name}: ${error.message}\n`);
      return error.exitCode;
    }
    err.write(
      `phaselens ${name}: unexpected failure: ${(error as Error)?.stack ?? String(error)}\n`,
    );
    return 1;
  }
}
