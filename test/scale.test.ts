import { spawn, type ChildProcess } from 'node:child_process';
import { buffersOf } from './fixtures/files';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startOrthanc, type OrthancServer } from './fixtures/orthanc';
import { DicomWebClient } from '../server/src/dicomweb/client';
import { loadPhaseModel } from '../server/src/model/inference/phase-model';
import { generateCase } from '../server/src/phantom/render';
import { writeCtSeries } from '../server/src/series/write-ct';
import { RedisJobQueue } from '../server/src/service/redis-queue';
import { startRedis } from './fixtures/redis';

const ROOT = path.resolve(__dirname, '..');

interface WorkerProcess {
  child: ChildProcess;
  started: string[];
  done: string[];
}

function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  // One process (node --import tsx), so that killing it kills the worker itself.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'server/src/cli/entry.ts'), 'worker'],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const w: WorkerProcess = { child, started: [], done: [] };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker did not start')), 60000);
    let buffer = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      let cut: number;
      while ((cut = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 1);
        if (line.includes('taking analyses')) {
          clearTimeout(timer);
          resolve(w);
        }
        if (line.startsWith('{')) {
          const entry = JSON.parse(line) as { message: string; analysisId?: string };
          if (entry.message === 'analysis started' && entry.analysisId)
            w.started.push(entry.analysisId);
          if (entry.message === 'analysis done' && entry.analysisId) w.done.push(entry.analysisId);
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
}

describe('scale-out: worker processes sharing the Redis queue', () => {
  let orthanc: OrthancServer;
  let redis: { url: string; stop(): void };
  const uids: { study: string; series: string }[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    orthanc = await startOrthanc();
    const pacs = new DicomWebClient({
      url: orthanc.dicomWeb,
      auth: { username: orthanc.username, password: orthanc.password },
    });
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-scale-'));
    for (let i = 0; i < 5; i++) {
      // Big enough that an analysis outlasts the kill below (about a second each): with small
      // series a worker could finish its job between being seen to start it and the SIGKILL.
      const c = await generateCase('scale', i, { matrix: 256, slices: 48 });
      const dir = path.join(work, String(i));
      const files = await writeCtSeries(c.series, dir);
      await pacs.storeInstances(await buffersOf(files));
      uids.push({ study: c.series.studyInstanceUid, series: c.series.seriesInstanceUid });
    }
  }, 120_000);

  afterAll(async () => {
    redis?.stop();
    await orthanc?.stop();
  });

  it('two workers share 10 jobs; a worker killed mid-job has its job finished by the other', async () => {
    const env = {
      REDIS_URL: redis.url,
      PHASELENS_PACS_URL: orthanc.dicomWeb,
      PHASELENS_PACS_USER: orthanc.username,
      PHASELENS_PACS_PASSWORD: orthanc.password,
      PHASELENS_WORKER_LOCK_MS: '3000',
    };
    const [a, b] = await Promise.all([startWorkerProcess(env), startWorkerProcess(env)]);
    const model = await loadPhaseModel();
    const queue = new RedisJobQueue(redis.url, { size: 100, modelVersion: model.metadata.version });
    try {
      const ids: string[] = [];
      for (const u of uids)
        for (const maps of [['sam'], ['gradcam']])
          ids.push(
            (
              await queue.submit({
                studyInstanceUid: u.study,
                seriesInstanceUid: u.series,
                maps,
                writeBack: false,
              })
            ).id,
          );
      expect(new Set(ids).size).toBe(10);
      // Kill worker A hard as soon as it holds a job.
      const deadline = Date.now() + 60000;
      while (a.started.length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      const orphan = a.started[a.started.length - 1];
      a.child.kill('SIGKILL');
      expect(orphan).toBeDefined();
      // Every job ends done; none failed; the orphan was finished by worker B.
      const until = Date.now() + 150000;
      let views = await Promise.all(ids.map((id) => queue.view(id)));
      while (
        views.some((v) => v?.state !== 'done' && v?.state !== 'failed') &&
        Date.now() < until
      ) {
        await new Promise((r) => setTimeout(r, 250));
        views = await Promise.all(ids.map((id) => queue.view(id)));
      }
      expect(views.map((v) => v?.state)).toEqual(ids.map(() => 'done'));
      // A worker logs "analysis done" after the queue marks the job done: give the last log
      // lines a moment to arrive through the pipe before counting them.
      const logged = Date.now() + 10000;
      while (a.done.length + b.done.length < 10 && Date.now() < logged)
        await new Promise((r) => setTimeout(r, 50));
      expect(a.done).not.toContain(orphan);
      expect(b.done).toContain(orphan);
      expect(a.done.length + b.done.length).toBe(10);
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGTERM');
      await queue.close();
    }
  }, 240_000);
});
