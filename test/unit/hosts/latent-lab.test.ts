// The latent:* channels: strict validation before any side effect, and a real round trip through the
// dispatcher on a tiny trained run: arithmetic over gallery images (one image, and a mean of several)
// and an interpolation, written under <home>/lab/<n>/ and returned as home files.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../../src/main/hosts/dispatch';
import { Channels, ErrorCodes, type GalleryInfo, type LatentArithmeticResult, type LatentInterpolateResult } from '../../../src/shared/contract';
import { parseRequest } from '../../../src/shared/schemas';
import { errorOf, openTinyRun, resultOf, type TinyRun } from './helpers/tiny-run';

let fixture: TinyRun;
let home: string;
let dispatcher: Dispatcher;
let runId: number;

beforeAll(async () => {
  fixture = await openTinyRun('gs-lab');
  ({ home, dispatcher, runId } = fixture);
});
afterAll(() => fixture.dispose());
const raw = async (file: string) => sharp(join(home, file)).raw().toBuffer({ resolveWithObject: true });

describe('latent schemas', () => {
  it('accepts well-formed requests', () => {
    const ops = [{ name: 'a', indices: [0] }, { name: 'b', indices: [1, 2] }, { name: 'c', indices: [3] }];
    expect(parseRequest(Channels.latentArithmetic, { galleryId: 1, expression: 'a - b + c', operands: ops }).ok).toBe(true);
    expect(parseRequest(Channels.latentInterpolate, { galleryId: 1, from: 0, to: 3, frames: 8 }).ok).toBe(true);
    expect(parseRequest(Channels.latentInterpolate, { galleryId: 1, from: 0, to: 3, frames: 2, mode: 'lerp', delayMs: 50 }).ok).toBe(true);
    expect(parseRequest(Channels.latentArithmetic, { galleryId: 1, expression: 'a', operands: [{ name: 'a', indices: [0], classLabel: 3 }], resultClass: 0 }).ok).toBe(true);
    expect(parseRequest(Channels.latentInterpolate, { galleryId: 1, from: 0, to: 3, frames: 2, fromClass: 0, toClass: 9 }).ok).toBe(true);
  });

  it('refuses bad requests with INVALID_REQUEST and writes nothing', async () => {
    const a = { name: 'a', indices: [0] };
    const invalid: [string, unknown][] = [
      [Channels.latentArithmetic, { galleryId: 1, expression: 'a', operands: [] }],
      [Channels.latentArithmetic, { galleryId: 1, expression: '', operands: [a] }],
      [Channels.latentArithmetic, { galleryId: 1, expression: 'a\n', operands: [a] }],
      [Channels.latentArithmetic, { galleryId: 1, expression: 'a'.repeat(201), operands: [a] }],
      [Channels.latentArithmetic, { galleryId: 1, expression: 'a', operands: [{ name: 'a', indices: [] }] }],
      [Channels.latentArithmetic, { galleryId: 1, expression: 'a', operands: [{ name: '1a', indices: [0] }] }],
      [Channels.latentArithmetic, { galleryId: 1, expression: 'a', operands: [{ name: 'a', indices: [-1] }] }],
      [Channels.latentArithmetic, { galleryId: 1, expression: 'a', operands: [{ name: 'a', indices: [0.5] }] }],
      [Channels.latentArithmetic, { galleryId: 1, expression: 'a', operands: [{ name: 'a', indices: [0], extra: 1 }] }],
      [Channels.latentArithmetic, { galleryId: 1, expression: 'a', operands: Array.from({ length: 9 }, (_, i) => ({ name: `x${i}`, indices: [0] })) }],
      [Channels.latentArithmetic, { galleryId: 0, expression: 'a', operands: [a] }],
      [Channels.latentArithmetic, { galleryId: 1, expression: 'a', operands: [a], rogue: true }],
      [Channels.latentInterpolate, { galleryId: 1, from: 0, to: 1, frames: 1 }],
      [Channels.latentInterpolate, { galleryId: 1, from: 0, to: 1, frames: 65 }],
      [Channels.latentInterpolate, { galleryId: 1, from: 0, to: 1, frames: 4, mode: 'cubic' }],
      [Channels.latentInterpolate, { galleryId: 1, from: -1, to: 1, frames: 4 }],
      [Channels.latentInterpolate, { galleryId: 1, from: 0, frames: 4 }],
      [Channels.latentInterpolate, { galleryId: '1', from: 0, to: 1, frames: 4 }],
      [Channels.latentArithmetic, { galleryId: 1, expression: 'a', operands: [{ name: 'a', indices: [0], classLabel: -1 }] }],
      [Channels.latentArithmetic, { galleryId: 1, expression: 'a', operands: [{ name: 'a', indices: [0], classLabel: 1.5 }] }],
      [Channels.latentArithmetic, { galleryId: 1, expression: 'a', operands: [a], resultClass: 'circle' }],
      [Channels.latentInterpolate, { galleryId: 1, from: 0, to: 1, frames: 4, fromClass: 1000 }],
      [Channels.latentInterpolate, { galleryId: 1, from: 0, to: 1, frames: 4, toClass: null }],
    ];
    for (const [channel, request] of invalid) {
      const error = errorOf(await dispatcher.handle(channel, request));
      expect(error.code, `${channel} ${JSON.stringify(request)}`).toBe(ErrorCodes.invalidRequest);
    }
    expect(existsSync(join(home, 'lab'))).toBe(false);
  });
});

