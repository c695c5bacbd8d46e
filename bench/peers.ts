/**
 * The runtimes a user would pick instead of PhaseLens, run on the PhaseLens network's own
 * weights and slices: PyTorch (Debian's python3-torch; bench/peer.py, out of the box and tuned)
 * and ONNX Runtime for Node (`npm run bench:peers` installs it under bench/peers/). Each is
 * optional: a peer that is not installed is reported as such, never guessed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { graphOf } from '../server/src/model/inference/classify';
import {
  CHANNELS,
  INPUT_SIZE,
  type PreprocessedSlice,
} from '../server/src/model/inference/preprocess';
import type { PhaseModel } from '../server/src/model/inference/phase-model';
import { PYTHON } from './common';

/** What a peer printed, or why it did not run. */
export type PeerResult = Record<string, unknown> | string;

// glibc otherwise hands PyTorch's large activation buffers back to the OS after every call and
// faults them in again on the next (about a quarter of the peer's inference time).
const GLIBC_TUNABLES =
  'glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=536870912';
const ORT_PEER = path.join(__dirname, 'peers', 'ort.cjs');
const ORT_INSTALLED = path.join(__dirname, 'peers', 'node_modules', 'onnxruntime-node');

/**
 * Writes the model's first network (weights in Keras layout), 16 slices as the network sees
 * them (from a phantom series, so that the outputs are not saturated) and PhaseLens's class
 * scores for them, for the peers to load and compare against.
 */
export async function writePeerNetwork(
  model: PhaseModel,
  slices: PreprocessedSlice[],
  dir: string,
): Promise<void> {
  if (slices.length < 16) throw new Error(`the peers need 16 slices, got ${slices.length}`);
  await fs.mkdir(dir, { recursive: true });
  const weights: { name: string; shape: number[]; offset: number }[] = [];
  const values: Float32Array[] = [];
  let offset = 0;
  for (const layer of model.network.layers)
    for (const w of layer.weights) {
      const data = w.read().dataSync() as Float32Array;
      // "conv1/kernel", "bn1/moving_mean": the layer's name and the weight's own.
      const shape = w.shape.map((d) => d ?? 1);
      weights.push({ name: `${layer.name}/${w.name.split('/').pop()}`, shape, offset });
      values.push(data);
      offset += data.length;
    }
  const epsilon = (model.network.getLayer('bn1').getConfig() as { epsilon?: number }).epsilon;
  await fs.writeFile(
    path.join(dir, 'network.json'),
    JSON.stringify({ epsilon: epsilon ?? 1e-3, weights }),
  );
  await fs.writeFile(path.join(dir, 'weights.bin'), Buffer.concat(values.map(bytesOf)));
  const input = new Float32Array(16 * INPUT_SIZE * INPUT_SIZE * CHANNELS);
  slices.slice(0, 16).forEach((s, i) => input.set(s.data, i * s.data.length));
  const x = tf.tensor4d(input, [16, INPUT_SIZE, INPUT_SIZE, CHANNELS]);
  // Logits, not probabilities: softmax near 0 and 1 would hide any difference.
  const logits = tf.tidy(() => graphOf(model).logits(x));
  await fs.writeFile(path.join(dir, 'input.bin'), bytesOf(input));
  await fs.writeFile(path.join(dir, 'logits.json'), JSON.stringify(logits.arraySync()));
  tf.dispose([x, logits]);
}

function bytesOf(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** A peer's failure in one line: its last line of stderr, else how the process ended. */
function whyFailed(error: unknown, stderr: string): string {
  const { signal, status } = error as { signal?: string | null; status?: number | null };
  if (signal) return `killed by ${signal} (timeout?)`;
  const last = stderr.trim().split('\n').pop();
  if (last) return last;
  if (typeof status === 'number') return `exited with status ${status} and no message`;
  return error instanceof Error ? error.message : String(error);
}

function lastJsonLine(out: string): Record<string, unknown> {
  return JSON.parse(out.trim().split('\n').pop() as string) as Record<string, unknown>;
}

/** bench/peer.py on the network written by writePeerNetwork (which it also exports as ONNX). */
export function pytorchPeer(dir?: string): PeerResult {
  try {
    return lastJsonLine(
      execFileSync(PYTHON, [path.join(__dirname, 'peer.py'), ...(dir ? [dir] : [])], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 900_000,
        env: { ...process.env, GLIBC_TUNABLES },
      }),
    );
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '');
    return /No module named 'torch'|ENOENT/.test(stderr + String(error))
      ? 'python3-torch not installed: peer not measured'
      : `PyTorch peer failed: ${whyFailed(error, stderr)}`;
  }
}

/** ONNX Runtime for Node on DIR/network.onnx (exported by the PyTorch peer). */
export function onnxRuntimePeer(dir: string): PeerResult {
  if (!existsSync(ORT_INSTALLED))
    return 'onnxruntime-node not installed (npm run bench:peers): peer not measured';
  if (!existsSync(path.join(dir, 'network.onnx')))
    return 'no ONNX export (it needs the PyTorch peer): peer not measured';
  try {
    return lastJsonLine(
      execFileSync(process.execPath, [ORT_PEER, dir], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 300_000,
      }),
    );
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '');
    return `ONNX Runtime peer failed: ${whyFailed(error, stderr)}`;
  }
}

/** A number a peer reported at `keys`, or null where the peer did not run. */
export function peerNumber(peer: PeerResult, ...keys: string[]): number | null {
  let value: unknown = peer;
  for (const key of keys)
    value =
      typeof value === 'object' && value !== null
        ? (value as Record<string, unknown>)[key]
        : undefined;
  return typeof value === 'number' ? value : null;
}
