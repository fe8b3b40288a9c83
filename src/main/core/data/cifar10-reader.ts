// Reader for the CIFAR-10 binary format ("CIFAR-10 binary version" from the dataset's page):
// data_batch_1.bin … data_batch_5.bin and test_batch.bin, each a run of 3073-byte records: one
// label byte (0..9), then 1024 red, 1024 green and 1024 blue bytes of a 32x32 image in row-major
// order. batches.meta.txt beside them names the classes, one per line.
//
// A CIFAR-10 path is a folder holding batch files (or holding `cifar-10-batches-bin/`, as the
// archive unpacks), or one batch file. From a folder the training batches (data_batch_N.bin) are
// used, in numeric order; only when there is none, test_batch.bin. Records are read a chunk at a
// time and converted to NHWC, so a caller can stream them without holding the whole set.

import { open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import { DataError } from './data-error';

export const CIFAR10_SIDE = 32;
export const CIFAR10_PIXELS = CIFAR10_SIDE * CIFAR10_SIDE * 3;
export const CIFAR10_RECORD_BYTES = 1 + CIFAR10_PIXELS;
export const CIFAR10_CLASSES: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

const TRAIN_BATCH = /^data_batch_(\d+)\.bin$/i;
const TEST_BATCH = /^test_batch\.bin$/i;
const ANY_BATCH = /^(data_batch_\d+|test_batch)\.bin$/i;
const META_NAME = 'batches.meta.txt';
const SUBFOLDER = 'cifar-10-batches-bin';

export interface Cifar10Source {
  /** The folder holding the batches. */
  dir: string;
  /** Batch files to read, in order. */
  files: string[];
  /** batches.meta.txt, if present. */
  metaFile: string | null;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function batchesIn(dir: string): Promise<Cifar10Source | null> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return null;
  }
  const train: { n: number; file: string }[] = [];
  let test: string | null = null;
  for (const name of names) {
    const m = TRAIN_BATCH.exec(name);
    const full = path.join(dir, name);
    if (m && (await isFile(full))) train.push({ n: Number(m[1]), file: full });
    else if (TEST_BATCH.test(name) && (await isFile(full))) test = full;
  }
  train.sort((a, b) => a.n - b.n);
  const files = train.length > 0 ? train.map((t) => t.file) : test ? [test] : [];
  if (files.length === 0) return null;
  const meta = path.join(dir, META_NAME);
  return { dir, files, metaFile: (await isFile(meta)) ? meta : null };
}

/**
 * The CIFAR-10 batches at `p` (a folder, a folder holding cifar-10-batches-bin/, or one batch
 * file named like data_batch_1.bin / test_batch.bin), or null when `p` is none of these.
 */
export async function findCifar10(p: string): Promise<Cifar10Source | null> {
  const target = path.resolve(p);
  let st;
  try {
    st = await stat(target);
  } catch {
    return null;
  }
  if (st.isFile()) {
    if (!ANY_BATCH.test(path.basename(target))) return null;
    const dir = path.dirname(target);
    const meta = path.join(dir, META_NAME);
    return { dir, files: [target], metaFile: (await isFile(meta)) ? meta : null };
  }
  if (!st.isDirectory()) return null;
  return (await batchesIn(target)) ?? (await batchesIn(path.join(target, SUBFOLDER)));
}

