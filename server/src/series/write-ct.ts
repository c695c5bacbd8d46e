import { promises as fs } from 'node:fs';
import path from 'node:path';
import dcmjs, { type NaturalDataset } from 'dcmjs';
import { InvalidInputError } from '../errors';
import { SopClass } from './slice-record';
import { TransferSyntax } from './transfer-syntax';
import { sliceView, type CtSeries, type HuArray } from './types';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

export const PHASELENS_IMPLEMENTATION_UID = '2.25.207369405328437829587238563893720165911';
export const PHASELENS_VERSION_NAME = 'PHASELENS_0_1';

export interface CtEncoding {
  /** 0: unsigned stored values, 1: two's complement. */
  pixelRepresentation: 0 | 1;
  rescaleIntercept: number;
  rescaleSlope: number;
  bitsStored: number;
  /** Stored value written outside the field of view (-2000 HU and below), if any. */
  pixelPaddingValue?: number;
  transferSyntaxUid:
    typeof TransferSyntax.ExplicitVRLittleEndian | typeof TransferSyntax.ImplicitVRLittleEndian;
}

export const defaultCtEncoding: CtEncoding = {
  pixelRepresentation: 1,
  rescaleIntercept: -1024,
  rescaleSlope: 1,
  bitsStored: 16,
  transferSyntaxUid: TransferSyntax.ExplicitVRLittleEndian,
};

function storedRange(e: CtEncoding): [number, number] {
  return e.pixelRepresentation === 1
    ? [-(2 ** (e.bitsStored - 1)), 2 ** (e.bitsStored - 1) - 1]
    : [0, 2 ** e.bitsStored - 1];
}

/** Stored values of one slice: HU -> (HU - intercept) / slope, rounded and clamped to BitsStored. */
export function huToStored(hu: HuArray, e: CtEncoding): Int16Array | Uint16Array {
  const [lo, hi] = storedRange(e);
  const out = e.pixelRepresentation === 1 ? new Int16Array(hu.length) : new Uint16Array(hu.length);
  for (let i = 0; i < hu.length; i++) {
    const v = Math.round((hu[i] - e.rescaleIntercept) / e.rescaleSlope);
    out[i] = v < lo ? lo : v > hi ? hi : v;
  }
  return out;
}

const fmt = (v: number): number => Number(v.toFixed(6));

/**
 * The naturalised CT Image datasets of a series, one per slice. The header supplies patient, study
 * and series attributes; what it lacks gets neutral values so every object is a valid CT image.
 */
export function ctSliceDatasets(
  series: CtSeries,
  encoding: CtEncoding = defaultCtEncoding,
): NaturalDataset[] {
  if (series.hu.length !== series.slices * series.rows * series.columns) {
    throw new InvalidInputError(
      `series has ${series.hu.length} voxels, expected slices x rows x columns`,
    );
  }
  const h = series.header;
  const thickness = Number(h.SliceThickness ?? series.geometry.sliceSpacing);
  return Array.from({ length: series.slices }, (_, s) => {
    const stored = huToStored(sliceView(series, s), encoding);
    const ds: NaturalDataset = {
      SpecificCharacterSet: 'ISO_IR 100',
      ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
      SOPClassUID: SopClass.CtImage,
      SOPInstanceUID: series.instances[s].sopInstanceUid,
      StudyDate: h.StudyDate ?? '20260101',
      SeriesDate: h.SeriesDate ?? h.StudyDate ?? '20260101',
      StudyTime: h.StudyTime ?? '120000',
      SeriesTime: h.SeriesTime ?? h.StudyTime ?? '120000',
      AccessionNumber: h.AccessionNumber ?? '',
      Modality: 'CT',
      Manufacturer: h.Manufacturer ?? 'PhaseLens',
      ReferringPhysicianName: h.ReferringPhysicianName ?? '',
      StudyDescription: h.StudyDescription ?? '',
      SeriesDescription: h.SeriesDescription ?? '',
      ManufacturerModelName: h.ManufacturerModelName ?? '',
      PatientName: h.PatientName ?? 'Anonymous',
      PatientID: h.PatientID ?? 'PHASELENS',
      PatientBirthDate: h.PatientBirthDate ?? '',
      PatientSex: h.PatientSex ?? '',
      ContrastBolusAgent: h.ContrastBolusAgent ?? '',
      BodyPartExamined: h.BodyPartExamined ?? 'ABDOMEN',
      SliceThickness: fmt(thickness),
      KVP: h.KVP ?? 120,
      PatientPosition: h.PatientPosition ?? 'FFS',
      StudyInstanceUID: series.studyInstanceUid,
      SeriesInstanceUID: series.seriesInstanceUid,
      StudyID: h.StudyID ?? '1',
      SeriesNumber: h.SeriesNumber ?? 1,
      AcquisitionNumber: h.AcquisitionNumber ?? 1,
      // Deliberately not the slice order: readers must sort by position.
      InstanceNumber: s + 1,
      ImagePositionPatient: series.geometry.positions[s].map(fmt),
      ImageOrientationPatient: series.geometry.orientation.map(fmt),
      FrameOfReferenceUID: series.frameOfReferenceUid,
      PositionReferenceIndicator: '',
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: series.rows,
      Columns: series.columns,
      PixelSpacing: series.geometry.pixelSpacing.map(fmt),
      BitsAllocated: 16,
      BitsStored: encoding.bitsStored,
      HighBit: encoding.bitsStored - 1,
      PixelRepresentation: encoding.pixelRepresentation,
      RescaleIntercept: encoding.rescaleIntercept,
      RescaleSlope: encoding.rescaleSlope,
      RescaleType: 'HU',
      WindowCenter: 40,
      WindowWidth: 400,
      PixelData: [stored.buffer],
      _vrMap: { PixelData: 'OW' },
    };
    if (encoding.pixelPaddingValue !== undefined) ds.PixelPaddingValue = encoding.pixelPaddingValue;
    if (h.ContrastBolusRoute !== undefined) ds.ContrastBolusRoute = h.ContrastBolusRoute;
    return ds;
  });
}

