import type { AnalysisAccepted, AnalysisView, PhaseSummary, StoredPhase } from './types';
import type { Failure } from './messages';

/** An error from the service, with what the panel needs to explain it. */
export class ServiceError extends Error {
  constructor(readonly failure: Failure) {
    super(failure.detail ?? `PhaseLens service: HTTP ${failure.status ?? 'unreachable'}`);
  }
}

export interface ClientOptions {
  /** Service root, e.g. '/phaselens' behind the viewer's proxy or https://phaselens.example. */
  baseUrl: string;
  /** The viewer's Authorization header (bearer token), passed on to the service. */
  authorization?: () => string | undefined;
  fetch?: typeof fetch;
}

/**
 * The PhaseLens service as the panel uses it: submit an analysis, follow it (Server-Sent Events
 * read from a fetch stream, which can carry the Authorization header where EventSource cannot),
 * and read a series' stored phase.
 */
export class PhaseLensClient {
  private readonly fetch: typeof fetch;
  /** Stored-phase lookups under way: the panel and the badges ask for the same series at once. */
  private readonly asking = new Map<string, Promise<PhaseSummary | undefined>>();

  constructor(private readonly options: ClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  private async call(path: string, init: RequestInit = {}): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const auth = this.options.authorization?.();
    if (auth) headers.Authorization = auth;
    if (init.body) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetch(`${this.options.baseUrl.replace(/\/+$/, '')}${path}`, {
        ...init,
        headers: { ...headers, ...(init.headers as Record<string, string> | undefined) },
      });
    } catch {
      throw new ServiceError({});
    }
    if (!res.ok && res.status !== 202) {
      let body: { error?: string; code?: string } = {};
      try {
        body = (await res.json()) as typeof body;
      } catch {
        body = {};
      }
      throw new ServiceError({ status: res.status, detail: body.error, code: body.code });
    }
    return res;
  }

  async analyse(
    studyInstanceUid: string,
    seriesInstanceUid: string,
    maps?: string[],
  ): Promise<AnalysisAccepted> {
    const res = await this.call('/api/v1/analyses', {
      method: 'POST',
      body: JSON.stringify({ studyInstanceUid, seriesInstanceUid, ...(maps ? { maps } : {}) }),
    });
    return (await res.json()) as AnalysisAccepted;
  }

  async analysis(id: string): Promise<AnalysisView> {
    return (await (await this.call(`/api/v1/analyses/${id}`)).json()) as AnalysisView;
  }

  /** The stored phase of a series, or undefined when there is none (204, or 404 from older services). */
  storedPhase(seriesInstanceUid: string): Promise<PhaseSummary | undefined> {
    let asked = this.asking.get(seriesInstanceUid);
    if (!asked) {
      asked = this.askStoredPhase(seriesInstanceUid).finally(() =>
        this.asking.delete(seriesInstanceUid),
      );
      this.asking.set(seriesInstanceUid, asked);
    }
    return asked;
  }

  private async askStoredPhase(seriesInstanceUid: string): Promise<PhaseSummary | undefined> {
    try {
      const res = await this.call(`/api/v1/series/${seriesInstanceUid}/phase?absent=204`);
      if (res.status === 204) return undefined;
      const body = (await res.json()) as StoredPhase;
      const confidence = Math.max(...Object.values(body.probabilities));
      return {
        phase: body.phase,
        confidence,
        probabilities: body.probabilities,
        model: body.model,
      };
    } catch (error) {
      if (error instanceof ServiceError && error.failure.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * Follows an analysis until it ends, calling `onUpdate` for every event; resolves with the
   * last view. `signal` cancels following (the analysis itself goes on in the service).
   */
  async follow(
    id: string,
    onUpdate: (view: AnalysisView) => void,
    signal?: AbortSignal,
  ): Promise<AnalysisView | undefined> {
    const res = await this.call(`/api/v1/analyses/${id}/events`, {
      headers: { Accept: 'text/event-stream' },
      signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let last: AnalysisView | undefined;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          if (!data) continue;
          last = JSON.parse(data) as AnalysisView;
          onUpdate(last);
        }
      }
    } catch {
      if (signal?.aborted) return last;
      throw new ServiceError({});
    }
    return last;
  }
}
