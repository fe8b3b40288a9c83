// One entry point for every dataset path a user can give: an IDX images file, a folder holding an
// IDX training set (e.g. /usr/share/datasets/fashion-mnist), or a folder of images. The result is
// an ImageDataset at the model's size and channel count, plus the files that were skipped.

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

import type { ImageChannels, ImageDataset, SkippedFile } from '../../../shared/types';
import { DataError } from './data-error';
import { resizeBatch, resizeRgbBatch } from '../images/resize';
import { cifar10ClassNames, findCifar10, readCifar10Chunks } from './cifar10-reader';
import { findLabelsFile, readIdxSet } from './idx-reader';
import { readImageFolder, type ImportProgress } from './image-folder';

export type { ImportProgress } from './image-folder';

export interface LoadOptions {
  size: number;
  channels: ImageChannels;
  /** For an image folder: first-level subfolder names become classes. IDX always keeps labels. */
  labels?: boolean;
  /** Load only the first N images. */
  limit?: number;
  onProgress?: (p: ImportProgress) => void;
}

export interface LoadResult {
  dataset: ImageDataset;
  skipped: SkippedFile[];
  format: 'idx' | 'folder' | 'cifar10';
}

export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** Names of the IDX training set looked for inside a folder, in order of preference. */
const IDX_TRAIN_NAMES = ['train-images-idx3-ubyte', 'train-images-idx3-ubyte.gz'];

export async function loadImageDataset(p: string, opts: LoadOptions): Promise<LoadResult> {
  const target = path.resolve(p);
  let st;
  try {
    st = await stat(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new DataError(`no such file or folder: ${target}`, { cause: err });
    throw new DataError(`cannot read ${target}: ${code ?? String(err)}`, { cause: err });
  }

  if (st.isFile()) return (await findCifar10(target)) ? loadCifar10(target, opts) : loadIdx(target, opts);
  if (!st.isDirectory()) throw new DataError(`not a file or folder: ${target}`);

  const idx = await findIdxTrainingSet(target);
  if (idx) return loadIdx(idx, opts);

  const cifar = await findCifar10(target);
  if (cifar) return loadCifar10(target, opts);

  const { dataset, skipped } = await readImageFolder(target, {
    size: opts.size,
    channels: opts.channels,
    labels: opts.labels ?? false,
    limit: opts.limit,
    onProgress: opts.onProgress,
  });
  return { dataset, skipped, format: 'folder' };
}

/** The IDX training images file in a folder (train-images-idx3-ubyte[.gz]), or null. */
export async function findIdxTrainingSet(dir: string): Promise<string | null> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new DataError(`cannot read folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      cause: err,
    });
  }
  for (const n of IDX_TRAIN_NAMES) {
    if (!names.includes(n)) continue;
    const full = path.join(dir, n);
    try {
      if ((await stat(full)).isFile()) return full;
    } catch {
      // a broken link: try the other spelling
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// IDX

/** Class names for an IDX set with numClasses classes found at file. */
export function idxClassNames(file: string, numClasses: number): string[] {
  if (numClasses === 10 && /fashion/i.test(file)) return [...FASHION_MNIST_CLASSES];
  if (numClasses === 10) return Array.from({ length: 10 }, (_, i) => String(i));
  return Array.from({ length: numClasses }, (_, i) => `class ${i}`);
}

async function loadIdx(file: string, opts: LoadOptions): Promise<LoadResult> {
  checkSize(opts.size, opts.channels);
  if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 1)) {
    throw new DataError(`limit must be a whole number of images (1 or more), got ${opts.limit}`);
  }
  const labelsFile = findLabelsFile(file);
  const set = await readIdxSet(file, labelsFile, { limit: opts.limit });
  if (set.count === 0) throw new DataError(`no usable images in ${file}: the IDX file holds no images`);

  // EMNIST stores every image transposed (column-major); put them the right way up.
  let pixels = set.pixels;
  if (/^emnist-/i.test(path.basename(file))) pixels = transposeBatch(pixels, set.count, set.rows, set.cols);
  const [h, w] = /^emnist-/i.test(path.basename(file)) ? [set.cols, set.rows] : [set.rows, set.cols];

  const total = set.count;
  const progress = (done: number): void => opts.onProgress?.({ done, total, imported: done, skipped: 0 });
  const out = resizeBatch(pixels, set.count, h, w, opts.size, opts.channels, progress);

  let labels: Int32Array | null = null;
  let classNames: string[] = [];
  if (set.labels) {
    labels = Int32Array.from(set.labels);
    let max = -1;
    for (const l of set.labels) if (l > max) max = l;
    classNames = idxClassNames(file, max + 1);
  }

  const dataset: ImageDataset = {
    count: set.count,
    height: opts.size,
    width: opts.size,
    channels: opts.channels,
    pixels: out,
    labels,
    classNames,
    source: `${file} (IDX${labelsFile ? ` with labels ${path.basename(labelsFile)}` : ', no labels file'})`,
  };
  return { dataset, skipped: [], format: 'idx' };
}

// ---------------------------------------------------------------------------------------------
// CIFAR-10

async function loadCifar10(p: string, opts: LoadOptions): Promise<LoadResult> {
  checkSize(opts.size, opts.channels);
  const source = (await findCifar10(p))!;
  const classNames = await cifar10ClassNames(source);
  const parts: { count: number; pixels: Uint8Array; labels: Uint8Array }[] = [];
  let count = 0;
  for await (const chunk of readCifar10Chunks(source.files, { limit: opts.limit, numClasses: classNames.length })) {
    parts.push({ count: chunk.count, pixels: resizeRgbBatch(chunk.pixels, chunk.count, 32, 32, opts.size, opts.channels), labels: chunk.labels });
    count += chunk.count;
    opts.onProgress?.({ done: count, total: count, imported: count, skipped: 0 });
  }
  if (count === 0) throw new DataError(`no usable images in ${p}: the CIFAR-10 batches hold no records`);
  const per = opts.size * opts.size * opts.channels;
  const pixels = new Uint8Array(count * per);
  const labels = new Int32Array(count);
  let at = 0;
  for (const part of parts) {
    pixels.set(part.pixels, at * per);
    labels.set(part.labels, at);
    at += part.count;
  }
  const files = source.files.map((f) => path.basename(f)).join(', ');
  const dataset: ImageDataset = {
    count,
    height: opts.size,
    width: opts.size,
    channels: opts.channels,
    pixels,
    labels,
    classNames,
    source: `${source.dir} (CIFAR-10: ${files})`,
  };
  return { dataset, skipped: [], format: 'cifar10' };
}

function checkSize(size: number, channels: ImageChannels): void {
  if (!Number.isInteger(size) || size < 1 || size > 4096) {
    throw new DataError(`image size must be a whole number of pixels from 1 to 4096, got ${size}`);
  }
  if (channels !== 1 && channels !== 3) throw new DataError(`channels must be 1 or 3, got ${String(channels)}`);
}

/** EMNIST stores images column-major: transposes each of `count` rows x cols images. */
export function transposeBatch(src: Uint8Array, count: number, rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(src.length);
  const per = rows * cols;
  for (let n = 0; n < count; n++) {
    const base = n * per;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) out[base + c * rows + r] = src[base + r * cols + c]!;
    }
  }
  return out;
}

