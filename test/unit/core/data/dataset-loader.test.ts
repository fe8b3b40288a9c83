import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DataError } from '../../../../src/main/core/data/data-error';
import {
  FASHION_MNIST_CLASSES,
  idxClassNames,
  loadImageDataset,
} from '../../../../src/main/core/data/dataset-loader';
import { resizeBatch } from '../../../../src/main/core/images/resize';

function idx(magic: number, dims: number[], body: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, body]);
}

/** Smooth-ish 28x28 test images: a bright blob whose place depends on n, on a dark ground. */
function blobs(count: number): Uint8Array {
  const out = new Uint8Array(count * 784);
  for (let n = 0; n < count; n++) {
    const cx = 6 + ((n * 5) % 16);
    const cy = 6 + ((n * 3) % 16);
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const d2 = (x - cx) ** 2 + (y - cy) ** 2;
        out[n * 784 + y * 28 + x] = Math.round(230 * Math.exp(-d2 / 30) + 10);
      }
    }
  }
  return out;
}

const COUNT = 12;
const LABELS = Uint8Array.from({ length: COUNT }, (_, i) => i % 10); // 0..9: ten classes
let tmp: string;
let images: Uint8Array;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'gan-loader-'));
  images = blobs(COUNT);
  const imgFile = idx(0x803, [COUNT, 28, 28], images);
  const lblFile = idx(0x801, [COUNT], LABELS);

  // A digits-like IDX set (gzipped) in a plain folder.
  await mkdir(path.join(tmp, 'digits'));
  await writeFile(path.join(tmp, 'digits/train-images-idx3-ubyte.gz'), gzipSync(imgFile));
  await writeFile(path.join(tmp, 'digits/train-labels-idx1-ubyte.gz'), gzipSync(lblFile));
  await writeFile(path.join(tmp, 'digits/t10k-images-idx3-ubyte.gz'), gzipSync(idx(0x803, [2, 28, 28], blobs(2))));

  // The same under a Fashion-MNIST-looking path, raw.
  await mkdir(path.join(tmp, 'fashion-mnist'));
  await writeFile(path.join(tmp, 'fashion-mnist/train-images-idx3-ubyte'), imgFile);
  await writeFile(path.join(tmp, 'fashion-mnist/train-labels-idx1-ubyte'), lblFile);

  // Three classes, and an images file with no labels beside it.
  await mkdir(path.join(tmp, 'three'));
  await writeFile(path.join(tmp, 'three/train-images-idx3-ubyte'), imgFile);
  await writeFile(path.join(tmp, 'three/train-labels-idx1-ubyte'), idx(0x801, [COUNT], LABELS.map((l) => l % 3)));
  await writeFile(path.join(tmp, 'unlabelled-images-idx3-ubyte'), imgFile);

  // Label count mismatch.
  await mkdir(path.join(tmp, 'mismatch'));
  await writeFile(path.join(tmp, 'mismatch/train-images-idx3-ubyte'), imgFile);
  await writeFile(path.join(tmp, 'mismatch/train-labels-idx1-ubyte'), idx(0x801, [COUNT - 1], LABELS.subarray(1)));

  // EMNIST stores images transposed: store the transpose of image 0 (an asymmetric one).
  const asym = new Uint8Array(784);
  for (let x = 0; x < 28; x++) asym[3 * 28 + x] = 200; // a horizontal bar on row 3
  const stored = new Uint8Array(784);
  for (let r = 0; r < 28; r++) for (let c = 0; c < 28; c++) stored[c * 28 + r] = asym[r * 28 + c]!;
  await writeFile(path.join(tmp, 'emnist-letters-train-images-idx3-ubyte'), idx(0x803, [1, 28, 28], stored));

  // An image folder with classes.
  await mkdir(path.join(tmp, 'photos/red'), { recursive: true });
  await mkdir(path.join(tmp, 'photos/blue'), { recursive: true });
  for (let i = 0; i < 3; i++) {
    await sharp({ create: { width: 20 + i, height: 30, channels: 3, background: { r: 250, g: 0, b: 0 } } })
      .png()
      .toFile(path.join(tmp, `photos/red/r${i}.png`));
  }
  await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 0, g: 0, b: 250 } } })
    .jpeg()
    .toFile(path.join(tmp, 'photos/blue/b0.jpg'));
  await writeFile(path.join(tmp, 'photos/blue/broken.jpg'), 'nope');
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('loadImageDataset', () => {
  it('fails clearly for a path that does not exist', async () => {
    const missing = path.join(tmp, 'no-such-thing');
    await expect(loadImageDataset(missing, { size: 28, channels: 1 })).rejects.toThrow(DataError);
    await expect(loadImageDataset(missing, { size: 28, channels: 1 })).rejects.toThrow(
      `no such file or folder: ${missing}`,
    );
  });

  it('loads the IDX training set of a folder, with labels, as an exact copy at 28', async () => {
    const { dataset: d, skipped, format } = await loadImageDataset(path.join(tmp, 'digits'), { size: 28, channels: 1 });
    expect(format).toBe('idx');
    expect(skipped).toEqual([]);
    expect(d).toMatchObject({ count: COUNT, height: 28, width: 28, channels: 1 });
    expect(Buffer.from(d.pixels).equals(Buffer.from(images))).toBe(true);
    expect(Array.from(d.labels!)).toEqual(Array.from(LABELS));
    expect(d.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(d.source).toContain('train-images-idx3-ubyte.gz');
  });

  it('loads an IDX images file given directly, replicating gray into RGB', async () => {
    const file = path.join(tmp, 'digits/train-images-idx3-ubyte.gz');
    const { dataset: d, format } = await loadImageDataset(file, { size: 28, channels: 3 });
    expect(format).toBe('idx');
    expect(d.pixels.length).toBe(COUNT * 28 * 28 * 3);
    for (const i of [0, 100, 5000, COUNT * 784 - 1]) {
      expect([d.pixels[3 * i], d.pixels[3 * i + 1], d.pixels[3 * i + 2]]).toEqual([images[i], images[i], images[i]]);
    }
    expect(d.labels).not.toBeNull();
  });

  it('resizes IDX images close to what sharp gives (cubic), keeping constants constant', async () => {
    const { dataset: d } = await loadImageDataset(path.join(tmp, 'digits'), { size: 64, channels: 3, limit: 4 });
    expect(d).toMatchObject({ count: 4, height: 64, width: 64, channels: 3 });
    expect(d.pixels.length).toBe(4 * 64 * 64 * 3);
    for (let n = 0; n < 4; n++) {
      const ref = await sharp(Buffer.from(images.subarray(n * 784, (n + 1) * 784)), {
        raw: { width: 28, height: 28, channels: 1 },
      })
        .resize(64, 64, { kernel: 'cubic' })
        .extractChannel(0)
        .raw()
        .toBuffer();
      expect(ref.length).toBe(64 * 64);
      let diff = 0;
      for (let i = 0; i < 64 * 64; i++) {
        const v = d.pixels[(n * 64 * 64 + i) * 3]!;
        expect(d.pixels[(n * 64 * 64 + i) * 3 + 1]).toBe(v);
        diff += Math.abs(v - ref[i]!);
      }
      expect(diff / (64 * 64)).toBeLessThan(2);
    }
    // Pixel centres are aligned (the result of a mirror-symmetric image stays symmetric, which
    // sharp's own upscaling does not quite do: it shifts by about half a pixel).
    const bar = new Uint8Array(784);
    for (let y = 0; y < 28; y++) for (let x = 10; x < 18; x++) bar[y * 28 + x] = 255;
    for (const size of [16, 32, 64]) {
      const r = resizeBatch(bar, 1, 28, 28, size, 1);
      for (let x = 0; x < size; x++) expect(r[5 * size + x]).toBe(r[5 * size + size - 1 - x]);
      expect(r[5 * size + (size >> 1)]).toBe(255);
      expect(r[5 * size]).toBe(0);
    }
    const flat = resizeBatch(new Uint8Array(2 * 784).fill(123), 2, 28, 28, 32, 1);
    expect(flat.every((v) => v === 123)).toBe(true);
    const down = resizeBatch(new Uint8Array(784).fill(77), 1, 28, 28, 9, 3);
    expect(down.length).toBe(9 * 9 * 3);
    expect(down.every((v) => v === 77)).toBe(true);
  });

  it('names Fashion-MNIST classes when the path looks like Fashion-MNIST', async () => {
    const { dataset: d } = await loadImageDataset(path.join(tmp, 'fashion-mnist'), { size: 32, channels: 1 });
    expect(d.classNames).toEqual([...FASHION_MNIST_CLASSES]);
    expect(d.classNames[9]).toBe('Ankle boot');
    expect(d).toMatchObject({ count: COUNT, height: 32, width: 32, channels: 1 });
  });

  it('names other class counts "class N", and loads without labels when none are beside', async () => {
    const three = await loadImageDataset(path.join(tmp, 'three'), { size: 28, channels: 1 });
    expect(three.dataset.classNames).toEqual(['class 0', 'class 1', 'class 2']);
    const bare = await loadImageDataset(path.join(tmp, 'unlabelled-images-idx3-ubyte'), { size: 28, channels: 1 });
    expect(bare.dataset.labels).toBeNull();
    expect(bare.dataset.classNames).toEqual([]);
    expect(idxClassNames('/data/mnist/train-images-idx3-ubyte', 10)[3]).toBe('3');
  });

  it('rejects a labels file whose count differs from the images', async () => {
    await expect(loadImageDataset(path.join(tmp, 'mismatch'), { size: 28, channels: 1 })).rejects.toThrow(
      /label count does not match image count: .*11 labels.*12 images/,
    );
  });

  it('turns EMNIST images the right way up', async () => {
    const { dataset: d } = await loadImageDataset(path.join(tmp, 'emnist-letters-train-images-idx3-ubyte'), {
      size: 28,
      channels: 1,
    });
    expect(d.pixels[3 * 28 + 10]).toBe(200); // row 3 is the bar
    expect(d.pixels[10 * 28 + 3]).toBe(0);
  });

  it('loads any other folder as an image folder, with subfolder classes when asked', async () => {
    const { dataset: d, skipped, format } = await loadImageDataset(path.join(tmp, 'photos'), {
      size: 16,
      channels: 3,
      labels: true,
    });
    expect(format).toBe('folder');
    expect(d.classNames).toEqual(['blue', 'red']);
    expect(Array.from(d.labels!)).toEqual([0, 1, 1, 1]);
    expect(skipped).toEqual([{ path: path.join(tmp, 'photos/blue/broken.jpg'), reason: 'not an image' }]);
    const unlabelled = await loadImageDataset(path.join(tmp, 'photos'), { size: 16, channels: 1, limit: 2 });
    expect(unlabelled.dataset.labels).toBeNull();
    expect(unlabelled.dataset.count).toBe(2);
  });

  it('fails for an empty folder', async () => {
    const empty = path.join(tmp, 'empty');
    await mkdir(empty);
    await expect(loadImageDataset(empty, { size: 28, channels: 1 })).rejects.toThrow(/^no usable images in /);
  });
});

const FASHION = '/usr/share/datasets/fashion-mnist';
const haveFashion = existsSync(path.join(FASHION, 'train-images-idx3-ubyte.gz'));

describe('real Fashion-MNIST (Debian package dataset-fashion-mnist)', () => {
  it.skipIf(!haveFashion)(
    `reads a 256-image slice of ${FASHION} (skipped: ${FASHION} not present; apt install dataset-fashion-mnist)`,
    async () => {
      const t0 = performance.now();
      const { dataset: d, format } = await loadImageDataset(FASHION, { size: 28, channels: 1, limit: 256 });
      const ms = performance.now() - t0;
      expect(format).toBe('idx');
      expect(d).toMatchObject({ count: 256, height: 28, width: 28, channels: 1 });
      expect(d.pixels.length).toBe(256 * 784);
      expect(d.classNames).toEqual([...FASHION_MNIST_CLASSES]);
      expect(d.labels).toHaveLength(256);
      // The first training images are an ankle boot, two T-shirts, a dress, a T-shirt, a pullover.
      expect(Array.from(d.labels!.subarray(0, 6))).toEqual([9, 0, 0, 3, 0, 2]);
      for (const l of d.labels!) expect(l >= 0 && l <= 9).toBe(true);
      // Dark backgrounds, bright garments: full range, mean well below the middle.
      let sum = 0;
      let max = 0;
      for (const v of d.pixels) {
        sum += v;
        if (v > max) max = v;
      }
      expect(max).toBe(255);
      const mean = sum / d.pixels.length;
      expect(mean).toBeGreaterThan(40);
      expect(mean).toBeLessThan(110);
      expect(ms).toBeLessThan(5000); // a slice must not decode the whole file

      const big = await loadImageDataset(path.join(FASHION, 't10k-images-idx3-ubyte.gz'), {
        size: 64,
        channels: 3,
        limit: 256,
      });
      expect(big.dataset).toMatchObject({ count: 256, height: 64, width: 64, channels: 3 });
      expect(big.dataset.labels).toHaveLength(256);
    },
  );
});
