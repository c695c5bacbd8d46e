import { storedToHu, PADDING_HU } from '../src/series/hu';
import type { PixelModule } from '../src/series/pixel-module';

const pm = (over: Partial<PixelModule>): PixelModule => ({
  rows: 1,
  columns: 4,
  bitsAllocated: 16,
  bitsStored: 16,
  pixelRepresentation: 0,
  samplesPerPixel: 1,
  photometricInterpretation: 'MONOCHROME2',
  rescaleSlope: 1,
  rescaleIntercept: 0,
  ...over,
});

const bytesOf = (values: number[]): Uint8Array => new Uint8Array(new Uint16Array(values).buffer);

describe('stored values to HU', () => {
  it('applies slope and intercept to unsigned values', () => {
    const out = new Float32Array(4);
    storedToHu(bytesOf([0, 1024, 1064, 4095]), pm({ rescaleIntercept: -1024 }), out);
    expect([...out]).toEqual([-1024, 0, 40, 3071]);
  });

  it('sign-extends 12-bit signed values and ignores bits above BitsStored', () => {
    const out = new Float32Array(4);
    // 0xF000 bits are overlay garbage; 0x0C18 is -1000 in 12-bit two's complement.
    storedToHu(
      bytesOf([0xf000 | 0x0c18, 0x0028, 0xf000 | 0x07ff, 0x0800]),
      pm({ bitsStored: 12, pixelRepresentation: 1 }),
      out,
    );
    expect([...out]).toEqual([-1000, 40, 2047, -2048]);
  });

  it('masks unsigned 12-bit values', () => {
    const out = new Float32Array(2);
    storedToHu(
      bytesOf([0xf000 | 1064, 0x1000]),
      pm({ columns: 2, bitsStored: 12, rescaleIntercept: -1024 }),
      out,
    );
    expect([...out]).toEqual([40, -1024]);
  });

  it('applies a non-unit slope', () => {
    const out = new Float32Array(1);
    storedToHu(bytesOf([100]), pm({ columns: 1, rescaleSlope: 0.5, rescaleIntercept: -10 }), out);
    expect(out[0]).toBe(40);
  });

  it('maps the padding value (and a padding range) to air', () => {
    const out = new Float32Array(4);
    const signed = bytesOf(
      [-2000 & 0xffff, -1500 & 0xffff, -1000 & 0xffff, 40].map((v) => v & 0xffff),
    );
    storedToHu(signed, pm({ pixelRepresentation: 1, pixelPaddingValue: -2000 }), out);
    expect([...out]).toEqual([PADDING_HU, -1500, -1000, 40]);
    storedToHu(
      signed,
      pm({ pixelRepresentation: 1, pixelPaddingValue: -2000, pixelPaddingRangeLimit: -1500 }),
      out,
    );
    expect([...out]).toEqual([PADDING_HU, PADDING_HU, -1000, 40]);
  });

  it('reads 8-bit samples', () => {
    const out = new Float32Array(3);
    storedToHu(
      new Uint8Array([0, 128, 255]),
      pm({ columns: 3, bitsAllocated: 8, bitsStored: 8, rescaleSlope: 8, rescaleIntercept: -1024 }),
      out,
    );
    expect([...out]).toEqual([-1024, 0, 1016]);
  });
});
