import { closeSync, openSync, readSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
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
 * A stack of equal-sized planes (a series' slices, a map's slices) kept in a scratch file
 * rather than in memory, so that what a long series needs grows on disk while the process's
 * memory stays flat. The file is unlinked as soon as it is open: nothing is left behind,
 * whichever way the process ends; `close` gives the space back at once.
 */
export class ScratchPlanes<T extends PlaneArray> {
  readonly length: number;
  private fd: number | undefined;
  private readonly planeBytes: number;

  /** Made by ScratchSpace.planes, which checks the space and closes them all at the end. */
  constructor(
    private readonly type: PlaneConstructor<T>,
    readonly planes: number,
    readonly planeLength: number,
    fd: number,
  ) {
    this.length = planes * planeLength;
    this.planeBytes = planeLength * type.BYTES_PER_ELEMENT;
    this.fd = fd;
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
    for (let at = 0; at < bytes.length;)
      at += writeSync(this.open(), bytes, at, bytes.length - at, index * this.planeBytes + at);
  }

  /** Plane `index`, read now into a fresh array. */
  read(index: number): T {
    this.check(index, this.planeLength);
    const out = new this.type(this.planeLength);
    const bytes = new Uint8Array(out.buffer);
    for (let at = 0; at < bytes.length;) {
      const n = readSync(this.open(), bytes, at, bytes.length - at, index * this.planeBytes + at);
      if (n === 0) throw new Error(`scratch plane ${index} ends after ${at} bytes`);
      at += n;
    }
    return out;
  }

  close(): void {
    const fd = this.fd;
    this.fd = undefined; // never closed twice, even if this close fails
    if (fd !== undefined) closeSync(fd);
  }

  private open(): number {
    if (this.fd === undefined) throw new Error('scratch planes read or written after close');
    return this.fd;
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

/**
 * Where an analysis keeps its scratch planes, and everything it opened there, to close at the
 * end. Space is checked before a file is made: a series that would fill the disk is refused
 * (SeriesTooLargeError) before any pixel is read.
 */
export class ScratchSpace {
  private readonly opened: ScratchPlanes<PlaneArray>[] = [];
  /** Bytes checked for (reserved ahead, or made); bytes made in files. */
  private reserved = 0;
  private used = 0;

  /** `limitBytes`: the most this space may hold (besides what the disk has free). */
  constructor(
    readonly dir: string = os.tmpdir(),
    readonly limitBytes: number = Infinity,
  ) {}

  /** A stack of `planes` planes of `planeLength` values, in a file of its own. */
  planes<T extends PlaneArray>(
    type: PlaneConstructor<T>,
    planes: number,
    planeLength: number,
    what: string,
  ): ScratchPlanes<T> {
    const bytes = planes * planeLength * type.BYTES_PER_ELEMENT;
    if (this.used + bytes > this.reserved) this.reserve(this.used + bytes - this.reserved, what);
    this.used += bytes;
    const made = new ScratchPlanes(type, planes, planeLength, this.open());
    this.opened.push(made);
    return made;
  }

  /**
   * Checks that `bytes` more fit (within the limit, and on the disk with a reserve left over) and
   * counts them as taken: what a whole analysis will need is reserved before its pixels are read,
   * and the planes made later use that reservation. Throws SeriesTooLargeError if not.
   */
  reserve(bytes: number, what: string): void {
    let free: number;
    try {
      const s = statfsSync(this.dir);
      free = s.bavail * s.bsize;
    } catch (error) {
      throw unusable(error);
    }
    if (this.reserved + bytes > this.limitBytes)
      throw new SeriesTooLargeError(
        `${what} needs ${mb(bytes)} MB of scratch space, over what is left of the ${mb(this.limitBytes)} MB one analysis may use (${mb(this.limitBytes - this.reserved)} MB); raise PHASELENS_SCRATCH_MB`,
      );
    // Free space is checked, not set aside: analyses running at once each see the same free
    // space, so the folder needs room for PHASELENS_CONCURRENCY of them (README).
    if (bytes + RESERVE_BYTES > free)
      throw new SeriesTooLargeError(
        `${what} needs ${mb(bytes)} MB of scratch space, and the scratch folder (PHASELENS_SCRATCH_DIR) has ${mb(free)} MB free, ${mb(RESERVE_BYTES)} MB of which stay in reserve`,
      );
    this.reserved += bytes;
  }

  /** Opens a file with no name: it goes when it is closed or the process ends. */
  private open(): number {
    const file = path.join(this.dir, `phaselens-${process.pid}-${randomBytes(6).toString('hex')}`);
    let fd: number;
    try {
      fd = openSync(file, 'wx+', 0o600);
    } catch (error) {
      throw unusable(error);
    }
    try {
      unlinkSync(file);
    } catch (error) {
      closeSync(fd);
      throw unusable(error);
    }
    return fd;
  }

  /** Closes every file opened here (their space is given back). */
  close(): void {
    // Every file is closed even if one close fails (the first failure is thrown after).
    let failure: unknown;
    for (const planes of this.opened.splice(0)) {
      try {
        planes.close();
      } catch (error) {
        failure ??= error;
      }
    }
    this.reserved = 0;
    this.used = 0;
    if (failure !== undefined) throw failure;
  }
}

/** The folder failed the service (removed, not writable, out of file handles). */
function unusable(error: unknown): ScratchSpaceError {
  const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new ScratchSpaceError(
    `the scratch folder (PHASELENS_SCRATCH_DIR) is not usable (${code}); the service's administrator must check it`,
  );
}

const mb = (bytes: number): string => String(Math.round(bytes / 2 ** 20));
