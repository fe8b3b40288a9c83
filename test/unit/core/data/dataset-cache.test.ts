import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DataError } from '../../../../src/main/core/data/data-error';
import {
  CACHE_HEADER_BYTES,
  DatasetCacheWriter,
  readDatasetCache,
  readDatasetCacheInfo,
  type DatasetCacheMeta,
} from '../../../../src/main/core/data/dataset-cache';

let tmp: string;
const META: DatasetCacheMeta = { classNames: ['b', 'a'], source: '/src (test)', format: 'folder', sourcePath: '/src' };

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'gan-cache-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A 3-image 4x4 RGB cache, streamed in two appends, labels remapped at the end. */
async function writeSample(name: string): Promise<{ file: string; pixels: Uint8Array }> {
  const file = path.join(tmp, name);
  const per = 4 * 4 * 3;
  const pixels = Uint8Array.from({ length: 3 * per }, (_, i) => (i * 7) % 256);
  const w = await DatasetCacheWriter.create(file, { size: 4, channels: 3, labelled: true });
  await w.append(pixels.subarray(0, per), [0]);
  await w.append(pixels.subarray(per), [1, 0]);
  await w.finish(META, (l) => 1 - l);
  return { file, pixels };
}

describe('dataset cache', () => {
  it('round-trips pixels, labels and metadata, and leaves no temporary file', async () => {
    const { file, pixels } = await writeSample('a.gsd');
    const { dataset, meta } = await readDatasetCache(file);
    expect(dataset).toMatchObject({ count: 3, height: 4, width: 4, channels: 3, classNames: ['b', 'a'], source: '/src (test)' });
    expect(Buffer.from(dataset.pixels).equals(Buffer.from(pixels))).toBe(true);
    expect(Array.from(dataset.labels!)).toEqual([1, 0, 1]);
    expect(meta).toMatchObject(META);
    const info = await readDatasetCacheInfo(file);
    expect(info).toMatchObject({ count: 3, labelled: true, version: 1, fileBytes: (await readFile(file)).length });
    expect(await readdir(tmp)).toEqual(['a.gsd']);
    const first = await readDatasetCache(file, { limit: 2 });
    expect(first.dataset.count).toBe(2);
    expect(Array.from(first.dataset.labels!)).toEqual([1, 0]);
  });

  it('writes unlabelled grayscale caches', async () => {
    const file = path.join(tmp, 'gray.gsd');
    const w = await DatasetCacheWriter.create(file, { size: 2, channels: 1, labelled: false });
    await w.append(Uint8Array.from([0, 64, 128, 255]));
    await w.finish({ ...META, classNames: [] });
    const { dataset } = await readDatasetCache(file);
    expect(dataset).toMatchObject({ count: 1, channels: 1, labels: null, classNames: [] });
    expect(Array.from(dataset.pixels)).toEqual([0, 64, 128, 255]);
  });

  it('abort removes the temporary file and creates nothing', async () => {
    const file = path.join(tmp, 'aborted.gsd');
    const w = await DatasetCacheWriter.create(file, { size: 2, channels: 1, labelled: false });
    await w.append(Uint8Array.from([1, 2, 3, 4]));
    await w.abort();
    expect((await readdir(tmp)).filter((f) => f.includes('aborted'))).toEqual([]);
    await expect(w.append(Uint8Array.from([1, 2, 3, 4]))).rejects.toThrow(/closed/);
    await expect(w.append(Uint8Array.from([1, 2, 3]))).rejects.toThrow();
  });

  it('rejects truncated, corrupt and foreign files with a clear DataError', async () => {
    const expectError = async (file: string, pattern: RegExp): Promise<void> => {
      const err = await readDatasetCache(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataError);
      expect((err as Error).message).toMatch(pattern);
    };
    const truncated = (await writeSample('truncated.gsd')).file;
    await truncate(truncated, CACHE_HEADER_BYTES + 20);
    await expectError(truncated, /^truncated dataset cache .*truncated.gsd: expected \d+ bytes, found 84/);
    const short = path.join(tmp, 'short.gsd');
    await writeFile(short, 'GSDC');
    await expectError(short, /^truncated dataset cache .*less than its 64-byte header/);

    const flipped = (await writeSample('flipped.gsd')).file;
    const bytes = await readFile(flipped);
    bytes[CACHE_HEADER_BYTES + 5] ^= 0xff;
    await writeFile(flipped, bytes);
    await expectError(flipped, /^corrupt dataset cache .*pixel data checksum mismatch/);

    const meta = (await writeSample('meta.gsd')).file;
    const mb = await readFile(meta);
    mb[mb.length - 3] ^= 0x01;
    await writeFile(meta, mb);
    await expectError(meta, /^corrupt dataset cache .*metadata checksum mismatch/);

    const version = (await writeSample('version.gsd')).file;
    const vb = await readFile(version);
    vb.writeUInt32LE(99, 8);
    await writeFile(version, vb);
    await expectError(version, /format version 99; this GAN Studio reads version 1/);

    const foreign = path.join(tmp, 'foreign.gsd');
    await writeFile(foreign, Buffer.alloc(200, 0x41));
    await expectError(foreign, /^not a GAN Studio dataset cache/);
    await expectError(path.join(tmp, 'missing.gsd'), /^dataset cache missing/);
  });
});
