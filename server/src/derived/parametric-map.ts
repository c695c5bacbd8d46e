import type { NaturalDataset } from 'dcmjs';
import type { DerivedSeries } from './derived-series';
import { InvalidInputError } from '../errors';
import type { CtSeries } from '../series/types';
import { TransferSyntax } from '../series/transfer-syntax';
import { encodePart10 } from '../series/write-ct';
import { folderFor, type EncodedObject } from './encoded';
import { deterministicUid } from '../util/uid';
import {
  copiedModules,
  derivedSeriesNumber,
  derivedUids,
  lossyCompressionOf,
  SOFTWARE_NAME,
} from './common';
import {
  defaultDeviceSerialNumber,
  type OutputSettings,
  type PixelFormat,
} from './output-settings';
import { mapKey, type AttributionMap } from '../domain/attribution-map';
import type { PhaseResult } from '../domain/phase-result';

export const PARAMETRIC_MAP = '1.2.840.10008.5.1.4.1.1.30';

const code = (value: string, scheme: string, meaning: string): NaturalDataset => ({
  CodeValue: value,
  CodingSchemeDesignator: scheme,
  CodeMeaning: meaning,
});

/** CID 217 "Visual Explanation": the map methods DICOM has a code for. */
const VISUAL_EXPLANATION: Record<string, NaturalDataset> = {
  cam: code('130402', 'DCM', 'Class activation'),
  gradcam: code('130403', 'DCM', 'Gradient-weighted class activation'),
  saliency: code('130404', 'DCM', 'Saliency'),
};

const fmt = (v: number): number => Number(v.toFixed(6));

export type { PixelFormat };

/**
 * One map as a Parametric Map: a multi-frame object on exactly the CT's grid (same rows,
 * columns, orientation, positions and frame of reference), one frame per slice. 16-bit pixels by
 * default, mapped to map values by the Real World Value Mapping (Orthanc 1.10 cannot serve Float
 * Pixel Data frames); float32 as an option. Each frame references its CT slice (Derivation Image
 * with Source Image), and the object references the whole series, as OHIF's parametric-map
 * overlay needs.
 */
