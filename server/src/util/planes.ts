import {
  closeSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  statfsSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ScratchSpaceError, SeriesTooLargeError } from '../errors';

/** The element types planes are kept in: 16-bit HU, float HU and maps. */
export type PlaneArray = Int16Array | Float32Array;
type PlaneConstructor<T extends PlaneArray> = {
  new (length: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

/**
 * A stack of equal-sized planes (a series' slices, a map's slices) kept in a region of its
 * analysis's scratch file rather than in memory, so that what a long series needs grows on disk
 * while the process's memory stays flat. Made by ScratchSpace.planes; closed with its space.
 */
export class ScratchPlanes<T extends PlaneArray> {
  readonly length: number;
  private readonly planeBytes: number;
  /** Which planes were written: reading another is a fault, never a plane of zeros. */
  private readonly written: Uint8Array;

  constructor(
    private readonly type: PlaneConstructor<T>,
    readonly planes: number,
    readonly planeLength: number,
    private readonly file: ScratchFile,
    /** Where the stack starts in the file (bytes). */
    private readonly base: number,
  ) {
    this.length = planes * planeLength;
    this.planeBytes = planeLength * type.BYTES_PER_ELEMENT;
    this.written = new Uint8Array(planes);
  }

  /**
   * Stores `values` as plane `index` and on (whole planes: several consecutive ones at once);
   * a copy, so `values` may be reused at once.
   */
  write(index: number, values: PlaneArray): void {
    if (!(values instanceof this.type))
      throw new TypeError(`planes of ${this.type.name} written with ${values.constructor.name}`);
    const count = values.length / this.planeLength;
    this.check(index, Number.isInteger(count) && count > 0 ? this.planeLength : values.length);
    this.check(index + count - 1, this.planeLength);
    const bytes = new Uint8Array(values.buffer, values.byteOffset, count * this.planeBytes);
    this.file.write(bytes, this.base + index * this.planeBytes);
    this.written.fill(1, index, index + count);
  }

  /** Plane `index`, read now into a fresh array. */
  read(index: number): T {
    this.check(index, this.planeLength);
    if (!this.written[index]) throw new Error(`scratch plane ${index} read before it was written`);
    const out = new this.type(this.planeLength);
    this.file.read(new Uint8Array(out.buffer), this.base + index * this.planeBytes);
    return out;
  }

  private check(index: number, length: number): void {
    if (
      !Number.isInteger(index) ||
      index < 0 ||
      index >= this.planes ||
      length !== this.planeLength
    )
      throw new RangeError(
        `plane ${index} of ${length} values: the stack holds ${this.planes} planes of ${this.planeLength}`,
      );
  }
}

/** A stack of planes either in one array (small work, tests) or in a scratch file. */
export type Planes<T extends PlaneArray> = T | ScratchPlanes<T>;

/** Plane `index` of a stack: a view of an array, or a fresh read from scratch. */
export function planeOf<T extends PlaneArray>(
  planes: Planes<T>,
  planeLength: number,
  index: number,
): T {
  if (planes instanceof ScratchPlanes) return planes.read(index);
  return planes.subarray(index * planeLength, (index + 1) * planeLength) as T;
}

/** Where an analysis keeps a long series' HU and maps, and how much it may keep there. */
export interface ScratchSettings {
  dir: string;
  /** The most one analysis may keep there (MB). */
  mb: number;
}

/** Default of PHASELENS_SCRATCH_MB: 16 GB, about 20,000 slices of 512 x 512 with five maps. */
export const DEFAULT_SCRATCH_MB = 16384;

/** Free space a scratch folder must keep beyond what is written to it. */
const RESERVE_BYTES = 256 * 2 ** 20;

/** Scratch files are named `phaselens-<pid>-<random>` for the instant before they are unlinked. */
const PREFIX = 'phaselens-';

/**
 * One analysis's scratch file: made with no name (unlinked as soon as it is open), so it goes
 * when it is closed or its process ends, however that happens. Its length is what the analysis
 * reserved (a sparse file: blocks are taken only as planes are written), which is how analyses
 * in other processes see that reservation (`reservedBeside`).
 */
class ScratchFile {
  private fd: number | undefined;

  constructor(dir: string) {
    const file = path.join(dir, `${PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      this.fd = openSync(file, 'wx+', 0o600);
    } catch (error) {
      throw unusable(error);
    }
    try {
      unlinkSync(file);
    } catch (error) {
      this.close();
      throw unusable(error);
    }
  }

  /** Sets the file's length (what is reserved). */
  resize(bytes: number): void {
    try {
      ftruncateSync(this.open(), bytes);
    } catch (error) {
      throw unusable(error);
    }
  }

  write(bytes: Uint8Array, position: number): void {
    try {
      for (let at = 0; at < bytes.length;)
        at += writeSync(this.open(), bytes, at, bytes.length - at, position + at);
    } catch (error) {
      // A disk that fills anyway (another program, the PACS) is the installation's fault.
      throw diskFault(error);
    }
  }

  read(into: Uint8Array, position: number): void {
    try {
      for (let at = 0; at < into.length;) {
        const n = readSync(this.open(), into, at, into.length - at, position + at);
        if (n === 0) throw new Error(`scratch file ends ${position + at} bytes in`);
        at += n;
      }
    } catch (error) {
      throw diskFault(error);
    }
  }

  close(): void {
    const fd = this.fd;
    this.fd = undefined; // never closed twice, even if this close fails
    if (fd !== undefined) closeSync(fd);
  }

  private open(): number {
    if (this.fd === undefined)
      throw new Error('scratch planes read or written after their analysis ended');
    return this.fd;
  }
}

/**
 * What the scratch files on the filesystem `device` (this process's and those of every other
 * process this one may look at, through /proc: the same host and container, the same user or
 * root) have reserved and not yet written: their length less the blocks they hold.
 */
function reservedOnDevice(device: number): number {
  let outstanding = 0;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return 0; // no /proc: nothing to see
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // ended, or another user's
    }
    for (const fd of fds) {
      try {
        const link = `/proc/${pid}/fd/${fd}`;
        if (!path.basename(readlinkSync(link)).startsWith(PREFIX)) continue;
        const s = statSync(link);
        if (s.dev === device && s.isFile()) outstanding += Math.max(0, s.size - s.blocks * 512);
      } catch {
        // closed meanwhile
      }
    }
  }
  return outstanding;
}

/**
 * Where an analysis keeps its scratch planes: one file, reserved before the series' pixels are
 * read. A reservation fits only within the limit and within the folder's free space less what
 * the analyses beside it (other processes included) have reserved and not yet written, and less
 * a reserve: a series that would not fit is refused (SeriesTooLargeError) before any pixel is read.
 */
export class ScratchSpace {
  private file: ScratchFile | undefined;
  /** Bytes reserved (the file's length); bytes given to planes. */
  private reserved = 0;
  private used = 0;

  /** `limitBytes`: the most this space may hold (besides what the disk has free). */
  constructor(
    readonly dir: string = os.tmpdir(),
    readonly limitBytes: number = Infinity,
  ) {}

  /** A stack of `planes` planes of `planeLength` values, in this space's file. */
  planes<T extends PlaneArray>(
    type: PlaneConstructor<T>,
    planes: number,
    planeLength: number,
    what: string,
  ): ScratchPlanes<T> {
    const bytes = planes * planeLength * type.BYTES_PER_ELEMENT;
    if (this.used + bytes > this.reserved || !this.file)
      this.reserve(Math.max(0, this.used + bytes - this.reserved), what);
    const file = this.file;
    if (!file) throw new ScratchSpaceError('scratch space without a file after reserving');
    const made = new ScratchPlanes(type, planes, planeLength, file, this.used);
    this.used += bytes;
    return made;
  }

  /**
   * Reserves `bytes` more: what a whole analysis will need is reserved before its pixels are
   * read, and the planes made later use that reservation. Throws SeriesTooLargeError if it does
   * not fit, ScratchSpaceError if the folder fails.
   */
  reserve(bytes: number, what: string): void {
    if (this.reserved + bytes > this.limitBytes)
      throw new SeriesTooLargeError(
        `${what} needs ${mb(bytes)} MB of scratch space, over what is left of the ${mb(this.limitBytes)} MB one analysis may use (${mb(this.limitBytes - this.reserved)} MB); raise PHASELENS_SCRATCH_MB`,
      );
    let free: number;
    let device: number;
    try {
      const s = statfsSync(this.dir);
      free = s.bavail * s.bsize;
      device = statSync(this.dir).dev;
    } catch (error) {
      throw unusable(error);
    }
    if (bytes + RESERVE_BYTES > free)
      throw new SeriesTooLargeError(
        `${what} needs ${mb(bytes)} MB of scratch space, and the scratch folder (PHASELENS_SCRATCH_DIR) has ${mb(free)} MB free, ${mb(RESERVE_BYTES)} MB of which stay in reserve`,
      );
    // The reservation is made visible first (the file's new length), then checked against all
    // reservations on the disk, this one included: of two analyses reserving at the same moment
    // the later check sees the earlier one, so they never both take the same space.
    this.file ??= new ScratchFile(this.dir);
    this.file.resize(this.reserved + bytes);
    const held = reservedOnDevice(device);
    if (held + RESERVE_BYTES > free) {
      this.file.resize(this.reserved);
      throw new ScratchSpaceError(
        `${what} needs ${mb(bytes)} MB of scratch space, and of the ${mb(free)} MB free in the scratch folder (PHASELENS_SCRATCH_DIR) analyses running now hold ${mb(Math.max(0, held - bytes))} MB; try again when they have finished`,
      );
    }
    this.reserved += bytes;
  }

  /** Closes the file (its space is given back at once); planes made here can no longer be read. */
  close(): void {
    const file = this.file;
    this.file = undefined;
    this.reserved = 0;
    this.used = 0;
    file?.close();
  }
}

/** A failed read or write: a full or failing disk is the installation's fault; others are bugs. */
function diskFault(error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  return code && ['ENOSPC', 'EDQUOT', 'EIO', 'EFBIG', 'EROFS'].includes(code)
    ? unusable(error)
    : error;
}

/** The folder failed the service (removed, not writable, full, out of file handles). */
function unusable(error: unknown): ScratchSpaceError {
  const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new ScratchSpaceError(
    `the scratch folder (PHASELENS_SCRATCH_DIR) is not usable (${code}); the service's administrator must check it`,
  );
}

const mb = (bytes: number): string => String(Math.round(bytes / 2 ** 20));
