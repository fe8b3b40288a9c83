// Reader for the IDX format used by MNIST, Fashion-MNIST and EMNIST: a 4-byte magic number
// (two zero bytes, a type code, the number of dimensions), one big-endian uint32 per dimension,
// then the data in row-major order. Files may be gzipped (detected by the 1f 8b magic, never by
// the extension). Everything is streamed, so `limit` stops reading (and gunzipping) as soon as
// the first N items are in; a complete read of a gzipped file goes on to the end of the stream so
// that its CRC is checked.

import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

import { DataError } from './data-error';

export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

/** Largest body we accept (Uint8Array / Buffer limit territory; 60k MNIST images are 47 MB). */
const MAX_BODY_BYTES = 2 ** 32 - 1;
/** An image side beyond this is surely a corrupt header, not an IDX image. */
const MAX_IDX_SIDE = 16384;

export interface IdxReadOptions {
  /** Read only the first N items (images or labels). */
  limit?: number;
}

export interface IdxImages {
  /** Images read (min(limit, total)). */
  count: number;
  /** Images the file holds according to its header. */
  total: number;
  rows: number;
  cols: number;
  /** count * rows * cols bytes, row-major, one byte per pixel. */
  pixels: Uint8Array;
}

export interface IdxHeader {
  magic: number;
  dims: number[];
  gzip: boolean;
}

export interface IdxSet extends IdxImages {
  /** One label per image read, or null when no labels file was given. */
  labels: Uint8Array | null;
}

// ---------------------------------------------------------------------------------------------
// Byte source: a file (raw or gunzipped) read as a stream, consumed n bytes at a time.

async function isGzipFile(file: string): Promise<{ gzip: boolean; size: number }> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw fsError(file, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new DataError(`not a file: ${file}`);
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return { gzip: bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b, size: st.size };
  } finally {
    await fh.close();
  }
}

function fsError(file: string, err: unknown): DataError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new DataError(`no such file: ${file}`, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return new DataError(`cannot read ${file}: permission denied`, { cause: err });
  if (code === 'EISDIR') return new DataError(`not a file: ${file}`, { cause: err });
  const msg = err instanceof Error ? err.message : String(err);
  return new DataError(`cannot read ${file}: ${msg}`, { cause: err });
}

function isZlibError(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown } | undefined;
  return typeof e?.code === 'string' && e.code.startsWith('Z_');
}

class ByteSource {
  private readonly iter: AsyncIterator<Buffer>;
  private readonly stream: Readable;
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private ended = false;

  private constructor(
    readonly file: string,
    readonly gzip: boolean,
    stream: Readable,
  ) {
    this.stream = stream;
    this.iter = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  static async open(file: string): Promise<ByteSource> {
    const { gzip } = await isGzipFile(file);
    const raw = createReadStream(file, { highWaterMark: 1 << 20 });
    if (!gzip) return new ByteSource(file, false, raw);
    const gunzip = createGunzip({ chunkSize: 1 << 18 });
    // pipeline destroys both streams on error or early close; the error then surfaces from the
    // iterator of the last stream, so the callback has nothing left to do.
    const out = pipeline(raw, gunzip, () => {});
    return new ByteSource(file, true, out);
  }

  /** Exactly n bytes, or fewer only when the data ends first. */
  async read(n: number): Promise<Buffer> {
    while (this.pendingLen < n && !this.ended) {
      let res: IteratorResult<Buffer>;
      try {
        res = await this.iter.next();
      } catch (err) {
        throw this.wrap(err);
      }
      if (res.done) {
        this.ended = true;
        break;
      }
      this.pending.push(res.value);
      this.pendingLen += res.value.length;
    }
    const take = Math.min(n, this.pendingLen);
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingLen);
    const out = all.subarray(0, take);
    const rest = all.subarray(take);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingLen = rest.length;
    return out;
  }

  /**
   * Reads (and drops) everything left, so that gunzip checks the stream's CRC and length: a
   * complete read must not hand back silently corrupted pixels.
   */
  async verifyToEnd(): Promise<void> {
    this.pending = [];
    this.pendingLen = 0;
    while (!this.ended) {
      try {
        const res = await this.iter.next();
        if (res.done) this.ended = true;
      } catch (err) {
        throw this.wrap(err);
      }
    }
  }

