// The latent lab on a conditional run: operands, the result and each end of a walk drawn in a class
// of the user's choosing (default: the images' own classes); a walk between two classes starts and
// ends on the two gallery images; bad classes are refused in words.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gallery } from '../../../src/main/core/gallery-service';
import { Studio } from '../../../src/main/core/studio';
import { testConfig } from '../../helpers/train-config';

const scratch: string[] = [];
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
};

const SIDE = 28;
const PAD = 2;
const pixels = async (file: string) => sharp(file).raw().toBuffer();
/** Tile `i` of a strip written by the lab (tiles of SIDE px with PAD px between and around them). */
const tile = async (strip: string, i: number) =>
  sharp(strip).extract({ left: PAD + i * (SIDE + PAD), top: PAD, width: SIDE, height: SIDE }).raw().toBuffer();

let studio: Studio;
let runId: number;
/** Seed 4: two images of each class, classes 0 and 1 (image i is row i of the seed's draw). */
let mixed: Gallery;
/** The same seed's rows 0 and 1 drawn in class 1 only. */
let inOne: Gallery;
/** The same seed's rows 0 to 3 drawn in class 0 only. */
let inZero: Gallery;

beforeAll(async () => {
  studio = Studio.open(temp('gs-lab-classes-home-'));
  const folder = temp('gs-lab-classes-data-');
  for (const [cls, shade] of [['circle', 40], ['square', 220]] as const) {
    mkdirSync(join(folder, cls));
    for (let i = 0; i < 8; i++) {
      await sharp(Buffer.alloc(SIDE * SIDE, shade + i), { raw: { width: SIDE, height: SIDE, channels: 1 } }).png().toFile(join(folder, cls, `${i}.png`));
    }
  }
  const handle = await studio.train({
    config: testConfig({ model: { kind: 'cgan', numClasses: 2 }, data: folder, steps: 2, name: 'classes' }),
    labels: true,
    backend: 'wasm',
  });
  runId = (await handle.done).run.id;
  mixed = await studio.createGallery({ runId, perClass: 2, seed: 4 });
  inOne = await studio.createGallery({ runId, perClass: 2, classes: [1], seed: 4 });
  inZero = await studio.createGallery({ runId, perClass: 4, classes: [0], seed: 4 });
  expect(mixed.images.map((i) => [i.latentIndex, i.classLabel])).toEqual([[0, 0], [1, 0], [2, 1], [3, 1]]);
});
afterAll(() => {
  studio.close();
  scratch.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

describe('latent arithmetic in classes', () => {
  it('draws each operand in its image’s class and the results in the first operand’s by default', async () => {
    const r = await studio.labArithmetic({ galleryId: mixed.id, expression: 'a + b', operands: [{ name: 'a', indices: [0] }, { name: 'b', indices: [2] }] });
    expect(r.operands.map((o) => [o.name, o.classLabel])).toEqual([['a', 0], ['b', 1]]);
    expect(r.resultClass).toBe(0);
    expect((await pixels(r.operands[0]!.file)).equals(await pixels(mixed.images[0]!.path))).toBe(true);
    expect((await pixels(r.operands[1]!.file)).equals(await pixels(mixed.images[2]!.path))).toBe(true);
  });

  it('draws an operand and the result in the classes picked', async () => {
    const r = await studio.labArithmetic({ galleryId: mixed.id, expression: 'a', operands: [{ name: 'a', indices: [0], classLabel: 1 }], resultClass: 1 });
    expect([r.operands[0]!.classLabel, r.resultClass]).toEqual([1, 1]);
    // G(row 0, class 1) is the class-1 gallery's first image; the plain 'a' result is that too.
    const expected = await pixels(inOne.images[0]!.path);
    expect((await pixels(r.operands[0]!.file)).equals(expected)).toBe(true);
    expect((await pixels(r.latentSpace)).equals(expected)).toBe(true);
    expect((await pixels(r.operands[0]!.file)).equals(await pixels(mixed.images[0]!.path))).toBe(false);

    const only = await studio.labArithmetic({ galleryId: mixed.id, expression: 'a', operands: [{ name: 'a', indices: [0] }], resultClass: 1 });
    expect(only.operands[0]!.classLabel).toBe(0);
    expect((await pixels(only.latentSpace)).equals(expected)).toBe(true);
  });

  it('refuses a class the model does not have, naming the classes', async () => {
    await expect(studio.labArithmetic({ galleryId: mixed.id, expression: 'a', operands: [{ name: 'a', indices: [0], classLabel: 2 }] })).rejects.toThrow(
      /unknown class "2" for operand "a"; classes: 0 circle, 1 square/,
    );
    await expect(studio.labArithmetic({ galleryId: mixed.id, expression: 'a', operands: [{ name: 'a', indices: [0] }], resultClass: 5 })).rejects.toMatchObject({ code: 'invalid' });
  });
});

describe('interpolation between classes', () => {
  it('walks from one image to the other, morphing the class, by default', async () => {
    const r = await studio.labInterpolate({ galleryId: mixed.id, from: 0, to: 2, frames: 5, mode: 'lerp' });
    expect([r.fromClass, r.toClass]).toEqual([0, 1]);
    expect((await tile(r.strip, 0)).equals(await pixels(mixed.images[0]!.path))).toBe(true);
    expect((await tile(r.strip, 4)).equals(await pixels(mixed.images[2]!.path))).toBe(true);
  });

  it('keeps the class picked for each end', async () => {
    const r = await studio.labInterpolate({ galleryId: mixed.id, from: 0, to: 2, frames: 3, fromClass: 0, toClass: 0 });
    expect([r.fromClass, r.toClass]).toEqual([0, 0]);
    expect((await tile(r.strip, 0)).equals(await pixels(mixed.images[0]!.path))).toBe(true);
    // Row 2 in class 0, not the class-1 gallery image.
    expect((await tile(r.strip, 2)).equals(await pixels(inZero.images[2]!.path))).toBe(true);
    expect((await tile(r.strip, 2)).equals(await pixels(mixed.images[2]!.path))).toBe(false);
    await expect(studio.labInterpolate({ galleryId: mixed.id, from: 0, to: 2, frames: 3, toClass: 9 })).rejects.toThrow(/unknown class "9" for the end; classes: 0 circle, 1 square/);
  });
});
