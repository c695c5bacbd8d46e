import type { NaturalDataset } from 'dcmjs';
import type { StowInstance } from '../dicomweb/stow';
import { TransferSyntax } from '../series/transfer-syntax';
import { encodePart10 } from '../series/write-ct';

/**
 * A derived object ready to write: Part 10 bytes (explicit VR little endian) of known length,
 * made as they are read, and the folder its series goes to. One shape for the PACS (STOW-RS)
 * and for files.
 */
export interface EncodedObject extends StowInstance {
  sopInstanceUid: string;
  /** The folder its series is written to (see folderFor in derive.ts). */
  folder: string;
}

const KINDS: Record<string, string> = {
  '1.2.840.10008.5.1.4.1.1.88.33': 'phase-report',
  '1.2.840.10008.5.1.4.1.1.7': 'secondary-capture',
  '1.2.840.10008.5.1.4.1.1.30': 'parametric-map',
};

/**
 * A derived series' folder, named for what it holds: `phase-report`, or the kind, map and
 * target (`secondary-capture-sam-input-for-portal-venous`).
 */
export function folderFor(ds: NaturalDataset): string {
  const kind = KINDS[String(ds.SOPClassUID)] ?? 'derived';
  if (kind === 'phase-report') return kind;
  const what = String(ds.SeriesDescription ?? '')
    .replace(/^PhaseLens /, '')
    .replace(/ (parametric )?map for /, ' for ')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return `${kind}-${what}`;
}

/** An object encoded whole (Secondary Capture images, the phase report: a few hundred KB). */
export function encodedWhole(ds: NaturalDataset): EncodedObject {
  const bytes = new Uint8Array(encodePart10(ds, TransferSyntax.ExplicitVRLittleEndian));
  return {
    sopInstanceUid: String(ds.SOPInstanceUID),
    folder: folderFor(ds),
    byteLength: bytes.byteLength,
    chunks: () => [bytes],
  };
}

/**
 * An object whose Pixel Data is encapsulated (PS3.5 A.4): the dataset without its pixels
 * encoded for `transferSyntaxUid`, then Pixel Data of undefined length holding an empty offset
 * table and each frame in one fragment (what RLE requires), then the sequence delimiter.
 */
export function encodedEncapsulated(
  ds: NaturalDataset,
  frames: readonly Uint8Array[],
  transferSyntaxUid: string,
): EncodedObject {
  // Everything but the pixels (and the VR note that only they need).
  const rest = Object.fromEntries(
    Object.entries(ds).filter(([key]) => key !== 'PixelData' && key !== '_vrMap'),
  ) as NaturalDataset;
  const head = new Uint8Array(encodePart10(rest, transferSyntaxUid));
  const item = (length: number): Uint8Array => {
    const b = new Uint8Array(8);
    const v = new DataView(b.buffer);
    v.setUint16(0, 0xfffe, true);
    v.setUint16(2, 0xe000, true);
    v.setUint32(4, length, true);
    return b;
  };
  const element = new Uint8Array(12);
  const view = new DataView(element.buffer);
  view.setUint16(0, 0x7fe0, true);
  view.setUint16(2, 0x0010, true);
  element.set([0x4f, 0x42], 4); // "OB"
  view.setUint32(8, 0xffffffff, true);
  const delimiter = new Uint8Array(8);
  new DataView(delimiter.buffer).setUint16(0, 0xfffe, true);
  new DataView(delimiter.buffer).setUint16(2, 0xe0dd, true);
  const parts: Uint8Array[] = [head, element, item(0)];
  for (const frame of frames) {
    // Fragments are of even length.
    let even = frame;
    if (frame.length % 2) {
      even = new Uint8Array(frame.length + 1);
      even.set(frame);
    }
    parts.push(item(even.length), even);
  }
  parts.push(delimiter);
  return {
    sopInstanceUid: String(ds.SOPInstanceUID),
    folder: folderFor(ds),
    byteLength: parts.reduce((n, p) => n + p.byteLength, 0),
    chunks: () => parts,
  };
}