/** Class names from batches.meta.txt (non-empty lines), else the standard ten. */
export async function cifar10ClassNames(source: Cifar10Source): Promise<string[]> {
  if (!source.metaFile) return [...CIFAR10_CLASSES];
  let text: string;
  try {
    text = await readFile(source.metaFile, 'utf8');
  } catch (err) {
    throw new DataError(`cannot read ${source.metaFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  const names = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  if (names.length === 0) return [...CIFAR10_CLASSES];
  if (names.length > 256) throw new DataError(`${source.metaFile} names ${names.length} classes; CIFAR-10 labels are one byte`);
  return names;
}

/** Records in a batch file, checking that its size is a whole number of records. */
export async function cifar10RecordCount(file: string): Promise<number> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    throw new DataError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  if (size === 0) throw new DataError(`empty CIFAR-10 batch file: ${file}`);
  if (size % CIFAR10_RECORD_BYTES !== 0) {
    throw new DataError(
      `truncated or not a CIFAR-10 batch: ${file} is ${size} bytes, not a whole number of ${CIFAR10_RECORD_BYTES}-byte records ` +
        `(${Math.floor(size / CIFAR10_RECORD_BYTES)} records and ${size % CIFAR10_RECORD_BYTES} bytes over)`,
    );
  }
  return size / CIFAR10_RECORD_BYTES;
}

export interface Cifar10Chunk {
  /** Images in this chunk. */
  count: number;
  /** count * 32 * 32 * 3 bytes, NHWC (R, G, B interleaved). */
  pixels: Uint8Array;
  labels: Uint8Array;
}

export interface Cifar10ReadOptions {
  /** Stop after this many images in all. */
  limit?: number;
  /** Records per chunk (default 1000). */
  chunk?: number;
  /** Labels must be below this (default 10, or the class names' count). */
  numClasses?: number;
}

/** Converts `count` planar CIFAR records (label byte + R, G, B planes) to NHWC pixels and labels. */
export function decodeCifar10Records(records: Uint8Array, count: number): Cifar10Chunk {
  const pixels = new Uint8Array(count * CIFAR10_PIXELS);
  const labels = new Uint8Array(count);
  const plane = CIFAR10_SIDE * CIFAR10_SIDE;
  for (let n = 0; n < count; n++) {
    const r = n * CIFAR10_RECORD_BYTES;
    labels[n] = records[r]!;
    const src = r + 1;
    const dst = n * CIFAR10_PIXELS;
    for (let i = 0; i < plane; i++) {
      const o = dst + 3 * i;
      pixels[o] = records[src + i]!;
      pixels[o + 1] = records[src + plane + i]!;
      pixels[o + 2] = records[src + 2 * plane + i]!;
    }
  }
  return { count, pixels, labels };
}

/** Streams the images of `files` in chunks, in file order. */
export async function* readCifar10Chunks(files: string[], opts: Cifar10ReadOptions = {}): AsyncGenerator<Cifar10Chunk> {
  const limit = opts.limit ?? Infinity;
  const per = Math.max(1, opts.chunk ?? 1000);
  const numClasses = opts.numClasses ?? 10;
  // Check every file's size up front: a truncated last batch should fail before any work.
  const counts: number[] = [];
  for (const f of files) counts.push(await cifar10RecordCount(f));
  let produced = 0;
  for (let fi = 0; fi < files.length && produced < limit; fi++) {
    const file = files[fi]!;
    const fh = await open(file, 'r');
    try {
      let rec = 0;
      while (rec < counts[fi]! && produced < limit) {
        const n = Math.min(per, counts[fi]! - rec, limit - produced);
        const buf = new Uint8Array(n * CIFAR10_RECORD_BYTES);
        let off = 0;
        while (off < buf.length) {
          const { bytesRead } = await fh.read(buf, off, buf.length - off, rec * CIFAR10_RECORD_BYTES + off);
          if (bytesRead === 0) throw new DataError(`truncated CIFAR-10 batch ${file}: the file shrank while it was read`);
          off += bytesRead;
        }
        const chunk = decodeCifar10Records(buf, n);
        for (let i = 0; i < n; i++) {
          if (chunk.labels[i]! >= numClasses) {
            throw new DataError(
              `corrupt CIFAR-10 batch ${file}: record ${rec + i} has label ${chunk.labels[i]}, but there are ${numClasses} classes`,
            );
          }
        }
        rec += n;
        produced += n;
        yield chunk;
      }
    } finally {
      await fh.close();
    }
  }
}

export interface Cifar10Set {
  count: number;
  /** count * 32 * 32 * 3 bytes, NHWC. */
  pixels: Uint8Array;
  labels: Uint8Array;
  classNames: string[];
  source: Cifar10Source;
}

/** All images (or the first `limit`) of the CIFAR-10 batches at `p`, in memory. */
export async function readCifar10(p: string, opts: Cifar10ReadOptions = {}): Promise<Cifar10Set> {
  const source = await findCifar10(p);
  if (!source) throw new DataError(`no CIFAR-10 batches (data_batch_N.bin or test_batch.bin) at ${path.resolve(p)}`);
  const classNames = await cifar10ClassNames(source);
  const chunks: Cifar10Chunk[] = [];
  for await (const c of readCifar10Chunks(source.files, { ...opts, numClasses: classNames.length })) chunks.push(c);
  const count = chunks.reduce((s, c) => s + c.count, 0);
  const pixels = new Uint8Array(count * CIFAR10_PIXELS);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const c of chunks) {
    pixels.set(c.pixels, at * CIFAR10_PIXELS);
    labels.set(c.labels, at);
    at += c.count;
  }
  return { count, pixels, labels, classNames, source };
}