/** Part 10 bytes of a naturalised dataset, with file meta for its SOP class and transfer syntax. */
/** The File Meta Information PhaseLens writes for a dataset. */
export function fileMetaOf(ds: NaturalDataset, transferSyntaxUid: string): NaturalDataset {
  return {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: ds.SOPClassUID,
    MediaStorageSOPInstanceUID: ds.SOPInstanceUID,
    TransferSyntaxUID: transferSyntaxUid,
    ImplementationClassUID: PHASELENS_IMPLEMENTATION_UID,
    ImplementationVersionName: PHASELENS_VERSION_NAME,
  };
}

export function encodePart10(ds: NaturalDataset, transferSyntaxUid: string): ArrayBuffer {
  const meta = fileMetaOf(ds, transferSyntaxUid);
  const pixels = nativePixels(ds, transferSyntaxUid);
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(pixels ? pixels.rest : ds);
  const head = dict.write();
  if (!pixels) return head;
  // The pixels, always the last element, appended as they are: dcmjs copies them in small
  // pieces, which was most of the time spent writing derived series.
  const out = new Uint8Array(head.byteLength + 12 + pixels.padded);
  out.set(new Uint8Array(head), 0);
  const view = new DataView(out.buffer, head.byteLength, 12);
  view.setUint16(0, 0x7fe0, true);
  view.setUint16(2, pixels.element, true);
  out[head.byteLength + 4] = pixels.vr.charCodeAt(0);
  out[head.byteLength + 5] = pixels.vr.charCodeAt(1);
  view.setUint32(8, pixels.padded, true);
  out.set(pixels.bytes, head.byteLength + 12);
  return out.buffer;
}

/**
 * Native (uncompressed, one buffer) Pixel Data or Float Pixel Data of an Explicit VR Little
 * Endian dataset, split from the rest; undefined for anything else (dcmjs writes it all).
 */
function nativePixels(
  ds: NaturalDataset,
  transferSyntaxUid: string,
):
  | { rest: NaturalDataset; bytes: Uint8Array; padded: number; element: number; vr: string }
  | undefined {
  if (transferSyntaxUid !== '1.2.840.10008.1.2.1') return undefined;
  const name = ds.FloatPixelData !== undefined ? 'FloatPixelData' : 'PixelData';
  const value = ds[name] as ArrayBuffer[] | undefined;
  if (!Array.isArray(value) || value.length !== 1 || !(value[0] instanceof ArrayBuffer))
    return undefined;
  const vrMap = (ds._vrMap ?? {}) as Record<string, string>;
  const vr =
    name === 'FloatPixelData'
      ? 'OF'
      : (vrMap.PixelData ?? (Number(ds.BitsAllocated) > 8 ? 'OW' : 'OB'));
  const rest: NaturalDataset = { ...ds };
  delete rest[name];
  if (ds._vrMap) {
    const others = { ...vrMap };
    delete others[name];
    rest._vrMap = others;
  }
  const bytes = new Uint8Array(value[0]);
  return {
    rest,
    bytes,
    padded: bytes.byteLength + (bytes.byteLength % 2),
    element: name === 'FloatPixelData' ? 0x0008 : 0x0010,
    vr,
  };
}

/**
 * Writes a series as one CT Image file per slice. File names are the SOP Instance UIDs, so their
 * order says nothing about slice order. Written to a temporary name, then renamed: never a
 * half-written file under the final name.
 */
export async function writeCtSeries(
  series: CtSeries,
  dir: string,
  encoding: CtEncoding = defaultCtEncoding,
): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const ds of ctSliceDatasets(series, encoding)) {
    const file = path.join(dir, `${String(ds.SOPInstanceUID)}.dcm`);
    const tmp = `${file}.partial`;
    await fs.writeFile(tmp, new Uint8Array(encodePart10(ds, encoding.transferSyntaxUid)));
    await fs.rename(tmp, file);
    files.push(file);
  }
  return files;
}
