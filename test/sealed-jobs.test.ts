import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { AnalysisResult, Job } from '../server/src/service/jobs';
import { Queue } from 'bullmq';
import {
  connectionFrom,
  QUEUE_NAME,
  RedisJobQueue,
  startWorker,
} from '../server/src/service/redis-queue';
import { startRedis } from './fixtures/redis';

/** Every string value Redis holds, as redis-cli prints it (keys, hash fields, lists, streams). */
function everythingIn(url: string): string {
  const cli = (...args: string[]): string =>
    execFileSync('redis-cli', ['-u', url, '--raw', ...args], { encoding: 'utf8' });
  return cli('--scan')
    .split('\n')
    .filter(Boolean)
    .map((key) => {
      const type = cli('TYPE', key).trim();
      if (type === 'hash') return cli('HGETALL', key);
      if (type === 'string') return cli('GET', key);
      if (type === 'list') return cli('LRANGE', key, '0', '-1');
      if (type === 'stream') return cli('XRANGE', key, '-', '+');
      if (type === 'zset') return cli('ZRANGE', key, '0', '-1');
      return '';
    })
    .join('\n');
}

describe("the viewer's credentials in a Redis job (pass-through mode)", () => {
  let redis: { url: string; stop(): void };
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.stop());

  const request = {
    studyInstanceUid: '1.2.826.0.1.1',
    seriesInstanceUid: '1.2.826.0.1.2',
    maps: ['sam'],
    writeBack: false,
  };
  const header = `Basic ${Buffer.from('radiologist:s3cret-Pa55').toString('base64')}`;

  /** A worker holding `key` whose analyses record the credentials they were given. */
  const recordingWorker = (name: string, key: Buffer) => {
    const seen: (string | undefined)[] = [];
    const worker = startWorker(
      redis.url,
      async (job: Job) => {
        seen.push(job.authorization);
        return { phase: 'arterial' } as AnalysisResult;
      },
      { concurrency: 1, name, jobKey: key },
    );
    return { worker, seen };
  };

  it('are sealed in Redis, and the worker holding the key gets them back', async () => {
    const key = randomBytes(32);
    const queue = new RedisJobQueue(redis.url, { size: 10, modelVersion: 't', jobKey: key });
    const { worker, seen } = recordingWorker('sealed-test', key);
    try {
      await worker.waitUntilReady();
      await worker.pause();
      const { id } = await queue.submit(request, header);
      const stored = everythingIn(redis.url);
      expect(stored).toContain(id);
      expect(stored).not.toContain(header.split(' ')[1]);
      expect(stored).not.toContain('s3cret');
      worker.resume();
      for (let v = await queue.view(id); v?.state !== 'done'; v = await queue.view(id))
        await new Promise((r) => setTimeout(r, 50));
      expect(seen).toEqual([header]);
    } finally {
      await worker.close();
      await queue.close();
    }
  }, 30_000);

  it('are refused without a key, and a worker without the key fails the job saying so', async () => {
    const keyless = new RedisJobQueue(redis.url, { size: 10, modelVersion: 'u' });
    await expect(keyless.submit(request, header)).rejects.toThrow(/PHASELENS_JOB_KEY/);
    await keyless.close();
    const queue = new RedisJobQueue(redis.url, {
      size: 10,
      modelVersion: 'v',
      jobKey: randomBytes(32),
    });
    const worker = startWorker(redis.url, async () => ({}) as AnalysisResult, {
      concurrency: 1,
      name: 'keyless-worker',
    });
    try {
      const { id } = await queue.submit(request, header);
      let view = await queue.view(id);
      // BullMQ marks the job failed a moment before its reason is readable.
      while (!(view?.state === 'done' || (view?.state === 'failed' && view.error))) {
        await new Promise((r) => setTimeout(r, 50));
        view = await queue.view(id);
      }
      expect(view.state).toBe('failed');
      expect(String(view.error)).toMatch(/PHASELENS_JOB_KEY on the worker/);
    } finally {
      await worker.close();
      await queue.close();
    }
  }, 30_000);

  it('a credential found in clear in a job is refused, never replaced by the service account', async () => {
    const key = randomBytes(32);
    const raw = new Queue(QUEUE_NAME, { connection: connectionFrom(redis.url) });
    const queue = new RedisJobQueue(redis.url, { size: 10, modelVersion: 'w', jobKey: key });
    const { worker, seen } = recordingWorker('clear-text', key);
    try {
      // As an older version queued it, or as anyone with write access to Redis could.
      await raw.add(
        'analysis',
        { request, createdAt: new Date().toISOString(), authorization: header },
        { jobId: '00000000-0000-4000-8000-000000000001' },
      );
      let view = await queue.view('00000000-0000-4000-8000-000000000001');
      while (!(view?.state === 'done' || (view?.state === 'failed' && view.error))) {
        await new Promise((r) => setTimeout(r, 50));
        view = await queue.view('00000000-0000-4000-8000-000000000001');
      }
      expect(view.state).toBe('failed');
      expect(String(view.error)).toMatch(/unsealed/);
      expect(seen).toEqual([]);
    } finally {
      await worker.close();
      await queue.close();
      await raw.close();
    }
  }, 30_000);
});
