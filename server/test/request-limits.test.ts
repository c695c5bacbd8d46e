import { statfsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { parseAnalysisRequest } from '../src/service/app';
import { ConfigError, loadConfig } from '../src/service/config';

const env = {
  PHASELENS_PACS_URL: 'http://127.0.0.1:8042/dicom-web',
  PHASELENS_API_TOKEN: 'a-token-of-sixteen-chars',
};
const uids = { studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4' };

/** The problems a configuration is refused with (none: it loads). */
function problemsOf(over: Record<string, string>): string[] {
  try {
    loadConfig({ ...env, ...over });
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
}

describe('what an analysis request may ask for', () => {
  const config = loadConfig(env);

  it.each(['__proto__', 'toString', 'constructor', 'hasOwnProperty'])(
    'a name inherited from Object (%s) is not a map',
    (name) => {
      expect(() => parseAnalysisRequest({ ...uids, maps: [name] }, config)).toThrow(
        new RegExp(`^unknown map\\(s\\): ${name} \\(known:`),
      );
    },
  );

  it('costly maps are refused unless the administrator offers them', () => {
    expect(() => parseAnalysisRequest({ ...uids, maps: ['sam', 'occlusion'] }, config)).toThrow(
      /^map\(s\) not offered by this service: occlusion \(offered: cam, gradcam, saliency, guided, sam\)$/,
    );
    const generous = loadConfig({
      ...env,
      PHASELENS_ALLOWED_MAPS: 'cam,gradcam,saliency,guided,sam,occlusion',
    });
    expect(parseAnalysisRequest({ ...uids, maps: ['occlusion'] }, generous).maps).toEqual([
      'occlusion',
    ]);
  });

  it('at most PHASELENS_MAX_MAPS maps a request (5 by default)', () => {
    const six = ['cam', 'gradcam', 'saliency', 'guided', 'sam', 'sam'];
    expect(() => parseAnalysisRequest({ ...uids, maps: six }, config)).toThrow(
      /^maps must be an array of at most 5 method names$/,
    );
    const one = loadConfig({ ...env, PHASELENS_MAX_MAPS: '1' });
    expect(() => parseAnalysisRequest({ ...uids, maps: ['cam', 'sam'] }, one)).toThrow(
      /at most 1 method names/,
    );
  });

  it('a typo in PHASELENS_WATCH_MAPS stops the configuration at start, one line per problem', () => {
    let error: unknown;
    try {
      loadConfig({
        ...env,
        PHASELENS_WATCH_MAPS: 'sam,saliencyy',
        PHASELENS_DEFAULT_MAPS: 'occlusion',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'PHASELENS_WATCH_MAPS: unknown map "saliencyy" (known: cam, gradcam, saliency, guided, sam, integrated-gradients, smoothgrad, occlusion)',
      'PHASELENS_DEFAULT_MAPS: "occlusion" is not in PHASELENS_ALLOWED_MAPS',
    ]);
  });

  it('credentials inside a PACS URL are refused without being echoed', () => {
    let error: unknown;
    try {
      loadConfig({ ...env, PHASELENS_PACS_URL: 'http://admin:s3cret@127.0.0.1:8042/dicom-web' });
    } catch (e) {
      error = e;
    }
    expect((error as ConfigError).problems).toEqual([
      'PHASELENS_PACS_URL: holds credentials; give them in PHASELENS_PACS_USER and PHASELENS_PACS_PASSWORD (or PHASELENS_PACS_TOKEN) instead',
    ]);
    expect((error as Error).message).not.toContain('s3cret');
  });
});

describe('the device serial number the Parametric Maps carry', () => {
  it("is the host's name unless configured, and what the configuration says otherwise", () => {
    expect(loadConfig(env).output.deviceSerialNumber).toBe(hostname().slice(0, 64));
    expect(
      loadConfig({ ...env, PHASELENS_DEVICE_SERIAL_NUMBER: 'radiology-ct-7' }).output
        .deviceSerialNumber,
    ).toBe('radiology-ct-7');
  });

  it.each([
    [
      'a\\b',
      'PHASELENS_DEVICE_SERIAL_NUMBER: it may hold printable ASCII only (no backslash, control or non-ASCII character)',
    ],
    [
      'Köln-CT',
      'PHASELENS_DEVICE_SERIAL_NUMBER: it may hold printable ASCII only (no backslash, control or non-ASCII character)',
    ],
    [
      'a\u0085b',
      'PHASELENS_DEVICE_SERIAL_NUMBER: it may hold printable ASCII only (no backslash, control or non-ASCII character)',
    ],
    ['x'.repeat(65), 'PHASELENS_DEVICE_SERIAL_NUMBER: it has 65 characters; DICOM allows 64'],
    ['   ', 'PHASELENS_DEVICE_SERIAL_NUMBER: it is empty'],
  ])('%j is refused at start with one line', (value, problem) => {
    expect(problemsOf({ PHASELENS_DEVICE_SERIAL_NUMBER: value })).toEqual([problem]);
  });
});

describe('where analyses keep a long series (scratch space)', () => {
  it('defaults to the system temporary folder and 16 GB an analysis', () => {
    const config = loadConfig(env);
    expect(config.scratch).toEqual({ dir: tmpdir(), mb: 16384 });
  });

  it.each([
    ['/nonexistent-phaselens-scratch', 'does not exist'],
    [__filename, 'is not a folder'],
  ])('refuses %s at start with one line', (dir, what) => {
    expect(problemsOf({ PHASELENS_SCRATCH_DIR: dir })).toEqual([
      `PHASELENS_SCRATCH_DIR: ${dir} ${what}`,
    ]);
  });

  it('names the default when the system temporary folder is missing', () => {
    expect(() => loadConfig({ ...env, TMPDIR: '/nonexistent-phaselens-tmp' })).toThrow(
      'PHASELENS_SCRATCH_DIR: not set, and the default /nonexistent-phaselens-tmp does not exist',
    );
  });

  // /dev/shm is a tmpfs on Linux (Debian mounts it so): a scratch folder in memory would put a
  // long series back in RAM.
  it('refuses a scratch folder in memory (tmpfs) when set, and warns when it is the default', () => {
    expect(statfsSync('/dev/shm').type).toBe(0x01021994);
    expect(() => loadConfig({ ...env, PHASELENS_SCRATCH_DIR: '/dev/shm' })).toThrow(
      'PHASELENS_SCRATCH_DIR: /dev/shm is in memory (tmpfs)',
    );
    expect(loadConfig({ ...env, TMPDIR: '/dev/shm/' }).warnings).toEqual([
      "PHASELENS_SCRATCH_DIR: not set, and the default /dev/shm is in memory (tmpfs): a long series' HU and maps would take RAM; set a folder on disk",
    ]);
    expect(loadConfig({ ...env, PHASELENS_SCRATCH_DIR: __dirname }).warnings).toEqual([]);
  });

  it('refuses a scratch limit below 64 MB', () => {
    expect(() => loadConfig({ ...env, PHASELENS_SCRATCH_MB: '10' })).toThrow(
      /PHASELENS_SCRATCH_MB/,
    );
  });
});
