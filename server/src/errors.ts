/**
 * Typed errors. Each carries a one-line message a user can act on and the CLI exit code it maps
 * to (2: bad usage or bad input, 1: processing failure, per the command-line contract).
 */
export abstract class PhaseLensError extends Error {
  abstract readonly code: string;
  readonly exitCode: 1 | 2 = 1;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The input itself is wrong: not DICOM, truncated, missing pixels, wrong modality... */
export class InvalidInputError extends PhaseLensError {
  readonly code: string = 'invalid-input';
  override readonly exitCode = 2 as const;
}

/** The input is readable but not abdominal CT (an MR volume, a head, a chest): no phase applies. */
export class OutOfScopeError extends InvalidInputError {
  override readonly code = 'out-of-scope';
}

export class NotDicomError extends InvalidInputError {
  override readonly code = 'not-dicom';
}

export class TruncatedFileError extends InvalidInputError {
  override readonly code = 'truncated';
}

export class MissingPixelDataError extends InvalidInputError {
  override readonly code = 'no-pixel-data';
}

export class UnsupportedModalityError extends InvalidInputError {
  override readonly code = 'unsupported-modality';
}

export class UnsupportedTransferSyntaxError extends InvalidInputError {
  override readonly code = 'unsupported-transfer-syntax';
}

/** A folder or DICOMweb series that holds more than one series or acquisition. */
export class MixedSeriesError extends InvalidInputError {
  override readonly code = 'mixed-series';
}

export class InconsistentGeometryError extends InvalidInputError {
  override readonly code = 'inconsistent-geometry';
}

/**
 * The series needs more than an analysis may use (scratch space or memory, from its headers,
 * before any pixel is read).
 */
export class SeriesTooLargeError extends InvalidInputError {
  override readonly code = 'too-large';
}

export class NotFoundError extends InvalidInputError {
  override readonly code = 'not-found';
}

/** The PACS answered badly or not at all. */
export class PacsError extends PhaseLensError {
  readonly code: string = 'pacs';
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class PacsAuthError extends PacsError {
  override readonly code = 'pacs-auth';
}

export class PacsUnreachableError extends PacsError {
  override readonly code = 'pacs-unreachable';
}

export class PacsTimeoutError extends PacsError {
  override readonly code = 'pacs-timeout';
}

/** The series (or study) asked for is not in the PACS. */
export class SeriesNotFoundError extends PacsError {
  override readonly code = 'series-not-found';
  override readonly exitCode = 2 as const;
}

/** An analysis process stopped before it answered: out of memory, or a crash in native code. */
export class AnalysisCrashedError extends PhaseLensError {
  readonly code = 'analysis-crashed';
}

/**
 * The service's scratch folder failed it (full, removed, not writable): a fault of the
 * installation, not of the series.
 */
export class ScratchSpaceError extends PhaseLensError {
  readonly code = 'scratch-unavailable';
}

/** A typed error raised in another process whose kind has no class here. */
export class RemoteError extends PhaseLensError {
  constructor(
    readonly code: string,
    message: string,
    override readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

/** What crosses a process boundary of a typed error. */
export interface ErrorRecord {
  code: string;
  message: string;
  exitCode: 1 | 2;
  status?: number;
}

export function errorRecord(error: unknown): ErrorRecord {
  if (error instanceof PhaseLensError)
    return {
      code: error.code,
      message: error.message,
      exitCode: error.exitCode,
      ...(error instanceof PacsError && error.status !== undefined ? { status: error.status } : {}),
    };
  return { code: 'internal', message: describeError(error), exitCode: 1 };
}

const INPUT_ERRORS: Record<string, new (message: string) => InvalidInputError> = {
  'invalid-input': InvalidInputError,
  'out-of-scope': OutOfScopeError,
  'not-dicom': NotDicomError,
  truncated: TruncatedFileError,
  'no-pixel-data': MissingPixelDataError,
  'unsupported-modality': UnsupportedModalityError,
  'unsupported-transfer-syntax': UnsupportedTransferSyntaxError,
  'mixed-series': MixedSeriesError,
  'inconsistent-geometry': InconsistentGeometryError,
  'not-found': NotFoundError,
  'too-large': SeriesTooLargeError,
};
const PACS_ERRORS: Record<string, new (message: string, status?: number) => PacsError> = {
  pacs: PacsError,
  'pacs-auth': PacsAuthError,
  'pacs-unreachable': PacsUnreachableError,
  'pacs-timeout': PacsTimeoutError,
  'series-not-found': SeriesNotFoundError,
};

/**
 * The error an ErrorRecord describes, as its own class where there is one, so that callers in
 * this process tell a PACS fault from bad input as they would for a local error.
 */
export function reviveError(record: ErrorRecord): PhaseLensError {
  const input = INPUT_ERRORS[record.code];
  if (input) return new input(record.message);
  const pacs = PACS_ERRORS[record.code];
  if (pacs) return new pacs(record.message, record.status);
  if (record.code === 'analysis-crashed') return new AnalysisCrashedError(record.message);
  if (record.code === 'scratch-unavailable') return new ScratchSpaceError(record.message);
  return new RemoteError(record.code, record.message, record.exitCode);
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