  private wrap(err: unknown): DataError {
    if (this.gzip && isZlibError(err)) {
      const msg = err instanceof Error ? err.message : String(err);
      return new DataError(`corrupt or truncated gzip stream in ${this.file}: ${msg}`, { cause: err });
    }
    return fsError(this.file, err);
  }

  close(): void {
    this.stream.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Header

const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'short',
  0x0c: 'int',
  0x0d: 'float',
  0x0e: 'double',
};

function hex32(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

/** What a magic number looks like, for error messages. */
export function describeMagic(magic: number): string {
  if (magic === IDX_IMAGES_MAGIC) return 'IDX images, unsigned bytes';
  if (magic === IDX_LABELS_MAGIC) return 'IDX labels, unsigned bytes';
  const b0 = (magic >>> 24) & 0xff;
  const b1 = (magic >>> 16) & 0xff;
  const type = (magic >>> 8) & 0xff;
  const ndims = magic & 0xff;
  if (b0 === 0 && b1 === 0 && TYPE_NAMES[type]) return `IDX ${TYPE_NAMES[type]} data with ${ndims} dimension(s)`;
  if (b0 === 0x89 && b1 === 0x50) return 'a PNG image, not IDX';
  if (b0 === 0xff && b1 === 0xd8) return 'a JPEG image, not IDX';
  if (b0 === 0x50 && b1 === 0x4b) return 'a zip archive, not IDX';
  return 'not an IDX file';
}

async function readHeader(src: ByteSource, expected: number): Promise<number[]> {
  const head = await src.read(4);
  if (head.length < 4) {
    throw new DataError(`truncated IDX file ${src.file}: expected a 4-byte header, found ${head.length} bytes`);
  }
  const magic = head.readUInt32BE(0);
  if (magic !== expected) {
    throw new DataError(
      `wrong magic number in ${src.file}: found ${hex32(magic)} (${describeMagic(magic)}), ` +
        `expected ${hex32(expected)} (${describeMagic(expected)})`,
    );
  }
  const ndims = magic & 0xff;
  const dimBytes = await src.read(4 * ndims);
  if (dimBytes.length < 4 * ndims) {
    throw new DataError(
      `truncated IDX file ${src.file}: expected ${4 + 4 * ndims} header bytes, found ${4 + dimBytes.length}`,
    );
  }
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(dimBytes.readUInt32BE(4 * i));
  return dims;
}

/** The magic number and dimensions of an IDX file, reading nothing past the header. */
export async function readIdxHeader(file: string): Promise<IdxHeader> {
  const src = await ByteSource.open(file);
  try {
    const head = await src.read(4);
    if (head.length < 4) {
      throw new DataError(`truncated IDX file ${file}: expected a 4-byte header, found ${head.length} bytes`);
    }
    const magic = head.readUInt32BE(0);
    const b = (magic >>> 16) === 0 ? magic & 0xff : 0;
    const dimBytes = await src.read(4 * b);
    if (dimBytes.length < 4 * b) {
      throw new DataError(`truncated IDX file ${file}: expected ${4 + 4 * b} header bytes, found ${4 + dimBytes.length}`);
    }
    const dims: number[] = [];
    for (let i = 0; i < b; i++) dims.push(dimBytes.readUInt32BE(4 * i));
    return { magic, dims, gzip: src.gzip };
  } finally {
    src.close();
  }
}

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return Infinity;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new DataError(`limit must be a whole number of images, got ${limit}`);
  }
  return limit;
}

// ---------------------------------------------------------------------------------------------
// Public readers

