import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../../../src/main/core/engine/backend/backends';
import { LoadedGenerator } from '../../../../../src/main/core/engine/ml/generator';
import { combine, formatExpression, interpolate, lerp, meanLatent, norm, parseExpression, seededLatent, slerp } from '../../../../../src/main/core/engine/ml/latent';
import { buildGan } from '../../../../../src/main/core/engine/ml/models';
import type { ModelConfig } from '../../../../../src/shared/types';

beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
});

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('seeded latents', () => {
  it('the same (seed, index) gives the same vector; different seeds differ', () => {
    expect(seededLatent(7, 100, 3)).toEqual(seededLatent(7, 100, 3));
    expect(maxAbsDiff(seededLatent(7, 100), seededLatent(8, 100))).toBeGreaterThan(0.1);
    expect(seededLatent(7, 100)).toHaveLength(100);
  });

  it('is the latent LoadedGenerator.sample draws for image `index` of that seed', async () => {
    const config: ModelConfig = { kind: 'gan', size: 28, channels: 1, latent: 8, numClasses: 0 };
    const models = buildGan(config, 3);
    models.discriminator.dispose();
    const g = LoadedGenerator.fromLayersModel(config, models.generator, 0);
    const sampled = await g.sample(4, 42, null);
    const rendered = await g.render([0, 1, 2, 3].map((i) => seededLatent(42, 8, i)), null);
    expect(maxAbsDiff(sampled.values, rendered.values)).toBe(0);
    g.dispose();
  });
});

describe('interpolation', () => {
  // Drawn once the backend is ready (seededLatent draws through tf.randomNormal).
  let a: Float32Array;
  let b: Float32Array;
  beforeAll(() => {
    a = seededLatent(1, 64);
    b = seededLatent(2, 64);
  });

  it('lerp and slerp hit the end points exactly', () => {
    for (const f of [lerp, slerp]) {
      expect(maxAbsDiff(f(a, b, 0), a)).toBeLessThanOrEqual(1e-6);
      expect(maxAbsDiff(f(a, b, 1), b)).toBeLessThanOrEqual(1e-6);
    }
    expect(lerp(a, b, 0)).toEqual(a);
    expect(slerp(a, b, 1)).toEqual(b);
  });

  it('lerp at t = 0.5 is the midpoint', () => {
    const mid = lerp(a, b, 0.5);
    expect(maxAbsDiff(mid, a.map((v, i) => (v + b[i]!) / 2))).toBeLessThan(1e-6);
  });

  it('slerp keeps the norm of equal-norm latents all along the arc (lerp does not)', () => {
    const scale = norm(a) / norm(b);
    const b2 = b.map((v) => v * scale);
    for (const t of [0.1, 0.25, 0.5, 0.75, 0.9]) {
      expect(Math.abs(norm(slerp(a, b2, t)) - norm(a)) / norm(a)).toBeLessThan(1e-5);
    }
    expect(norm(lerp(a, b2, 0.5))).toBeLessThan(0.9 * norm(a));
  });

  it('slerp falls back to lerp for (nearly) parallel latents and is finite there', () => {
    const twice = a.map((v) => 2 * v);
    const s = slerp(a, twice, 0.3);
    expect(s.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(s, lerp(a, twice, 0.3))).toBe(0);
    expect(slerp(a, a, 0.5).every(Number.isFinite)).toBe(true);
  });

  it('interpolate gives K frames from a to b', () => {
    const frames = interpolate(a, b, 5, 'slerp');
    expect(frames).toHaveLength(5);
    expect(frames[0]).toEqual(a);
    expect(frames[4]).toEqual(b);
    expect(() => interpolate(a, b, 1, 'lerp')).toThrow(/at least 2/);
  });
});

