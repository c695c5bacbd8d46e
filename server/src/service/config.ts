import { accessSync, constants, existsSync, readFileSync, statfsSync, statSync } from 'node:fs';
import os from 'node:os';
import { DEFAULT_SCRATCH_MB, type ScratchSettings } from '../util/planes';
import { parseJobKey } from './sealed';
import { InvalidInputError } from '../errors';
import { mapNamesFrom, PAPER_METHODS } from '../attribution/index';
import {
  defaultDeviceSerialNumber,
  deviceSerialNumberProblem,
  type OutputSettings,
} from '../derived/output-settings';

export type AuthMode = 'token' | 'basic' | 'passthrough' | 'none';

/** Everything the service needs, validated once at start. */
export interface ServiceConfig {
  port: number;
  host: string;
  /** DICOMweb root of the PACS, e.g. http://orthanc:8042/dicom-web */
  pacsUrl: string;
  /** The service's own PACS credentials (unless the viewer's are passed through). */
  pacsAuth?: { username: string; password: string } | { token: string };
  /** Orthanc REST root, for series user metadata and the /changes feed (the watcher). */
  orthancUrl?: string;
  auth: AuthMode;
  apiToken?: string;
  apiUser?: { username: string; password: string };
  corsOrigins: string[];
  defaultMaps: string[];
  /** The maps clients may ask for (the costly ones only when an administrator adds them). */
  allowedMaps: string[];
  /** The most maps one request may ask for. */
  maxMapsPerRequest: number;
  /** Maps the watcher writes for every new series (none: the phase report only). */
  watchMaps: string[];
  writeBack: boolean;
  concurrency: number;
  /**
   * The memory (MB) one analysis may use: a series that would need more (estimated from its
   * headers, for the maps asked) is refused before its pixels are read. It is also the V8 heap
   * limit of each analysis process; pixel arrays and WebAssembly memory live outside that heap,
   * so the estimate is the bound, and an analysis the kernel still kills fails only its job.
   */
  analysisMemoryMb: number;
  /**
   * Where each analysis keeps its series' HU and maps while it runs (files with no name, gone
   * when it ends), and the most one analysis may keep there: a series that needs more, or more
   * than the disk has free, is refused before its pixels are read.
   */
  scratch: ScratchSettings;
  /** What the configuration allows but an administrator should hear of (logged at start). */
  warnings: string[];
  queueSize: number;
  modelDir?: string;
  /** Request body limit in bytes. */
  bodyLimit: number;
  /** With Redis, jobs go to a shared queue that `phaselens worker` processes run. */
  redisUrl?: string;
  /** Seals the viewer's credentials in Redis jobs (pass-through mode); workers need the same. */
  jobKey?: Buffer;
  /** How derived objects are written: Parametric Map pixels, the device serial number. */
  output: Required<OutputSettings>;
}

