import type { NaturalDataset } from 'dcmjs';
import { InvalidInputError } from '../errors';
import { Canvas } from '../render/canvas';
import { heat } from '../render/colormap';
import { fuseSlice } from '../render/overlay';
import type { CtSeries } from '../series/types';
import type { DerivedSeries } from './derived-series';
import { encodedEncapsulated, type EncodedObject } from './encoded';
import { rleFrame } from './rle';
import { TransferSyntax } from '../series/transfer-syntax';
import {
  copiedModules,
  derivedSeriesNumber,
  derivedUids,
  lossyCompressionOf,
  patientOrientationOf,
} from './common';
import { mapKey, type AttributionMap } from '../domain/attribution-map';
import type { PhaseResult } from '../domain/phase-result';

export const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';

const fmt = (v: number): number => Number(v.toFixed(6));

/**
 * One map as a Secondary Capture series: per CT slice an RGB image of the map fused in colour
 * over the soft-tissue window, a colour bar, and a burned-in line naming the method, the phase
 * and the confidence (BurnedInAnnotation YES). Single-frame objects, one per slice: every
 * viewer and PACS shows those as a scrollable stack in slice order (InstanceNumber), where
 * multi-frame true-colour support varies; each image references its CT slice.
 */
export class MapSecondaryCapture implements DerivedSeries {
  readonly kind = 'secondary-capture';
  /** The map's name: method, and layer where it has one ('gradcam-conv5'). */
  readonly key: string;
  readonly seriesInstanceUid: string;
  /** Images in the series: one per CT slice. */
  readonly count: number;
  private readonly imageOf: (slice: number) => NaturalDataset;

  /**
   * Checks the map against the series; the images themselves are made on demand (`dataset`),
   * so a writer can send some while making the next, and never holds every image at once.
   */
  constructor(series: CtSeries, map: AttributionMap, result: PhaseResult, created = new Date()) {
    if (map.slices !== series.slices)
      throw new InvalidInputError(
        `secondary capture: the ${map.method} map covers ${map.slices} slices, the series ${series.slices}`,
      );
    if (series.rows < MIN_SIZE || series.columns < MIN_SIZE)
      throw new InvalidInputError(
        `secondary capture: the series is too small to annotate (< ${MIN_SIZE} px)`,
      );
    const name = mapKey(map);
    this.key = name;
    // The target phase changes the pixels: maps for another target are other objects.
    const uids = derivedUids(
      series.seriesInstanceUid,
      result.model,
      `secondary-capture/${name}/${map.target}`,
    );
    const scale = map.scale;
    const label = labelLines(name, map.target, result, series.columns);
    const common = copiedModules(series, created);
    const description = `PhaseLens ${name} map for ${map.target}`;
    this.seriesInstanceUid = uids.seriesInstanceUid;
    this.count = series.slices;
    this.imageOf = (s) => {
      const rgb = fuseSlice(series, s, map.sliceValues(s), { scale });
      annotate(rgb, series.columns, series.rows, label);
      const source = series.instances[s];
      return {
        ...common,
        SOPClassUID: SECONDARY_CAPTURE,
        SOPInstanceUID: uids.instanceUid(s + 1),
        Modality: 'OT',
        ConversionType: 'WSD',
        BodyPartExamined: String(series.header.BodyPartExamined ?? 'ABDOMEN'),
        SeriesInstanceUID: uids.seriesInstanceUid,
        SeriesNumber: derivedSeriesNumber('secondary-capture', `${name}/${map.target}`),
        SeriesDescription: description,
        InstanceNumber: s + 1,
        PatientOrientation: patientOrientationOf(series),
        DateOfSecondaryCapture: common.ContentDate,
        TimeOfSecondaryCapture: common.ContentTime,
        // The image is the CT grid, so the CT's spacing measures it.
        PixelSpacing: series.geometry.pixelSpacing.map(fmt),
        ImageType: ['DERIVED', 'SECONDARY'],
        DerivationDescription: `${map.method} attribution map for ${map.target}${map.network ? ` of network ${map.network}` : ''}, fused over the CT (window 40/400)`,
        BurnedInAnnotation: 'YES',
        ...lossyCompressionOf(series),
        ContentQualification: 'RESEARCH',
        ImageComments: `Slice ${s + 1} of ${series.slices}; z ${fmt(series.geometry.positions[s][2])} mm`,
        SourceImageSequence: [
          {
            ReferencedSOPClassUID: source.sopClassUid,
            ReferencedSOPInstanceUID: source.sopInstanceUid,
            ...(source.frameNumber ? { ReferencedFrameNumber: source.frameNumber } : {}),
          },
        ],
        SamplesPerPixel: 3,
        PhotometricInterpretation: 'RGB',
        PlanarConfiguration: 0,
        Rows: series.rows,
        Columns: series.columns,
        BitsAllocated: 8,
        BitsStored: 8,
        HighBit: 7,
        PixelRepresentation: 0,
        PixelData: [rgb.buffer],
        _vrMap: { PixelData: 'OB' },
      };
    };
  }

