import type { NaturalDataset } from 'dcmjs';
import type { AttributionMap } from '../attribution/explain-series';
import { InvalidInputError } from '../errors';
import type { PhaseResult } from '../model/classify';
import type { CtSeries } from '../series/types';
import { deterministicUid } from '../util/uid';
import {
  copiedModules,
  derivedSeriesNumber,
  derivedUids,
  lossyCompressionOf,
  SOFTWARE_NAME,
  SOFTWARE_VERSION,
} from './common';

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

export type PixelFormat = 'uint16' | 'float32';

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

export class MapParametricMap {
  readonly seriesInstanceUid: string;
  readonly sopInstanceUid: string;
  private readonly make: () => NaturalDataset;
  private made: NaturalDataset | undefined;

  /**
   * The object, assembled on first use and kept: a writer can send other objects while this one
   * is made (quantising a 100-slice map takes a few hundred milliseconds).
   */
  get dataset(): NaturalDataset {
    this.made ??= this.make();
    return this.made;
  }

  constructor(
    series: CtSeries,
    map: AttributionMap,
    result: PhaseResult,
    options: { format?: PixelFormat; created?: Date } = {},
  ) {
    const { rows, columns, slices } = series;
    const plane = rows * columns;
    if (map.values.length !== slices * plane)
      throw new InvalidInputError(
        `parametric map: the ${map.method} map has ${map.values.length} values, the series ${slices * plane}`,
      );
    const format = options.format ?? 'uint16';
    const name = `${map.method}${map.layer ? `-${map.layer}` : ''}`;
    const uids = derivedUids(
      series.seriesInstanceUid,
      result.model,
      `parametric-map/${name}-${format}/${map.target}`,
    );
    this.seriesInstanceUid = uids.seriesInstanceUid;
    this.sopInstanceUid = uids.instanceUid(1);
    const created = options.created ?? new Date();
    // The pixels are quantised and the object assembled on first use (see `dataset`).
    this.make = (): NaturalDataset => {
      let max = 0;
      for (let i = 0; i < map.values.length; i++) if (map.values[i] > max) max = map.values[i];
      const slope = max > 0 ? max / 65535 : 1;
      let pixels: Uint16Array | Float32Array;
      if (format === 'uint16') {
        pixels = new Uint16Array(map.values.length);
        const values = map.values;
        for (let i = 0; i < pixels.length; i++) {
          // Math.round(max(0, x) / slope), without Math.* calls in a loop over every voxel.
          const x = values[i];
          const v = x > 0 ? (x / slope + 0.5) | 0 : 0;
          pixels[i] = v > 65535 ? 65535 : v;
        }
      } else {
        pixels = Float32Array.from(map.values);
      }
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
        DeviceSerialNumber: SOFTWARE_VERSION,
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
        ...(format === 'uint16'
          ? { PixelData: [pixels.buffer], _vrMap: { PixelData: 'OW' } }
          : { FloatPixelData: [pixels.buffer] }),
      };
    };
  }
}