/** Images from an IDX images file (magic 0x00000803): `count` images of rows x cols bytes. */
export async function readIdxImages(file: string, opts: IdxReadOptions = {}): Promise<IdxImages> {
  const limit = checkLimit(opts.limit);
  const src = await ByteSource.open(file);
  try {
    const dims = await readHeader(src, IDX_IMAGES_MAGIC);
    const [total, rows, cols] = dims as [number, number, number];
    if (rows === 0 || cols === 0 || rows > MAX_IDX_SIDE || cols > MAX_IDX_SIDE) {
      throw new DataError(`implausible image size ${rows}x${cols} in the header of ${file}`);
    }
    const count = Math.min(total, limit);
    const need = count * rows * cols;
    if (need > MAX_BODY_BYTES) {
      throw new DataError(
        `IDX file ${file} declares ${total} images of ${rows}x${cols}: too large to load (${need} bytes); use a limit`,
      );
    }
    const body = await src.read(need);
    if (body.length < need) {
      throw new DataError(
        `truncated IDX file ${file}: expected ${need} bytes of image data (${count} images of ${rows}x${cols}), ` +
          `found ${body.length}`,
      );
    }
    // Copy out of the (possibly shared, pooled) buffer so the caller owns a tight array.
    const pixels = new Uint8Array(body);
    if (count === total && src.gzip) await src.verifyToEnd();
    return { count, total, rows, cols, pixels };
  } finally {
    src.close();
  }
}

/** Labels from an IDX labels file (magic 0x00000801), one byte each. */
export async function readIdxLabels(file: string, opts: IdxReadOptions = {}): Promise<Uint8Array> {
  const limit = checkLimit(opts.limit);
  const src = await ByteSource.open(file);
  try {
    const [total] = (await readHeader(src, IDX_LABELS_MAGIC)) as [number];
    const count = Math.min(total, limit);
    const body = await src.read(count);
    if (body.length < count) {
      throw new DataError(`truncated IDX file ${file}: expected ${count} bytes of labels, found ${body.length}`);
    }
    const labels = new Uint8Array(body);
    if (count === total && src.gzip) await src.verifyToEnd();
    return labels;
  } finally {
    src.close();
  }
}

/**
 * Images plus, when labelsFile is given, their labels. The two headers must agree on the count
 * (checked on the headers, so it also holds when only a slice is read).
 */
export async function readIdxSet(
  imagesFile: string,
  labelsFile: string | null,
  opts: IdxReadOptions = {},
): Promise<IdxSet> {
  if (labelsFile === null) return { ...(await readIdxImages(imagesFile, opts)), labels: null };
  const labelHeader = await readIdxHeader(labelsFile);
  if (labelHeader.magic !== IDX_LABELS_MAGIC) {
    throw new DataError(
      `wrong magic number in ${labelsFile}: found ${hex32(labelHeader.magic)} (${describeMagic(labelHeader.magic)}), ` +
        `expected ${hex32(IDX_LABELS_MAGIC)} (${describeMagic(IDX_LABELS_MAGIC)})`,
    );
  }
  const images = await readIdxImages(imagesFile, opts);
  const labelTotal = labelHeader.dims[0] ?? 0;
  if (labelTotal !== images.total) {
    throw new DataError(
      `label count does not match image count: ${path.basename(labelsFile)} has ${labelTotal} labels, ` +
        `${path.basename(imagesFile)} has ${images.total} images`,
    );
  }
  const labels = await readIdxLabels(labelsFile, { limit: images.count });
  return { ...images, labels };
}

// ---------------------------------------------------------------------------------------------
// Finding the labels file beside an images file

const IMAGES_PART = /images([.-])idx3([.-])ubyte/i;

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * The labels file beside an IDX images file, or null: `train-images-idx3-ubyte[.gz]` ->
 * `train-labels-idx1-ubyte[.gz]`, `t10k-…`, EMNIST's `emnist-<split>-train-images-idx3-ubyte`,
 * and the `train-images.idx3-ubyte` spelling some mirrors use. The same compression as the images
 * file is preferred, the other accepted.
 */
export function findLabelsFile(imagesPath: string): string | null {
  const dir = path.dirname(imagesPath);
  const base = path.basename(imagesPath);
  if (!IMAGES_PART.test(base)) return null;
  const gz = /\.gz$/i.test(base);
  const stem = gz ? base.slice(0, -3) : base;
  const labelsStem = stem.replace(IMAGES_PART, (_m, a: string, b: string) => {
    // Keep the case style of the original ("images" / "IMAGES").
    const upper = _m === _m.toUpperCase();
    const word = `labels${a}idx1${b}ubyte`;
    return upper ? word.toUpperCase() : word;
  });
  const candidates = gz ? [labelsStem + base.slice(-3), labelsStem] : [labelsStem, labelsStem + '.gz'];
  for (const c of candidates) {
    const p = path.join(dir, c);
    if (isFile(p)) return p;
  }
  return null;
}
