// IDX files for the CLI tests: a small well-formed training set (used where Debian's
// Fashion-MNIST is absent) and deliberately broken ones.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const IDX_IMAGES_MAGIC = 0x00000803;

/** An IDX images header: magic, count, rows, cols (big-endian uint32 each). */
export function idxHeader(magic: number, count: number, rows: number, cols: number): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(magic >>> 0, 0);
  head.writeUInt32BE(count, 4);
  head.writeUInt32BE(rows, 8);
  head.writeUInt32BE(cols, 12);
  return head;
}

/** `count` 28x28 images of bright rectangles at varying places on a dark ground (deterministic). */
export function syntheticPixels(count: number, side = 28): Buffer {
  const body = Buffer.alloc(count * side * side);
  for (let n = 0; n < count; n++) {
    const x0 = 2 + (n * 7) % 12;
    const y0 = 2 + (n * 5) % 12;
    const w = 6 + (n % 9);
    const h = 6 + ((n * 3) % 9);
    const v = 120 + ((n * 37) % 136);
    for (let y = y0; y < Math.min(side, y0 + h); y++) {
      for (let x = x0; x < Math.min(side, x0 + w); x++) body[n * side * side + y * side + x] = v;
    }
  }
  return body;
}

/** Writes `<dir>/train-images-idx3-ubyte` with `count` synthetic images; returns the folder. */
export function writeSyntheticIdxSet(dir: string, count = 256): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), Buffer.concat([idxHeader(IDX_IMAGES_MAGIC, count, 28, 28), syntheticPixels(count)]));
  return dir;
}
