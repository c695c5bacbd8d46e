import dcmjs, { type NaturalDataset } from 'dcmjs';
import { InvalidInputError, NotDicomError, TruncatedFileError } from '../errors';
import { numberOf, stringOf } from './pixel-module';
import { frameByteLength } from './hu';
import { readPixelModule } from './pixel-module';
import { pixelEncoding, TransferSyntax } from './transfer-syntax';

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;
// dcmjs logs to the console as it parses (unknown private tags, odd VRs); PhaseLens reports
// what matters as typed errors instead, so its chatter is silenced.
dcmjs.log.setLevel('silent');
dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');

/** A parsed DICOM Part 10 file: its naturalised dataset and its pixel data split into frames. */
export interface DicomFile {
  location: string;
  transferSyntaxUid: string;
  dataset: NaturalDataset;
  /** One entry per frame (native bytes or one compressed bitstream); empty without PixelData. */
  frames: Uint8Array[];
}

function isPart10(bytes: Uint8Array): boolean {
  return (
    bytes.byteLength >= 132 &&
    bytes[128] === 0x44 &&
    bytes[129] === 0x49 &&
    bytes[130] === 0x43 &&
    bytes[131] === 0x4d
  );
}

/** True when the bytes carry the DICM magic; cheap test to skip stray files in a folder. */
export function looksLikeDicom(bytes: Uint8Array): boolean {
  return isPart10(bytes);
}

function exactArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) {
    return bytes.buffer as ArrayBuffer;
  }
  return bytes.slice().buffer;
}

function toBytes(part: unknown): Uint8Array {
  if (part instanceof ArrayBuffer) return new Uint8Array(part);
  if (ArrayBuffer.isView(part))
    return new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
  throw new Error('unexpected pixel data fragment');
}

function startsFrame(bytes: Uint8Array): boolean {
  // JPEG, JPEG-LS (SOI) and JPEG 2000 codestream (SOC) markers open a new frame.
  return bytes[0] === 0xff && (bytes[1] === 0xd8 || bytes[1] === 0x4f);
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/** Groups encapsulated fragments into frames, with or without a Basic Offset Table. */
function encapsulatedFrames(
  parts: Uint8Array[],
  numberOfFrames: number,
  location: string,
): Uint8Array[] {
  if (parts.length === numberOfFrames) return parts;
  if (numberOfFrames === 1) return [concat(parts)];
  const frames: Uint8Array[][] = [];
  for (const part of parts) {
    if (frames.length === 0 || startsFrame(part)) frames.push([part]);
    else frames[frames.length - 1].push(part);
  }
  if (frames.length !== numberOfFrames) {
    throw new InvalidInputError(
      `${location}: ${parts.length} pixel data fragments cannot be split into ${numberOfFrames} frames`,
    );
  }
  return frames.map(concat);
}

/**
 * Offset of the PixelData element (7FE0,0010): the first occurrence of its tag whose VR (explicit
 * syntaxes) is OB or OW, scanning forward so pixel values never pose as the tag.
 */
function pixelDataTagOffset(bytes: Uint8Array, explicit: boolean): number {
  for (let i = 132; i + 8 <= bytes.byteLength; i++) {
    if (
      bytes[i] !== 0xe0 ||
      bytes[i + 1] !== 0x7f ||
      bytes[i + 2] !== 0x10 ||
      bytes[i + 3] !== 0x00
    )
      continue;
    if (!explicit || (bytes[i + 4] === 0x4f && (bytes[i + 5] === 0x42 || bytes[i + 5] === 0x57)))
      return i;
  }
  return -1;
}

/**
 * dcmjs hands back short or padded values when a file ends early, so the PixelData element's
 * declared length is checked against the bytes that are really there.
 */
function assertPixelDataComplete(
  bytes: Uint8Array,
  transferSyntaxUid: string,
  location: string,
): void {
  if (transferSyntaxUid === TransferSyntax.DeflatedExplicitVRLittleEndian) return; // zlib checks that
  const explicit = transferSyntaxUid !== TransferSyntax.ImplicitVRLittleEndian;
  const at = pixelDataTagOffset(bytes, explicit);
  if (at < 0) return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthAt = explicit ? at + 8 : at + 4;
  if (lengthAt + 4 > bytes.byteLength) {
    throw new TruncatedFileError(`${location} is truncated inside the pixel data header`);
  }
  const length = view.getUint32(lengthAt, true);
  const dataStart = lengthAt + 4;
  if (length === 0xffffffff) {
    const end = bytes.byteLength;
    const delimited =
      end >= 8 &&
      view.getUint32(end - 8, true) === 0xe0ddfffe &&
      view.getUint32(end - 4, true) === 0;
    if (!delimited)
      throw new TruncatedFileError(`${location} is truncated: encapsulated pixel data has no end`);
  } else if (dataStart + length > bytes.byteLength) {
    throw new TruncatedFileError(
      `${location} is truncated: pixel data needs ${length} bytes, ${bytes.byteLength - dataStart} are there`,
    );
  }
}

export function parseDicomFile(bytes: Uint8Array, location: string): DicomFile {
  if (!isPart10(bytes)) {
    throw new NotDicomError(`${location} is not a DICOM file (no DICM marker at byte 128)`);
  }
  let dict: InstanceType<typeof dcmjs.data.DicomDict>;
  try {
    dict = DicomMessage.readFile(exactArrayBuffer(bytes), { ignoreErrors: false });
  } catch (error) {
    throw new TruncatedFileError(
      `${location} is truncated or corrupt (${(error as Error).message ?? String(error)})`,
      { cause: error },
    );
  }
  const meta = DicomMetaDictionary.naturalizeDataset(dict.meta);
  const dataset = DicomMetaDictionary.naturalizeDataset(dict.dict);
  const transferSyntaxUid = stringOf(meta.TransferSyntaxUID);
  if (!transferSyntaxUid) {
    throw new InvalidInputError(`${location}: file meta information has no TransferSyntaxUID`);
  }
  const pixelData = dataset.PixelData;
  delete dataset.PixelData;
  if (pixelData !== undefined) assertPixelDataComplete(bytes, transferSyntaxUid, location);
  let frames: Uint8Array[] = [];
  if (Array.isArray(pixelData) && pixelData.length > 0) {
    const parts = pixelData.map(toBytes);
    const numberOfFrames = numberOf(dataset.NumberOfFrames) ?? 1;
    if (pixelEncoding(transferSyntaxUid) === 'native') {
      const pm = readPixelModule(dataset, location);
      const size = frameByteLength(pm);
      const all = concat(parts);
      if (all.byteLength < size * numberOfFrames) {
        throw new TruncatedFileError(
          `${location}: pixel data is truncated (${all.byteLength} of ${size * numberOfFrames} bytes)`,
        );
      }
      frames = Array.from({ length: numberOfFrames }, (_, i) =>
        all.subarray(i * size, (i + 1) * size),
      );
    } else {
      frames = encapsulatedFrames(parts, numberOfFrames, location);
    }
  }
  return { location, transferSyntaxUid, dataset, frames };
}
