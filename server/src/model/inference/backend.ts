import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../kernels/wasm-kernels';
import { checkBackendInternals } from '../kernels/instance';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

let chosen: Promise<BackendName> | undefined;

/** tfjs-node is an optional dependency: its install downloads libtensorflow, which fails offline. */
function loadNative(): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

/**
 * Picks the compute backend in one place: the native TensorFlow binding when it loads, else
 * WebAssembly (with the training kernels it lacks), else plain JavaScript. Logged once.
 * `PHASELENS_BACKEND` (tensorflow | wasm | cpu) forces one.
 */
export function selectBackend(
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  forced: string | undefined = process.env.PHASELENS_BACKEND,
): Promise<BackendName> {
  chosen ??= (async () => {
    const order: BackendName[] = forced ? [forced as BackendName] : ['tensorflow', 'wasm', 'cpu'];
    for (const name of order) {
      if (name === 'tensorflow' && !loadNative()) continue;
      if (name === 'wasm') registerWasmTrainingKernels();
      try {
        if (await tf.setBackend(name)) {
          await tf.ready();
          const missing = name === 'wasm' ? checkBackendInternals(tf.backend()) : [];
          if (missing.length)
            log(
              `phaselens: this tfjs wasm build lacks ${missing.join(', ')}; PhaseLens's own kernels are off`,
            );
          log(`phaselens: compute backend ${name}`);
          return name;
        }
      } catch {
        // try the next one
      }
    }
    throw new Error(`no compute backend could start (tried ${order.join(', ')})`);
  })();
  return chosen;
}
