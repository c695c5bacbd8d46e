import { NativeFrameStream } from '../src/series/native-frame-stream';
import { storedToHu } from '../src/series/hu';
import { TruncatedFileError } from '../src/errors';
import type { PixelModule } from '../src/series/pixel-module';
import { seededRandom } from '../src/util/random';

const pm: PixelModule = {
  rows: 7,
  columns: 9,
  bitsAllocated: 16,
  bitsStored: 16,
  pixelRepresentation: 1,
  samplesPerPixel: 1,
  photometricInterpretation: 'MONOCHROME2',
  rescaleSlope: 1,
  rescaleIntercept: -1024,
};

describe('streaming an uncompressed frame into HU', () => {
  const random = seededRandom('stream');
  const samples = Int16Array.from({ length: 63 }, () => Math.round(random() * 4000 - 1000));
  const bytes = new Uint8Array(samples.buffer);
  const whole = new Float32Array(63);
  storedToHu(bytes, pm, whole);

  it.each([1, 2, 3, 5, 17, 126])(
    'gives the same HU whatever the chunk size (%d bytes), odd offsets included',
    (size) => {
      const out = new Float32Array(63);
      const stream = new NativeFrameStream(pm, out);
      // Chunks cut from a Buffer at an odd offset, as socket reads can be.
      const padded = Buffer.alloc(bytes.length + 1);
      padded.set(bytes, 1);
      for (let i = 1; i < padded.length; i += size)
        stream.push(padded.subarray(i, Math.min(i + size, padded.length)));
      stream.finish('test');
      expect([...out]).toEqual([...whole]);
    },
  );

  it('says when the frame ends short', () => {
    const stream = new NativeFrameStream(pm, new Float32Array(63));
    stream.push(bytes.subarray(0, 101));
    expect(() => stream.finish('frame 3')).toThrow(TruncatedFileError);
    expect(() => stream.finish('frame 3')).toThrow('frame 3: frame ended after 50 of 63 samples');
  });
});
