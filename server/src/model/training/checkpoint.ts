import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '../../errors';
import { removeWithPartials, writeFileDurably } from '../../util/atomic-file';

/**
 * Where a training run stands after an epoch, enough to carry on as if it had never stopped:
 * a run of sixteen epochs takes an hour or more here, and a machine or session that ends
 * mid-run should cost one epoch, not the run.
 */
export interface CheckpointState {
  /** What the run is (recipe and data); a checkpoint only resumes the same run. */
  run: string;
  /** Last finished epoch. */
  epoch: number;
  /** Per-epoch records so far (the trainer's EpochRecord, kept opaque here). */
  history: unknown[];
  bestLoss: number;
  bestEpoch: number;
  /** Draws taken from the run's random source (shuffling and augmentation). */
  randomDraws: number;
  trainedSlices: number;
  trainingSeconds: number;
  /** Epochs after which earlier attempts stopped and this run was resumed. */
  resumedAfter: number[];
  /** The commit of the code that wrote this checkpoint (null where unknown). */
  code: string | null;
  /** The code of each attempt before it. */
  earlierCode: (string | null)[];
}

export interface CheckpointTensors {
  network: tf.Tensor[];
  best: tf.Tensor[];
  // tfjs's NamedTensor, which its public index does not export.
  optimizer: { name: string; tensor: tf.Tensor }[];
}

export interface Checkpoint {
  state: CheckpointState;
  tensors: CheckpointTensors;
}

interface Entry {
  group: keyof CheckpointTensors;
  name: string;
  shape: number[];
  /** Adam's step count is int32; it is stored as float32 (exact below 2^24 steps). */
  dtype: 'float32' | 'int32';
}

const FILE = 'checkpoint.bin';

/** A checkpoint folder that holds something other than a checkpoint of this run. */
export class CheckpointMismatchError extends InvalidInputError {}

/**
 * Writes the checkpoint as one file, renamed into place, so a run killed while writing leaves
 * the previous checkpoint whole. Layout: 4-byte little-endian header length, the JSON header,
 * then the float32 values of every tensor in header order, in the machine's byte order
 * (little-endian on x86 and ARM, where tfjs runs).
 */
export async function saveCheckpoint(dir: string, checkpoint: Checkpoint): Promise<void> {
  const entries: Entry[] = [];
  const arrays: Float32Array[] = [];
  const add = (group: keyof CheckpointTensors, name: string, t: tf.Tensor): void => {
    if (t.dtype !== 'float32' && t.dtype !== 'int32')
      throw new Error(`checkpoint: ${name} is ${t.dtype}, not float32 or int32`);
    entries.push({ group, name, shape: t.shape, dtype: t.dtype });
    arrays.push(Float32Array.from(t.dataSync()));
  };
  checkpoint.tensors.network.forEach((t, i) => add('network', String(i), t));
  checkpoint.tensors.best.forEach((t, i) => add('best', String(i), t));
  checkpoint.tensors.optimizer.forEach((t) => add('optimizer', t.name, t.tensor));
  const header = Buffer.from(JSON.stringify({ state: checkpoint.state, entries }), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length);
  const values = arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  await fs.mkdir(dir, { recursive: true });
  await writeFileDurably(path.join(dir, FILE), Buffer.concat([length, header, ...values]));
}

/** The checkpoint in `dir`, or undefined when there is none. */
export async function loadCheckpoint(dir: string): Promise<Checkpoint | undefined> {
  const file = path.join(dir, FILE);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const unreadable = (why: string): CheckpointMismatchError =>
    new CheckpointMismatchError(
      `${file} is not a readable training checkpoint (${why}); remove it to train from the start`,
    );
  if (bytes.length < 4) throw unreadable('too short');
  const headerLength = bytes.readUInt32LE(0);
  if (4 + headerLength > bytes.length) throw unreadable('header past the end');
  let header: { state: CheckpointState; entries: Entry[] };
  try {
    header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString('utf8')) as typeof header;
  } catch {
    throw unreadable('header is not JSON');
  }
  const groups = ['network', 'best', 'optimizer'];
  if (
    typeof header?.state?.run !== 'string' ||
    !Array.isArray(header.entries) ||
    !header.entries.every(
      (e) =>
        groups.includes(e?.group) &&
        Array.isArray(e.shape) &&
        e.shape.every((d) => Number.isInteger(d) && d >= 0) &&
        (e.dtype === 'float32' || e.dtype === 'int32'),
    )
  )
    throw unreadable('header does not describe a checkpoint');
  const tensors: CheckpointTensors = { network: [], best: [], optimizer: [] };
  let offset = 4 + headerLength;
  for (const e of header.entries) {
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (offset + count * 4 > bytes.length) throw unreadable('values past the end');
    // Copied: the file's buffer offset need not be 4-byte aligned.
    const values = new Float32Array(count);
    Buffer.from(values.buffer).set(bytes.subarray(offset, offset + count * 4));
    offset += count * 4;
    const t =
      e.dtype === 'int32'
        ? tf.tensor(Int32Array.from(values), e.shape, 'int32')
        : tf.tensor(values, e.shape, 'float32');
    if (e.group === 'optimizer') tensors.optimizer.push({ name: e.name, tensor: t });
    else tensors[e.group].push(t);
  }
  if (offset !== bytes.length) throw unreadable('trailing bytes');
  return { state: header.state, tensors };
}

/** Removes a finished run's checkpoint (its model is saved; the checkpoint would only mislead). */
export async function removeCheckpoint(dir: string): Promise<void> {
  await removeWithPartials(dir, FILE);
  await fs.rmdir(dir).catch(() => undefined);
}

export function disposeCheckpoint(checkpoint: Checkpoint): void {
  tf.dispose([
    ...checkpoint.tensors.network,
    ...checkpoint.tensors.best,
    ...checkpoint.tensors.optimizer.map((t) => t.tensor),
  ]);
}
