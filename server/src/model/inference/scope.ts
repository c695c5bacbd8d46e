import { sliceView, type CtSeries } from '../../series/types';
import { BODY_HU, enclosedLowDensity, MAX_LUNG_WIDTH_MM } from './enclosed';

/**
 * At least this share of a series' slices must show an abdomen: a chest CT that ends in the
 * upper abdomen (typically under a fifth of its length) is not abdominal CT.
 */
export const MIN_ABDOMEN_SHARE = 0.3;
/** An abdominal cross-section: at least this much body (cm^2), with fat and little lung. */
const MIN_BODY_CM2 = 150;
const MIN_FAT_FRACTION = 0.03;
const MAX_LUNG_FRACTION = 0.35;

export interface ScopeCheck {
  /** Why no phase applies; undefined when the series is abdominal CT. */
  problem?: string;
  /** Millimetres of the series along its normal that show an abdominal cross-section. */
  abdomenMm: number;
}

/**
 * Whether a series is abdominal CT at all, before any phase is called: CT-like intensities (air
 * near -1000 HU around the body, body mostly between -200 and 300 HU) and an abdomen (enough
 * slices with a large cross-section that holds fat and little lung). Pixels are sampled every
 * third row and column: the check costs a few milliseconds a series.
 */
export function checkScope(series: CtSeries): ScopeCheck {
  const { rows, columns, slices } = series;
  const [rowSpacing, colSpacing] = series.geometry.pixelSpacing;
  const step = 3;
  const pixelCm2 = (rowSpacing * colSpacing * step * step) / 100;
  let air = 0;
  let sampled = 0;
  let bodyAll = 0;
  let softAll = 0;
  let abdominal = 0;
  // A local copy: an imported binding read per pixel can be a getter call (tsx, jest).
  const bodyHu = BODY_HU;
  for (let s = 0; s < slices; s++) {
    const hu = sliceView(series, s);
    let body = 0;
    let fat = 0;
    let soft = 0;
    for (let r = 0; r < rows; r += step) {
      for (let c = 0; c < columns; c += step) {
        const v = hu[r * columns + c];
        sampled++;
        if (v < -900) air++;
        if (v > bodyHu) {
          body++;
          if (v >= -190 && v <= -30) fat++;
          if (v >= -200 && v <= 300) soft++;
        }
      }
    }
    const lowInside = enclosedLowDensity(hu, rows, columns, step, MAX_LUNG_WIDTH_MM / colSpacing);
    bodyAll += body;
    softAll += soft;
    if (
      body * pixelCm2 >= MIN_BODY_CM2 &&
      fat >= MIN_FAT_FRACTION * body &&
      lowInside <= MAX_LUNG_FRACTION * body
    )
      abdominal++;
  }
  const spacing = series.geometry.sliceSpacing || 1;
  const abdomenMm = abdominal * spacing;
  if (sampled === 0 || air < 0.02 * sampled || softAll < 0.3 * bodyAll)
    return {
      abdomenMm,
      problem: `intensities are not CT-like (${pct(air / Math.max(1, sampled))} of pixels at air density, ${pct(softAll / Math.max(1, bodyAll))} of the body between -200 and 300 HU): not CT in Hounsfield units`,
    };
  const needed = Math.max(1, Math.ceil(MIN_ABDOMEN_SHARE * slices));
  if (abdominal < needed)
    return {
      abdomenMm,
      problem: `no abdomen: ${abdominal} of ${slices} slices show an abdominal cross-section (body of ${MIN_BODY_CM2} cm² or more with fat and under ${pct(MAX_LUNG_FRACTION)} lung), at least ${needed} needed`,
    };
  return { abdomenMm };
}

const pct = (v: number): string => `${Math.round(v * 100)}%`;
