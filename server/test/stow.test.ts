import net from 'node:net';
import { DicomWebClient } from '../src/dicomweb/client';
import type { StowInstance } from '../src/dicomweb/stow';
import { PacsAuthError } from '../src/errors';

/** An instance of `mb` megabytes made 64 KiB at a time (more than any socket buffer holds). */
function large(mb: number, fail?: Error): StowInstance {
  const chunk = new Uint8Array(64 * 1024);
  const count = mb * 16;
  return {
    byteLength: count * chunk.byteLength,
    *chunks() {
      for (let i = 0; i < count; i++) {
        if (fail && i === 2) throw fail;
        yield chunk;
      }
    },
  };
}

/** A server that answers every request at once with `status`, keeps the connection, reads nothing. */
async function answeringAtOnce(status: number): Promise<{ url: string; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.pause(); // never reads the body: the client's writes back up
    socket.write(
      `HTTP/1.1 ${status} No\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nno`,
    );
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/dicom-web`,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('STOW-RS streamed over Node sockets', () => {
  it('a PACS that refuses before reading the body frees the connection: later requests are answered too', async () => {
    const pacs = await answeringAtOnce(401);
    try {
      const client = new DicomWebClient({ url: pacs.url, retries: 0, timeoutMs: 3000 });
      // More requests than the pool has sockets (4): a socket left mid-body would hang the fifth.
      for (let i = 0; i < 6; i++)
        await expect(client.storeInstances([large(8)])).rejects.toThrow(PacsAuthError);
    } finally {
      pacs.close();
    }
  }, 30000);

  it("a failure to make the body is reported as the writer's error, not the PACS's, and not retried", async () => {
    const pacs = await answeringAtOnce(200);
    try {
      const client = new DicomWebClient({ url: pacs.url, retries: 3, timeoutMs: 3000 });
      const started = Date.now();
      await expect(
        client.storeInstances([large(1, new Error('frame 3 could not be made'))]),
      ).rejects.toThrow(/^frame 3 could not be made$/);
      expect(Date.now() - started).toBeLessThan(1000); // no backoff between retries
    } finally {
      pacs.close();
    }
  });
});
