/**
 * Scale-out throughput: the same 10 analyses through the Redis queue with one `phaselens worker`
 * process, then with two, on this machine (2 cores shared with Orthanc and Redis). Reported, not
 * a goal: the gain is bounded by the cores.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { DicomWebClient } from '../server/src/dicomweb/client';
import { loadPhaseModel } from '../server/src/model/inference/phase-model';
import { generateCase } from '../server/src/phantom/render';
import { writeCtSeries } from '../server/src/series/write-ct';
import { RedisJobQueue } from '../server/src/service/redis-queue';
import { buffersOf } from '../test/fixtures/files';
import { freePort, startOrthanc } from '../test/fixtures/orthanc';
import { writeResult } from './common';
import os from 'node:os';
import { promises as fs } from 'node:fs';

const ROOT = path.resolve(__dirname, '..');

function startProcess(
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: string,
): Promise<ChildProcess> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start`)), 60000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes(ready)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const port = await freePort();
  const redis = await startProcess(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {},
    'Ready to accept connections',
  );
  const orthanc = await startOrthanc();
  const auth = { username: orthanc.username, password: orthanc.password };
  const pacs = new DicomWebClient({ url: orthanc.dicomWeb, auth });
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-scale-bench-'));
  const series: { study: string; series: string }[] = [];
  for (let i = 0; i < 10; i++) {
    const c = await generateCase('scale-bench', i, { matrix: 192, slices: 40 });
    await pacs.storeInstances(
      await buffersOf(await writeCtSeries(c.series, path.join(work, String(i)))),
    );
    series.push({ study: c.series.studyInstanceUid, series: c.series.seriesInstanceUid });
  }
  const url = `redis://127.0.0.1:${port}`;
  const env = {
    REDIS_URL: url,
    PHASELENS_PACS_URL: orthanc.dicomWeb,
    PHASELENS_PACS_USER: auth.username,
    PHASELENS_PACS_PASSWORD: auth.password,
  };
  const model = await loadPhaseModel();
  const queue = new RedisJobQueue(url, { size: 100, modelVersion: model.metadata.version });
  const entry = path.join(ROOT, 'server/src/cli/entry.ts');
  const measure = async (workers: number, maps: string[]): Promise<number> => {
    const procs = await Promise.all(
      Array.from({ length: workers }, () =>
        startProcess(
          process.execPath,
          ['--import', 'tsx', entry, 'worker'],
          env,
          'taking analyses',
        ),
      ),
    );
    const t0 = Date.now();
    for (const s of series)
      await queue.submit({
        studyInstanceUid: s.study,
        seriesInstanceUid: s.series,
        maps,
        writeBack: false,
      });
    await queue.idle();
    const ms = Date.now() - t0;
    for (const p of procs) p.kill('SIGTERM');
    return ms;
  };
  // The same analyses both times (finished jobs with the same key are replaced, not joined).
  const one = await measure(1, ['sam']);
  const two = await measure(2, ['sam']);
  await queue.close();
  redis.kill('SIGKILL');
  await orthanc.stop();
  const result = {
    analyses: series.length,
    oneWorker: { ms: one, seriesPerMinute: (series.length / one) * 60000 },
    twoWorkers: { ms: two, seriesPerMinute: (series.length / two) * 60000 },
    speedup: one / two,
    cores: os.cpus().length,
  };
  const file = await writeResult('scale-out', result);
  console.log(JSON.stringify(result), '->', file);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
