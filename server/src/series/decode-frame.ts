import { InvalidInputError, TruncatedFileError, UnsupportedTransferSyntaxError } from '../errors';
import {
  decodeJpeg2000,
  decodeJpegBaseline,
  decodeJpegLossless,
  decodeJpegLs,
  decodeRle,
  type DecodedFrame,
} from './codecs';
import { frameByteLength, storedToHu } from './hu';
import type { PixelModule } from './pixel-module';
import { pixelEncoding, supportedTransferSyntaxes } from './transfer-syntax';

/** One frame as it came from a file or the PACS: native bytes or one compressed bitstream. */
export interface EncodedFrame {
  bytes: Uint8Array;
  transferSyntaxUid: string;
}

export function assertSupportedTransferSyntax(uid: string, location: string): void {
  if (!pixelEncoding(uid)) {
    throw new UnsupportedTransferSyntaxError(
      `${location}: transfer syntax ${uid} is not supported (supported: ${supportedTransferSyntaxes.join(', ')})`,
    );
  }
}

async function decompress(frame: EncodedFrame, pm: PixelModule): Promise<DecodedFrame> {
  const bits = pm.bitsAllocated === 8 ? 8 : 16;
  switch (pixelEncoding(frame.transferSyntaxUid)) {
    case 'native':
      return { bytes: frame.bytes, bitsAllocated: bits, width: pm.columns, height: pm.rows };
    case 'rle':
      return decodeRle(frame.bytes, pm.columns, pm.rows, bits);
    case 'jpeg-baseline':
      if (pm.bitsStored > 8) {
        throw new UnsupportedTransferSyntaxError(
          `JPEG ${frame.transferSyntaxUid} with ${pm.bitsStored}-bit samples is not supported (8-bit only)`,
        );
      }
      return decodeJpegBaseline(frame.bytes);
    case 'jpeg-lossless':
      return decodeJpegLossless(frame.bytes, bits);
    case 'jpeg-ls':
      return decodeJpegLs(frame.bytes);
    case 'jpeg2000':
      return decodeJpeg2000(frame.bytes);
    default:
      throw new UnsupportedTransferSyntaxError(
        `transfer syntax ${frame.transferSyntaxUid} is not supported`,
      );
  }
}

/** Decodes a frame and writes its HU into `out` (rows * columns values). */
export async function decodeFrameToHu(
  frame: EncodedFrame,
  pm: PixelModule,
  out: Float32Array,
  location: string,
): Promise<void> {
  assertSupportedTransferSyntax(frame.transferSyntaxUid, location);
  let decoded: DecodedFrame;
  try {
    decoded = await decompress(frame, pm);
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw new InvalidInputError(
      `${location}: cannot decode ${frame.transferSyntaxUid} pixel data (${(error as Error).message})`,
      { cause: error },
    );
  }
  if (decoded.width !== pm.columns || decoded.height !== pm.rows) {
    throw new InvalidInputError(
      `${location}: decoded frame is ${decoded.width}x${decoded.height}, header says ${pm.columns}x${pm.rows}`,
    );
  }
  const wanted = frameByteLength({ ...pm, bitsAllocated: decoded.bitsAllocated });
  if (decoded.bytes.byteLength < wanted) {
    throw new TruncatedFileError(
      `${location}: pixel data is truncated (${decoded.bytes.byteLength} of ${wanted} bytes)`,
    );
  }
  storedToHu(decoded.bytes, { ...pm, bitsAllocated: decoded.bitsAllocated }, out);
}
