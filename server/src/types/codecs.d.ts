// The cornerstone codecs are Emscripten modules: a factory resolving to the module object.
interface WasmFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): WasmFrameInfo;
  getDecodedBuffer(): Uint8Array;
  delete(): void;
}

interface WasmEncoder {
  getDecodedBuffer(frameInfo: WasmFrameInfo): Uint8Array;
  setQuality?(lossless: boolean, quality: number): void;
  encode(): void;
  getEncodedBuffer(): Uint8Array;
  delete(): void;
}

declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  const factory: (module?: {
    print?: (s: string) => void;
    printErr?: (s: string) => void;
  }) => Promise<{ JpegLSDecoder: new () => WasmDecoder }>;
  export default factory;
}
declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  const factory: (module?: {
    print?: (s: string) => void;
    printErr?: (s: string) => void;
  }) => Promise<{ J2KDecoder: new () => WasmDecoder }>;
  export default factory;
}
declare module '@cornerstonejs/codec-openjpeg/wasmjs' {
  const factory: (module?: {
    print?: (s: string) => void;
    printErr?: (s: string) => void;
  }) => Promise<{
    J2KDecoder: new () => WasmDecoder;
    J2KEncoder: new () => WasmEncoder;
  }>;
  export default factory;
}
declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  const factory: (module?: {
    print?: (s: string) => void;
    printErr?: (s: string) => void;
  }) => Promise<{ JPEGDecoder: new () => WasmDecoder }>;
  export default factory;
}

declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    xDim: number;
    yDim: number;
    decode(
      buffer: ArrayBufferLike,
      offset: number,
      length: number,
      numBytes: number,
    ): Uint8Array | Uint16Array;
  }
}
