// The dataset cache: an imported dataset decoded once into one compact binary file under the
// studio's home, so that training never decodes an image again.
//
// Layout (all integers little-endian):
//
//   offset  bytes  field
//   0       8      magic "GSDCACHE"
//   8       4      version (1)
//   12      4      flags (bit 0: labelled)
//   16      4      count (images)
//   20      4      height
//   24      4      width
//   28      4      channels (1 or 3)
//   32      8      body bytes: count*height*width*channels pixels, then count*4 label bytes if labelled
//   40      4      metadata bytes (UTF-8 JSON: class names, source, format, import options)
//   44      4      CRC-32 of the body
//   48      4      CRC-32 of the metadata
//   52      12     zero
//   64      ...    pixels, uint8, NHWC
//           ...    labels, int32 (only when labelled)
//           ...    metadata JSON
//
// The fixed header comes first and the metadata (whose size is only known once the import is
// over: class names come from the folders that yielded images) last, so the writer can stream
// images into the file as they are decoded and never hold a whole dataset in memory. It writes to
// a temporary name in the same folder and renames the finished file into place, so a reader
// never sees a half-written cache. The reader checks sizes, the magic, the version and both CRCs,
// and says which one failed.

import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';

import type { ImageChannels, ImageDataset } from '../../../shared/types';
import { DataError } from './data-error';

export const CACHE_MAGIC = 'GSDCACHE';
export const CACHE_VERSION = 1;
export const CACHE_HEADER_BYTES = 64;
export const CACHE_EXTENSION = '.gsd';
const FLAG_LABELLED = 1;
/** Pixels are gathered into writes of about this many bytes. */
const WRITE_CHUNK = 4 << 20;
/** Largest plausible side (the importer writes at most 128). */
const MAX_SIDE = 4096;
const MAX_META_BYTES = 64 << 20;

export interface DatasetCacheMeta {
  /** Class names by label index ([] when unlabelled). */
  classNames: string[];
  /** Human-readable origin, as in ImageDataset.source. */
  source: string;
  format: 'idx' | 'folder' | 'cifar10';
  sourcePath: string;
  /** Anything else worth keeping with the data (import options, counts). */
  [key: string]: unknown;
}

export interface DatasetCacheHeader {
  version: number;
  count: number;
  height: number;
  width: number;
  channels: ImageChannels;
  labelled: boolean;
  bodyBytes: number;
  metaBytes: number;
  bodyCrc: number;
  metaCrc: number;
}

export interface DatasetCacheInfo extends DatasetCacheHeader {
  meta: DatasetCacheMeta;
  fileBytes: number;
}

