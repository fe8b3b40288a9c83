/**
 * Fashion-MNIST for the quality benchmark: the IDX files (read with the studio's own reader),
 * pixels scaled exactly as the trainer scales real images (byte / 127.5 - 1), fixed
 * class-balanced slices of the training set written as folders of PNG files, and PNG folders
 * read back as bytes.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import sharp from 'sharp';

import { readIdxSet } from '../../src/main/core/data/idx-reader';
import { mixSeed, permutation } from '../../src/main/core/engine/ml/rng';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const SIDE = 28;
export const PIXELS = SIDE * SIDE;
export const CLASSES = 10;
export const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

/** n grayscale 28x28 images, one byte a pixel, row-major; labels where known. */
export interface ImageSet {
  n: number;
  pixels: Uint8Array;
  labels: Uint8Array | null;
}

function idxFile(dir: string, stem: string): string {
  for (const name of [`${stem}.gz`, stem]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new Error(
    `Fashion-MNIST's ${stem}[.gz] is not in ${dir}: install it with \`apt-get install dataset-fashion-mnist\` ` +
      '(scripts/setup.sh does), or pass --data DIR',
  );
}

export async function loadFashionMnist(dir: string, split: 'train' | 't10k'): Promise<ImageSet> {
  const set = await readIdxSet(idxFile(dir, `${split}-images-idx3-ubyte`), idxFile(dir, `${split}-labels-idx1-ubyte`));
  if (set.rows !== SIDE || set.cols !== SIDE) throw new Error(`expected 28x28 images in ${dir}, found ${set.rows}x${set.cols}`);
  return { n: set.count, pixels: set.pixels, labels: set.labels };
}

/** The images `indices` of a set, in that order. */
export function subset(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const pixels = new Uint8Array(indices.length * PIXELS);
  const labels = set.labels ? new Uint8Array(indices.length) : null;
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r]!;
    pixels.set(set.pixels.subarray(i * PIXELS, (i + 1) * PIXELS), r * PIXELS);
    if (labels) labels[r] = set.labels![i]!;
  }
  return { n: indices.length, pixels, labels };
}

/** Bytes to the trainer's scale: v = byte / 127.5 - 1, in [-1, 1]. */
export function toUnitRange(bytes: Uint8Array, out = new Float32Array(bytes.length)): Float32Array {
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]! / 127.5 - 1;
  return out;
}

/**
 * A fixed, class-balanced selection of n images: n / 10 of each class (the remainder to the
 * first classes), each class's picks drawn from a seeded permutation of its images, returned in
 * ascending index order.
 */
export function classBalancedIndices(labels: Uint8Array, n: number, seed: number): number[] {
  const byClass: number[][] = Array.from({ length: CLASSES }, () => []);
  labels.forEach((label, i) => byClass[label]!.push(i));
  const picked: number[] = [];
  for (let c = 0; c < CLASSES; c++) {
    const want = Math.floor(n / CLASSES) + (c < n % CLASSES ? 1 : 0);
    const pool = byClass[c]!;
    if (pool.length < want) throw new Error(`class ${c} has ${pool.length} images, ${want} wanted`);
    const order = permutation(pool.length, mixSeed(seed, c));
    for (let k = 0; k < want; k++) picked.push(pool[order[k]!]!);
  }
  return picked.sort((a, b) => a - b);
}

/** Marker written last into a finished slice folder, so an interrupted write is redone. */
const COMPLETE = '.complete';

/**
 * A folder of PNG files holding `n` class-balanced training images (see classBalancedIndices),
 * under `root`, written once and reused. File names carry the source index and the class.
 */
export async function writeSliceFolder(root: string, train: ImageSet, n: number, seed: number): Promise<{ dir: string; reused: boolean }> {
  if (!train.labels) throw new Error('a class-balanced slice needs labels');
  const dir = join(root, `fashion-mnist-train-${n}-seed${seed}`);
  if (existsSync(join(dir, COMPLETE))) return { dir, reused: true };
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const indices = classBalancedIndices(train.labels, n, seed);
  for (const i of indices) {
    const png = await sharp(Buffer.from(train.pixels.subarray(i * PIXELS, (i + 1) * PIXELS)), { raw: { width: SIDE, height: SIDE, channels: 1 } })
      .png()
      .toBuffer();
    await writeFile(join(tmp, `train-${String(i).padStart(5, '0')}-class${train.labels[i]}.png`), png);
  }
  await writeFile(join(tmp, COMPLETE), `${indices.length} images\n`);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return { dir, reused: false };
}

/** Every PNG in a folder (sorted by name) as 28x28 grayscale bytes (resized if another size). */
export async function readPngFolder(dir: string): Promise<ImageSet> {
  const names = (await readdir(dir)).filter((f) => f.toLowerCase().endsWith('.png')).sort();
  const pixels = new Uint8Array(names.length * PIXELS);
  let r = 0;
  for (const name of names) {
    const { data, info } = await sharp(join(dir, name)).greyscale().resize(SIDE, SIDE, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    if (info.width !== SIDE || info.height !== SIDE || data.length !== PIXELS) throw new Error(`${name}: read back as ${info.width}x${info.height}x${info.channels}`);
    pixels.set(data, r * PIXELS);
    r++;
  }
  return { n: r, pixels, labels: null };
}