describe('latent round trip', () => {
  let gallery: GalleryInfo;
  beforeAll(async () => {
    gallery = resultOf<GalleryInfo>(await dispatcher.handle(Channels.galleriesCreate, { runId, count: 6, seed: 5 }));
  });

  it('runs an arithmetic over gallery images: G(a) is the gallery image, the pixel-wise result is the combination', async () => {
    const request = {
      galleryId: gallery.id,
      expression: 'a-b+c',
      operands: [
        { name: 'a', indices: [0] },
        { name: 'b', indices: [1, 2] },
        { name: 'c', indices: [3] },
        { name: 'd', indices: [4] },
      ],
    };
    const r = resultOf<LatentArithmeticResult>(await dispatcher.handle(Channels.latentArithmetic, request));
    expect(r).toMatchObject({ galleryId: gallery.id, runId, modelId: null, step: gallery.step, expression: 'a - b + c', dir: 'lab/1', resultClass: null });
    expect(r.operands.map((o) => [o.name, o.indices, o.file])).toEqual([
      ['a', [0], 'lab/1/operand-a.png'],
      ['b', [1, 2], 'lab/1/operand-b.png'],
      ['c', [3], 'lab/1/operand-c.png'],
    ]);
    for (const f of [r.latentSpace, r.pixelWise, r.strip, ...r.operands.map((o) => o.file)]) expect(existsSync(join(home, f)), f).toBe(true);
    // One image's operand is that gallery image, pixel for pixel (same latent, same checkpoint).
    const [ga, gc, image0, image3] = await Promise.all([raw(r.operands[0]!.file), raw(r.operands[2]!.file), raw(gallery.images[0]!.file), raw(gallery.images[3]!.file)]);
    expect(ga.data.equals(image0.data)).toBe(true);
    expect(gc.data.equals(image3.data)).toBe(true);
    // The pixel-wise image is G(a) − G(b) + G(c), clipped (within PNG rounding).
    const [gb, pix] = await Promise.all([raw(r.operands[1]!.file), raw(r.pixelWise)]);
    const toUnit = (v: number) => v / 127.5 - 1;
    let worst = 0;
    for (let i = 0; i < pix.data.length; i++) {
      const expected = Math.min(1, Math.max(-1, toUnit(ga.data[i]!) - toUnit(gb.data[i]!) + toUnit(gc.data[i]!)));
      worst = Math.max(worst, Math.abs(toUnit(pix.data[i]!) - expected));
    }
    expect(worst).toBeLessThan(0.05);
    const strip = await sharp(join(home, r.strip)).metadata();
    expect(strip.width).toBeGreaterThan(28 * 5);

    // A second run goes into a new folder.
    const again = resultOf<LatentArithmeticResult>(await dispatcher.handle(Channels.latentArithmetic, { ...request, expression: 'a + c' }));
    expect(again.dir).toBe('lab/2');
    expect(again.operands.map((o) => o.name)).toEqual(['a', 'c']);
  });

  it('refuses missing operands and unknown images in words', async () => {
    const missing = errorOf(await dispatcher.handle(Channels.latentArithmetic, { galleryId: gallery.id, expression: 'a - b', operands: [{ name: 'a', indices: [0] }] }));
    expect(missing).toEqual({ code: ErrorCodes.invalidRequest, message: 'choose one or more images for operand "b" of a - b' });
    const bad = errorOf(await dispatcher.handle(Channels.latentArithmetic, { galleryId: gallery.id, expression: 'a -* b', operands: [{ name: 'a', indices: [0] }] }));
    expect(bad.code).toBe(ErrorCodes.invalidRequest);
    expect(bad.message).toMatch(/bad expression/);
    const outside = errorOf(await dispatcher.handle(Channels.latentArithmetic, { galleryId: gallery.id, expression: 'a', operands: [{ name: 'a', indices: [6] }] }));
    expect(outside.code).toBe(ErrorCodes.notFound);
    const noGallery = errorOf(await dispatcher.handle(Channels.latentInterpolate, { galleryId: 999, from: 0, to: 1, frames: 3 }));
    expect(noGallery.code).toBe(ErrorCodes.notFound);
    // Classes are for conditional models only; this run is an unconditional GAN.
    const classed = errorOf(await dispatcher.handle(Channels.latentArithmetic, { galleryId: gallery.id, expression: 'a', operands: [{ name: 'a', indices: [0], classLabel: 1 }] }));
    expect(classed).toEqual({ code: ErrorCodes.invalidRequest, message: `run ${runId} is not a conditional model: operand "a" cannot be given a class` });
    const walk = errorOf(await dispatcher.handle(Channels.latentInterpolate, { galleryId: gallery.id, from: 0, to: 1, frames: 3, toClass: 0 }));
    expect(walk.message).toMatch(/not a conditional model: the end cannot be given a class/);
  });

  it('interpolates between two gallery images: a strip of K frames and an animated GIF of K frames', async () => {
    for (const mode of ['lerp', 'slerp'] as const) {
      const r = resultOf<LatentInterpolateResult>(await dispatcher.handle(Channels.latentInterpolate, { galleryId: gallery.id, from: 0, to: 5, frames: 5, mode }));
      expect(r).toMatchObject({ galleryId: gallery.id, runId, mode, frames: 5 });
      expect(r.strip).toBe(`${r.dir}/strip.png`);
      expect(r.animation).toBe(`${r.dir}/animation.gif`);
      const png = await sharp(join(home, r.strip)).metadata();
      expect(png.format).toBe('png');
      expect(png.width).toBeGreaterThanOrEqual(28 * 5);
      const gif = await sharp(join(home, r.animation), { animated: true }).metadata();
      expect([gif.format, gif.pages]).toEqual(['gif', 5]);
    }
  });
});
