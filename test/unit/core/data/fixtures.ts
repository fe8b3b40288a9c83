// Helpers the data tests share: images from pixel functions, hand-made PNGs, IDX and CIFAR-10
// files, and a byte-exact snapshot of a folder.
import { createHash } from 'node:crypto';
import { readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { crc32, deflateSync, gzipSync } from 'node:zlib';

import sharp from 'sharp';

/** A raw RGB(A) image from a per-pixel function. */
export function rawImage(width: number, height: number, channels: 3 | 4, px: (x: number, y: number) => number[]): sharp.Sharp {
  const buf = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) buf.set(px(x, y), (y * width + x) * channels);
  }
  return sharp(buf, { raw: { width, height, channels } });
}

export function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const t = Buffer.from(type, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([t, data])));
  return Buffer.concat([len, t, data, crc]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A small, valid-looking PNG whose header claims width x height (its pixel data is a stub). */
export function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.alloc(1000))), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A PNG of colour type 4 (8-bit gray + alpha), written by hand. */
export function grayAlphaPng(width: number, height: number, gray: number, alpha: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 4, 0, 0, 0], 8);
  const rows: number[] = [];
  for (let y = 0; y < height; y++) {
    rows.push(0);
    for (let x = 0; x < width; x++) rows.push(gray, alpha);
  }
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.from(rows))), pngChunk('IEND', Buffer.alloc(0))]);
}

/** An IDX file: magic, big-endian dims, data; gzipped when asked. */
export function idxFile(magic: number, dims: number[], data: Uint8Array, gzip = false): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  const raw = Buffer.concat([head, Buffer.from(data)]);
  return gzip ? gzipSync(raw) : raw;
}

/** CIFAR-10 records: the image of record n has R = f(n, 0), G = f(n, 1), B = f(n, 2) + pixel index. */
export function cifarRecords(labels: number[], value: (n: number, c: number, i: number) => number): Buffer {
  const out = Buffer.alloc(labels.length * 3073);
  labels.forEach((label, n) => {
    const r = n * 3073;
    out[r] = label;
    for (let c = 0; c < 3; c++) for (let i = 0; i < 1024; i++) out[r + 1 + c * 1024 + i] = value(n, c, i) & 0xff;
  });
  return out;
}

/** Every entry under dir (names as raw bytes, hidden ones included, links not followed) with a SHA-256 of each file. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: Buffer, rel: string): Promise<void> => {
    const entries = (await readdir(d, { withFileTypes: true, encoding: 'buffer' })) as unknown as import('node:fs').Dirent<Buffer>[];
    for (const e of entries) {
      const p = Buffer.concat([d, Buffer.from('/'), e.name]);
      const r = rel + '/' + e.name.toString('hex');
      if (e.isDirectory()) await walk(p, r);
      else if (e.isFile()) out[r] = createHash('sha256').update(await readFile(p)).digest('hex');
      else if (e.isSymbolicLink()) out[r] = 'symlink -> ' + (await readlink(p, { encoding: 'buffer' })).toString('hex');
      else out[r] = 'other';
    }
  };
  await walk(Buffer.from(path.resolve(dir)), '');
  return out;
}

/** The pixel at (y, x) of image `index` in NHWC data. */
export function pixelAt(data: Uint8Array, size: number, channels: number, index: number, y: number, x: number): number[] {
  const o = ((index * size + y) * size + x) * channels;
  return Array.from(data.subarray(o, o + channels));
}
