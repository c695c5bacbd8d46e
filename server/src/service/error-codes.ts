/**
 * The `code` of every error the HTTP API answers: stable, so clients (the OHIF extension among
 * them) branch on it and never on the English message. The OpenAPI document lists the same.
 */
export const ERROR_CODES = [
  'invalid-path',
  'origin-not-allowed',
  'auth-required',
  'unsupported-media-type',
  'unsupported-charset',
  'invalid-json',
  'body-too-large',
  'invalid-request',
  'invalid-id',
  'invalid-uid',
  'stopping',
  'queue-full',
  'not-found',
  'no-result',
  'series-not-found',
  'pacs',
  'pacs-auth',
  'pacs-unreachable',
  'pacs-timeout',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(code: string): code is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code);
}
