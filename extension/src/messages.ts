/**
 * Failures in words a radiologist understands: what happened and what to do, never a stack trace
 * or an HTTP code alone.
 */
export interface Failure {
  /** HTTP status when the service answered; undefined when it could not be reached. */
  status?: number;
  /** The service's own one-line error, if any. */
  detail?: string;
  /** The service's stable error code (its `code`), where it sent one. */
  code?: string;
}

export function describeFailure(f: Failure): string {
  // The service's code says more than its status where the two differ in meaning.
  if (f.code === 'stopping') return 'PhaseLens is restarting. Try again in a minute.';
  // 401: the archive refused the user's own credentials (pass-through); a 502 with the same
  // code is the service's account, which is IT's to fix (below).
  if (f.status === 401 && (f.code === 'pacs-auth' || f.code === 'series-not-found'))
    return 'The image archive does not let your account read this series in PhaseLens. Check that you can open it, then retry.';
  if (f.status === undefined)
    return 'The PhaseLens service cannot be reached. Check the network or ask IT whether it is running.';
  if (f.status === 401 || f.status === 403)
    return 'PhaseLens did not accept your sign-in. Sign in to the viewer again, then retry.';
  if (f.status === 404)
    return 'PhaseLens has no result for this series yet. Press Analyse to get one.';
  if (f.status === 429) return 'PhaseLens is busy with other series. It will try again shortly.';
  if (f.status === 502 || f.status === 503)
    return 'The image archive did not answer PhaseLens. Try again in a minute; if it persists, call IT.';
  if (f.status === 400)
    return `PhaseLens cannot analyse this series${f.detail ? ` (${f.detail})` : ''}.`;
  return 'PhaseLens failed on this series. Try again; if it persists, call IT.';
}

/**
 * The message for an analysis that ended in failure, from the service's error code (its
 * PhaseLensError kind) where it sends one, else from its error line.
 */
export function describeAnalysisError(error: string, code?: string): string {
  if (code === 'out-of-scope')
    return `PhaseLens gives no phase here: this is not abdominal CT (${error.replace(/^out of scope: /, '')}).`;
  if (code?.startsWith('pacs'))
    return 'The image archive did not answer while PhaseLens was reading or storing. Try again in a minute.';
  if (code && code !== 'internal') return `PhaseLens cannot analyse this series: ${error}`;
  if (/PACS|archive|DICOMweb|unreachable|timed out/i.test(error))
    return 'The image archive did not answer while PhaseLens was reading or storing. Try again in a minute.';
  if (/not axial|modality|not a CT|unsupported/i.test(error))
    return `PhaseLens analyses axial CT only: ${error}`;
  return `PhaseLens could not finish the analysis: ${error}`;
}
