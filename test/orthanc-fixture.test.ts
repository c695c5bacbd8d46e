import { existsSync } from 'node:fs';
import { startOrthanc } from './fixtures/orthanc';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the Orthanc test fixture', () => {
  it('says in one line how to install Orthanc when it is missing', async () => {
    const attempt = startOrthanc({}, '/nonexistent/Orthanc');
    await expect(attempt).rejects.toThrow(
      'Orthanc is not installed (/nonexistent/Orthanc missing): apt-get install -y orthanc orthanc-dicomweb orthanc-gdcm',
    );
  });

  it('starts Orthanc on loopback with authentication on and DICOMweb loaded, and stops it by PID', async () => {
    const orthanc = await startOrthanc();
    try {
      expect(orthanc.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${orthanc.url}/system`)).status).toBe(401);
      const system = (await (await orthanc.rest('GET', '/system')).json()) as { Version: string };
      expect(system.Version).toMatch(/^1\./);
      const plugins = (await (await orthanc.rest('GET', '/plugins')).json()) as string[];
      expect(plugins).toEqual(expect.arrayContaining(['dicom-web', 'gdcm']));
      expect(alive(orthanc.pid)).toBe(true);
    } finally {
      await orthanc.stop();
    }
    expect(alive(orthanc.pid)).toBe(false);
    expect(existsSync(orthanc.storage)).toBe(false);
  });
});
