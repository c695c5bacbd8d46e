import {
  PacsAuthError,
  PacsError,
  PacsTimeoutError,
  PacsUnreachableError,
  SeriesNotFoundError,
} from '../errors';

/** A failed request (http-frames.ts): an Error carrying its HTTP status and what went wrong. */
export interface HttpFailure extends Error {
  status?: number;
  request?: { timedOut?: boolean; networkError?: string };
}

export function isHttpFailure(error: unknown): error is HttpFailure {
  return error instanceof Error && 'status' in error;
}

/** Whether a failed request is worth retrying: network errors, timeouts and 5xx. */
export function isTransient(error: unknown): boolean {
  if (error instanceof PacsUnreachableError || error instanceof PacsTimeoutError) return true;
  if (error instanceof PacsError) return error.status !== undefined && error.status >= 500;
  return false;
}

/** Maps an HTTP failure to a typed error naming the PACS and what to do. */
export function pacsError(error: unknown, pacs: string, what: string, timeoutMs: number): Error {
  if (error instanceof PacsError) return error;
  if (!isHttpFailure(error)) {
    return new PacsError(
      `PACS ${pacs}: ${what} failed (${(error as Error)?.message ?? String(error)})`,
      undefined,
      {
        cause: error,
      },
    );
  }
  const status = error.status ?? 0;
  if (status === 0) {
    if (error.request?.timedOut) {
      return new PacsTimeoutError(
        `PACS ${pacs} did not answer ${what} within ${timeoutMs} ms`,
        undefined,
        {
          cause: error,
        },
      );
    }
    const detail = error.request?.networkError ? ` (${error.request.networkError})` : '';
    return new PacsUnreachableError(`PACS ${pacs} is unreachable${detail}`, undefined, {
      cause: error,
    });
  }
  if (status === 401 || status === 403) {
    return new PacsAuthError(`PACS ${pacs} refused the credentials (HTTP ${status})`, status, {
      cause: error,
    });
  }
  if (status === 404) {
    return new SeriesNotFoundError(`PACS ${pacs}: ${what}: not found (HTTP 404)`, status, {
      cause: error,
    });
  }
  return new PacsError(`PACS ${pacs}: ${what} failed (HTTP ${status})`, status, { cause: error });
}
