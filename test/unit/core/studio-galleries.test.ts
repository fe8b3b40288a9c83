// Galleries through Studio on real tiny runs: reproducible pixels, regeneration from the stored
// latent, picking, saving without ever replacing a file, class-by-class galleries, deletion.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio, StudioError } from '../../../src/main/core/studio';
import type { TrainConfig } from '../../../src/shared/types';
import { writeSyntheticIdxSet } from '../../integration/helpers/idx-files';
import { testConfig, type TestConfigOverrides } from '../../helpers/train-config';

const scratch: string[] = [];
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
};
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

let home: string;
let studio: Studio;
let runId: number;

const config = (data: string, overrides: TestConfigOverrides = {}): TrainConfig =>
  testConfig({ data, steps: 2, name: 'gallery-test', ...overrides });

beforeAll(async () => {
  home = temp('gs-gallery-home-');
  studio = Studio.open(home);
  const data = writeSyntheticIdxSet(temp('gs-gallery-data-'), 32);
  const handle = await studio.train({ config: config(data), backend: 'wasm' });
  const { run } = await handle.done;
  expect(run.status).toBe('completed');
  runId = run.id;
});
afterAll(() => {
  studio.close();
  scratch.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

describe('Studio galleries', () => {
  it('draws the same pixels for the same run and seed, and records each latent', async () => {
    const a = await studio.createGallery({ runId, count: 6, seed: 5 });
    const b = await studio.createGallery({ runId, count: 6, seed: 5 });
    const c = await studio.createGallery({ runId, count: 6, seed: 6 });
    expect(a.images).toHaveLength(6);
    expect(a.step).toBe(2);
    expect(a.images.map((i) => [i.seed, i.latentIndex, i.classLabel, i.picked])).toEqual(
      Array.from({ length: 6 }, (_, i) => [5, i, null, false]),
    );
    for (const img of a.images) expect(img.path.startsWith(join(home, 'galleries', String(a.id)))).toBe(true);
    expect(a.images.map((i) => sha(i.path))).toEqual(b.images.map((i) => sha(i.path)));
    expect(a.images.map((i) => sha(i.path))).not.toEqual(c.images.map((i) => sha(i.path)));
    expect(new Set(a.images.map((i) => sha(i.path))).size).toBe(6);
    const meta = await sharp(a.images[0]!.path).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([28, 28, 'png']);

    expect(studio.listGalleries({ runId }).map((g) => [g.id, g.count, g.picked])).toEqual([
      [c.id, 6, 0],
      [b.id, 6, 0],
      [a.id, 6, 0],
    ]);
    expect(studio.listGalleries().length).toBe(3);
  });

  it('regenerates one image from its stored latent, byte-identical at the same checkpoint', async () => {
    const g = await studio.createGallery({ runId, count: 5, seed: 11 });
    const again = await studio.regenerate(g.id, 3);
    expect(again.step).toBe(g.step);
    expect(sha(again.path)).toBe(sha(g.images[3]!.path));
    await expect(studio.regenerate(g.id, 3, 999)).rejects.toThrow(/no checkpoint at step 999/);
    await expect(studio.regenerate(g.id, 5)).rejects.toBeInstanceOf(StudioError);
  });

  it('picks images and saves them without replacing existing files', async () => {
    const g = await studio.createGallery({ runId, count: 6, seed: 3 });
    await expect(studio.saveGallery({ galleryId: g.id, which: 'picked', outDir: temp('gs-none-') })).rejects.toThrow(/no images are picked/);
    const picked = studio.setPicked(g.id, [1, 2, 4], true);
    expect(picked.images.filter((i) => i.picked).map((i) => i.index)).toEqual([1, 2, 4]);
    expect(studio.setPicked(g.id, [2], false).images.filter((i) => i.picked).map((i) => i.index)).toEqual([1, 4]);
    studio.setPicked(g.id, [2], true);
    expect(() => studio.setPicked(g.id, [6], true)).toThrow(StudioError);

    const out = join(temp('gs-gallery-out-'), 'picked');
    const first = await studio.saveGallery({ galleryId: g.id, which: 'picked', outDir: out });
    expect(first.dir).toBe(out);
    expect(first.files.map((f) => f.slice(out.length + 1))).toEqual([`gallery${g.id}-0001.png`, `gallery${g.id}-0002.png`, `gallery${g.id}-0004.png`]);
    expect(first.files.map(sha)).toEqual([1, 2, 4].map((i) => sha(g.images[i]!.path)));
    expect(studio.getGallery(g.id).images.filter((i) => i.savedPath).map((i) => i.savedPath)).toEqual(first.files);

    // A file the user already has under one of those names stays as it is.
    writeFileSync(join(out, `gallery${g.id}-0001-1.png`), 'mine');
    const before = first.files.map(sha);
    const second = await studio.saveGallery({ galleryId: g.id, which: 'picked', outDir: out });
    expect(second.files.map((f) => f.slice(out.length + 1))).toEqual([`gallery${g.id}-0001-2.png`, `gallery${g.id}-0002-1.png`, `gallery${g.id}-0004-1.png`]);
    expect(first.files.map(sha)).toEqual(before);
    expect(readFileSync(join(out, `gallery${g.id}-0001-1.png`), 'utf8')).toBe('mine');
    expect(readdirSync(out).filter((f) => f.endsWith('.png'))).toHaveLength(7);

    const all = await studio.saveGallery({ galleryId: g.id, which: 'all', outDir: out });
    expect(all.files).toHaveLength(6);
    expect(new Set([...first.files, ...second.files, ...all.files]).size).toBe(12);

    const grid1 = await studio.saveGallery({ galleryId: g.id, which: 'all', outDir: out, asGrid: true });
    const grid2 = await studio.saveGallery({ galleryId: g.id, which: 'all', outDir: out, asGrid: true });
    expect(grid1.files.map((f) => f.slice(out.length + 1))).toEqual([`gallery${g.id}-grid.png`]);
    expect(grid2.files.map((f) => f.slice(out.length + 1))).toEqual([`gallery${g.id}-grid-1.png`]);
    expect(sha(grid1.files[0]!)).toBe(sha(grid2.files[0]!));
    const meta = await sharp(grid1.files[0]!).metadata();
    // 6 images, 3 columns x 2 rows of 28 px with 2 px padding.
    expect([meta.width, meta.height]).toEqual([3 * 28 + 4 * 2, 2 * 28 + 3 * 2]);
    expect(readdirSync(out).some((f) => f.endsWith('.tmp'))).toBe(false);
  });

  it('refuses class galleries for an unconditional run, bad counts and unknown ids', async () => {
    await expect(studio.createGallery({ runId, perClass: 2 })).rejects.toThrow(/not a conditional model/);
    await expect(studio.createGallery({ runId, count: 0 })).rejects.toThrow(/1 to/);
    await expect(studio.createGallery({ runId: 999, count: 1 })).rejects.toMatchObject({ code: 'not-found' });
    expect(() => studio.getGallery(999)).toThrow(/no gallery 999/);
  });

  it('deletes a gallery with its files, and a run with its galleries', async () => {
    const g = await studio.createGallery({ runId, count: 2, seed: 9 });
    const dir = join(home, 'galleries', String(g.id));
    expect(existsSync(dir)).toBe(true);
    studio.deleteGallery(g.id);
    expect(existsSync(dir)).toBe(false);
    expect(() => studio.getGallery(g.id)).toThrow(StudioError);

    const data = writeSyntheticIdxSet(temp('gs-gallery-data2-'), 16);
    const { run } = await (await studio.train({ config: config(data, { name: 'doomed' }), backend: 'wasm' })).done;
    const doomed = await studio.createGallery({ runId: run.id, count: 2 });
    studio.deleteRun(run.id);
    expect(existsSync(join(home, 'galleries', String(doomed.id)))).toBe(false);
    expect(studio.listGalleries().some((x) => x.id === doomed.id)).toBe(false);
  });
});

describe('class-by-class galleries', () => {
  it('draws perClass images of each class of a conditional run, one row per class', async () => {
    const folder = temp('gs-gallery-classes-');
    for (const [cls, shade] of [['circle', 40], ['square', 220]] as const) {
      mkdirSync(join(folder, cls));
      for (let i = 0; i < 8; i++) {
        const pixels = Buffer.alloc(28 * 28, shade + i);
        await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(folder, cls, `${i}.png`));
      }
    }
    const { run } = await (
      await studio.train({ config: config(folder, { model: { kind: 'cgan', size: 28, channels: 1, latent: 8, numClasses: 2 }, name: 'classes' }), labels: true, backend: 'wasm' })
    ).done;
    expect(run.config.model.classNames).toEqual(['circle', 'square']);
    const g = await studio.createGallery({ runId: run.id, perClass: 3, seed: 2 });
    expect(g.perClass).toBe(3);
    expect(g.images.map((i) => i.classLabel)).toEqual([0, 0, 0, 1, 1, 1]);
    const again = await studio.regenerate(g.id, 4);
    expect(sha(again.path)).toBe(sha(g.images[4]!.path));
    const only = await studio.createGallery({ runId: run.id, perClass: 2, classes: [1], seed: 2 });
    expect(only.images.map((i) => i.classLabel)).toEqual([1, 1]);
    await expect(studio.createGallery({ runId: run.id, perClass: 2, classes: [2] })).rejects.toThrow(/out of range/);

    const out = temp('gs-gallery-class-out-');
    studio.setPicked(g.id, [0, 3], true);
    const saved = await studio.saveGallery({ galleryId: g.id, which: 'picked', outDir: out });
    expect(saved.files.map((f) => f.slice(out.length + 1))).toEqual([`gallery${g.id}-0000-circle.png`, `gallery${g.id}-0003-square.png`]);
    const grid = await studio.saveGallery({ galleryId: g.id, which: 'all', outDir: out, asGrid: true });
    const meta = await sharp(grid.files[0]!).metadata();
    expect([meta.width, meta.height]).toEqual([3 * 28 + 4 * 2, 2 * 28 + 3 * 2]);
  });
});