function encodeHeader(h: DatasetCacheHeader): Buffer {
  const b = Buffer.alloc(CACHE_HEADER_BYTES);
  b.write(CACHE_MAGIC, 0, 'latin1');
  b.writeUInt32LE(h.version, 8);
  b.writeUInt32LE(h.labelled ? FLAG_LABELLED : 0, 12);
  b.writeUInt32LE(h.count, 16);
  b.writeUInt32LE(h.height, 20);
  b.writeUInt32LE(h.width, 24);
  b.writeUInt32LE(h.channels, 28);
  b.writeBigUInt64LE(BigInt(h.bodyBytes), 32);
  b.writeUInt32LE(h.metaBytes, 40);
  b.writeUInt32LE(h.bodyCrc >>> 0, 44);
  b.writeUInt32LE(h.metaCrc >>> 0, 48);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Writer

export interface DatasetCacheWriterOptions {
  size: number;
  channels: ImageChannels;
  labelled: boolean;
}

/**
 * Streams images into a new cache file: `append` images (with their labels) as they come,
 * `finish` with the metadata. Until `finish` renames it into place the data lives under a
 * temporary name; `abort` removes it.
 */
export class DatasetCacheWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private position = CACHE_HEADER_BYTES;
  private bodyCrc = 0;
  private labels = new Int32Array(1024);
  private closed = false;
  count = 0;

  private constructor(
    readonly file: string,
    private readonly tmp: string,
    private readonly fh: FileHandle,
    private readonly opts: DatasetCacheWriterOptions,
  ) {}

  static async create(file: string, opts: DatasetCacheWriterOptions): Promise<DatasetCacheWriter> {
    if (!Number.isInteger(opts.size) || opts.size < 1 || opts.size > MAX_SIDE) throw new RangeError(`bad cache image size ${opts.size}`);
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.write(Buffer.alloc(CACHE_HEADER_BYTES), 0, CACHE_HEADER_BYTES, 0);
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
    return new DatasetCacheWriter(file, tmp, fh, opts);
  }

  /** Bytes of one image. */
  get imageBytes(): number {
    return this.opts.size * this.opts.size * this.opts.channels;
  }

  /**
   * Appends whole images (NHWC uint8, a multiple of imageBytes) and, for a labelled cache, one
   * label per image. The bytes are copied, so the caller may reuse its buffer.
   */
  async append(pixels: Uint8Array, labels?: ArrayLike<number>): Promise<void> {
    if (this.closed) throw new Error('dataset cache writer is closed');
    const per = this.imageBytes;
    if (pixels.length % per !== 0) throw new RangeError(`append: ${pixels.length} bytes is not a whole number of ${per}-byte images`);
    const n = pixels.length / per;
    if (this.opts.labelled) {
      if (!labels || labels.length !== n) throw new RangeError(`append: ${n} images need ${n} labels, got ${labels?.length ?? 0}`);
      while (this.labels.length < this.count + n) {
        const grown = new Int32Array(this.labels.length * 2);
        grown.set(this.labels);
        this.labels = grown;
      }
      for (let i = 0; i < n; i++) this.labels[this.count + i] = labels[i]!;
    }
    const copy = Buffer.from(pixels); // copies
    this.bodyCrc = crc32(copy, this.bodyCrc);
    this.pending.push(copy);
    this.pendingBytes += copy.length;
    this.count += n;
    if (this.pendingBytes >= WRITE_CHUNK) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await writeAll(this.fh, data, this.position);
    this.position += data.length;
  }

  /**
   * Writes labels and metadata, then the header, and renames the file into place. `remap`, if
   * given, turns each provisional label into its final index (the folder importer only knows the
   * sorted class list at the end).
   */
  async finish(meta: DatasetCacheMeta, remap?: (label: number) => number): Promise<DatasetCacheHeader> {
    if (this.closed) throw new Error('dataset cache writer is closed');
    try {
      await this.flush();
      let labelBytes = 0;
      if (this.opts.labelled) {
        const buf = Buffer.alloc(this.count * 4);
        for (let i = 0; i < this.count; i++) buf.writeInt32LE(remap ? remap(this.labels[i]!) : this.labels[i]!, i * 4);
        this.bodyCrc = crc32(buf, this.bodyCrc);
        await writeAll(this.fh, buf, this.position);
        this.position += buf.length;
        labelBytes = buf.length;
      }
      const metaBuf = Buffer.from(JSON.stringify(meta), 'utf8');
      await writeAll(this.fh, metaBuf, this.position);
      const header: DatasetCacheHeader = {
        version: CACHE_VERSION,
        count: this.count,
        height: this.opts.size,
        width: this.opts.size,
        channels: this.opts.channels,
        labelled: this.opts.labelled,
        bodyBytes: this.count * this.imageBytes + labelBytes,
        metaBytes: metaBuf.length,
        bodyCrc: this.bodyCrc >>> 0,
        metaCrc: crc32(metaBuf) >>> 0,
      };
      await writeAll(this.fh, encodeHeader(header), 0);
      await this.fh.sync();
      await this.fh.close();
      this.closed = true;
      await rename(this.tmp, this.file);
      return header;
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** Drops the temporary file (safe to call more than once). */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.fh.close().catch(() => undefined);
    }
    await rm(this.tmp, { force: true });
  }
}

async function writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off, position + off);
    off += bytesWritten;
  }
}

// ---------------------------------------------------------------------------------------------
// Reader

function corrupt(file: string, what: string): DataError {
  return new DataError(`corrupt dataset cache ${file}: ${what}; import the dataset again`);
}

async function readExactly(fh: FileHandle, buf: Uint8Array, position: number): Promise<number> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, Math.min(buf.length - off, 64 << 20), position + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return off;
}

async function openCache(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(`dataset cache missing: ${file}; import the dataset again`, { cause: err });
    throw new DataError(`cannot read dataset cache ${file}: ${code ?? String(err)}`, { cause: err });
  }
}

