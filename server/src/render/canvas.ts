import { drawText, GLYPH_HEIGHT, textWidth } from './font';
import { encodePng } from './png';

export type Rgb = [number, number, number];

/** An RGB raster with the few drawing operations charts and overlays need. */
export class Canvas {
  readonly pixels: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb | Uint8Array = [255, 255, 255],
  ) {
    if (background instanceof Uint8Array) {
      // Draw onto existing RGB pixels (annotating an image in place).
      if (background.length !== width * height * 3)
        throw new RangeError(`canvas: ${background.length} bytes for ${width} x ${height} RGB`);
      this.pixels = background;
    } else {
      this.pixels = new Uint8Array(width * height * 3);
      this.fill(0, 0, width, height, background);
    }
  }

  set(x: number, y: number, [r, g, b]: Rgb): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    const i = (yi * this.width + xi) * 3;
    this.pixels[i] = r;
    this.pixels[i + 1] = g;
    this.pixels[i + 2] = b;
  }

  fill(x: number, y: number, w: number, h: number, colour: Rgb): void {
    for (let yy = Math.max(0, Math.floor(y)); yy < Math.min(this.height, y + h); yy++)
      for (let xx = Math.max(0, Math.floor(x)); xx < Math.min(this.width, x + w); xx++)
        this.set(xx, yy, colour);
  }

  /** A line `thickness` pixels wide (DDA; charts need no anti-aliasing). */
  line(x0: number, y0: number, x1: number, y1: number, colour: Rgb, thickness = 1): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const r = (thickness - 1) / 2;
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      for (let dy = -r; dy <= r; dy++)
        for (let dx = -r; dx <= r; dx++) this.set(x + dx, y + dy, colour);
    }
  }

  /** Text with its top-left corner at (x, y); `align` moves the anchor. */
  text(
    text: string,
    x: number,
    y: number,
    colour: Rgb = [0, 0, 0],
    scale = 1,
    align: 'left' | 'centre' | 'right' = 'left',
  ): void {
    const w = textWidth(text, scale);
    const left = align === 'left' ? x : align === 'centre' ? x - w / 2 : x - w;
    drawText(text, Math.round(left), Math.round(y), (px, py) => this.set(px, py, colour), scale);
  }

  static textHeight(scale = 1): number {
    return GLYPH_HEIGHT * scale;
  }

  png(): Buffer {
    return encodePng(this.pixels, this.width, this.height, 3);
  }
}
