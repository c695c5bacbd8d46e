import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../../errors';
import { PHASES, type Phase } from '../../domain/phase';
import { drawCase, type PhantomLever } from '../../phantom/patient';
import { generateCase } from '../../phantom/render';
import { readSeries } from '../../series/read-series';
import type { CtSeries } from '../../series/types';
import { CHANNELS, INPUT_SIZE, informativeSlices, preprocessSlice } from '../inference/preprocess';

/** A series with a known phase, loaded on demand (datasets are larger than memory as CT). */
export interface LabelledSeries {
  id: string;
  phase: Phase;
  /** The patient, where labels.csv names one (series of one patient are not independent). */
  patient?: string;
  load(): Promise<CtSeries>;
}

/**
 * Preprocessed slices of many series, stored as bytes (a window value in [0, 1] in 1/255 steps:
 * under 2 HU in the narrowest window), four times smaller than float.
 */
export class SliceSet {
  readonly slices: Uint8Array[] = [];
  readonly labels: number[] = [];
  /** Index into `seriesIds` per slice. */
  readonly seriesOf: number[] = [];
  readonly seriesIds: string[] = [];
  readonly seriesLabels: number[] = [];

  add(id: string, phase: Phase, data: Float32Array[]): void {
    const series = this.seriesIds.length;
    this.seriesIds.push(id);
    this.seriesLabels.push(PHASES.indexOf(phase));
    for (const d of data) {
      const bytes = new Uint8Array(d.length);
      for (let i = 0; i < d.length; i++) bytes[i] = Math.round(d[i] * 255);
      this.slices.push(bytes);
      this.labels.push(PHASES.indexOf(phase));
      this.seriesOf.push(series);
    }
  }

  get size(): number {
    return this.slices.length;
  }

  /** Slice `i` as network input values. */
  values(i: number, out = new Float32Array(INPUT_SIZE * INPUT_SIZE * CHANNELS)): Float32Array {
    const s = this.slices[i];
    for (let k = 0; k < s.length; k++) out[k] = s[k] / 255;
    return out;
  }

  /** Writes the set to one file (training runs on the same data reuse it). */
  async save(file: string): Promise<void> {
    const header = JSON.stringify({
      labels: this.labels,
      seriesOf: this.seriesOf,
      seriesIds: this.seriesIds,
      seriesLabels: this.seriesLabels,
      sliceBytes: this.slices[0]?.length ?? 0,
    });
    const head = Buffer.from(header);
    const size = Buffer.alloc(4);
    size.writeUInt32LE(head.length);
    await fs.writeFile(`${file}.partial`, Buffer.concat([size, head, ...this.slices]));
    await fs.rename(`${file}.partial`, file);
  }

  static async load(file: string): Promise<SliceSet> {
    const bytes = await fs.readFile(file);
    const length = bytes.readUInt32LE(0);
    const h = JSON.parse(bytes.subarray(4, 4 + length).toString()) as {
      labels: number[];
      seriesOf: number[];
      seriesIds: string[];
      seriesLabels: number[];
      sliceBytes: number;
    };
    const set = new SliceSet();
    set.labels.push(...h.labels);
    set.seriesOf.push(...h.seriesOf);
    set.seriesIds.push(...h.seriesIds);
    set.seriesLabels.push(...h.seriesLabels);
    for (let i = 0; i < h.labels.length; i++) {
      const start = 4 + length + i * h.sliceBytes;
      set.slices.push(new Uint8Array(bytes.subarray(start, start + h.sliceBytes)));
    }
    return set;
  }

  /** Slice indices of each series, in order. */
  bySeries(): number[][] {
    const groups: number[][] = this.seriesIds.map(() => []);
    this.seriesOf.forEach((s, i) => groups[s].push(i));
    return groups;
  }
}

/** Preprocesses each series' informative slices (at most `perSeries`) into a SliceSet. */
export async function collectSlices(
  series: LabelledSeries[],
  perSeries: number,
  progress?: (done: number, total: number) => void,
): Promise<SliceSet> {
  const set = new SliceSet();
  for (let i = 0; i < series.length; i++) {
    const s = series[i];
    const ct = await s.load();
    const all = Array.from({ length: ct.slices }, (_, k) => preprocessSlice(ct, k));
    set.add(
      s.id,
      s.phase,
      informativeSlices(all, perSeries).map((p) => p.data),
    );
    progress?.(i + 1, series.length);
  }
  return set;
}

/** Phantom cases generated in memory: seed, case index and matrix fix each one exactly. */
export function phantomSeries(
  seed: string,
  count: number,
  matrix = 256,
  without: readonly PhantomLever[] = [],
): LabelledSeries[] {
  return Array.from({ length: count }, (_, index) => {
    let phase: Phase | undefined;
    const entry: LabelledSeries = {
      id: `phantom:${seed}:${index}`,
      get phase(): Phase {
        // The phase is drawn with the case; draw it cheaply without rendering.
        phase ??= phaseOfPhantom(seed, index);
        return phase;
      },
      load: async () => (await generateCase(seed, index, { matrix, without })).series,
    };
    return entry;
  });
}

function phaseOfPhantom(seed: string, index: number): Phase {
  return drawCase(seed, index).phase;
}

function parsePhase(value: string, where: string): Phase {
  const v = value.trim().toLowerCase().replace(/[ _]/g, '-');
  const aliases: Record<string, Phase> = {
    'non-contrast': 'non-contrast',
    noncontrast: 'non-contrast',
    native: 'non-contrast',
    unenhanced: 'non-contrast',
    arterial: 'arterial',
    'portal-venous': 'portal-venous',
    portal: 'portal-venous',
    venous: 'portal-venous',
    'portal-venous-phase': 'portal-venous',
    delayed: 'delayed',
    excretory: 'delayed',
  };
  const phase = aliases[v];
  if (!phase)
    throw new InvalidInputError(
      `${where}: unknown phase "${value}" (expected one of ${PHASES.join(', ')})`,
    );
  return phase;
}

/**
 * A folder of labelled series: `labels.csv` with a header and the columns `path` (a series
 * folder, NIfTI file or DICOMweb series URL, relative paths from the folder) and `phase`, as
 * `phaselens phantom` writes it and as a user can write for their own series.
 */
export async function labelledFolder(dir: string): Promise<LabelledSeries[]> {
  const csvPath = path.join(dir, 'labels.csv');
  if (!existsSync(csvPath))
    throw new InvalidInputError(`${dir} has no labels.csv (columns: path,phase)`);
  const lines = (await fs.readFile(csvPath, 'utf8')).split(/\r?\n/).filter((l) => l.trim());
  const header = lines[0].split(',').map((h) => h.trim().toLowerCase());
  const pathColumn = header.indexOf('path');
  const phaseColumn = header.indexOf('phase');
  const patientColumn = header.indexOf('patient');
  if (pathColumn < 0 || phaseColumn < 0)
    throw new InvalidInputError(`${csvPath}: the header must name the columns path and phase`);
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    const where = `${csvPath} line ${i + 2}`;
    if (cells.length <= Math.max(pathColumn, phaseColumn))
      throw new InvalidInputError(`${where}: expected at least ${header.length} columns`);
    const location = cells[pathColumn].trim();
    const source = /^https?:\/\//.test(location) ? location : path.resolve(dir, location);
    const patient = patientColumn >= 0 ? cells[patientColumn]?.trim() : undefined;
    return {
      id: location,
      phase: parsePhase(cells[phaseColumn], where),
      ...(patient ? { patient } : {}),
      load: () => readSeries(source),
    };
  });
}
