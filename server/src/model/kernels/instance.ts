import * as tf from '@tensorflow/tfjs';

/**
 * Loading the compiled kernels of this folder into the tfjs wasm backend's memory: each module
 * imports that memory, so it reads and writes tensors where they are, without copies.
 */

/** The slice of the WebAssembly JS API used here (the server's TypeScript libs omit DOM types). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/** A WebAssembly.Memory, only ever passed through. */
export type WasmMemory = object;

/** What the tfjs wasm backend exposes that the kernels need (not in its public types). */
export interface WasmBackendInternals {
  wasm: {
    asm: { memory: WasmMemory };
    _malloc(bytes: number): number;
    _free(pointer: number): void;
  };
  dataIdMap: { get(dataId: object): { memoryOffset: number }; has(dataId: object): boolean };
  makeOutput(shape: number[], dtype: 'float32'): import('@tensorflow/tfjs').TensorInfo;
  disposeData(dataId: object): void;
}

const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

let internalsFound = true;

/**
 * Checks that a wasm backend still exposes the internals the kernels use (they are not tfjs's
 * public API, and @tensorflow/tfjs is declared ^4.22): where one is missing, every kernel here
 * stands down and tfjs's own kernels run, slower but right. Returns what is missing.
 */
export function checkBackendInternals(backend: unknown): string[] {
  const b = backend as Partial<WasmBackendInternals> | undefined;
  const missing = [
    b?.wasm?.asm?.memory ? '' : 'wasm.asm.memory',
    typeof b?.wasm?._malloc === 'function' ? '' : 'wasm._malloc',
    typeof b?.wasm?._free === 'function' ? '' : 'wasm._free',
    typeof b?.dataIdMap?.get === 'function' ? '' : 'dataIdMap',
    typeof b?.makeOutput === 'function' ? '' : 'makeOutput',
    typeof b?.disposeData === 'function' ? '' : 'disposeData',
  ].filter(Boolean);
  internalsFound = missing.length === 0;
  return missing;
}

/** A compiled kernel module, instantiated once per backend memory (tests may start several). */
export class KernelModule<Exports> {
  private readonly bytes: Uint8Array;
  private compiled: object | undefined;
  private readonly instances = new WeakMap<WasmMemory, Exports>();
  private readonly loadable: boolean;

  constructor(base64: string) {
    this.bytes = new Uint8Array(Buffer.from(base64, 'base64'));
    this.loadable = wasmApi !== undefined && wasmApi.validate(this.bytes);
  }

  /**
   * False where this runtime lacks WebAssembly SIMD, where the wasm backend lacks an internal the
   * kernels use (checkBackendInternals), or where PHASELENS_WASM_KERNELS=off asks for tfjs's own
   * kernels (to compare against them): callers then keep tfjs's kernels.
   */
  get available(): boolean {
    return this.loadable && internalsFound && process.env.PHASELENS_WASM_KERNELS !== 'off';
  }

  /** The exports bound to this backend's memory. */
  on(backend: WasmBackendInternals): Exports {
    const memory = backend.wasm.asm.memory;
    let exports = this.instances.get(memory);
    if (!exports) {
      const api = wasmApi as WasmApi;
      this.compiled ??= new api.Module(this.bytes);
      exports = new api.Instance(this.compiled, { env: { memory } }).exports as Exports;
      this.instances.set(memory, exports);
    }
    return exports;
  }
}

/** Where a tensor's values start in the backend's memory. */
export function addressOf(
  backend: WasmBackendInternals,
  t: import('@tensorflow/tfjs').TensorInfo,
): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/** Runs `f` with `bytes` of scratch from the backend's allocator, given back however f ends. */
export function withScratch<T>(
  backend: WasmBackendInternals,
  bytes: number,
  what: string,
  f: (at: number) => T,
): T {
  const at = backend.wasm._malloc(bytes);
  if (!at) throw new Error(`${what}: could not allocate ${bytes} bytes`);
  try {
    return f(at);
  } finally {
    backend.wasm._free(at);
  }
}

/**
 * Whether these tensors' values are in the current backend's wasm memory (a tensor made before a
 * switch of backend may still be elsewhere; tfjs moves it only when one of its own kernels runs).
 */
export function inWasmMemory(...tensors: import('@tensorflow/tfjs').TensorInfo[]): boolean {
  const backend = tf.backend() as unknown as Partial<WasmBackendInternals>;
  return (
    tf.getBackend() === 'wasm' &&
    backend.dataIdMap !== undefined &&
    tensors.every((t) => backend.dataIdMap?.has(t.dataId))
  );
}

/** Runs one of the wasm backend's own kernels by name, inside another kernel. */
export function runWasmKernel(
  name: string,
  backend: unknown,
  inputs: Record<string, import('@tensorflow/tfjs').TensorInfo>,
  attrs: object,
): import('@tensorflow/tfjs').TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`the wasm backend has no ${name} kernel`);
  return kernel.kernelFunc({
    inputs,
    backend: backend as never,
    attrs: attrs as unknown as import('@tensorflow/tfjs').NamedAttrMap,
  }) as import('@tensorflow/tfjs').TensorInfo;
}
