/**
 * A DICOM UID (PS3.5 9.1): dot-separated numbers without leading zeros, at most 64 characters.
 * Every UID that reaches a URL or a query (from a client, a PACS or a file) passes this check.
 */
const UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

export const isUid = (v: unknown): v is string =>
  typeof v === 'string' && v.length <= 64 && UID.test(v);
