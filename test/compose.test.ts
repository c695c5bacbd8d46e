import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { main } from '../server/src/cli/main';
import { viewerAppConfig } from '../server/src/viewer/app-config';

const ROOT = path.resolve(__dirname, '..');

function compose(...args: string[]): { status: number | null; out: string } {
  const run = spawnSync('docker-compose', ['--env-file', '.env.example', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (run.error)
    throw new Error('docker-compose is not installed: apt-get install -y docker-compose');
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

describe('deployment files', () => {
  it('docker-compose.yml is valid and holds Orthanc, the service, the watcher and the viewer', () => {
    expect(compose('config', '-q')).toEqual({ status: 0, out: '' });
    expect(compose('config', '--services').out.trim().split('\n').sort()).toEqual([
      'orthanc',
      'phaselens',
      'redis',
      'viewer',
      'watcher',
      'worker',
    ]);
    // Redis and the workers only with the scale profile.
    const config = compose('config').out;
    for (const service of ['redis', 'worker'])
      expect(config).toMatch(
        new RegExp(`\\n  ${service}:\\n(    .*\\n)*?    profiles:\\n    - scale\\n`),
      );
  });

  it('runs the same commands and configuration the tests run natively', async () => {
    const config = compose('--profile', 'scale', 'config').out;
    // Orthanc: the Debian binary with the project's configuration file, as test/fixtures/orthanc.ts.
    expect(config).toMatch(/\/usr\/sbin\/Orthanc\s*\n\s*- \/etc\/orthanc\/orthanc\.json/);
    expect(config).toMatch(/orthanc-config\/orthanc\.json:\/etc\/orthanc\/orthanc\.json:ro/);
    // The service and the watcher run CLI commands that exist.
    for (const command of ['serve', 'watch', 'worker']) {
      expect(config).toContain(`- ${command}`);
      const out = { write: () => true } as unknown as NodeJS.WritableStream;
      const help: string[] = [];
      await main(
        ['help'],
        { write: (s: string) => help.push(s) } as unknown as NodeJS.WritableStream,
        out,
      );
      expect(help.join('')).toContain(`  ${command}`);
    }
  });

  it('builds the image the way the README says: npm ci --omit=dev from the lockfile, non-root, health-checked', () => {
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20-slim$/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^COPY package\.json package-lock\.json/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/readyz/);
    expect(dockerfile).toMatch(/COPY server\/models server\/models/);
    const orthanc = readFileSync(path.join(ROOT, 'orthanc-config', 'Dockerfile'), 'utf8');
    expect(orthanc).toMatch(
      /apt-get install -y --no-install-recommends orthanc orthanc-dicomweb orthanc-gdcm/,
    );
  });

  it('builds the viewer image from the prebuilt OHIF, the extension bundle and the committed app-config.js', () => {
    const config = compose('config').out;
    expect(config).toMatch(/viewer:\n( {4}.*\n)*? {6}dockerfile: viewer\/Dockerfile/);
    const dockerfile = readFileSync(path.join(ROOT, 'viewer', 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('bash scripts/fetch-ohif.sh');
    expect(dockerfile).toContain('npm run build --workspace extension');
    for (const file of ['app-config.js', 'nginx.conf', '40-phaselens-auth.sh'])
      expect(dockerfile).toContain(`COPY viewer/${file} `);
    // The committed app-config.js is what the generator writes (scripts/viewer-config.ts).
    expect(readFileSync(path.join(ROOT, 'viewer', 'app-config.js'), 'utf8')).toBe(
      viewerAppConfig(),
    );
  });
});
