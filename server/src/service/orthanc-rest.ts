import { authorizationHeaders, type PacsAuth } from '../dicomweb/client';
import { PacsError } from '../errors';

/** Orthanc's REST API, the few calls the watcher needs. */
export class OrthancRest {
  private readonly headers: Record<string, string>;

  constructor(
    private readonly root: string,
    auth: PacsAuth | undefined,
  ) {
    this.headers = authorizationHeaders(auth);
  }

  async call<T>(method: string, route: string, body?: string): Promise<T> {
    let res: Response;
    try {
      // A redirect is an answer, never followed: the credentials go to Orthanc only.
      res = await fetch(`${this.root}${route}`, {
        method,
        headers: this.headers,
        body,
        redirect: 'manual',
      });
    } catch (error) {
      throw new PacsError(`Orthanc ${this.root} unreachable: ${(error as Error).message}`);
    }
    if (!res.ok) throw new PacsError(`Orthanc ${this.root}${route}: HTTP ${res.status}`);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
