import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyAugment,
  cutoutSide,
  DIFF_AUGMENT_POLICY,
  diffAugment,
  drawAugment,
  translationRange,
  type AugmentPolicy,
  type ImageAugment,
} from '../../../../../src/main/core/engine/ml/diff-augment';
import { nativeStatus, registerNativeKernels, unregisterNativeKernels } from '../../../../../src/main/core/engine/backend/native-kernels';
import { registerWasmTrainingKernels } from '../../../../../src/main/core/engine/backend/wasm-kernels';
import { values } from '../../../../helpers/kernel-cases';

type Shape = [number, number, number, number];

const NONE: AugmentPolicy = { color: false, translation: false, cutout: false };
const ONLY_COLOR: AugmentPolicy = { ...NONE, color: true };
const ONLY_TRANSLATION: AugmentPolicy = { ...NONE, translation: true };
const ONLY_CUTOUT: AugmentPolicy = { ...NONE, cutout: true };

/** Parameters that change nothing, to override one at a time. */
const NEUTRAL: ImageAugment = { brightness: 0, saturation: 1, contrast: 1, dx: 0, dy: 0, cutoutX: -1000, cutoutY: -1000 };

function count(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * The augmentation as the paper's code does it, step by step, in float64: brightness, saturation,
 * contrast, translation (out[y][x] = in[y - dy][x - dx], zero fill), cutout.
 */
function reference(x: ArrayLike<number>, shape: Shape, params: readonly ImageAugment[], policy: AugmentPolicy): Float64Array {
  const [n, h, w, c] = shape;
  const per = h * w * c;
  const out = new Float64Array(count(shape));
  for (let img = 0; img < n; img++) {
    const p = params[img]!;
    let v = Float64Array.from({ length: per }, (_, i) => x[img * per + i]!);
    if (policy.color) {
      for (let i = 0; i < per; i++) v[i]! += p.brightness;
      if (c > 1) {
        for (let px = 0; px < h * w; px++) {
          let m = 0;
          for (let ch = 0; ch < c; ch++) m += v[px * c + ch]!;
          m /= c;
          for (let ch = 0; ch < c; ch++) v[px * c + ch] = (v[px * c + ch]! - m) * p.saturation + m;
        }
      }
      const m = v.reduce((a, b) => a + b, 0) / per;
      for (let i = 0; i < per; i++) v[i] = (v[i]! - m) * p.contrast + m;
    }
    if (policy.translation) {
      const t = new Float64Array(per);
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          const sy = y - p.dy;
          const sx = xx - p.dx;
          if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
          for (let ch = 0; ch < c; ch++) t[(y * w + xx) * c + ch] = v[(sy * w + sx) * c + ch]!;
        }
      }
      v = t;
    }
    if (policy.cutout) {
      for (let y = Math.max(0, p.cutoutY); y < Math.min(h, p.cutoutY + cutoutSide(h)); y++) {
        for (let xx = Math.max(0, p.cutoutX); xx < Math.min(w, p.cutoutX + cutoutSide(w)); xx++) {
          for (let ch = 0; ch < c; ch++) v[(y * w + xx) * c + ch] = 0;
        }
      }
    }
    out.set(v, img * per);
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(d)) return Number.NaN;
    worst = Math.max(worst, d);
  }
  return worst;
}

function augmentValues(x: Float32Array, shape: Shape, seedOrParams: number | readonly ImageAugment[], policy?: AugmentPolicy): Float32Array {
  return tf.tidy(() => {
    const images = tf.tensor4d(x, shape);
    const y = typeof seedOrParams === 'number' ? diffAugment(images, seedOrParams, policy) : applyAugment(images, seedOrParams, policy);
    expect(y.shape).toEqual(shape);
    return y.dataSync() as Float32Array;
  });
}

