// dcmjs ships no TypeScript types; this declares the part PhaseLens uses.
declare module 'dcmjs' {
  export interface DicomElement {
    vr: string;
    Value?: unknown[];
    InlineBinary?: string;
    BulkDataURI?: string;
  }
  export type DicomElements = Record<string, DicomElement>;
  export type NaturalDataset = Record<string, unknown>;

  export interface ReadOptions {
    ignoreErrors?: boolean;
    untilTag?: string;
    includeUntilTagValue?: boolean;
    noCopy?: boolean;
  }

  export interface WriteOptions {
    fragmentMultiframe?: boolean;
    allowInvalidVRLength?: boolean;
  }

  export namespace data {
    class DicomDict {
      constructor(meta: DicomElements);
      meta: DicomElements;
      dict: DicomElements;
      write(options?: WriteOptions): ArrayBuffer;
    }
    class DicomMessage {
      static readFile(buffer: ArrayBuffer, options?: ReadOptions): DicomDict;
    }
    class DicomMetaDictionary {
      static naturalizeDataset(dataset: DicomElements): NaturalDataset;
      static denaturalizeDataset(dataset: NaturalDataset): DicomElements;
      static uid(): string;
      static date(): string;
      static time(): string;
    }
  }

  type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
  interface Logger {
    setLevel(level: LogLevel): void;
    getLogger(name: string): Logger;
  }
  export const log: Logger;

  const dcmjs: { data: typeof data; log: typeof log };
  export default dcmjs;
}
