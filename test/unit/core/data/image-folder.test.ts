import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DataError } from '../../../../src/main/core/data/data-error';
import { readImageFolder, type ImportProgress } from '../../../../src/main/core/data/image-folder';

// ---------------------------------------------------------------------------------------------
// Fixture helpers

/** A raw RGB(A) image from a per-pixel function. */
function rawImage(
  width: number,
  height: number,
  channels: 3 | 4,
  px: (x: number, y: number) => number[],
): sharp.Sharp {
  const buf = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) buf.set(px(x, y), (y * width + x) * channels);
  }
  return sharp(buf, { raw: { width, height, channels } });
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const t = Buffer.from(type, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([t, data])));
  return Buffer.concat([len, t, data, crc]);
}

/** A small, valid-looking PNG whose header claims width x height (its pixel data is a stub). */
function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1000))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Every file under dir (hidden ones included, links not followed) with its SHA-256. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out[path.relative(dir, p)] = createHash('sha256').update(await readFile(p)).digest('hex');
      else out[path.relative(dir, p)] = e.isSymbolicLink() ? 'symlink' : 'other';
    }
  };
  await walk(dir);
  return out;
}

const SIZE = 10;
let tmp: string;
let flat: string; // mixed formats and broken files, no classes
let classes: string; // class subfolders

