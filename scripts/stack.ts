/**
 * The whole system on one machine without Docker: Orthanc (Debian package, the project's
 * orthanc-config/orthanc.json), the PhaseLens service and the watcher, the OHIF viewer with the
 * PhaseLens extension (after scripts/fetch-ohif.sh), then a demo study stored in Orthanc for the
 * watcher to tag. Prints where everything is; Ctrl-C stops it all.
 *   npm run stack
 */
import { randomBytes } from 'node:crypto';
import { buffersOf } from '../test/fixtures/files';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startOrthanc } from '../test/fixtures/orthanc';
import { DicomWebClient } from '../server/src/dicomweb/client';
import { selectBackend } from '../server/src/model/inference/backend';
import { loadPhaseModel } from '../server/src/model/inference/phase-model';
import { generateCase } from '../server/src/phantom/render';
import { loadConfig } from '../server/src/service/config';
import { jsonLogger } from '../server/src/service/log';
import { startService } from '../server/src/service/server';
import { watchOrthanc } from '../server/src/service/watcher';
import { writeCtSeries } from '../server/src/series/write-ct';
import { createViewerHost } from '../server/src/viewer/host';
import type { Server } from 'node:http';

async function main(): Promise<void> {
  const orthanc = await startOrthanc({ StableAge: 2 });
  const token = randomBytes(18).toString('base64url');
  const config = loadConfig({
    ...process.env,
    PHASELENS_PACS_URL: orthanc.dicomWeb,
    PHASELENS_ORTHANC_URL: orthanc.url,
    PHASELENS_PACS_USER: orthanc.username,
    PHASELENS_PACS_PASSWORD: orthanc.password,
    PHASELENS_API_TOKEN: process.env.PHASELENS_API_TOKEN ?? token,
    PHASELENS_HOST: '127.0.0.1',
    PHASELENS_PORT: process.env.PHASELENS_PORT ?? '3000',
  });
  const log = jsonLogger((line) => process.stderr.write(line));
  const service = await startService(config, log);
  await selectBackend(() => undefined);
  const model = await loadPhaseModel(config.modelDir);
  const controller = new AbortController();
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-stack-'));
  const watcher = watchOrthanc(
    {
      orthancUrl: orthanc.url,
      pacsUrl: orthanc.dicomWeb,
      auth: config.pacsAuth,
      cursorFile: path.join(work, 'watch-cursor.json'),
      maps: [],
      output: config.output,
      signal: controller.signal,
    },
    model,
    log,
  );
  // The demo study: one synthetic portal-venous series, which the watcher tags.
  const c = await generateCase('stack-demo', 0, { phase: 'portal-venous', matrix: 256 });
  const dir = path.join(work, 'demo');
  const files = await writeCtSeries(c.series, dir);
  const client = new DicomWebClient({ url: orthanc.dicomWeb, auth: config.pacsAuth });
  await client.storeInstances(await buffersOf(files));
  // The viewer on its own port, the PACS and the service behind it (as in compose).
  const root = path.join(__dirname, '..');
  let viewer: Server | undefined;
  let viewerLine =
    '  Viewer        not running: bash scripts/fetch-ohif.sh && npm run build -w extension';
  try {
    const app = createViewerHost({
      ohifDir: path.join(root, 'viewer', 'ohif'),
      extensionDir: path.join(root, 'extension', 'dist'),
      pacsUrl: orthanc.dicomWeb,
      pacsAuthorization: `Basic ${Buffer.from(`${orthanc.username}:${orthanc.password}`).toString('base64')}`,
      serviceUrl: service.url,
      serviceAuthorization: `Bearer ${config.apiToken}`,
    });
    const port = Number(process.env.PHASELENS_VIEWER_PORT ?? 3001);
    viewer = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    viewerLine = `  Viewer        http://127.0.0.1:${port}/viewer?StudyInstanceUIDs=${c.series.studyInstanceUid}`;
  } catch (error) {
    viewerLine += ` (${error instanceof Error ? error.message : String(error)})`;
  }
  process.stdout.write(
    [
      '',
      'PhaseLens stack running (Ctrl-C stops it):',
      `  Orthanc       ${orthanc.url}/app/explorer.html   user ${orthanc.username}  password ${orthanc.password}`,
      `  DICOMweb      ${orthanc.dicomWeb}`,
      `  Service       ${service.url}   (Authorization: Bearer ${config.apiToken})`,
      `  Demo series   ${c.series.seriesInstanceUid} (portal-venous); the watcher tags it in a few seconds:`,
      `                curl -H 'Authorization: Bearer ${config.apiToken}' ${service.url}/api/v1/series/${c.series.seriesInstanceUid}/phase`,
      viewerLine,
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  controller.abort();
  viewer?.closeAllConnections();
  viewer?.close();
  await watcher;
  await service.close();
  await orthanc.stop();
  await fs.rm(work, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
