import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CIFAR10_CLASSES, decodeCifar10Records, findCifar10, readCifar10 } from '../../../../src/main/core/data/cifar10-reader';
import { DataError } from '../../../../src/main/core/data/data-error';
import { loadImageDataset } from '../../../../src/main/core/data/dataset-loader';
import { cifarRecords, pixelAt } from './fixtures';

let tmp: string;
const value = (n: number, c: number, i: number): number => (c === 0 ? 10 * n + 1 : c === 1 ? i % 32 : Math.floor(i / 32));

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'gan-cifar-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('CIFAR-10 reader', () => {
  it('turns planar records into NHWC pixels with labels', () => {
    const chunk = decodeCifar10Records(cifarRecords([4, 2], value), 2);
    expect(Array.from(chunk.labels)).toEqual([4, 2]);
    expect(pixelAt(chunk.pixels, 32, 3, 0, 0, 0)).toEqual([1, 0, 0]);
    expect(pixelAt(chunk.pixels, 32, 3, 1, 7, 5)).toEqual([11, 5, 7]); // R = 10n+1, G = column, B = row
  });

  it('reads data_batch_1..N in numeric order (not test_batch), with the standard class names', async () => {
    const dir = path.join(tmp, 'std');
    await mkdir(dir);
    await writeFile(path.join(dir, 'data_batch_2.bin'), cifarRecords([5], (n, c, i) => value(n + 2, c, i)));
    await writeFile(path.join(dir, 'data_batch_1.bin'), cifarRecords([0, 9], value));
    await writeFile(path.join(dir, 'test_batch.bin'), cifarRecords([3], value));
    const set = await readCifar10(dir);
    expect(set.count).toBe(3);
    expect(set.classNames).toEqual([...CIFAR10_CLASSES]);
    expect(Array.from(set.labels)).toEqual([0, 9, 5]);
    expect(pixelAt(set.pixels, 32, 3, 2, 0, 0)[0]).toBe(21);
    expect((await findCifar10(dir))!.files.map((f) => path.basename(f))).toEqual(['data_batch_1.bin', 'data_batch_2.bin']);
    expect((await readCifar10(dir, { limit: 2 })).count).toBe(2);
    // One batch file on its own, and a folder holding only the test batch.
    expect((await readCifar10(path.join(dir, 'test_batch.bin'))).count).toBe(1);
  });

  it('takes class names from batches.meta.txt and finds cifar-10-batches-bin/', async () => {
    const dir = path.join(tmp, 'meta', 'cifar-10-batches-bin');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'test_batch.bin'), cifarRecords([1, 0], value));
    await writeFile(path.join(dir, 'batches.meta.txt'), 'cat\r\ndog\r\n\r\n');
    const set = await readCifar10(path.dirname(dir));
    expect(set.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(set.labels)).toEqual([1, 0]);
  });

  it('rejects truncated batches and labels out of range', async () => {
    const dir = path.join(tmp, 'bad');
    await mkdir(dir);
    await writeFile(path.join(dir, 'data_batch_1.bin'), cifarRecords([1, 2], value).subarray(0, 3073 + 100));
    const err = await readCifar10(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(/truncated or not a CIFAR-10 batch: .*3173 bytes.*1 records and 100 bytes over/);
    await writeFile(path.join(dir, 'data_batch_1.bin'), cifarRecords([1, 200], value));
    await expect(readCifar10(dir)).rejects.toThrow(/record 1 has label 200, but there are 10 classes/);
    expect(await findCifar10(tmp)).toBeNull();
  });

  it('loads through loadImageDataset, resized and grayscale when asked', async () => {
    const dir = path.join(tmp, 'load');
    await mkdir(dir);
    await writeFile(path.join(dir, 'data_batch_1.bin'), cifarRecords([6, 7, 8], () => 100));
    const r = await loadImageDataset(dir, { size: 28, channels: 1 });
    expect(r.format).toBe('cifar10');
    expect(r.dataset).toMatchObject({ count: 3, height: 28, channels: 1 });
    expect(Array.from(r.dataset.labels!)).toEqual([6, 7, 8]);
    expect(r.dataset.pixels.every((v) => v === 100)).toBe(true);
    const rgb = await loadImageDataset(dir, { size: 64, channels: 3, limit: 1 });
    expect(rgb.dataset.pixels.length).toBe(64 * 64 * 3);
  });
});