function pixel(data: Uint8Array, index: number, y: number, x: number, channels = 3): number[] {
  const o = ((index * SIZE + y) * SIZE + x) * channels;
  return Array.from(data.subarray(o, o + channels));
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'gan-folder-'));
  flat = path.join(tmp, 'flat');
  await mkdir(path.join(flat, 'sub'), { recursive: true });
  const at = (n: string): string => path.join(flat, n);

  // 90x30: red | green | blue stripes; the centre crop is the green stripe only.
  await rawImage(90, 30, 3, (x) => (x < 20 ? [255, 0, 0] : x < 70 ? [0, 255, 0] : [0, 0, 255]))
    .png()
    .toFile(at('a-wide.png'));
  // A JPEG photo-like image of another size.
  await sharp({ create: { width: 37, height: 23, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .jpeg()
    .toFile(at('b-photo.jpg'));
  // RGBA, half-transparent orange: flattened on black it is half as bright.
  await rawImage(12, 12, 4, () => [200, 100, 50, 128]).png().toFile(at('c-rgba.png'));
  // Stored 40x20 with red on top and blue below, EXIF orientation 6 (rotate 90° clockwise to
  // display): displayed 20x40 with blue on the left and red on the right.
  await rawImage(40, 20, 3, (_x, y) => (y < 10 ? [255, 0, 0] : [0, 0, 255]))
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .toFile(at('d-rotated.jpg'));
  // WebP, lossless, non-square.
  await rawImage(14, 10, 3, () => [10, 200, 30]).webp({ lossless: true }).toFile(at('e-small.webp'));
  // A PNG named .txt: imported (content decides).
  await rawImage(20, 20, 3, () => [77, 77, 77]).png().toFile(at('f-really-png.txt'));
  // Broken files.
  await writeFile(at('g-empty.png'), Buffer.alloc(0));
  await writeFile(at('h-text.png'), 'this is not an image\n');
  const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 100, sigma: 30 } } })
    .jpeg()
    .toBuffer();
  await writeFile(at('i-truncated.jpg'), jpeg.subarray(0, jpeg.length >> 1));
  await writeFile(at('j-huge.png'), pngClaiming(100_000, 100_000));
  await writeFile(at('j-wide.png'), pngClaiming(20_000, 2));
  // Hidden: ignored altogether.
  await rawImage(8, 8, 3, () => [1, 2, 3]).png().toFile(at('.hidden.png'));
  // Nested: imported.
  await rawImage(16, 16, 3, () => [255, 255, 255]).png().toFile(at('sub/k-nested.png'));

  classes = path.join(tmp, 'classes');
  const c = (n: string): string => path.join(classes, n);
  await mkdir(c('cats'), { recursive: true });
  await mkdir(c('dogs/deep'), { recursive: true });
  await mkdir(c('birds'), { recursive: true });
  await mkdir(c('.git'), { recursive: true });
  await rawImage(8, 8, 3, () => [255, 0, 0]).png().toFile(c('cats/c1.png'));
  await rawImage(9, 9, 3, () => [250, 0, 0]).jpeg().toFile(c('cats/c2.jpg'));
  await rawImage(8, 8, 3, () => [0, 0, 255]).png().toFile(c('dogs/d1.png'));
  await rawImage(8, 8, 3, () => [0, 0, 250]).png().toFile(c('dogs/deep/d2.png'));
  await writeFile(c('birds/notes.png'), 'no image here');
  await rawImage(8, 8, 3, () => [9, 9, 9]).png().toFile(c('stray.png'));
  await rawImage(8, 8, 3, () => [9, 9, 9]).png().toFile(c('.git/ignored.png'));
  await symlink('..', c('dogs/loop')); // a link back to an ancestor must not loop
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('readImageFolder', () => {
  it('imports every usable file, skips the others with reasons, and never touches the source', async () => {
    const before = await snapshot(flat);
    const progress: ImportProgress[] = [];
    const { dataset, skipped, seen } = await readImageFolder(flat, {
      size: SIZE,
      channels: 3,
      labels: false,
      onProgress: (p) => progress.push(p),
    });
    expect(await snapshot(flat)).toEqual(before);

    expect(dataset.count).toBe(7);
    expect(skipped).toHaveLength(5);
    expect(seen).toBe(12);
    expect(dataset.count + skipped.length).toBe(seen);
    expect(dataset).toMatchObject({ height: SIZE, width: SIZE, channels: 3, labels: null, classNames: [] });
    expect(dataset.pixels).toBeInstanceOf(Uint8Array);
    expect(dataset.pixels.length).toBe(7 * SIZE * SIZE * 3);

    const reasons = Object.fromEntries(skipped.map((s) => [path.basename(s.path), s.reason]));
    expect(reasons['g-empty.png']).toBe('empty file');
    expect(reasons['h-text.png']).toBe('not an image');
    expect(reasons['i-truncated.jpg']).toMatch(/^corrupt or truncated image: /);
    expect(reasons['i-truncated.jpg']).not.toMatch(/failOn/); // the decoder's own words, not the generic line
    expect(reasons['j-huge.png']).toMatch(/^image too large: 100000x100000 px/);
    expect(reasons['j-wide.png']).toMatch(/^image too large: 20000x2 px/);
    expect(skipped.every((s) => path.isAbsolute(s.path))).toBe(true);

    // Progress: one report per file, ending with everything done.
    expect(progress).toHaveLength(seen);
    expect(progress.at(-1)).toEqual({ done: seen, total: seen, imported: 7, skipped: 5 });
  });

  it('decodes by content, orients, flattens alpha on black and centre-crops', async () => {
    const { dataset: d } = await readImageFolder(flat, { size: SIZE, channels: 3, labels: false });
    const px = (i: number, y: number, x: number): number[] => pixel(d.pixels, i, y, x);
    // Sorted order: a-wide, b-photo, c-rgba, d-rotated, e-small, f-really-png.txt, sub/k-nested.
    // a: the centre crop of red|green|blue is pure green (allow for resampling at the margins).
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const [r, g, b] = px(0, y, x) as [number, number, number];
        expect(g).toBeGreaterThanOrEqual(250);
        expect(r).toBeLessThanOrEqual(5);
        expect(b).toBeLessThanOrEqual(5);
      }
    }
    // b: noise, so a spread of values.
    const b = d.pixels.subarray(1 * SIZE * SIZE * 3, 2 * SIZE * SIZE * 3);
    expect(Math.max(...b) - Math.min(...b)).toBeGreaterThan(30);
    // c: (200, 100, 50) at alpha 128 over black.
    for (const [got, want] of px(2, 5, 5).map((v, i) => [v, [100, 50, 25][i]!])) {
      expect(Math.abs(got! - want)).toBeLessThanOrEqual(2);
    }
    // d: EXIF orientation 6 applied: blue on the left, red on the right (unrotated: red on top).
    const [lr, , lb] = px(3, 2, 1) as [number, number, number];
    const [rr, , rb] = px(3, 2, 8) as [number, number, number];
    expect(lb).toBeGreaterThan(200);
    expect(lr).toBeLessThan(50);
    expect(rr).toBeGreaterThan(200);
    expect(rb).toBeLessThan(50);
    // e: WebP lossless, uniform.
    expect(px(4, 0, 0)).toEqual([10, 200, 30]);
    expect(px(4, 9, 9)).toEqual([10, 200, 30]);
    // f: the PNG named .txt.
    expect(px(5, 3, 3)).toEqual([77, 77, 77]);
    // k: nested folder, white.
    expect(px(6, 0, 0)).toEqual([255, 255, 255]);
  });

  it('produces grayscale when asked', async () => {
    const { dataset: d } = await readImageFolder(flat, { size: SIZE, channels: 1, labels: false });
    expect(d.channels).toBe(1);
    expect(d.pixels.length).toBe(7 * SIZE * SIZE);
    expect(pixel(d.pixels, 5, 3, 3, 1)).toEqual([77]); // gray stays gray
    expect(pixel(d.pixels, 6, 0, 0, 1)).toEqual([255]);
    // The green stripe is a fairly bright gray (about 0.7 * 255 in sRGB luminance terms).
    const g = pixel(d.pixels, 0, 5, 5, 1)[0]!;
    expect(g).toBeGreaterThan(150);
    expect(g).toBeLessThan(240);
  });

  it('is deterministic', async () => {
    const a = await readImageFolder(flat, { size: SIZE, channels: 3, labels: false });
    const b = await readImageFolder(flat, { size: SIZE, channels: 3, labels: false });
    expect(Buffer.from(a.dataset.pixels).equals(Buffer.from(b.dataset.pixels))).toBe(true);
    expect(a.skipped).toEqual(b.skipped);
  });

  it('gives each failing file its own reason even when many fail at once', async () => {
    // libvips has one process-wide error buffer; concurrent failures must not mix messages.
    const many = path.join(tmp, 'many-broken');
    await mkdir(many);
    const jpeg = await sharp({ create: { width: 48, height: 48, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 90, sigma: 30 } } })
      .jpeg()
      .toBuffer();
    for (let i = 0; i < 12; i++) await writeFile(path.join(many, `t${String(i).padStart(2, '0')}.jpg`), jpeg.subarray(0, jpeg.length >> 1));
    await rawImage(8, 8, 3, () => [1, 1, 1]).png().toFile(path.join(many, 'ok.png'));
    const { skipped } = await readImageFolder(many, { size: 8, channels: 3, labels: false });
    expect(skipped).toHaveLength(12);
    expect(new Set(skipped.map((s) => s.reason)).size).toBe(1);
    expect(skipped[0]!.reason).toMatch(/^corrupt or truncated image: /);
    expect(skipped[0]!.reason).not.toContain('\n');
  });

  it('stops at the limit, counting only the files it looked at', async () => {
    const r3 = await readImageFolder(flat, { size: SIZE, channels: 3, labels: false, limit: 3 });
    expect(r3.dataset.count).toBe(3);
    expect(r3.skipped).toEqual([]);
    expect(r3.seen).toBe(3);
    const full = await readImageFolder(flat, { size: SIZE, channels: 3, labels: false });
    expect(Buffer.from(r3.dataset.pixels).equals(Buffer.from(full.dataset.pixels.subarray(0, 3 * SIZE * SIZE * 3)))).toBe(
      true,
    );
    // The 7th image lies after the five broken files.
    const r7 = await readImageFolder(flat, { size: SIZE, channels: 3, labels: false, limit: 7 });
    expect(r7.dataset.count).toBe(7);
    expect(r7.skipped).toHaveLength(5);
    expect(r7.seen).toBe(12);
  });

  it('uses first-level subfolders as classes', async () => {
    const before = await snapshot(classes);
    const { dataset: d, skipped, seen } = await readImageFolder(classes, { size: 8, channels: 3, labels: true });
    expect(await snapshot(classes)).toEqual(before);
    // birds has no usable image, so it is no class; the stray root image has no class.
    expect(d.classNames).toEqual(['cats', 'dogs']);
    expect(Array.from(d.labels!)).toEqual([0, 0, 1, 1]);
    expect(d.count).toBe(4);
    const reasons = Object.fromEntries(skipped.map((s) => [path.relative(classes, s.path), s.reason]));
    expect(reasons).toEqual({
      'birds/notes.png': 'not an image',
      'dogs/loop': 'symbolic link loop (back to the top folder), not walked again',
      'stray.png': 'not in a class folder',
    });
    expect(seen).toBe(7); // the loop link is reported once and not walked; the hidden folder is ignored
    expect(d.count + skipped.length).toBe(seen);
    // Red cats, blue dogs.
    expect(d.pixels[0]).toBeGreaterThan(200);
    expect(d.pixels[3 * 8 * 8 * 3 + 2]).toBeGreaterThan(200);
  });

  it('without labels, the stray root image is imported too', async () => {
    const { dataset: d, skipped } = await readImageFolder(classes, { size: 8, channels: 3, labels: false });
    expect(d.count).toBe(5);
    expect(d.labels).toBeNull();
    expect(skipped.map((s) => s.reason)).toEqual(['not an image', 'symbolic link loop (back to the top folder), not walked again']);
  });

  it('fails with a DataError for an empty folder, a folder of unusable files, and a missing path', async () => {
    const empty = path.join(tmp, 'empty');
    await mkdir(empty);
    await expect(readImageFolder(empty, { size: 8, channels: 3, labels: false })).rejects.toThrow(
      /^no usable images in .*empty: the folder holds no files/,
    );

    const bad = path.join(tmp, 'bad');
    await mkdir(bad);
    await writeFile(path.join(bad, 'a.png'), '');
    await writeFile(path.join(bad, 'b.jpg'), 'text');
    const err = await readImageFolder(bad, { size: 8, channels: 3, labels: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(/^no usable images in .*bad: 2 files skipped/);
    expect((err as Error).message).toContain('a.png: empty file');
    expect((err as Error).message).toContain('b.jpg: not an image');

    await expect(readImageFolder(path.join(tmp, 'missing'), { size: 8, channels: 3, labels: false })).rejects.toThrow(
      /^no such file or folder: /,
    );
  });
});
