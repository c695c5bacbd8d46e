import charlsFactory from '@cornerstonejs/codec-charls/decodewasmjs';
import openjpegFactory from '@cornerstonejs/codec-openjpeg/decodewasmjs';
import libjpegFactory from '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs';
import { Decoder as JpegLosslessDecoder } from 'jpeg-lossless-decoder-js';

/** Decoded samples of one frame, little-endian, BitsAllocated wide. */
export interface DecodedFrame {
  bytes: Uint8Array;
  bitsAllocated: 8 | 16;
  width: number;
  height: number;
}

type WasmDecoderClass = new () => WasmDecoder;

// The codecs print progress ([INFO] lines) through Emscripten's print hooks; keep them quiet.
const quiet = { print: (): void => undefined, printErr: (): void => undefined };

// Each WebAssembly module is instantiated once, on first use.
const modules = new Map<string, Promise<WasmDecoderClass>>();

function wasmDecoder(
  name: string,
  load: () => Promise<WasmDecoderClass>,
): Promise<WasmDecoderClass> {
  let m = modules.get(name);
  if (!m) {
    m = load();
    modules.set(name, m);
  }
  return m;
}

async function decodeWithWasm(
  Decoder: WasmDecoderClass,
  encoded: Uint8Array,
): Promise<DecodedFrame> {
  const decoder = new Decoder();
  try {
    decoder.getEncodedBuffer(encoded.length).set(encoded);
    decoder.decode();
    const info = decoder.getFrameInfo();
    if (info.componentCount !== 1) {
      throw new Error(`frame has ${info.componentCount} components, CT has one`);
    }
    // Copy out: the decoded buffer lives in wasm memory freed by delete().
    const bytes = new Uint8Array(decoder.getDecodedBuffer());
    return {
      bytes,
      bitsAllocated: info.bitsPerSample > 8 ? 16 : 8,
      width: info.width,
      height: info.height,
    };
  } finally {
    decoder.delete();
  }
}

export async function decodeJpegLs(encoded: Uint8Array): Promise<DecodedFrame> {
  const Decoder = await wasmDecoder(
    'charls',
    async () => (await charlsFactory(quiet)).JpegLSDecoder,
  );
  return decodeWithWasm(Decoder, encoded);
}

export async function decodeJpeg2000(encoded: Uint8Array): Promise<DecodedFrame> {
  const Decoder = await wasmDecoder(
    'openjpeg',
    async () => (await openjpegFactory(quiet)).J2KDecoder,
  );
  return decodeWithWasm(Decoder, encoded);
}

export async function decodeJpegBaseline(encoded: Uint8Array): Promise<DecodedFrame> {
  const Decoder = await wasmDecoder(
    'libjpeg-turbo',
    async () => (await libjpegFactory(quiet)).JPEGDecoder,
  );
  return decodeWithWasm(Decoder, encoded);
}

export function decodeJpegLossless(encoded: Uint8Array, bitsAllocated: 8 | 16): DecodedFrame {
  const decoder = new JpegLosslessDecoder();
  const bytesPerSample = bitsAllocated / 8;
  const out = decoder.decode(
    encoded.buffer,
    encoded.byteOffset,
    encoded.byteLength,
    bytesPerSample,
  );
  return {
    bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength),
    bitsAllocated,
    width: decoder.xDim,
    height: decoder.yDim,
  };
}

/** DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header of segment offsets, PackBits segments. */
export function decodeRle(
  encoded: Uint8Array,
  width: number,
  height: number,
  bitsAllocated: 8 | 16,
  samples: 1 | 3 = 1,
): DecodedFrame {
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  if (encoded.byteLength < 64) throw new Error('RLE frame shorter than its header');
  const segments = view.getUint32(0, true);
  const bytesPerSample = bitsAllocated / 8;
  if (segments !== bytesPerSample * samples) {
    throw new Error(`RLE frame has ${segments} segments, expected ${bytesPerSample * samples}`);
  }
  const pixels = width * height;
  const out = new Uint8Array(pixels * bytesPerSample * samples);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : encoded.byteLength;
    // Segments run sample by sample, each most significant byte first; output is
    // little-endian, colour by pixel.
    const sample = Math.floor(s / bytesPerSample);
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample);
    const stride = bytesPerSample * samples;
    const offset = sample * bytesPerSample + byteInSample;
    let i = start;
    let p = 0;
    while (p < pixels && i < end) {
      const n = (encoded[i++] << 24) >> 24;
      if (n >= 0) {
        for (let k = 0; k <= n && p < pixels; k++) out[p++ * stride + offset] = encoded[i++];
      } else if (n !== -128) {
        const value = encoded[i++];
        for (let k = 0; k < 1 - n && p < pixels; k++) out[p++ * stride + offset] = value;
      }
    }
    if (p < pixels) throw new Error(`RLE segment ${s + 1} ends after ${p} of ${pixels} pixels`);
  }
  return { bytes: out, bitsAllocated, width, height };
}