/** d sum(w ⊙ aug(x)) / dx, and aug(x), on the current backend. */
function gradientOf(x: Float32Array, wts: Float32Array, shape: Shape, seedOrParams: number | readonly ImageAugment[], policy?: AugmentPolicy) {
  return tf.tidy(() => {
    const images = tf.tensor4d(x, shape);
    const weights = tf.tensor4d(wts, shape);
    const aug = (t: tf.Tensor4D) =>
      typeof seedOrParams === 'number' ? diffAugment(t, seedOrParams, policy) : applyAugment(t, seedOrParams, policy);
    const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => tf.sum(tf.mul(aug(t as tf.Tensor4D), weights)))(images);
    return { loss: value.dataSync()[0]!, grad: grad.dataSync() as Float32Array };
  });
}

async function useBackend(name: string): Promise<void> {
  expect(await tf.setBackend(name)).toBe(true);
}

let previousBackend = '';
beforeAll(async () => {
  previousBackend = tf.getBackend();
  await useBackend('cpu');
});
afterAll(async () => {
  if (previousBackend) await tf.setBackend(previousBackend);
});

describe('drawAugment: the random parameters', () => {
  it('are in the paper\'s ranges, take every integer shift, and do not depend on the batch size', () => {
    const [h, w] = [28, 22];
    const params = drawAugment(400, h, w, 12345);
    const rx = translationRange(w);
    const ry = translationRange(h);
    expect([rx, ry, cutoutSide(w), cutoutSide(h)]).toEqual([3, 4, 11, 14]); // round(3.5) = 4 as Python's int(3.5 + 0.5)
    const dxs = new Set<number>();
    const dys = new Set<number>();
    const centresX = new Set<number>();
    const centresY = new Set<number>();
    for (const p of params) {
      expect(p.brightness).toBeGreaterThanOrEqual(-0.5);
      expect(p.brightness).toBeLessThan(0.5);
      expect(p.saturation).toBeGreaterThanOrEqual(0);
      expect(p.saturation).toBeLessThan(2);
      expect(p.contrast).toBeGreaterThanOrEqual(0.5);
      expect(p.contrast).toBeLessThan(1.5);
      expect(Number.isInteger(p.dx) && Number.isInteger(p.dy)).toBe(true);
      dxs.add(p.dx);
      dys.add(p.dy);
      // Centre = corner + floor(side / 2) in [0, size] for an even side, [0, size - 1] for an odd one.
      expect(p.cutoutX + 5).toBeGreaterThanOrEqual(0);
      expect(p.cutoutX + 5).toBeLessThanOrEqual(w - 1); // odd side 11
      expect(p.cutoutY + 7).toBeGreaterThanOrEqual(0);
      expect(p.cutoutY + 7).toBeLessThanOrEqual(h); // even side 14
      centresX.add(p.cutoutX + 5);
      centresY.add(p.cutoutY + 7);
    }
    expect([...dxs].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    expect([...dys].sort((a, b) => a - b)).toEqual([-4, -3, -2, -1, 0, 1, 2, 3, 4]);
    expect(centresX.size).toBe(w);
    expect(centresY.size).toBe(h + 1);
    expect(new Set(params.map((p) => p.brightness)).size).toBe(params.length);
    expect(drawAugment(5, h, w, 12345)).toEqual(params.slice(0, 5));
    expect(drawAugment(5, h, w, 12346)).not.toEqual(params.slice(0, 5));
    // Neighbouring seeds (consecutive steps) share no image's draws, at any index.
    const next = new Set(drawAugment(400, h, w, 12346).map((p) => p.brightness));
    expect(params.filter((p) => next.has(p.brightness))).toEqual([]);
  });
});

describe('diffAugment on cpu', () => {
  const shape: Shape = [6, 8, 8, 3];
  const x = values(count(shape), 1);

  it('keeps the shape, and without colour keeps only input values and zeros', () => {
    const y = augmentValues(x, shape, 7, { ...DIFF_AUGMENT_POLICY, color: false });
    const inputs = new Set(x);
    let zeros = 0;
    for (const v of y) {
      if (v === 0) zeros++;
      else expect(inputs.has(v)).toBe(true);
    }
    // The cutout square is 4x4 of 8x8 (at least 2x2 of it inside the image) in each image.
    expect(zeros).toBeGreaterThanOrEqual(shape[0] * 2 * 2 * shape[3]);
    expect(zeros).toBeLessThan(y.length / 2);
  });

  it('with colour, stays finite and within the bound the three factors allow', () => {
    const y = augmentValues(x, shape, 7);
    // |brightness| < 0.5, saturation < 2, contrast < 1.5: |out| < 1.5 · (2·(1.5 + 1.5) + 1.5) + ... loosely < 12.
    for (const v of y) expect(Math.abs(v)).toBeLessThan(12);
    expect(maxAbsDiff(y, x)).toBeGreaterThan(0.1);
  });

  it('gives the same output for the same seed and a different one for another seed', () => {
    const a = augmentValues(x, shape, 99);
    const b = augmentValues(x, shape, 99);
    const c = augmentValues(x, shape, 100);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(maxAbsDiff(a, c)).toBeGreaterThan(0.1);
  });

  it('is the identity (a new tensor) with the policy all off', () => {
    const images = tf.tensor4d(x, shape);
    const y = diffAugment(images, 5, NONE);
    expect(y).not.toBe(images);
    expect(Array.from(y.dataSync())).toEqual(Array.from(x));
    tf.dispose([images, y]);
  });

  it('translation moves a single bright pixel by (dx, dy), or out of the image', () => {
    const s: Shape = [4, 16, 16, 1];
    const img = new Float32Array(count(s));
    const at = (n: number, y: number, xx: number) => (n * 16 + y) * 16 + xx;
    for (let n = 0; n < 4; n++) img[at(n, 5, 14)] = 1;
    const params: ImageAugment[] = [
      { ...NEUTRAL, dx: 1, dy: 2 }, // lands at (7, 15)
      { ...NEUTRAL, dx: -2, dy: -2 }, // lands at (3, 12)
      { ...NEUTRAL, dx: 2, dy: 0 }, // x = 16: gone
      { ...NEUTRAL, dx: 0, dy: 0 },
    ];
    // The cutout is off, so NEUTRAL's far-away square is irrelevant; colour off.
    const y = augmentValues(img, s, params, ONLY_TRANSLATION);
    const expected = new Float32Array(count(s));
    expected[at(0, 7, 15)] = 1;
    expected[at(1, 3, 12)] = 1;
    expected[at(3, 5, 14)] = 1;
    expect(Array.from(y)).toEqual(Array.from(expected));
  });

  it('translation drawn from a seed shifts each image by its own drawn offsets', () => {
    const s: Shape = [32, 16, 16, 3];
    const img = values(count(s), 3);
    const params = drawAugment(32, 16, 16, 2024);
    expect(new Set(params.map((p) => `${p.dx},${p.dy}`)).size).toBeGreaterThan(8);
    const y = augmentValues(img, s, 2024, ONLY_TRANSLATION);
    expect(maxAbsDiff(y, reference(img, s, params, ONLY_TRANSLATION))).toBe(0);
  });

  it('cutout zeroes a square of side round(size/2), clipped at the borders', () => {
    const s: Shape = [3, 16, 12, 2];
    const ones = new Float32Array(count(s)).fill(1);
    const params: ImageAugment[] = [
      { ...NEUTRAL, cutoutX: 3, cutoutY: 4 }, // 6 wide (12/2) x 8 high (16/2), inside
      { ...NEUTRAL, cutoutX: -4, cutoutY: 12 }, // clipped: 2 wide, 4 high
      { ...NEUTRAL, cutoutX: 9, cutoutY: -1 }, // clipped: 3 wide, 7 high
    ];
    const y = augmentValues(ones, s, params, ONLY_CUTOUT);
    const boxes = [[3, 4, 6, 8], [0, 12, 2, 4], [9, 0, 3, 7]] as const;
    for (let n = 0; n < 3; n++) {
      const [bx, by, bw, bh] = boxes[n]!;
      let zeros = 0;
      for (let yy = 0; yy < 16; yy++) {
        for (let xx = 0; xx < 12; xx++) {
          const inside = xx >= bx && xx < bx + bw && yy >= by && yy < by + bh;
          for (let ch = 0; ch < 2; ch++) {
            const v = y[((n * 16 + yy) * 12 + xx) * 2 + ch]!;
            expect(v).toBe(inside ? 0 : 1);
            if (v === 0) zeros++;
          }
        }
      }
      expect(zeros).toBe(bw * bh * 2);
    }
  });

  it('brightness, saturation and contrast each follow their formula (checked in plain JavaScript)', () => {
    const s: Shape = [2, 5, 4, 3];
    const img = values(count(s), 4);
    const per = 5 * 4 * 3;
    const px = (n: number, i: number) => img[n * per + i]!;
    const check = (params: ImageAugment[], f: (n: number, i: number) => number) => {
      const y = augmentValues(img, s, params, ONLY_COLOR);
      const expected = Float64Array.from({ length: y.length }, (_, k) => f(Math.floor(k / per), k % per));
      expect(maxAbsDiff(y, expected)).toBeLessThan(1e-5);
      expect(maxAbsDiff(y, img)).toBeGreaterThan(0.05);
    };
    // Brightness: x + b.
    const b = [0.3, -0.45];
    check([{ ...NEUTRAL, brightness: b[0]! }, { ...NEUTRAL, brightness: b[1]! }], (n, i) => px(n, i) + b[n]!);
    // Saturation: (x - mean over the pixel's channels) · s + that mean.
    const sat = [1.7, 0.2];
    check([{ ...NEUTRAL, saturation: sat[0]! }, { ...NEUTRAL, saturation: sat[1]! }], (n, i) => {
      const p0 = i - (i % 3);
      const m = (px(n, p0) + px(n, p0 + 1) + px(n, p0 + 2)) / 3;
      return (px(n, i) - m) * sat[n]! + m;
    });
    // Contrast: (x - mean of the image) · c + that mean.
    const con = [1.4, 0.6];
    const means = [0, 1].map((n) => Array.from({ length: per }, (_, i) => px(n, i)).reduce((a, v) => a + v, 0) / per);
    check([{ ...NEUTRAL, contrast: con[0]! }, { ...NEUTRAL, contrast: con[1]! }], (n, i) => (px(n, i) - means[n]!) * con[n]! + means[n]!);
  });

  it('saturation is the identity for one channel', () => {
    const s: Shape = [2, 6, 6, 1];
    const img = values(count(s), 5);
    const y = augmentValues(img, s, [{ ...NEUTRAL, saturation: 1.9 }, { ...NEUTRAL, saturation: 0.1 }], ONLY_COLOR);
    expect(maxAbsDiff(y, img)).toBeLessThan(1e-6);
  });

  for (const s of [[5, 8, 8, 3], [4, 9, 7, 1], [3, 16, 16, 3]] as Shape[]) {
    it(`all three with drawn parameters match the paper's steps in plain JavaScript (${s.join('x')})`, () => {
      const img = values(count(s), 6);
      const params = drawAugment(s[0], s[1], s[2], 77);
      for (const policy of [DIFF_AUGMENT_POLICY, ONLY_COLOR, { ...DIFF_AUGMENT_POLICY, cutout: false }, { ...DIFF_AUGMENT_POLICY, translation: false }]) {
        const y = augmentValues(img, s, 77, policy);
        expect(maxAbsDiff(y, reference(img, s, params, policy))).toBeLessThan(2e-5);
      }
    });
  }

  it('rejects what it cannot augment', () => {
    const ints = tf.zeros([1, 4, 4, 1], 'int32') as tf.Tensor4D;
    expect(() => diffAugment(ints, 1)).toThrow(/float32/);
    const three = tf.zeros([4, 4, 1]);
    expect(() => diffAugment(three as unknown as tf.Tensor4D, 1)).toThrow(/rank 4/);
    const ok = tf.zeros([2, 4, 4, 1]) as tf.Tensor4D;
    expect(() => applyAugment(ok, [NEUTRAL], DIFF_AUGMENT_POLICY)).toThrow(/1 parameter sets for 2 images/);
    tf.dispose([ints, three, ok]);
  });

  it('leaks no tensor, forward or under a gradient', () => {
    const s: Shape = [3, 8, 8, 3];
    const images = tf.tensor4d(values(count(s), 8), s);
    const before = tf.memory().numTensors;
    for (const policy of [DIFF_AUGMENT_POLICY, NONE, ONLY_COLOR, ONLY_TRANSLATION, ONLY_CUTOUT]) {
      const y = diffAugment(images, 3, policy);
      expect(tf.memory().numTensors).toBe(before + 1);
      y.dispose();
      const g = tf.grad((t: tf.Tensor) => tf.sum(diffAugment(t as tf.Tensor4D, 3, policy)))(images);
      g.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    images.dispose();
  });
});

/** Where wasm (and the native kernels) can be had, and why not. */
const native = nativeStatus();
const requireNative = process.env.GAN_STUDIO_REQUIRE_NATIVE === '1';

interface GradientBackend {
  label: string;
  setUp: () => Promise<string | null>; // null, or why it is skipped
}

const gradientBackends: GradientBackend[] = [
  { label: 'cpu', setUp: async () => { await useBackend('cpu'); return null; } },
  {
    label: 'wasm',
    setUp: async () => {
      unregisterNativeKernels();
      registerWasmTrainingKernels();
      const ok = await tf.setBackend('wasm').catch(() => false);
      return ok ? null : 'the wasm backend did not initialise';
    },
  },
  {
    label: 'wasm with gan-studio-native',
    setUp: async () => {
      if (!native.available) {
        if (requireNative) throw new Error(`gan-studio-native is required (GAN_STUDIO_REQUIRE_NATIVE=1): ${native.reason}`);
        return `gan-studio-native is unavailable: ${native.reason}`;
      }
      registerWasmTrainingKernels();
      const ok = await tf.setBackend('wasm').catch(() => false);
      if (!ok) return 'the wasm backend did not initialise';
      registerNativeKernels();
      return null;
    },
  },
];

describe('diffAugment gradients', () => {
  afterAll(async () => {
    unregisterNativeKernels();
    await useBackend('cpu');
  });

  for (const backend of gradientBackends) {
    describe(`on ${backend.label}`, () => {
      let skipped: string | null = null;
      beforeAll(async () => {
        skipped = await backend.setUp();
        if (skipped) console.warn(`diffAugment gradient tests on ${backend.label} skipped: ${skipped}`);
      });

      const s: Shape = [4, 12, 10, 3];
      const [n, h, w, c] = s;
      const x = values(count(s), 11);
      const wts = values(count(s), 12);
      const at = (img: number, y: number, xx: number, ch: number) => ((img * h + y) * w + xx) * c + ch;

      it('translation: the gradient is the weights shifted back (zero where they came from outside)', (ctx) => {
        if (skipped) ctx.skip();
        const params: ImageAugment[] = [
          { ...NEUTRAL, dx: 2, dy: -1 }, { ...NEUTRAL, dx: -1, dy: 3 }, { ...NEUTRAL, dx: 0, dy: 0 }, { ...NEUTRAL, dx: -2, dy: -2 }];
        const { grad } = gradientOf(x, wts, s, params, ONLY_TRANSLATION);
        const expected = new Float32Array(count(s));
        for (let img = 0; img < n; img++) {
          const { dx, dy } = params[img]!;
          for (let y = 0; y < h; y++) {
            for (let xx = 0; xx < w; xx++) {
              if (y + dy < 0 || y + dy >= h || xx + dx < 0 || xx + dx >= w) continue;
              for (let ch = 0; ch < c; ch++) expected[at(img, y, xx, ch)] = wts[at(img, y + dy, xx + dx, ch)]!;
            }
          }
        }
        expect(maxAbsDiff(grad, expected)).toBeLessThan(1e-6);
      });

      it('cutout: the gradient is the weights, zero inside the square', (ctx) => {
        if (skipped) ctx.skip();
        const params: ImageAugment[] = [
          { ...NEUTRAL, cutoutX: 2, cutoutY: 3 }, { ...NEUTRAL, cutoutX: -3, cutoutY: 8 },
          { ...NEUTRAL, cutoutX: 7, cutoutY: -2 }, { ...NEUTRAL, cutoutX: 0, cutoutY: 0 }];
        const { grad } = gradientOf(x, wts, s, params, ONLY_CUTOUT);
        const expected = Float32Array.from(wts);
        params.forEach((p, img) => {
          for (let y = Math.max(0, p.cutoutY); y < Math.min(h, p.cutoutY + cutoutSide(h)); y++) {
            for (let xx = Math.max(0, p.cutoutX); xx < Math.min(w, p.cutoutX + cutoutSide(w)); xx++) {
              for (let ch = 0; ch < c; ch++) expected[at(img, y, xx, ch)] = 0;
            }
          }
        });
        expect(maxAbsDiff(grad, expected)).toBeLessThan(1e-6);
      });

      it('all three: the gradient reaches the input and is the adjoint of the (affine) augmentation', (ctx) => {
        if (skipped) ctx.skip();
        const seed = 31337;
        const params = drawAugment(n, h, w, seed);
        const { loss, grad } = gradientOf(x, wts, s, seed);
        // The value is sum(w ⊙ aug(x)) with aug as the paper's steps.
        const ref = reference(x, s, params, DIFF_AUGMENT_POLICY);
        expect(Math.abs(loss - ref.reduce((a, v, i) => a + v * wts[i]!, 0))).toBeLessThan(1e-3);
        let nonZero = 0;
        for (const g of grad) {
          expect(Number.isFinite(g)).toBe(true);
          if (g !== 0) nonZero++;
        }
        expect(nonZero).toBeGreaterThan(grad.length / 4);
        // aug(v) = A·v + aug(0) (the means are linear in v), so <grad, v> = <w, aug(v) - aug(0)>.
        const zero = reference(new Float32Array(count(s)), s, params, DIFF_AUGMENT_POLICY);
        for (const probeSeed of [21, 22, 23]) {
          const v = values(count(s), probeSeed);
          const av = reference(v, s, params, DIFF_AUGMENT_POLICY);
          let lhs = 0;
          let rhs = 0;
          let scale = 0;
          for (let i = 0; i < v.length; i++) {
            lhs += grad[i]! * v[i]!;
            rhs += wts[i]! * (av[i]! - zero[i]!);
            scale += Math.abs(wts[i]! * (av[i]! - zero[i]!));
          }
          expect(Math.abs(lhs - rhs)).toBeLessThan(1e-5 * scale);
        }
      });

      it('two augmentations in one forward pass (as D\'s real and fake batches) each keep their own gradient', (ctx) => {
        if (skipped) ctx.skip();
        const x2 = values(count(s), 13);
        const w2 = values(count(s), 14);
        const [g1, g2] = tf.tidy(() => {
          const a = tf.tensor4d(x, s);
          const b = tf.tensor4d(x2, s);
          const loss = (u: tf.Tensor, v: tf.Tensor) => tf.add(
            tf.sum(tf.mul(diffAugment(u as tf.Tensor4D, 1), tf.tensor4d(wts, s))),
            tf.sum(tf.mul(diffAugment(v as tf.Tensor4D, 2), tf.tensor4d(w2, s)))) as tf.Scalar;
          return tf.grads(loss)([a, b]).map((g) => g.dataSync() as Float32Array);
        });
        expect(maxAbsDiff(g1!, gradientOf(x, wts, s, 1).grad)).toBeLessThan(1e-6);
        expect(maxAbsDiff(g2!, gradientOf(x2, w2, s, 2).grad)).toBeLessThan(1e-6);
        expect(maxAbsDiff(g1!, g2!)).toBeGreaterThan(0.1);
      });

      it('the forward pass matches the paper\'s steps here too, and nothing leaks', (ctx) => {
        if (skipped) ctx.skip();
        const params = drawAugment(n, h, w, 5);
        const before = tf.memory().numTensors;
        const y = augmentValues(x, s, 5);
        expect(maxAbsDiff(y, reference(x, s, params, DIFF_AUGMENT_POLICY))).toBeLessThan(2e-5);
        gradientOf(x, wts, s, 5);
        expect(tf.memory().numTensors).toBe(before);
      });
    });
  }
});
