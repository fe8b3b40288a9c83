// Turning generator output (floats in [-1, 1], NHWC) into PNG files: single images and grids.
import sharp from 'sharp';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface ImageBatch {
  count: number;
  height: number;
  width: number;
  channels: number;
  /** count * height * width * channels values in [-1, 1]. */
  values: Float32Array;
}

/** Maps [-1, 1] to 0..255 (rounded, clamped). */
export function toBytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.round((values[i]! + 1) * 127.5);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

/** Lays a batch out as a grid with `pad` pixels of dark background between tiles; returns raw bytes. */
export function tileGrid(batch: ImageBatch, columns: number, pad = 2): { data: Uint8Array; width: number; height: number } {
  const { count, height: h, width: w, channels: c } = batch;
  const cols = Math.max(1, Math.min(columns, count));
  const rows = Math.ceil(count / cols);
  const width = cols * w + (cols + 1) * pad;
  const height = rows * h + (rows + 1) * pad;
  const bytes = toBytes(batch.values);
  const data = new Uint8Array(width * height * c).fill(24);
  for (let n = 0; n < count; n++) {
    const x0 = pad + (n % cols) * (w + pad);
    const y0 = pad + Math.floor(n / cols) * (h + pad);
    for (let y = 0; y < h; y++) {
      const src = ((n * h + y) * w) * c;
      const dst = ((y0 + y) * width + x0) * c;
      data.set(bytes.subarray(src, src + w * c), dst);
    }
  }
  return { data, width, height };
}

export async function encodePng(data: Uint8Array, width: number, height: number, channels: number): Promise<Buffer> {
  const image = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
    raw: { width, height, channels: channels as 1 | 3 },
  });
  // One channel stays a grayscale PNG (sharp would otherwise write it as sRGB).
  return (channels === 1 ? image.toColourspace('b-w') : image).png().toBuffer();
}

/** Writes a file atomically: a temporary name beside it, then a rename. */
export async function writeFileAtomic(path: string, content: Buffer): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, content);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function writeGridPng(path: string, batch: ImageBatch, columns: number): Promise<void> {
  const grid = tileGrid(batch, columns);
  await writeFileAtomic(path, await encodePng(grid.data, grid.width, grid.height, batch.channels));
}

export async function writeImagePngs(dir: string, batch: ImageBatch, names: string[]): Promise<string[]> {
  const { height: h, width: w, channels: c } = batch;
  const bytes = toBytes(batch.values);
  const paths: string[] = [];
  for (let n = 0; n < batch.count; n++) {
    const path = join(dir, names[n]!);
    const png = await encodePng(bytes.subarray(n * h * w * c, (n + 1) * h * w * c), w, h, c);
    await writeFileAtomic(path, png);
    paths.push(path);
  }
  return paths;
}

/**
 * An animated GIF of a batch's images as frames (looping forever, `delayMs` per frame). Every
 * frame is kept, even one equal to the frame before it, so the frame count is the batch's count.
 */
export async function encodeGif(batch: ImageBatch, delayMs = 100): Promise<Buffer> {
  const { count, height: h, width: w, channels: c } = batch;
  // NHWC with N outermost is already a tall image of the frames stacked top to bottom.
  const bytes = toBytes(batch.values);
  return sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
    raw: { width: w, height: h * count, channels: c as 1 | 3, pageHeight: h },
  })
    .gif({ loop: 0, delay: delayMs, keepDuplicateFrames: true })
    .toBuffer();
}

/** At most this many frames in a timeline GIF (evenly spaced, the first and last always in). */
export const TIMELINE_GIF_MAX_FRAMES = 60;
/** A timeline GIF's frames are scaled down (nearest neighbour, by a whole factor) to at most this wide. */
export const TIMELINE_GIF_MAX_WIDTH = 800;

/** Which of `count` frames a GIF of at most `max` frames keeps: evenly spaced, first and last included. */
export function spreadFrames(count: number, max: number): number[] {
  if (count <= max) return Array.from({ length: count }, (_, i) => i);
  const picked = new Set<number>();
  for (let i = 0; i < max; i++) picked.add(Math.round((i * (count - 1)) / (max - 1)));
  return [...picked].sort((a, b) => a - b);
}

/**
 * An animated GIF of PNG files (a run's sample grids, in order), looping forever: `delayMs` a
 * frame and the last one held three times as long. Frames of another size than the first are
 * refused; wide frames are scaled down by a whole factor, nearest neighbour, so samples stay crisp.
 */
export async function encodeGifFromPngs(files: readonly string[], delayMs: number): Promise<{ gif: Buffer; frames: number }> {
  if (files.length === 0) throw new Error('there are no frames to animate');
  const first = await sharp(files[0]!).metadata();
  const width = first.width ?? 0;
  const height = first.height ?? 0;
  const factor = Math.max(1, Math.ceil(width / TIMELINE_GIF_MAX_WIDTH));
  const outW = Math.floor(width / factor);
  const outH = Math.floor(height / factor);
  const frames: Buffer[] = [];
  for (const file of files) {
    const meta = await sharp(file).metadata();
    if (meta.width !== width || meta.height !== height) {
      throw new Error(`${basename(file)} is ${meta.width}x${meta.height}; the first frame is ${width}x${height}`);
    }
    frames.push(await sharp(file).removeAlpha().toColourspace('srgb').resize(outW, outH, { kernel: 'nearest' }).raw().toBuffer());
  }
  const delays = frames.map((_, i) => (i === frames.length - 1 ? delayMs * 3 : delayMs));
  const gif = await sharp(Buffer.concat(frames), { raw: { width: outW, height: outH * frames.length, channels: 3, pageHeight: outH } })
    .gif({ loop: 0, delay: delays, keepDuplicateFrames: true })
    .toBuffer();
  return { gif, frames: frames.length };
}
