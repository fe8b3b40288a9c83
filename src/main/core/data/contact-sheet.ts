// A contact sheet: the first images of a dataset tiled into one PNG, for the app to show beside
// the dataset. Written to a temporary name and renamed into place.

import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import sharp from 'sharp';

import type { ImageChannels } from '../../../shared/types';

export const CONTACT_SHEET_IMAGES = 64;
export const CONTACT_SHEET_COLUMNS = 8;
const PAD = 2;
const BACKGROUND = 24;

/** Collects up to CONTACT_SHEET_IMAGES images (uint8 NHWC) as they stream past. */
export class ContactSheet {
  private readonly images: Uint8Array[] = [];

  constructor(
    readonly size: number,
    readonly channels: ImageChannels,
    readonly max = CONTACT_SHEET_IMAGES,
  ) {}

  get full(): boolean {
    return this.images.length >= this.max;
  }

  get count(): number {
    return this.images.length;
  }

  /** Takes whole images from `pixels` until the sheet is full (copies them). */
  add(pixels: Uint8Array): void {
    const per = this.size * this.size * this.channels;
    for (let o = 0; o + per <= pixels.length && !this.full; o += per) this.images.push(pixels.slice(o, o + per));
  }

  /** Tiles the images (8 a row, 2 px gaps on a dark background) into a raw image. */
  tile(): { data: Buffer; width: number; height: number } {
    const { size, channels } = this;
    const n = this.images.length;
    const cols = Math.max(1, Math.min(CONTACT_SHEET_COLUMNS, n));
    const rows = Math.max(1, Math.ceil(n / cols));
    const width = cols * size + (cols + 1) * PAD;
    const height = rows * size + (rows + 1) * PAD;
    const data = Buffer.alloc(width * height * channels, BACKGROUND);
    this.images.forEach((img, i) => {
      const x0 = PAD + (i % cols) * (size + PAD);
      const y0 = PAD + Math.floor(i / cols) * (size + PAD);
      for (let y = 0; y < size; y++) {
        const src = y * size * channels;
        data.set(img.subarray(src, src + size * channels), ((y0 + y) * width + x0) * channels);
      }
    });
    return { data, width, height };
  }

  /** Writes the sheet as a PNG at `file` (temporary name, then rename). */
  async write(file: string): Promise<void> {
    const { data, width, height } = this.tile();
    const png = await sharp(data, { raw: { width, height, channels: this.channels } }).png().toBuffer();
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await writeFile(tmp, png, { mode: 0o600 });
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}
