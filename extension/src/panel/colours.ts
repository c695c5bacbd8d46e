import type { PhaseCall } from '../types';

/** Phase colours, chosen for at least 4.5:1 contrast on OHIF's near-black panels (tested). */
export const PHASE_COLOURS: Record<PhaseCall, string> = {
  'non-contrast': '#b0b8c8',
  arterial: '#ff7a6b',
  'portal-venous': '#6bb8ff',
  delayed: '#f5c542',
  indeterminate: '#d9b3ff',
};

/** Text and controls: body text, muted text, and the primary button (white on blue). */
export const TEXT = '#e8ecf4';
export const MUTED_TEXT = '#b8c0d0';
export const BUTTON = { background: '#2d5bd1', text: '#ffffff' };

/** WCAG 2 contrast ratio of two #rrggbb colours. */
export function contrastRatio(a: string, b: string): number {
  const luminance = (hex: string) => {
    const [r, g, bl] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