export class ConfigError extends InvalidInputError {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

type Env = Record<string, string | undefined>;

/** A setting by its environment name, or its key in the PHASELENS_CONFIG file. */
type Setting = (name: string, key: string) => string | undefined;

/** Where settings come from: the environment, then the PHASELENS_CONFIG file; '' is unset. */
function configSource(env: Env): { get: Setting; problems: string[] } {
  const problems: string[] = [];
  let file: Record<string, unknown> = {};
  if (env.PHASELENS_CONFIG) {
    if (!existsSync(env.PHASELENS_CONFIG))
      problems.push(`PHASELENS_CONFIG: ${env.PHASELENS_CONFIG} does not exist`);
    else {
      try {
        file = JSON.parse(readFileSync(env.PHASELENS_CONFIG, 'utf8')) as Record<string, unknown>;
      } catch (error) {
        problems.push(
          `PHASELENS_CONFIG: ${env.PHASELENS_CONFIG} is not valid JSON (${(error as Error).message})`,
        );
      }
    }
  }
  const get: Setting = (name, key) => {
    const v = env[name] ?? file[key];
    return v === undefined || v === null || v === '' ? undefined : String(v);
  };
  return { get, problems };
}

/** Filesystems that keep files in memory (statfs f_type: tmpfs, ramfs). */
const IN_MEMORY_FILESYSTEMS = new Set([0x01021994, 0x858458f6]);

/**
 * The scratch folder: one this process may write in, on disk. A folder in memory (tmpfs) would
 * put the series back in RAM where no budget sees it: refused when set, a warning when it is
 * the system's temporary folder by default.
 */
function scratchDir(
  set: string | undefined,
  env: Env,
  problems: string[],
  warnings: string[],
): { dir: string } {
  // os.tmpdir() of the environment given (the process's, unless a test gives another).
  const dir = set ?? (env.TMPDIR ? env.TMPDIR.replace(/(.)\/+$/, '$1') : os.tmpdir());
  const name = set === undefined ? `not set, and the default ${dir}` : dir;
  try {
    if (!statSync(dir).isDirectory()) {
      problems.push(`PHASELENS_SCRATCH_DIR: ${name} is not a folder`);
      return { dir };
    }
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    problems.push(
      `PHASELENS_SCRATCH_DIR: ${name} ${code === 'ENOENT' ? 'does not exist' : 'is not writable'}`,
    );
    return { dir };
  }
  if (IN_MEMORY_FILESYSTEMS.has(statfsSync(dir).type)) {
    const line = `${name} is in memory (tmpfs): a long series' HU and maps would take RAM; set a folder on disk`;
    if (set === undefined) warnings.push(`PHASELENS_SCRATCH_DIR: ${line}`);
    else problems.push(`PHASELENS_SCRATCH_DIR: ${line}`);
  }
  return { dir };
}

/** How derived objects are written, read the same by the service and by the CLI. */
function outputSettingsFrom(get: Setting, problems: string[]): Required<OutputSettings> {
  // float32 by default: OHIF draws only 32-bit Parametric Maps right (16-bit ones wash out).
  const format = get('PHASELENS_MAP_FORMAT', 'mapFormat') ?? 'float32';
  if (format !== 'uint16' && format !== 'float32')
    problems.push(`PHASELENS_MAP_FORMAT: expected uint16 or float32, got "${format}"`);
  const deviceSerialNumber =
    get('PHASELENS_DEVICE_SERIAL_NUMBER', 'deviceSerialNumber') ?? defaultDeviceSerialNumber();
  const serialProblem = deviceSerialNumberProblem(deviceSerialNumber);
  if (serialProblem) problems.push(`PHASELENS_DEVICE_SERIAL_NUMBER: ${serialProblem}`);
  return { format: format === 'uint16' ? 'uint16' : 'float32', deviceSerialNumber };
}

/** The output settings alone (for `phaselens explain`): the same sources and checks as the service. */
export function loadOutputSettings(env: Env = process.env): Required<OutputSettings> {
  const { get, problems } = configSource(env);
  const output = outputSettingsFrom(get, problems);
  if (problems.length) throw new ConfigError(problems);
  return output;
}

/**
 * Reads the configuration from environment variables (PHASELENS_*), with an optional JSON file
 * (PHASELENS_CONFIG) for defaults; the environment wins. Every problem gets one line, all at
 * once, so an administrator fixes the file in one go.
 */
export function loadConfig(env: Env = process.env): ServiceConfig {
  const { get, problems } = configSource(env);
  const int = (name: string, key: string, fallback: number, min: number, max: number): number => {
    const v = get(name, key);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}: expected a whole number from ${min} to ${max}, got "${v}"`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, key: string, fallback: boolean): boolean => {
    const v = get(name, key);
    if (v === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(v)) return true;
    if (/^(0|false|no|off)$/i.test(v)) return false;
    problems.push(`${name}: expected true or false, got "${v}"`);
    return fallback;
  };
  const url = (name: string, key: string, required: boolean): string | undefined => {
    const v = get(name, key);
    if (v === undefined) {
      if (required)
        problems.push(
          `${name}: required (the PACS DICOMweb root, e.g. http://orthanc:8042/dicom-web)`,
        );
      return undefined;
    }
    let u: URL;
    try {
      u = new URL(v);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
    } catch {
      problems.push(`${name}: not an http(s) URL: "${v.replace(/\/\/[^@/]*@/, '//***@')}"`);
      return undefined;
    }
    // Credentials in a URL end up in error messages and logs; they have settings of their own.
    if (u.username || u.password) {
      problems.push(
        `${name}: holds credentials; give them in PHASELENS_PACS_USER and PHASELENS_PACS_PASSWORD (or PHASELENS_PACS_TOKEN) instead`,
      );
      return undefined;
    }
    return v.replace(/\/+$/, '');
  };

  const pacsUrl = url('PHASELENS_PACS_URL', 'pacsUrl', true) ?? '';
  const orthancUrl = url('PHASELENS_ORTHANC_URL', 'orthancUrl', false);
  const pacsToken = get('PHASELENS_PACS_TOKEN', 'pacsToken');
  const pacsUser = get('PHASELENS_PACS_USER', 'pacsUser');
  const pacsPassword = get('PHASELENS_PACS_PASSWORD', 'pacsPassword');
  if ((pacsUser === undefined) !== (pacsPassword === undefined))
    problems.push('PHASELENS_PACS_USER and PHASELENS_PACS_PASSWORD: give both or neither');
  const pacsAuth = pacsToken
    ? { token: pacsToken }
    : pacsUser && pacsPassword
      ? { username: pacsUser, password: pacsPassword }
      : undefined;

  const auth = (get('PHASELENS_AUTH', 'auth') ?? 'token') as AuthMode;
  if (!['token', 'basic', 'passthrough', 'none'].includes(auth))
    problems.push(`PHASELENS_AUTH: expected token, basic, passthrough or none, got "${auth}"`);
  const apiToken = get('PHASELENS_API_TOKEN', 'apiToken');
  const apiUserName = get('PHASELENS_API_USER', 'apiUser');
  const apiPassword = get('PHASELENS_API_PASSWORD', 'apiPassword');
  if (auth === 'token' && !apiToken)
    problems.push(
      'PHASELENS_API_TOKEN: required with PHASELENS_AUTH=token (the bearer token clients send)',
    );
  if (auth === 'token' && apiToken && apiToken.length < 16)
    problems.push('PHASELENS_API_TOKEN: use at least 16 characters');
  if (auth === 'basic' && !(apiUserName && apiPassword))
    problems.push(
      'PHASELENS_API_USER and PHASELENS_API_PASSWORD: required with PHASELENS_AUTH=basic',
    );
  const host = get('PHASELENS_HOST', 'host') ?? (auth === 'none' ? '127.0.0.1' : '0.0.0.0');
  if (auth === 'none' && !['127.0.0.1', 'localhost', '::1'].includes(host))
    problems.push(
      `PHASELENS_HOST: without authentication the service binds to loopback only, not "${host}"`,
    );
  if (auth === 'none' && !bool('PHASELENS_ALLOW_NO_AUTH', 'allowNoAuth', false))
    problems.push(
      'PHASELENS_AUTH=none: also set PHASELENS_ALLOW_NO_AUTH=true to run without authentication',
    );

  const listed = (variable: string, key: string, fallback: string): string[] => {
    const { names, problems: unknown } = mapNamesFrom(get(variable, key) ?? fallback, variable);
    problems.push(...unknown);
    return names;
  };
  // One map unless asked: SAM, the paper's map and the one the viewer shows first. Each further
  // map is another Secondary Capture and Parametric Map series to compute and store.
  const maps = listed('PHASELENS_DEFAULT_MAPS', 'defaultMaps', 'sam');
  // Integrated gradients, SmoothGrad and occlusion cost 16 to 100 inferences a slice: opt-in.
  const allowedMaps = listed('PHASELENS_ALLOWED_MAPS', 'allowedMaps', PAPER_METHODS.join(','));
  const watchMaps = listed('PHASELENS_WATCH_MAPS', 'watchMaps', '');
  for (const m of maps)
    if (!allowedMaps.includes(m))
      problems.push(`PHASELENS_DEFAULT_MAPS: "${m}" is not in PHASELENS_ALLOWED_MAPS`);
  const corsOrigins = (get('PHASELENS_CORS_ORIGINS', 'corsOrigins') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const o of corsOrigins) {
    if (!/^https?:\/\/[^/]+$/.test(o))
      problems.push(`PHASELENS_CORS_ORIGINS: "${o}" is not an origin (scheme://host[:port])`);
  }
  const output = outputSettingsFrom(get, problems);
  const redis = get('REDIS_URL', 'redisUrl');
  if (redis !== undefined && !/^rediss?:\/\/[^/]+/.test(redis))
    problems.push(
      `REDIS_URL: expected redis://host:port, got "${redis.replace(/\/\/[^@]*@/, '//***@')}"`,
    );
  const jobKeyText = get('PHASELENS_JOB_KEY', 'jobKey');
  const jobKey = jobKeyText === undefined ? undefined : parseJobKey(jobKeyText);
  if (jobKeyText !== undefined && !jobKey)
    problems.push('PHASELENS_JOB_KEY: expected 32 bytes as 64 hex digits (openssl rand -hex 32)');
  if (redis !== undefined && auth === 'passthrough' && jobKeyText === undefined)
    problems.push(
      "PHASELENS_JOB_KEY is required with REDIS_URL in passthrough mode: the viewer's credentials are sealed with it in Redis (openssl rand -hex 32; the workers need the same key)",
    );
  const warnings: string[] = [];
  const config: ServiceConfig = {
    port: int('PHASELENS_PORT', 'port', 3000, 0, 65535),
    host,
    pacsUrl,
    pacsAuth,
    orthancUrl,
    auth,
    apiToken,
    apiUser:
      apiUserName && apiPassword ? { username: apiUserName, password: apiPassword } : undefined,
    corsOrigins,
    defaultMaps: maps,
    allowedMaps,
    maxMapsPerRequest: int('PHASELENS_MAX_MAPS', 'maxMapsPerRequest', 5, 1, 8),
    watchMaps,
    writeBack: bool('PHASELENS_WRITE_BACK', 'writeBack', true),
    concurrency: int('PHASELENS_CONCURRENCY', 'concurrency', 1, 1, 64),
    analysisMemoryMb: int('PHASELENS_ANALYSIS_MEMORY_MB', 'analysisMemoryMb', 8192, 512, 262144),
    scratch: {
      ...scratchDir(get('PHASELENS_SCRATCH_DIR', 'scratchDir'), env, problems, warnings),
      mb: int('PHASELENS_SCRATCH_MB', 'scratchMb', DEFAULT_SCRATCH_MB, 64, 16777216),
    },
    warnings,
    queueSize: int('PHASELENS_QUEUE_SIZE', 'queueSize', 100, 1, 100000),
    modelDir: get('PHASELENS_MODEL_DIR', 'modelDir'),
    bodyLimit: int('PHASELENS_BODY_LIMIT', 'bodyLimit', 16384, 256, 1048576),
    redisUrl: redis,
    jobKey,
    output,
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}