/** The gap between slices along their normal when every gap is the same (0.1 mm), else undefined. */
function evenSpacing(series: CtSeries): number | undefined {
  const o = series.geometry.orientation;
  const n = [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
  const along = series.geometry.positions.map((p) => p[0] * n[0] + p[1] * n[1] + p[2] * n[2]);
  if (along.length < 2) return undefined;
  const gaps = along.slice(1).map((z, i) => z - along[i]);
  return gaps.every((g) => g > 0 && Math.abs(g - gaps[0]) < 0.1) ? gaps[0] : undefined;
}

export class MapParametricMap implements DerivedSeries {
  readonly kind = 'parametric-map';
  /** The map's name: method, and layer where it has one ('gradcam-conv5'). */
  readonly key: string;
  /** One multi-frame object. */
  readonly count = 1;
  readonly seriesInstanceUid: string;
  readonly sopInstanceUid: string;
  /** The object without its pixel element (which comes last in the encoding). */
  readonly header: () => NaturalDataset;
  /** Frame `slice`'s pixels as stored (uint16 quantised, or float32), made now. */
  readonly frame: (slice: number) => Uint8Array;
  readonly format: PixelFormat;
  /** The installation that made the object (Type 1 in the equipment module). */
  readonly deviceSerialNumber: string;
  private readonly frames: number;

  /**
   * The whole object in memory, pixels included: for tests and small series. Writers use
   * `encoded()`, which never holds more than one frame.
   */
  get dataset(): NaturalDataset {
    const bytes = new Uint8Array(this.frames * this.frameBytes);
    for (let s = 0; s < this.frames; s++) bytes.set(this.frame(s), s * this.frameBytes);
    return this.format === 'uint16'
      ? { ...this.header(), PixelData: [bytes.buffer], _vrMap: { PixelData: 'OW' } }
      : { ...this.header(), FloatPixelData: [bytes.buffer] };
  }

  *objects(): Generator<EncodedObject> {
    yield this.encoded();
  }

  /**
   * Part 10 bytes, frame by frame: the header encoded, then the pixel element (Float Pixel Data
   * or Pixel Data, the last element of the dataset) written by hand around frames made as they
   * are read.
   */
  encoded(): EncodedObject {
    const header = this.header();
    const head = new Uint8Array(encodePart10(header, TransferSyntax.ExplicitVRLittleEndian));
    const pixelBytes = this.frames * this.frameBytes;
    const element = new Uint8Array(12);
    const view = new DataView(element.buffer);
    view.setUint16(0, 0x7fe0, true);
    view.setUint16(2, this.format === 'uint16' ? 0x0010 : 0x0008, true);
    element.set([0x4f, this.format === 'uint16' ? 0x57 : 0x46], 4); // "OW" or "OF"
    view.setUint32(8, pixelBytes, true);
    const frames = this.frames;
    const frame = this.frame;
    return {
      sopInstanceUid: this.sopInstanceUid,
      folder: folderFor(header),
      byteLength: head.byteLength + element.byteLength + pixelBytes,
      *chunks() {
        yield head;
        yield element;
        for (let s = 0; s < frames; s++) yield frame(s);
      },
    };
  }

  private get frameBytes(): number {
    return this.rowsTimesColumns * (this.format === 'uint16' ? 2 : 4);
  }

  private readonly rowsTimesColumns: number;

  constructor(
    series: CtSeries,
    map: AttributionMap,
    result: PhaseResult,
    options: OutputSettings & { created?: Date } = {},
  ) {
    const { rows, columns, slices } = series;
    if (map.slices !== slices)
      throw new InvalidInputError(
        `parametric map: the ${map.method} map covers ${map.slices} slices, the series ${slices}`,
      );
    this.frames = slices;
    this.rowsTimesColumns = rows * columns;
    // float32 unless asked: what OHIF draws right, and the configuration's default.
    this.format = options.format ?? 'float32';
    this.deviceSerialNumber = options.deviceSerialNumber ?? defaultDeviceSerialNumber();
    // The pixel element's length is 32 bits (explicit VR, defined length).
    if (this.frames * this.frameBytes > 0xfffffffe)
      throw new InvalidInputError(
        `parametric map: ${slices} frames of ${columns} x ${rows} exceed the 4 GiB one object can hold`,
      );
    const format = this.format;
    const name = mapKey(map);
    this.key = name;
    const uids = derivedUids(
      series.seriesInstanceUid,
      result.model,
      `parametric-map/${name}-${format}/${map.target}`,
    );
    this.seriesInstanceUid = uids.seriesInstanceUid;
    this.sopInstanceUid = uids.instanceUid(1);
    const created = options.created ?? new Date();
    // The map's maximum bounds every value: the 16-bit scale, and the float range declared.
    const max = map.max;
    const slope = max > 0 ? max / 65535 : 1;
    this.frame = (slice: number): Uint8Array => {
      const values = map.sliceValues(slice);
      if (format === 'float32')
        return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      const pixels = new Uint16Array(values.length);
      for (let i = 0; i < pixels.length; i++) {
        // Math.round(max(0, x) / slope), without Math.* calls in a loop over every voxel.
        const x = values[i];
        const v = x > 0 ? (x / slope + 0.5) | 0 : 0;
        pixels[i] = v > 65535 ? 65535 : v;
      }
      return new Uint8Array(pixels.buffer);
    };
    this.header = (): NaturalDataset => {
      const quantity = VISUAL_EXPLANATION[map.method];
      const mapping: NaturalDataset = {
        LUTExplanation: `${map.method} attribution for ${map.target}`,
        LUTLabel: name.slice(0, 16),
        // Attribution has no physical unit and no fixed scale: an arbitrary unit, not a ratio.
        MeasurementUnitsCodeSequence: [code("[arb'U]", 'UCUM', 'arbitrary unit')],
        RealWorldValueIntercept: 0,
        RealWorldValueSlope: format === 'uint16' ? slope : 1,
        ...(format === 'uint16'
          ? {
              RealWorldValueFirstValueMapped: 0,
              RealWorldValueLastValueMapped: 65535,
              _vrMap: { RealWorldValueFirstValueMapped: 'US', RealWorldValueLastValueMapped: 'US' },
            }
          : {
              DoubleFloatRealWorldValueFirstValueMapped: 0,
              DoubleFloatRealWorldValueLastValueMapped: max,
            }),
        ...(quantity
          ? {
              QuantityDefinitionSequence: [
                {
                  ValueType: 'CODE',
                  ConceptNameCodeSequence: [code('246205007', 'SCT', 'Quantity')],
                  ConceptCodeSequence: [quantity],
                },
              ],
            }
          : {}),
      };
      // Value 4 stays NONE: dciodvfy (2022-06-18) does not know QUANTITY there.
      const frameType = ['DERIVED', 'PRIMARY', 'VOLUME', 'NONE'];
      const h = series.header;
      const dimensionOrganizationUid = deterministicUid('dimensions', uids.seriesInstanceUid);
      const thickness = Number(h.SliceThickness ?? series.geometry.sliceSpacing);
      const spacing = evenSpacing(series);
      return {
        ...copiedModules(series, created),
        SOPClassUID: PARAMETRIC_MAP,
        SOPInstanceUID: uids.instanceUid(1),
        Modality: 'OT',
        SeriesInstanceUID: uids.seriesInstanceUid,
        SeriesNumber: derivedSeriesNumber('parametric-map', `${name}/${map.target}`),
        SeriesDescription: `PhaseLens ${name} parametric map for ${map.target}`,
        BodyPartExamined: String(h.BodyPartExamined ?? 'ABDOMEN'),
        FrameOfReferenceUID: series.frameOfReferenceUid,
        PositionReferenceIndicator: String(h.PositionReferenceIndicator ?? ''),
        DeviceSerialNumber: this.deviceSerialNumber,
        InstanceNumber: 1,
        ImageType: frameType,
        ContentLabel: name
          .toUpperCase()
          .replace(/[^A-Z0-9_ ]/g, '_')
          .slice(0, 16),
        ContentDescription: `${SOFTWARE_NAME} ${map.method} map for ${map.target}`,
        ContentCreatorName: '',
        ContentQualification: 'RESEARCH',
        AcquisitionContextSequence: [],
        SamplesPerPixel: 1,
        PhotometricInterpretation: 'MONOCHROME2',
        PixelPresentation: 'MONOCHROME',
        Rows: rows,
        Columns: columns,
        BitsAllocated: format === 'uint16' ? 16 : 32,
        ...(format === 'uint16' ? { BitsStored: 16, HighBit: 15, PixelRepresentation: 0 } : {}),
        PresentationLUTShape: 'IDENTITY',
        ...lossyCompressionOf(series),
        BurnedInAnnotation: 'NO',
        RecognizableVisualFeatures: 'NO',
        NumberOfFrames: slices,
        DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
        // 3D only where the frames are parallel and evenly spaced (PS3.3 C.7.6.17.1).
        ...(spacing !== undefined ? { DimensionOrganizationType: '3D' } : {}),
        DimensionIndexSequence: [
          {
            DimensionOrganizationUID: dimensionOrganizationUid,
            DimensionIndexPointer: 0x00200032,
            FunctionalGroupPointer: 0x00209113,
            DimensionDescriptionLabel: 'Image Position',
          },
        ],
        SharedFunctionalGroupsSequence: [
          {
            PixelMeasuresSequence: [
              {
                PixelSpacing: series.geometry.pixelSpacing.map(fmt),
                SliceThickness: fmt(thickness),
                ...(spacing !== undefined ? { SpacingBetweenSlices: fmt(spacing) } : {}),
              },
            ],
            PlaneOrientationSequence: [
              { ImageOrientationPatient: series.geometry.orientation.map(fmt) },
            ],
            RealWorldValueMappingSequence: [mapping],
            ParametricMapFrameTypeSequence: [{ FrameType: frameType }],
            PixelValueTransformationSequence: [
              { RescaleIntercept: 0, RescaleSlope: 1, RescaleType: 'US' },
            ],
            ...(format === 'uint16'
              ? {
                  FrameVOILUTSequence: [
                    { WindowCenter: 32768, WindowWidth: 65536, VOILUTFunction: 'LINEAR' },
                  ],
                }
              : {}),
          },
        ],
        PerFrameFunctionalGroupsSequence: Array.from({ length: slices }, (_, s) => {
          const source = series.instances[s];
          return {
            FrameContentSequence: [{ DimensionIndexValues: [s + 1] }],
            PlanePositionSequence: [
              { ImagePositionPatient: series.geometry.positions[s].map(fmt) },
            ],
            DerivationImageSequence: [
              {
                DerivationCodeSequence: [
                  code('112187', 'DCM', 'Unspecified method of calculation'),
                ],
                SourceImageSequence: [
                  {
                    ReferencedSOPClassUID: source.sopClassUid,
                    ReferencedSOPInstanceUID: source.sopInstanceUid,
                    ...(source.frameNumber ? { ReferencedFrameNumber: source.frameNumber } : {}),
                    PurposeOfReferenceCodeSequence: [
                      code('121322', 'DCM', 'Source image for image processing operation'),
                    ],
                  },
                ],
              },
            ],
          };
        }),
        ReferencedSeriesSequence: [
          {
            SeriesInstanceUID: series.seriesInstanceUid,
            ReferencedInstanceSequence: [
              ...new Map(series.instances.map((i) => [i.sopInstanceUid, i])).values(),
            ].map((i) => ({
              ReferencedSOPClassUID: i.sopClassUid,
              ReferencedSOPInstanceUID: i.sopInstanceUid,
            })),
          },
        ],
      };
    };
  }
}
