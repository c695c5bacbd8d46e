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