describe('expressions', () => {
  it('parses names, signs and coefficients', () => {
    expect(parseExpression('a-b+c')).toEqual([
      { coefficient: 1, name: 'a' },
      { coefficient: -1, name: 'b' },
      { coefficient: 1, name: 'c' },
    ]);
    expect(parseExpression(' 2*a - b ')).toEqual([
      { coefficient: 2, name: 'a' },
      { coefficient: -1, name: 'b' },
    ]);
    expect(parseExpression('-0.5 smile + .25man + woman_2')).toEqual([
      { coefficient: -0.5, name: 'smile' },
      { coefficient: 0.25, name: 'man' },
      { coefficient: 1, name: 'woman_2' },
    ]);
    expect(parseExpression('a+a-b')).toEqual([
      { coefficient: 2, name: 'a' },
      { coefficient: -1, name: 'b' },
    ]);
    expect(formatExpression(parseExpression('2*a-b+c'))).toBe('2*a - b + c');
  });

  it('rejects anything else with a clear message', () => {
    for (const bad of ['', 'a*b', 'a/b', 'a+', '(a)', 'a b', '2', 'a--b', 'a+3*']) {
      expect(() => parseExpression(bad), bad).toThrow(/expression/);
    }
    expect(() => parseExpression('a*b')).toThrow(/expected \+ or -, found "\*" at position 2/);
  });

  it('combines operands and says which is missing', () => {
    const ops = new Map([
      ['a', Float32Array.from([1, 2])],
      ['b', Float32Array.from([3, 5])],
    ]);
    expect(Array.from(combine(parseExpression('2*a-b'), ops))).toEqual([-1, -1]);
    expect(() => combine(parseExpression('a-c'), ops)).toThrow(/"c"/);
  });

  it('a class mean is the element-wise average', () => {
    const m = meanLatent([Float32Array.from([1, 2]), Float32Array.from([3, 6]), Float32Array.from([2, 1])]);
    expect(Array.from(m)).toEqual([2, 3]);
  });
});

describe('arithmetic in latent space vs pixel space', () => {
  const latentSize = 6;
  const operands = (names: string[]) => new Map(names.map((n, i) => [n, seededLatent(100 + i, latentSize)]));

  async function both(g: LoadedGenerator, expr: string) {
    const terms = parseExpression(expr);
    const ops = operands(terms.map((t) => t.name));
    const names = [...ops.keys()];
    const batch = await g.render([...names.map((n) => ops.get(n)!), combine(terms, ops)], null);
    const px = batch.height * batch.width * batch.channels;
    const images = new Map(names.map((n, i) => [n, batch.values.slice(i * px, (i + 1) * px)]));
    return { latentSpace: batch.values.slice(names.length * px), pixelWise: combine(terms, images) };
  }

  it('agree for a known linear generator G(z) = Wz', async () => {
    const config: ModelConfig = { kind: 'gan', size: 28, channels: 1, latent: latentSize, numClasses: 0 };
    const z = tf.input({ shape: [latentSize] });
    const dense = tf.layers.dense({ units: 28 * 28, useBias: false });
    const out = tf.layers.reshape({ targetShape: [28, 28, 1] }).apply(dense.apply(z)) as tf.SymbolicTensor;
    const model = tf.model({ inputs: z, outputs: out });
    const w = new Float32Array(latentSize * 28 * 28).map((_, i) => Math.sin(i * 0.37) * 0.1);
    dense.setWeights([tf.tensor2d(w, [latentSize, 28 * 28])]);
    const g = LoadedGenerator.fromLayersModel(config, model, 0);
    for (const expr of ['a-b+c', 'a+b', '2*a-b', '-0.5*x+y']) {
      const r = await both(g, expr);
      expect(maxAbsDiff(r.latentSpace, r.pixelWise), expr).toBeLessThan(1e-5);
    }
    g.dispose();
  });

  it('differ for a real (non-linear) DCGAN generator', async () => {
    const config: ModelConfig = { kind: 'dcgan', size: 28, channels: 1, latent: latentSize, numClasses: 0 };
    const models = buildGan(config, 5);
    models.discriminator.dispose();
    const g = LoadedGenerator.fromLayersModel(config, models.generator, 0);
    const r = await both(g, 'a-b+c');
    expect(maxAbsDiff(r.latentSpace, r.pixelWise)).toBeGreaterThan(1e-3);
    g.dispose();
  });
});
