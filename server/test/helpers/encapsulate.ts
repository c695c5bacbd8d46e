import { promises as fs } from 'node:fs';
import path from 'node:path';
import dcmjs, { type NaturalDataset } from 'dcmjs';
import openjpegFactory from '@cornerstonejs/codec-openjpeg/wasmjs';
import { encodePart10 } from '../../src/series/write-ct';
import { TransferSyntax } from '../../src/series/transfer-syntax';

/** Reads a Part 10 file back as a naturalised dataset (with PixelData). */
export async function readNatural(file: string): Promise<NaturalDataset> {
  const bytes = await fs.readFile(file);
  const dict = dcmjs.data.DicomMessage.readFile(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
}

/** JPEG 2000 lossless encoding of one 16-bit frame with the OpenJPEG codec. */
export async function encodeJ2k(
  frame: Uint8Array,
  width: number,
  height: number,
  signed: boolean,
): Promise<Uint8Array> {
  const { J2KEncoder } = await openjpegFactory({
    print: () => undefined,
    printErr: () => undefined,
  });
  const encoder = new J2KEncoder();
  try {
    encoder
      .getDecodedBuffer({ width, height, bitsPerSample: 16, componentCount: 1, isSigned: signed })
      .set(frame);
    encoder.encode();
    return new Uint8Array(encoder.getEncodedBuffer());
  } finally {
    encoder.delete();
  }
}

/** Re-encodes every file of a native folder as JPEG 2000 lossless, into `out`. */
export async function toJpeg2000(inDir: string, out: string): Promise<void> {
  await fs.mkdir(out, { recursive: true });
  for (const name of await fs.readdir(inDir)) {
    const ds = await readNatural(path.join(inDir, name));
    const frame = new Uint8Array((ds.PixelData as ArrayBuffer[])[0]);
    const encoded = await encodeJ2k(
      frame,
      Number(ds.Columns),
      Number(ds.Rows),
      ds.PixelRepresentation === 1,
    );
    const j2k = { ...ds, PixelData: [encoded.buffer], _vrMap: { PixelData: 'OB' } };
    await fs.writeFile(
      path.join(out, name),
      new Uint8Array(encodePart10(j2k, TransferSyntax.Jpeg2000Lossless)),
    );
  }
}