  /** The image of CT slice `slice` (0-based), made now. */
  dataset(slice: number): NaturalDataset {
    if (!Number.isInteger(slice) || slice < 0 || slice >= this.count)
      throw new InvalidInputError(`secondary capture: no slice ${slice} (0 to ${this.count - 1})`);
    return this.imageOf(slice);
  }

  /**
   * Each image, made and encoded as it is asked for, RLE Lossless: half the bytes of the native
   * image (black around the body, flat bars), decoded by every viewer and PACS here.
   */
  *objects(): Generator<EncodedObject> {
    for (let s = 0; s < this.count; s++) {
      const image = this.imageOf(s);
      const rgb = new Uint8Array((image.PixelData as ArrayBuffer[])[0]);
      const frame = rleFrame(rgb, Number(image.Rows), Number(image.Columns), 3);
      yield encodedEncapsulated(image, [frame], TransferSyntax.RleLossless);
    }
  }

  /** Every image, made now (memory: rows x columns x 3 bytes each). */
  get datasets(): NaturalDataset[] {
    return Array.from({ length: this.count }, (_, s) => this.imageOf(s));
  }
}

/** Images narrower than this cannot hold the disclaimer line. */
const MIN_SIZE = 96;
const textScale = (width: number): number => (width >= 384 ? 2 : 1);
const charsThatFit = (width: number): number => Math.floor((width - 8) / (6 * textScale(width)));

/**
 * The burned-in label, two lines that fit the image width: the map and what it explains, then
 * the disclaimer (always whole) with the series' call where there is room.
 */
export function labelLines(
  name: string,
  target: string,
  result: Pick<PhaseResult, 'phase' | 'confidence'>,
  width: number,
): [string, string] {
  const fit = charsThatFit(width);
  const first = `PHASELENS ${name.toUpperCase()} FOR ${target.toUpperCase()}`;
  const call =
    result.phase === 'indeterminate'
      ? 'INDETERMINATE'
      : `${result.phase.toUpperCase()} ${(result.confidence * 100).toFixed(0)}%`;
  const second = `RESEARCH ONLY - ${call}`;
  return [first.slice(0, fit), second.length <= fit ? second : 'RESEARCH ONLY'];
}

/** Burns the label lines (top left, on a dark band) and a colour bar (right edge) into RGB pixels. */
function annotate(rgb: Uint8Array, width: number, height: number, label: [string, string]): void {
  const c = new Canvas(width, height, rgb);
  const scale = textScale(width);
  c.fill(0, 0, width, 22 * scale, [0, 0, 0]);
  label.forEach((line, i) => c.text(line, 4, (2 + 10 * i) * scale, [255, 255, 255], scale));
  const barHeight = Math.floor(height / 3);
  const top = Math.floor(height / 3);
  const x = width - 10 * scale;
  for (let y = 0; y < barHeight; y++) c.fill(x, top + y, 6 * scale, 1, heat(1 - y / barHeight));
  c.text('HIGH', x - 2, top - 10 * scale, [255, 255, 255], 1, 'right');
  c.text('LOW', x - 2, top + barHeight + 2, [255, 255, 255], 1, 'right');
}
