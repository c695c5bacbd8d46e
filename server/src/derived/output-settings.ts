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

/** A character DICOM LO cannot hold: the value separator or a control character. */
const notLo = (c: string): boolean =>
  c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f;

/** Why a device serial number cannot be written as DICOM LO (64 characters, no backslash). */
export function deviceSerialNumberProblem(value: string): string | undefined {
  if (!value.trim()) return 'it is empty';
  if (value.length > 64) return `it has ${value.length} characters; DICOM allows 64`;
  if ([...value].some(notLo)) return 'it holds a backslash or a control character';
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
