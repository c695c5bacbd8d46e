import { hostname } from 'node:os';

/** Parametric Map pixels: 16-bit (any viewer, Orthanc 1.10 serves its frames) or float32. */
export type PixelFormat = 'uint16' | 'float32';

/**
 * How an installation writes its derived objects, from its configuration: one record carried
 * from the configuration to the writers, so a new setting is one field here.
 */
export interface OutputSettings {
  format?: PixelFormat;
  /**
   * The Enhanced General Equipment module's DeviceSerialNumber (Type 1): which installation made
   * the object. The host's name unless configured (PHASELENS_DEVICE_SERIAL_NUMBER).
   */
  deviceSerialNumber?: string;
}

/**
 * A character this value may not hold: LO allows no backslash or control character, and the
 * serial stays in the default repertoire (printable ASCII), so no object needs a character set for
 * it.
 */
const notLo = (c: string): boolean => c === '\\' || c < ' ' || c > '~';

/** Why a device serial number cannot be written as DICOM LO in the default repertoire. */
export function deviceSerialNumberProblem(value: string): string | undefined {
  if (!value.trim()) return 'it is empty';
  const characters = [...value];
  if (characters.some(notLo))
    return 'it may hold printable ASCII only (no backslash, control or non-ASCII character)';
  if (characters.length > 64) return `it has ${characters.length} characters; DICOM allows 64`;
  return undefined;
}

/** The host's name as a device serial number: cut to what LO holds. */
export function defaultDeviceSerialNumber(): string {
  const name = [...hostname()]
    .filter((c) => !notLo(c))
    .join('')
    .slice(0, 64);
  return name.trim() ? name : 'unknown';
}
