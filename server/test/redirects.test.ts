import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DicomWebClient } from '../src/dicomweb/client';
import { PacsError } from '../src/errors';
import { OrthancRest } from '../src/service/orthanc-rest';

/** A server on a loopback port that records the Authorization header of every request. */
async function recorder(
  answer: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<{ url: string; seen: (string | undefined)[]; close: () => Promise<void> }> {
  const seen: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers.authorization);
    answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('a PACS that redirects elsewhere never gets the credentials sent on', () => {
  const auth = { username: 'phaselens', password: 'secret' };
  let elsewhere: Awaited<ReturnType<typeof recorder>>;
  let pacs: Awaited<ReturnType<typeof recorder>>;

  beforeAll(async () => {
    elsewhere = await recorder((_req, res) => res.end('[]'));
    pacs = await recorder((req, res) => {
      res.writeHead(307, { Location: `${elsewhere.url}${req.url ?? '/'}` });
      res.end();
    });
  });
  afterAll(async () => {
    await pacs.close();
    await elsewhere.close();
  });

  it('DICOMweb (QIDO-RS): the redirect is a failure, and the other host hears nothing', async () => {
    const client = new DicomWebClient({ url: `${pacs.url}/dicom-web`, auth, retries: 0 });
    await expect(client.searchForSeries({ Modality: 'CT' })).rejects.toBeInstanceOf(PacsError);
    expect(pacs.seen[pacs.seen.length - 1]).toMatch(/^Basic /);
    expect(elsewhere.seen).toEqual([]);
  });

  it("the watcher's Orthanc REST calls: the same", async () => {
    const rest = new OrthancRest(pacs.url, auth);
    await expect(rest.call('GET', '/changes?since=0&limit=100')).rejects.toThrow(
      new PacsError(`Orthanc ${pacs.url}/changes?since=0&limit=100: HTTP 307`),
    );
    expect(pacs.seen[pacs.seen.length - 1]).toBe(
      `Basic ${Buffer.from('phaselens:secret').toString('base64')}`,
    );
    expect(elsewhere.seen).toEqual([]);
  });
});
