import { TruncatedFileError } from '../errors';
import { frameByteLength, storedToHu } from './hu';
import type { PixelModule } from './pixel-module';

/**
 * Turns an uncompressed frame into HU chunk by chunk as it arrives, so a frame is never held
 * whole: a sample split across two chunks is carried over.
 */
export class NativeFrameStream {
  private written = 0;
  private carry: number | undefined;
  private readonly bytesPerSample: number;

  constructor(
    private readonly pm: PixelModule,
    private readonly out: Float32Array,
  ) {
    this.bytesPerSample = pm.bitsAllocated / 8;
  }

  /** Bytes the whole frame has. */
  get length(): number {
    return frameByteLength(this.pm);
  }

  push(chunk: Uint8Array): void {
    let bytes = chunk;
    if (this.carry !== undefined && bytes.length > 0) {
      this.convert(Uint8Array.of(this.carry, bytes[0]));
      this.carry = undefined;
      bytes = bytes.subarray(1);
    }
    const whole = bytes.length - (bytes.length % this.bytesPerSample);
    if (whole > 0) this.convert(bytes.subarray(0, whole));
    if (whole < bytes.length) this.carry = bytes[whole];
  }

  /** Throws unless every sample of the frame arrived. */
  finish(location: string): void {
    if (this.written !== this.out.length || this.carry !== undefined) {
      throw new TruncatedFileError(
        `${location}: frame ended after ${this.written} of ${this.out.length} samples`,
      );
    }
  }

  private convert(bytes: Uint8Array): void {
    const samples = bytes.length / this.bytesPerSample;
    const end = Math.min(this.written + samples, this.out.length);
    storedToHu(bytes, this.pm, this.out.subarray(this.written, end));
    this.written = end;
  }
}
