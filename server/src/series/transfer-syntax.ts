/** Transfer syntaxes PhaseLens reads, and which decoder each needs. */
export const TransferSyntax = {
  ImplicitVRLittleEndian: '1.2.840.10008.1.2',
  ExplicitVRLittleEndian: '1.2.840.10008.1.2.1',
  DeflatedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVRBigEndian: '1.2.840.10008.1.2.2',
  JpegBaseline: '1.2.840.10008.1.2.4.50',
  JpegExtended: '1.2.840.10008.1.2.4.51',
  JpegLossless: '1.2.840.10008.1.2.4.57',
  JpegLosslessSV1: '1.2.840.10008.1.2.4.70',
  JpegLsLossless: '1.2.840.10008.1.2.4.80',
  JpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  Jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  Jpeg2000: '1.2.840.10008.1.2.4.91',
  HtJpeg2000Lossless: '1.2.840.10008.1.2.4.201',
  HtJpeg2000LosslessRpcl: '1.2.840.10008.1.2.4.202',
  HtJpeg2000: '1.2.840.10008.1.2.4.203',
  RleLossless: '1.2.840.10008.1.2.5',
} as const;

export type PixelEncoding =
  'native' | 'rle' | 'jpeg-baseline' | 'jpeg-lossless' | 'jpeg-ls' | 'jpeg2000';

const encodings: Record<string, PixelEncoding> = {
  [TransferSyntax.ImplicitVRLittleEndian]: 'native',
  [TransferSyntax.ExplicitVRLittleEndian]: 'native',
  [TransferSyntax.DeflatedExplicitVRLittleEndian]: 'native',
  [TransferSyntax.JpegBaseline]: 'jpeg-baseline',
  // 8-bit extended JPEG is baseline-compatible; 12-bit frames are refused by the decoder.
  [TransferSyntax.JpegExtended]: 'jpeg-baseline',
  [TransferSyntax.JpegLossless]: 'jpeg-lossless',
  [TransferSyntax.JpegLosslessSV1]: 'jpeg-lossless',
  [TransferSyntax.JpegLsLossless]: 'jpeg-ls',
  [TransferSyntax.JpegLsNearLossless]: 'jpeg-ls',
  [TransferSyntax.Jpeg2000Lossless]: 'jpeg2000',
  [TransferSyntax.Jpeg2000]: 'jpeg2000',
  [TransferSyntax.HtJpeg2000Lossless]: 'jpeg2000',
  [TransferSyntax.HtJpeg2000LosslessRpcl]: 'jpeg2000',
  [TransferSyntax.HtJpeg2000]: 'jpeg2000',
  [TransferSyntax.RleLossless]: 'rle',
};

/** The decoder family for a transfer syntax, or undefined where PhaseLens has none. */
export function pixelEncoding(transferSyntaxUid: string): PixelEncoding | undefined {
  return encodings[transferSyntaxUid];
}

export const supportedTransferSyntaxes = Object.keys(encodings);
