import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DataError, isDataError } from '../../../../src/main/core/data/data-error';
import {
  findLabelsFile,
  readIdxHeader,
  readIdxImages,
  readIdxLabels,
  readIdxSet,
} from '../../../../src/main/core/data/idx-reader';

/** An IDX file: magic, big-endian dims, body. */
function idx(magic: number, dims: number[], body: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, body]);
}

/** count images of rows x cols where pixel (n, i) = (n * 31 + i) & 255. */
function imageBody(count: number, rows: number, cols: number): Uint8Array {
  const b = new Uint8Array(count * rows * cols);
  for (let n = 0; n < count; n++) for (let i = 0; i < rows * cols; i++) b[n * rows * cols + i] = (n * 31 + i) & 255;
  return b;
}

async function expectDataError(p: Promise<unknown>, ...patterns: RegExp[]): Promise<DataError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a DataError').toBeInstanceOf(DataError);
  const e = caught as DataError;
  expect(e.name).toBe('DataError');
  expect(e.message).not.toContain('\n');
  for (const re of patterns) expect(e.message).toMatch(re);
  return e;
}

let dir: string;
const f = (name: string): string => path.join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gan-idx-'));
  const images = idx(0x803, [5, 4, 3], imageBody(5, 4, 3));
  const labels = idx(0x801, [5], Uint8Array.from([3, 1, 4, 1, 5]));
  await writeFile(f('train-images-idx3-ubyte'), images);
  await writeFile(f('train-labels-idx1-ubyte'), labels);
  await writeFile(f('train-images-idx3-ubyte.gz'), gzipSync(images));
  await writeFile(f('train-labels-idx1-ubyte.gz'), gzipSync(labels));
  // Content decides, not the name: a gzipped file without .gz and a raw one with .gz.
  await writeFile(f('gz-without-ext'), gzipSync(images));
  await writeFile(f('raw-with-ext.gz'), images);
  // Broken ones.
  await writeFile(f('truncated-body'), images.subarray(0, 16 + 50));
  await writeFile(f('truncated-body.gz'), gzipSync(images.subarray(0, 16 + 50)));
  await writeFile(f('truncated-header'), images.subarray(0, 10));
  await writeFile(f('empty'), Buffer.alloc(0));
  await writeFile(f('png-file'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
  await writeFile(f('labels-4'), idx(0x801, [4], Uint8Array.from([1, 2, 3, 4])));
  const gz = gzipSync(images);
  const corrupt = Buffer.from(gz);
  for (let i = 12; i < corrupt.length - 8; i++) corrupt[i] = corrupt[i]! ^ 0x5a;
  await writeFile(f('corrupt.gz'), corrupt);
  await writeFile(f('cut.gz'), gz.subarray(0, gz.length - 20));
  await writeFile(f('garbage.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
  // A larger gzip whose tail is corrupt: a limited read never gets there.
  const big = idx(0x803, [4000, 28, 28], Uint8Array.from({ length: 4000 * 784 }, (_, i) => (i * 2654435761) >>> 24));
  const bigGz = Buffer.from(gzipSync(big, { level: 1 }));
  for (let i = bigGz.length - 5000; i < bigGz.length - 8; i++) bigGz[i] = 0xff;
  await writeFile(f('big-corrupt-tail.gz'), bigGz);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readIdxImages', () => {
  it('reads a raw file', async () => {
    const r = await readIdxImages(f('train-images-idx3-ubyte'));
    expect(r).toMatchObject({ count: 5, total: 5, rows: 4, cols: 3 });
    expect(r.pixels).toBeInstanceOf(Uint8Array);
    expect(Array.from(r.pixels)).toEqual(Array.from(imageBody(5, 4, 3)));
  });

  it('reads a gzipped file to the same bytes', async () => {
    const raw = await readIdxImages(f('train-images-idx3-ubyte'));
    const gz = await readIdxImages(f('train-images-idx3-ubyte.gz'));
    expect(gz).toEqual(raw);
  });

  it('detects gzip by content, not by extension', async () => {
    const expected = Array.from(imageBody(5, 4, 3));
    expect(Array.from((await readIdxImages(f('gz-without-ext'))).pixels)).toEqual(expected);
    expect(Array.from((await readIdxImages(f('raw-with-ext.gz'))).pixels)).toEqual(expected);
    expect((await readIdxHeader(f('gz-without-ext'))).gzip).toBe(true);
    expect((await readIdxHeader(f('raw-with-ext.gz'))).gzip).toBe(false);
  });

  it('reads only the first N images with limit', async () => {
    for (const name of ['train-images-idx3-ubyte', 'train-images-idx3-ubyte.gz']) {
      const r = await readIdxImages(f(name), { limit: 2 });
      expect(r).toMatchObject({ count: 2, total: 5, rows: 4, cols: 3 });
      expect(Array.from(r.pixels)).toEqual(Array.from(imageBody(2, 4, 3)));
      expect((await readIdxImages(f(name), { limit: 99 })).count).toBe(5);
    }
  });

  it('stops decoding once the slice is read (a corrupt tail does not matter)', async () => {
    const r = await readIdxImages(f('big-corrupt-tail.gz'), { limit: 256 });
    expect(r.count).toBe(256);
    expect(r.total).toBe(4000);
    await expectDataError(readIdxImages(f('big-corrupt-tail.gz')), /corrupt or truncated gzip stream/);
  });

  it('rejects a wrong magic number, saying what was found and expected', async () => {
    const e = await expectDataError(readIdxImages(f('train-labels-idx1-ubyte')), /wrong magic number/);
    expect(e.message).toContain('found 0x00000801');
    expect(e.message).toContain('IDX labels');
    expect(e.message).toContain('expected 0x00000803');
    await expectDataError(readIdxImages(f('png-file')), /found 0x89504e47 \(a PNG image/);
    await expectDataError(readIdxLabels(f('train-images-idx3-ubyte')), /found 0x00000803.*expected 0x00000801/);
  });

  it('rejects a truncated body with expected and found byte counts', async () => {
    await expectDataError(readIdxImages(f('truncated-body')), /truncated/, /expected 60 bytes/, /found 50/);
    await expectDataError(readIdxImages(f('truncated-body.gz')), /expected 60 bytes/, /found 50/);
    // A slice that lies entirely in the part present is fine.
    expect((await readIdxImages(f('truncated-body'), { limit: 4 })).count).toBe(4);
  });

  it('rejects a truncated header and an empty file', async () => {
    await expectDataError(readIdxImages(f('truncated-header')), /truncated IDX file/, /expected 16 header bytes, found 10/);
    await expectDataError(readIdxImages(f('empty')), /truncated IDX file/, /found 0 bytes/);
  });

  it('rejects a corrupt or cut gzip stream', async () => {
    await expectDataError(readIdxImages(f('corrupt.gz')), /corrupt or truncated gzip stream/);
    await expectDataError(readIdxImages(f('cut.gz')), /corrupt or truncated gzip stream/);
    await expectDataError(readIdxImages(f('garbage.gz')), /corrupt or truncated gzip stream/);
  });

  it('reports a missing file as a DataError', async () => {
    await expectDataError(readIdxImages(f('nope')), /no such file/);
  });
});

describe('readIdxLabels / readIdxSet', () => {
  it('reads labels raw and gzipped, with a limit', async () => {
    expect(Array.from(await readIdxLabels(f('train-labels-idx1-ubyte')))).toEqual([3, 1, 4, 1, 5]);
    expect(Array.from(await readIdxLabels(f('train-labels-idx1-ubyte.gz'), { limit: 3 }))).toEqual([3, 1, 4]);
  });

  it('pairs images with labels, also for a slice', async () => {
    const s = await readIdxSet(f('train-images-idx3-ubyte.gz'), f('train-labels-idx1-ubyte.gz'), { limit: 3 });
    expect(s.count).toBe(3);
    expect(Array.from(s.labels!)).toEqual([3, 1, 4]);
  });

  it('rejects a label count that differs from the image count (even for a slice)', async () => {
    for (const limit of [undefined, 2]) {
      await expectDataError(
        readIdxSet(f('train-images-idx3-ubyte'), f('labels-4'), { limit }),
        /label count does not match image count/,
        /4 labels/,
        /5 images/,
      );
    }
  });
});

describe('findLabelsFile', () => {
  let d: string;
  beforeAll(async () => {
    d = await mkdtemp(path.join(tmpdir(), 'gan-idx-names-'));
    for (const n of [
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
      't10k-images-idx3-ubyte',
      't10k-labels-idx1-ubyte',
      'emnist-balanced-train-images-idx3-ubyte.gz',
      'emnist-balanced-train-labels-idx1-ubyte', // labels not gzipped
      'train-images.idx3-ubyte',
      'train-labels.idx1-ubyte',
      'lonely-images-idx3-ubyte',
    ]) {
      await writeFile(path.join(d, n), '');
    }
  });
  afterAll(async () => {
    await rm(d, { recursive: true, force: true });
  });

  it('finds the labels file beside an images file', () => {
    const p = (n: string): string => path.join(d, n);
    expect(findLabelsFile(p('train-images-idx3-ubyte.gz'))).toBe(p('train-labels-idx1-ubyte.gz'));
    expect(findLabelsFile(p('t10k-images-idx3-ubyte'))).toBe(p('t10k-labels-idx1-ubyte'));
    expect(findLabelsFile(p('emnist-balanced-train-images-idx3-ubyte.gz'))).toBe(
      p('emnist-balanced-train-labels-idx1-ubyte'),
    );
    expect(findLabelsFile(p('train-images.idx3-ubyte'))).toBe(p('train-labels.idx1-ubyte'));
  });

  it('returns null when there is none', () => {
    expect(findLabelsFile(path.join(d, 'lonely-images-idx3-ubyte'))).toBeNull();
    expect(findLabelsFile(path.join(d, 'something.bin'))).toBeNull();
  });
});

describe('DataError', () => {
  it('is a one-line Error named DataError', () => {
    const e = new DataError('bad\n  input');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('DataError');
    expect(e.message).toBe('bad input');
    expect(isDataError(e)).toBe(true);
    expect(isDataError(new Error('x'))).toBe(false);
  });
});