async function readHeaderFrom(fh: FileHandle, file: string): Promise<{ header: DatasetCacheHeader; fileBytes: number }> {
  const fileBytes = (await fh.stat()).size;
  if (fileBytes < CACHE_HEADER_BYTES) {
    throw new DataError(`truncated dataset cache ${file}: ${fileBytes} bytes, less than its ${CACHE_HEADER_BYTES}-byte header; import the dataset again`);
  }
  const b = Buffer.alloc(CACHE_HEADER_BYTES);
  await readExactly(fh, b, 0);
  if (b.toString('latin1', 0, 8) !== CACHE_MAGIC) throw new DataError(`not a GAN Studio dataset cache: ${file}`);
  const version = b.readUInt32LE(8);
  if (version !== CACHE_VERSION) {
    throw new DataError(`dataset cache ${file} has format version ${version}; this GAN Studio reads version ${CACHE_VERSION}; import the dataset again`);
  }
  const flags = b.readUInt32LE(12);
  const header: DatasetCacheHeader = {
    version,
    labelled: (flags & FLAG_LABELLED) !== 0,
    count: b.readUInt32LE(16),
    height: b.readUInt32LE(20),
    width: b.readUInt32LE(24),
    channels: b.readUInt32LE(28) as ImageChannels,
    bodyBytes: Number(b.readBigUInt64LE(32)),
    metaBytes: b.readUInt32LE(40),
    bodyCrc: b.readUInt32LE(44),
    metaCrc: b.readUInt32LE(48),
  };
  const { count, height, width, channels } = header;
  if (flags & ~FLAG_LABELLED) throw corrupt(file, `unknown flags 0x${flags.toString(16)}`);
  if (channels !== 1 && channels !== 3) throw corrupt(file, `${channels} channels`);
  if (height < 1 || width < 1 || height > MAX_SIDE || width > MAX_SIDE) throw corrupt(file, `implausible image size ${width}x${height}`);
  const expectBody = count * height * width * channels + (header.labelled ? count * 4 : 0);
  if (header.bodyBytes !== expectBody) throw corrupt(file, `header says ${header.bodyBytes} data bytes, ${count} images need ${expectBody}`);
  if (header.metaBytes > MAX_META_BYTES) throw corrupt(file, `implausible metadata size ${header.metaBytes}`);
  const expectFile = CACHE_HEADER_BYTES + header.bodyBytes + header.metaBytes;
  if (fileBytes < expectFile) {
    throw new DataError(`truncated dataset cache ${file}: expected ${expectFile} bytes, found ${fileBytes}; import the dataset again`);
  }
  if (fileBytes > expectFile) throw corrupt(file, `${fileBytes - expectFile} unexpected bytes at the end`);
  return { header, fileBytes };
}

async function readMeta(fh: FileHandle, file: string, header: DatasetCacheHeader): Promise<DatasetCacheMeta> {
  const buf = Buffer.alloc(header.metaBytes);
  await readExactly(fh, buf, CACHE_HEADER_BYTES + header.bodyBytes);
  if (crc32(buf) >>> 0 !== header.metaCrc) throw corrupt(file, 'metadata checksum mismatch');
  let meta: DatasetCacheMeta;
  try {
    meta = JSON.parse(buf.toString('utf8')) as DatasetCacheMeta;
  } catch {
    throw corrupt(file, 'metadata is not JSON');
  }
  if (!meta || typeof meta !== 'object' || !Array.isArray(meta.classNames) || typeof meta.source !== 'string') {
    throw corrupt(file, 'metadata lacks class names or source');
  }
  return meta;
}

/** The header and metadata of a cache file, reading no pixels. */
export async function readDatasetCacheInfo(file: string): Promise<DatasetCacheInfo> {
  const fh = await openCache(file);
  try {
    const { header, fileBytes } = await readHeaderFrom(fh, file);
    return { ...header, meta: await readMeta(fh, file, header), fileBytes };
  } finally {
    await fh.close();
  }
}

export interface ReadDatasetCacheOptions {
  /** Load only the first N images (the checksum is then not checked). */
  limit?: number;
}

/** Loads a cache file into an ImageDataset, checking it on the way. */
export async function readDatasetCache(
  file: string,
  opts: ReadDatasetCacheOptions = {},
): Promise<{ dataset: ImageDataset; meta: DatasetCacheMeta }> {
  const fh = await openCache(file);
  try {
    const { header } = await readHeaderFrom(fh, file);
    const meta = await readMeta(fh, file, header);
    const { count: total, height, width, channels, labelled } = header;
    const count = opts.limit !== undefined ? Math.max(0, Math.min(total, Math.floor(opts.limit))) : total;
    const per = height * width * channels;
    const pixels = new Uint8Array(count * per);
    if ((await readExactly(fh, pixels, CACHE_HEADER_BYTES)) !== pixels.length) throw corrupt(file, 'short read');
    let labels: Int32Array | null = null;
    let labelBuf: Buffer | null = null;
    if (labelled) {
      labelBuf = Buffer.alloc(count * 4);
      if ((await readExactly(fh, labelBuf, CACHE_HEADER_BYTES + total * per)) !== labelBuf.length) throw corrupt(file, 'short read');
      labels = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const l = labelBuf.readInt32LE(i * 4);
        if (l < 0 || l >= meta.classNames.length) throw corrupt(file, `image ${i} has label ${l}, but there are ${meta.classNames.length} classes`);
        labels[i] = l;
      }
    } else if (meta.classNames.length > 0) {
      throw corrupt(file, 'class names without labels');
    }
    if (count === total) {
      let crc = crc32(pixels);
      if (labelBuf) crc = crc32(labelBuf, crc);
      if (crc >>> 0 !== header.bodyCrc) throw corrupt(file, 'pixel data checksum mismatch');
    }
    const dataset: ImageDataset = {
      count,
      height,
      width,
      channels,
      pixels,
      labels,
      classNames: labelled ? [...meta.classNames] : [],
      source: meta.source,
    };
    return { dataset, meta };
  } finally {
    await fh.close();
  }
}
