import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DataError } from '../../../../src/main/core/data/data-error';
import { readDatasetCache, readDatasetCacheInfo } from '../../../../src/main/core/data/dataset-cache';
import { FASHION_MNIST_CLASSES } from '../../../../src/main/core/data/dataset-loader';
import {
  DatasetConflictError,
  DatasetImporter,
  mirrorImages,
  type ImportProgressEvent,
  type ImportRequest,
} from '../../../../src/main/core/data/dataset-importer';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../../../../src/main/core/data/idx-reader';
import { openDatabase, type Database } from '../../../../src/main/core/store/database';
import { DatasetStore } from '../../../../src/main/core/store/dataset-store';
import { cifarRecords, grayAlphaPng, idxFile, pixelAt, pngClaiming, rawImage, snapshot } from './fixtures';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const FASHION = '/usr/share/datasets/fashion-mnist';
const S = 32;

let tmp: string;
let messy: string; // every case of the issue, with class folders
let home: string;
let db: Database;
let store: DatasetStore;
let importer: DatasetImporter;

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];

/** Files of the messy fixture and what the import must make of them (path relative to it). */
const EXPECTED_SKIPS: Record<string, RegExp> = {
  'dogs/broken-link.png': /^broken symbolic link$/,
  'dogs/empty.png': /^empty file$/,
  'dogs/fifo.png': /^not a regular file$/,
  'dogs/huge.png': /^image too large: 100000x100000 px/,
  'dogs/loop': /^symbolic link loop \(back to the top folder\)/,
  'dogs/text.png': /^not an image$/,
  'dogs/truncated.jpg': /^corrupt or truncated image: /,
  'dogs/truncated.png': /^corrupt or truncated image: /,
  'stray.png': /^not in a class folder$/,
};
const CATS = ['a-wide.png', 'b-rotated.jpg', 'c-anim.gif', 'd-16bit.png', 'e-palette.png', 'f-gray-alpha.png', 'g-cmyk.jpg', 'h-really-png.txt', 'i-photo.webp', 'j-scan.tiff'];
const NON_UTF8 = Buffer.from([0x6b, 0x2d, 0xff, 0xfe, 0x2e, 0x70, 0x6e, 0x67]); // "k-\xff\xfe.png"

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'gan-import-'));
  await chmod(tmp, 0o755);
  messy = path.join(tmp, 'messy');
  const cats = path.join(messy, 'cats');
  const dogs = path.join(messy, 'dogs');
  await mkdir(cats, { recursive: true });
  await mkdir(path.join(dogs, 'deep'), { recursive: true });
  const c = (n: string): string => path.join(cats, n);
  const d = (n: string): string => path.join(dogs, n);

  // cats: ten good images, each a different format or colour model.
  // 90x30: red | green | blue stripes (centre crop: green; pad: black bars top and bottom).
  await rawImage(90, 30, 3, (x) => (x < 20 ? RED : x < 70 ? GREEN : BLUE)).png().toFile(c('a-wide.png'));
  // Stored 40x20, red on top, blue below, EXIF orientation 6: shown 20x40, blue left, red right.
  await rawImage(40, 20, 3, (_x, y) => (y < 10 ? RED : BLUE)).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(c('b-rotated.jpg'));
  // Animated GIF: first frame red, second blue.
  const frames = Buffer.alloc(16 * 32 * 3);
  for (let i = 0; i < 16 * 32; i++) frames.set(i < 256 ? RED : BLUE, i * 3);
  await sharp(frames, { raw: { width: 16, height: 32, channels: 3, pageHeight: 16 } as sharp.CreateRaw }).gif().toFile(c('c-anim.gif'));
  await sharp({ create: { width: 12, height: 12, channels: 3, background: { r: 10, g: 200, b: 30 } } }).toColourspace('rgb16').png().toFile(c('d-16bit.png'));
  await sharp({ create: { width: 12, height: 12, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png({ palette: true }).toFile(c('e-palette.png'));
  await writeFile(c('f-gray-alpha.png'), grayAlphaPng(10, 10, 200, 128));
  await sharp({ create: { width: 12, height: 12, channels: 3, background: { r: 0, g: 255, b: 255 } } }).toColourspace('cmyk').jpeg().toFile(c('g-cmyk.jpg'));
  await rawImage(20, 20, 3, () => [77, 77, 77]).png().toFile(c('h-really-png.txt'));
  await rawImage(14, 10, 3, () => [10, 200, 30]).webp({ lossless: true }).toFile(c('i-photo.webp'));
  await rawImage(16, 16, 3, () => [30, 60, 90]).tiff().toFile(c('j-scan.tiff'));

  // dogs: three good images and every kind of bad entry.
  await rawImage(16, 16, 3, () => [255, 255, 255]).png().toFile(d('deep/white.png'));
  await rawImage(16, 16, 3, () => [0, 0, 0]).png().toFile(d('black.png'));
  await writeFile(Buffer.concat([Buffer.from(dogs + '/'), NON_UTF8]), await rawImage(16, 16, 3, () => [0, 128, 255]).png().toBuffer());
  await writeFile(d('empty.png'), Buffer.alloc(0));
  await writeFile(d('text.png'), 'this is not an image\n');
  const noise = { width: 64, height: 64, channels: 3 as const, background: '#000', noise: { type: 'gaussian' as const, mean: 100, sigma: 30 } };
  const jpeg = await sharp({ create: noise }).jpeg().toBuffer();
  await writeFile(d('truncated.jpg'), jpeg.subarray(0, jpeg.length >> 1));
  const png = await sharp({ create: noise }).png().toBuffer();
  await writeFile(d('truncated.png'), png.subarray(0, png.length >> 1));
  await writeFile(d('huge.png'), pngClaiming(100_000, 100_000));
  execFileSync('mkfifo', [d('fifo.png')]);
  await symlink(path.join(tmp, 'nowhere.png'), d('broken-link.png'));
  await symlink('..', d('loop'));
  // Directly in the root: no class.
  await rawImage(8, 8, 3, () => [9, 9, 9]).png().toFile(path.join(messy, 'stray.png'));
  // Hidden: ignored altogether.
  await rawImage(8, 8, 3, () => [1, 2, 3]).png().toFile(path.join(messy, '.hidden.png'));

  home = path.join(tmp, 'home');
  db = openDatabase(home);
  store = new DatasetStore(db);
  importer = new DatasetImporter(home, store);
});

afterAll(async () => {
  db?.close();
  await rm(tmp, { recursive: true, force: true });
});

function req(over: Partial<ImportRequest> & { name: string }): ImportRequest {
  return { path: messy, size: S, channels: 3, labels: true, ...over };
}

describe('DatasetImporter: a messy image folder', () => {
  it('imports every usable file, skips every bad one with its reason, and leaves the source byte-for-byte unchanged', async () => {
    const before = await snapshot(messy);
    const progress: ImportProgressEvent[] = [];
    const s = await importer.import(req({ name: 'messy' }), (p) => progress.push(p));
    expect(await snapshot(messy)).toEqual(before);

    const skips = Object.fromEntries(s.skippedFiles.map((f) => [path.relative(messy, f.path), f.reason]));
    expect(Object.keys(skips).sort()).toEqual(Object.keys(EXPECTED_SKIPS).sort());
    for (const [file, reason] of Object.entries(EXPECTED_SKIPS)) expect(skips[file], file).toMatch(reason);
    expect(skips['dogs/truncated.png']).not.toMatch(/failOn/);

    expect(s.imported).toBe(CATS.length + 3);
    expect(s.skipped).toBe(Object.keys(EXPECTED_SKIPS).length);
    expect(s.seen).toBe(22);
    expect(s.imported + s.skipped).toBe(s.seen);
    expect(s.count).toBe(s.imported);
    expect(s.unchanged).toBe(false);
    expect(s.dataset).toMatchObject({ name: 'messy', format: 'folder', size: S, channels: 3, count: 13, classNames: ['cats', 'dogs'], seen: 22, skipped: 9 });
    expect(progress.at(-1)).toMatchObject({ done: 22, total: 22, imported: 13, skipped: 9 });
    expect(progress.every((p) => p.imagesPerSec >= 0 && Number.isFinite(p.imagesPerSec))).toBe(true);

    // The cache holds the dataset: shape, range, labels.
    const { dataset: d } = await readDatasetCache(s.dataset.cachePath!);
    expect(d).toMatchObject({ count: 13, height: S, width: S, channels: 3, classNames: ['cats', 'dogs'] });
    expect(d.pixels.length).toBe(13 * S * S * 3);
    expect(Array.from(d.labels!)).toEqual([...Array(10).fill(0), 1, 1, 1]);
    expect(Math.min(...d.pixels)).toBe(0);
    expect(Math.max(...d.pixels)).toBe(255);
    // The contact sheet sits beside the cache.
    const sheet = await sharp(s.dataset.contactSheetPath!).metadata();
    expect(path.dirname(s.dataset.contactSheetPath!)).toBe(path.dirname(s.dataset.cachePath!));
    expect(sheet.format).toBe('png');
    expect(sheet.width).toBe(8 * S + 9 * 2);
    expect(sheet.height).toBe(2 * S + 3 * 2);
  });

  it('decodes every format and colour model as asked: orientation, first GIF frame, 16-bit, palette, gray+alpha, CMYK', async () => {
    const s = await importer.import(req({ name: 'formats' }));
    const { dataset: d } = await readDatasetCache(s.dataset.cachePath!);
    const px = (i: number, y: number, x: number): number[] => pixelAt(d.pixels, S, 3, i, y, x);
    const near = (got: number[], want: number[], tol: number): void => got.forEach((v, k) => expect(Math.abs(v - want[k]!), `${got} vs ${want}`).toBeLessThanOrEqual(tol));
    // a: crop keeps the green middle.
    near(px(0, 16, 2), GREEN, 4);
    near(px(0, 16, 29), GREEN, 4);
    // b: EXIF 6 applied: blue left, red right (stored: red top, blue bottom).
    near(px(1, 16, 4), BLUE, 40);
    near(px(1, 16, 27), RED, 40);
    // c: the GIF's first frame (red), not the second (blue).
    near(px(2, 16, 16), RED, 4);
    // d: 16-bit PNG converted to 8 bits.
    near(px(3, 5, 5), [10, 200, 30], 2);
    // e: palette PNG (quantised, so loosely).
    near(px(4, 5, 5), [200, 40, 90], 12);
    // f: gray 200 at alpha 128, flattened on black: about 100, gray.
    near(px(5, 5, 5), [100, 100, 100], 3);
    // g: CMYK cyan, converted to sRGB: clearly more blue/green than red.
    const [r, g, b] = px(6, 5, 5) as [number, number, number];
    expect(b).toBeGreaterThan(r + 40);
    expect(g).toBeGreaterThan(r + 20);
    // h: the PNG named .txt (decided by content).
    expect(px(7, 3, 3)).toEqual([77, 77, 77]);
    near(px(8, 3, 3), [10, 200, 30], 1);
    near(px(9, 3, 3), [30, 60, 90], 1);
    // dogs, sorted: black.png, deep/white.png, then the non-UTF-8 name (shown with \x escapes).
    expect(px(10, 3, 3)).toEqual([0, 0, 0]);
    expect(px(11, 3, 3)).toEqual([255, 255, 255]);
    near(px(12, 3, 3), [0, 128, 255], 1);
  });

  it('fits non-square images by crop, pad or stretch', async () => {
    const first = async (fit: 'crop' | 'pad' | 'stretch'): Promise<(y: number, x: number) => number[]> => {
      const s = await importer.import(req({ name: `fit-${fit}`, fit }));
      const { dataset: d } = await readDatasetCache(s.dataset.cachePath!, { limit: 1 });
      return (y, x) => pixelAt(d.pixels, S, 3, 0, y, x);
    };
    const near = (got: number[], want: number[]): void => got.forEach((v, k) => expect(Math.abs(v - want[k]!), `${got} vs ${want}`).toBeLessThanOrEqual(6));
    const crop = await first('crop');
    near(crop(0, 2), GREEN);
    near(crop(16, 29), GREEN);
    // pad: 90x30 -> 32x11 in the middle, black above and below; all three stripes visible.
    const pad = await first('pad');
    near(pad(0, 16), [0, 0, 0]);
    near(pad(31, 16), [0, 0, 0]);
    near(pad(16, 2), RED);
    near(pad(16, 16), GREEN);
    near(pad(16, 29), BLUE);
    // stretch: the whole image squeezed to 32x32, no black.
    const stretch = await first('stretch');
    near(stretch(0, 2), RED);
    near(stretch(31, 16), GREEN);
    near(stretch(16, 29), BLUE);
  });

  it('makes grayscale when asked', async () => {
    const s = await importer.import(req({ name: 'gray', channels: 1 }));
    const { dataset: d } = await readDatasetCache(s.dataset.cachePath!);
    expect(d.channels).toBe(1);
    expect(d.pixels.length).toBe(13 * S * S);
    expect(pixelAt(d.pixels, S, 1, 7, 3, 3)).toEqual([77]);
  });

  it('--mirror adds a horizontal flip after every image and says so', async () => {
    const s = await importer.import(req({ name: 'mirrored', mirror: true }));
    expect(s.imported).toBe(13);
    expect(s.count).toBe(26);
    expect(s.mirrored).toBe(true);
    expect(s.message).toMatch(/flips.*26 images/);
    const { dataset: d } = await readDatasetCache(s.dataset.cachePath!);
    expect(d.count).toBe(26);
    expect(Array.from(d.labels!)).toEqual([...Array(20).fill(0), ...Array(6).fill(1)]);
    // Image 2 (b-rotated: blue left, red right) becomes red left, blue right in its flip (image 3).
    for (const y of [4, 16, 28]) {
      for (let x = 0; x < S; x++) expect(pixelAt(d.pixels, S, 3, 3, y, x)).toEqual(pixelAt(d.pixels, S, 3, 2, y, S - 1 - x));
    }
    expect(mirrorImages(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 1, 2, 2)).toEqual(Uint8Array.from([3, 4, 1, 2, 7, 8, 5, 6]));
  });

  it('without --labels every image is used, stray ones included, unlabelled', async () => {
    const s = await importer.import(req({ name: 'unlabelled', labels: false }));
    expect(s.imported).toBe(14);
    expect(s.dataset.classNames).toEqual([]);
    const { dataset: d } = await readDatasetCache(s.dataset.cachePath!);
    expect(d.labels).toBeNull();
  });

  it('re-importing an unchanged folder is instant; a change is noticed and re-imported under the same id', async () => {
    const dir = path.join(tmp, 'small');
    await mkdir(dir);
    for (let i = 0; i < 3; i++) await rawImage(20, 20, 3, () => [i * 50, 0, 0]).png().toFile(path.join(dir, `${i}.png`));
    const first = await importer.import({ path: dir, name: 'small', size: 28 });
    expect(first.unchanged).toBe(false);
    const again = await importer.import({ path: dir, name: 'small', size: 28 });
    expect(again.unchanged).toBe(true);
    expect(again.message).toMatch(/unchanged, using the cached import/);
    expect(again.seconds).toBeLessThan(0.5);
    expect(again.dataset.cachePath).toBe(first.dataset.cachePath);
    expect(again).toMatchObject({ imported: 3, skipped: 0, seen: 3, count: 3 });

    // Touching a file (same bytes, new mtime) counts as a change.
    const t = new Date(Date.now() + 5000);
    await utimes(path.join(dir, '1.png'), t, t);
    const touched = await importer.import({ path: dir, name: 'small', size: 28 });
    expect(touched.unchanged).toBe(false);
    expect(touched.dataset.id).toBe(first.dataset.id);
    expect(existsSync(first.dataset.cachePath!)).toBe(false); // the old cache is gone
    // A new file too, and a broken one is reported.
    await rawImage(20, 20, 3, () => [0, 0, 200]).png().toFile(path.join(dir, '3.png'));
    await writeFile(path.join(dir, '4.png'), '');
    const grown = await importer.import({ path: dir, name: 'small', size: 28 });
    expect(grown).toMatchObject({ unchanged: false, imported: 4, skipped: 1, seen: 5 });
    expect(grown.skippedFiles).toEqual([{ path: path.join(dir, '4.png'), reason: 'empty file' }]);
    // Other options are a re-import too, unchanged files or not.
    const bigger = await importer.import({ path: dir, name: 'small', size: 64 });
    expect(bigger.unchanged).toBe(false);
    expect(bigger.dataset.size).toBe(64);
    // Unchanged again: the stored skip list comes back.
    const same = await importer.import({ path: dir, name: 'small', size: 64 });
    expect(same).toMatchObject({ unchanged: true, skipped: 1, skippedFiles: grown.skippedFiles });
    // Only the current files remain in the datasets folder.
    const files = (await readdir(path.join(home, 'datasets'))).filter((f) => f.startsWith('small-'));
    expect(files.sort()).toEqual([path.basename(same.dataset.cachePath!), path.basename(same.dataset.contactSheetPath!)].sort());
  });

  it('refuses a name taken by another source', async () => {
    const other = path.join(tmp, 'other');
    await mkdir(other);
    await rawImage(8, 8, 3, () => [1, 1, 1]).png().toFile(path.join(other, 'x.png'));
    const err = await importer.import({ path: other, name: 'messy' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetConflictError);
    expect((err as Error).message).toMatch(/"messy" already exists, imported from .*messy/);
  });

  it('fails with one clear DataError for a folder with no usable image, writing nothing', async () => {
    const bad = path.join(tmp, 'bad');
    await mkdir(bad);
    await writeFile(path.join(bad, 'a.png'), '');
    await writeFile(path.join(bad, 'b.jpg'), 'text');
    const before = await readdir(path.join(home, 'datasets'));
    const err = await importer.import({ path: bad, name: 'bad' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(/^no usable images in .*bad: 2 files skipped \(a.png: empty file; b.jpg: not an image\)/);
    expect(await readdir(path.join(home, 'datasets'))).toEqual(before);
    expect(store.findByName('bad')).toBeNull();
    await expect(importer.import({ path: path.join(tmp, 'missing'), name: 'x' })).rejects.toThrow(/^no such file or folder/);
  });

  it('reports unreadable files and folders (checked as an unprivileged user: root reads everything)', async () => {
    const dir = path.join(tmp, 'locked');
    await mkdir(path.join(dir, 'closed'), { recursive: true });
    await rawImage(8, 8, 3, () => [5, 5, 5]).png().toFile(path.join(dir, 'ok.png'));
    await rawImage(8, 8, 3, () => [5, 5, 5]).png().toFile(path.join(dir, 'secret.png'));
    await rawImage(8, 8, 3, () => [5, 5, 5]).png().toFile(path.join(dir, 'closed/inside.png'));
    await chmod(path.join(dir, 'secret.png'), 0o000);
    await chmod(path.join(dir, 'closed'), 0o000);
    const script = [
      `import { readImageFolder } from ${JSON.stringify(path.join(REPO, 'src/main/core/data/image-folder.ts'))};`,
      `const r = await readImageFolder(${JSON.stringify(dir)}, { size: 8, channels: 3, labels: false });`,
      `console.log(JSON.stringify({ count: r.dataset.count, seen: r.seen, skipped: r.skipped }));`,
    ].join('\n');
    const file = path.join(tmp, 'unreadable-check.mts');
    await writeFile(file, script);
    await chmod(file, 0o644);
    const asRoot = process.getuid?.() === 0;
    const res = spawnSync(process.execPath, ['--import', 'tsx', file], {
      cwd: REPO,
      encoding: 'utf8',
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
      env: { ...process.env, HOME: tmp },
    });
    await chmod(path.join(dir, 'closed'), 0o755);
    await chmod(path.join(dir, 'secret.png'), 0o644);
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout.trim().split('\n').at(-1)!) as { count: number; seen: number; skipped: { path: string; reason: string }[] };
    expect(out.count).toBe(1);
    expect(out.seen).toBe(3);
    expect(out.skipped).toEqual([
      { path: path.join(dir, 'closed'), reason: 'cannot read folder: permission denied' },
      { path: path.join(dir, 'secret.png'), reason: 'cannot read file: permission denied' },
    ]);
  });
});

describe('DatasetImporter: IDX and CIFAR-10', () => {
  it('imports an IDX images file with its labels beside it, gzipped or not, resized as asked', async () => {
    const dir = path.join(tmp, 'idx');
    await mkdir(dir);
    const n = 5;
    const images = new Uint8Array(n * 4 * 4);
    for (let i = 0; i < n; i++) images.fill(i * 60, i * 16, (i + 1) * 16);
    await writeFile(path.join(dir, 'train-images-idx3-ubyte.gz'), idxFile(IDX_IMAGES_MAGIC, [n, 4, 4], images, true));
    await writeFile(path.join(dir, 'train-labels-idx1-ubyte'), idxFile(IDX_LABELS_MAGIC, [n], Uint8Array.from([0, 1, 2, 1, 0])));
    const before = await snapshot(dir);
    // The folder form: finds train-images-idx3-ubyte.gz inside.
    const s = await importer.import({ path: dir, name: 'tiny-idx' });
    expect(await snapshot(dir)).toEqual(before);
    expect(s).toMatchObject({ imported: 5, skipped: 0, seen: 5, count: 5 });
    expect(s.dataset).toMatchObject({ format: 'idx', size: 28, channels: 1, classNames: ['class 0', 'class 1', 'class 2'] });
    const { dataset: d } = await readDatasetCache(s.dataset.cachePath!);
    expect(Array.from(d.labels!)).toEqual([0, 1, 2, 1, 0]);
    expect(d.pixels[3 * 28 * 28 + 100]).toBe(180); // uniform images stay uniform
    // The file form, as RGB 32 px with flips.
    const f = await importer.import({ path: path.join(dir, 'train-images-idx3-ubyte.gz'), name: 'tiny-idx-rgb', size: 32, channels: 3, mirror: true });
    expect(f.count).toBe(10);
    const { dataset: e } = await readDatasetCache(f.dataset.cachePath!);
    expect(e.pixels.length).toBe(10 * 32 * 32 * 3);
    expect(Array.from(e.labels!)).toEqual([0, 0, 1, 1, 2, 2, 1, 1, 0, 0]);
  });

  it('imports CIFAR-10 batches with class names from batches.meta.txt', async () => {
    const dir = path.join(tmp, 'cifar', 'cifar-10-batches-bin');
    await mkdir(dir, { recursive: true });
    const value = (n: number, c: number, i: number): number => (c === 0 ? 10 * n : c === 1 ? 100 : i % 32);
    await writeFile(path.join(dir, 'data_batch_1.bin'), cifarRecords([3, 7], value));
    await writeFile(path.join(dir, 'data_batch_2.bin'), cifarRecords([9], (n, c, i) => value(n + 2, c, i)));
    await writeFile(path.join(dir, 'test_batch.bin'), cifarRecords([0], value));
    await writeFile(path.join(dir, 'batches.meta.txt'), 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n');
    const s = await importer.import({ path: path.dirname(dir), name: 'tiny-cifar' });
    expect(s).toMatchObject({ imported: 3, seen: 3, skipped: 0, count: 3 });
    expect(s.dataset).toMatchObject({ format: 'cifar10', size: 32, channels: 3, classNames: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] });
    const { dataset: d } = await readDatasetCache(s.dataset.cachePath!);
    expect(Array.from(d.labels!)).toEqual([3, 7, 9]);
    expect(pixelAt(d.pixels, 32, 3, 1, 0, 5)).toEqual([10, 100, 5]);
    expect(pixelAt(d.pixels, 32, 3, 2, 31, 31)).toEqual([20, 100, 31]);
    const again = await importer.import({ path: path.dirname(dir), name: 'tiny-cifar' });
    expect(again.unchanged).toBe(true);
  });

  it('imports the Debian Fashion-MNIST set (60,000 images) quickly, then reuses it', async (ctx) => {
      if (!existsSync(path.join(FASHION, 'train-images-idx3-ubyte.gz'))) {
        ctx.skip(`${FASHION} is not present (the Debian fashion-mnist data package is not installed)`);
      }
      const t0 = performance.now();
      const s = await importer.import({ path: FASHION, name: 'fashion' });
      const seconds = (performance.now() - t0) / 1000;
      console.log(`Fashion-MNIST import: ${s.count} images in ${seconds.toFixed(2)} s`);
      expect(s).toMatchObject({ imported: 60_000, skipped: 0, seen: 60_000, count: 60_000 });
      expect(s.dataset).toMatchObject({ format: 'idx', size: 28, channels: 1, classNames: [...FASHION_MNIST_CLASSES] });
      expect(seconds).toBeLessThan(20);
      const info = await readDatasetCacheInfo(s.dataset.cachePath!);
      expect(info).toMatchObject({ count: 60_000, height: 28, width: 28, channels: 1, labelled: true });
      const { dataset: d } = await readDatasetCache(s.dataset.cachePath!);
      expect(d.labels!.length).toBe(60_000);
      expect(new Set(d.labels).size).toBe(10);
      const again = await importer.import({ path: FASHION, name: 'fashion' });
      expect(again.unchanged).toBe(true);
      expect(again.seconds).toBeLessThan(1);
  });
});
