import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { batchNormalization, batchNormTraining, FusedBatchNormalization, LeakyReLUAfterBatchNorm, ReLUAfterBatchNorm, withBatchGroups } from '../../../../../src/main/core/engine/layers/batchnorm';
import type { FusedActivation } from '../../../../../src/main/core/engine/layers/batchnorm';
import { nativeKernelsRegistered, nativeStatus, registerNativeKernels, unregisterNativeKernels } from '../../../../../src/main/core/engine/backend/native-kernels';
import type { NativeAddon } from '../../../../../src/main/core/engine/backend/native-kernels';
import { registerWasmTrainingKernels } from '../../../../../src/main/core/engine/backend/wasm-kernels';
import { values } from '../../../../helpers/kernel-cases';
import { exportAndReload } from '../../../../helpers/layers-export';

const MOMENTUM = 0.9;
const EPSILON = 1e-5;
const TOLERANCE = 1e-5;

/**
 * Relative error in the max norm: max|a - b| / max|b|. (Elementwise ratios are meaningless for
 * elements that are near zero by cancellation, as many gradient elements are: there both float32
 * computations differ by rounding errors of the size of the terms that cancelled.)
 */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    if (Number.isNaN(diff)) return Number.NaN; // fails every comparison
    scale = Math.max(scale, Math.abs(expected[i]!));
    worst = Math.max(worst, diff);
  }
  return scale > 0 ? worst / scale : worst;
}

type Layer = tf.layers.Layer;

/** Disposes a layer's weights (Layer.dispose refuses layers that were never applied symbolically). */
function disposeLayer(layer: Layer): void {
  for (const w of layer.weights) w.dispose();
}

/** A stock and a fused layer with the same (non-trivial) weights, built for `shape`. */
function layerPair(shape: number[], seed: number): { stock: Layer; fused: FusedBatchNormalization } {
  const args = { momentum: MOMENTUM, epsilon: EPSILON };
  const stock = tf.layers.batchNormalization(args);
  const fused = batchNormalization(args);
  stock.build(shape);
  fused.build(shape);
  const c = shape[shape.length - 1]!;
  const weights = [
    tf.tensor1d(values(c, seed + 1, 0.5, 1.5)), // gamma
    tf.tensor1d(values(c, seed + 2, -0.5, 0.5)), // beta
    tf.tensor1d(values(c, seed + 3, -0.2, 0.2)), // moving mean
    tf.tensor1d(values(c, seed + 4, 0.5, 2)), // moving variance
  ];
  stock.setWeights(weights);
  fused.setWeights(weights);
  tf.dispose(weights);
  return { stock, fused };
}

/** A training-mode pass under `tf.variableGrads` of loss = Σ y·w: output and gradients for x, gamma, beta. */
function trainingPass(layer: Layer, x: tf.Variable, w: tf.Tensor) {
  const [gamma, beta] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
  let y: tf.Tensor | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const out = layer.apply(x, { training: true }) as tf.Tensor;
    y = tf.keep(out.clone());
    return tf.sum(tf.mul(out, w)) as tf.Scalar;
  }, [x, gamma!, beta!]);
  const result = {
    y: y!.dataSync().slice(),
    loss: value.dataSync()[0]!,
    dx: grads[x.name]!.dataSync().slice(),
    dgamma: grads[gamma!.name]!.dataSync().slice(),
    dbeta: grads[beta!.name]!.dataSync().slice(),
  };
  tf.dispose([y!, value, ...Object.values(grads)]);
  return result;
}

/** In a describe: puts the backend back (and takes the native kernels out) after its tests. */
function restoreBackendAfterAll(): void {
  let previousBackend = '';
  beforeAll(() => {
    previousBackend = tf.getBackend();
  });
  afterAll(async () => {
    unregisterNativeKernels();
    if (previousBackend) await tf.setBackend(previousBackend);
  });
}

const shapes: { name: string; shape: number[]; offset: number }[] = [
  { name: '2D dense [N, C]', shape: [16, 12], offset: 0 },
  { name: '4D NHWC', shape: [4, 5, 6, 8], offset: 0 },
  { name: '4D NHWC, mean far from 0', shape: [3, 4, 4, 5], offset: 4 },
  { name: '4D NHWC, 1x1 spatial', shape: [6, 1, 1, 5], offset: 0.5 },
  { name: '3D [N, L, C]', shape: [5, 3, 4], offset: -1 },
];

describe('fused batchnorm layer (cpu, against the stock layer)', () => {
  let previousBackend = '';
  beforeAll(async () => {
    previousBackend = tf.getBackend();
    await tf.setBackend('cpu');
  });
  afterAll(async () => {
    if (previousBackend) await tf.setBackend(previousBackend);
  });

  for (const { name, shape, offset } of shapes) {
    it(`${name}: training output, moving statistics and gradients match`, () => {
      const size = shape.reduce((a, b) => a * b, 1);
      const { stock, fused } = layerPair(shape, 10);
      const x = tf.variable(tf.tensor(values(size, 20, offset - 1.5, offset + 2.5), shape), true, `bn_test_x_${shape.join('x')}`);
      const w = tf.tensor(values(size, 30), shape);
      try {
        const a = trainingPass(stock, x, w);
        const b = trainingPass(fused, x, w);
        expect(relativeError(b.y, a.y)).toBeLessThan(TOLERANCE);
        expect(Math.abs(b.loss - a.loss) / Math.abs(a.loss)).toBeLessThan(TOLERANCE);
        expect(relativeError(b.dx, a.dx)).toBeLessThan(TOLERANCE);
        expect(relativeError(b.dgamma, a.dgamma)).toBeLessThan(TOLERANCE);
        expect(relativeError(b.dbeta, a.dbeta)).toBeLessThan(TOLERANCE);
        // The gradient w.r.t. x is not trivially zero (the loss weights are not uniform).
        expect(Math.max(...Array.from(a.dx, Math.abs))).toBeGreaterThan(1e-3);

        // Moving statistics after the training call (and a second one, on other data).
        const stockWeights = () => stock.getWeights().map((t) => t.dataSync().slice());
        const fusedWeights = () => fused.getWeights().map((t) => t.dataSync().slice());
        const check = () => {
          const [s, f] = [stockWeights(), fusedWeights()];
          expect(f.length).toBe(4);
          for (let i = 0; i < 4; i++) expect(relativeError(f[i]!, s[i]!)).toBeLessThan(TOLERANCE);
        };
        check();
        const x2 = tf.tensor(values(size, 40, -3, 1), shape);
        tf.tidy(() => {
          stock.apply(x2, { training: true });
          fused.apply(x2, { training: true });
        });
        x2.dispose();
        check();
        // The moving statistics did move (so the comparison is not vacuous).
        const initialMean = values(shape[shape.length - 1]!, 13, -0.2, 0.2);
        expect(relativeError(fusedWeights()[2]!, initialMean)).toBeGreaterThan(1e-2);

        // Inference mode: bit-for-bit the stock layer's output (same moving statistics).
        fused.setWeights(stock.getWeights());
        const [ys, yf] = tf.tidy(() => [
          (stock.apply(x, { training: false }) as tf.Tensor).dataSync().slice(),
          (fused.apply(x, { training: false }) as tf.Tensor).dataSync().slice(),
        ]);
        expect(Array.from(yf!)).toEqual(Array.from(ys!));
        const [yd] = tf.tidy(() => [(fused.apply(x) as tf.Tensor).dataSync().slice()]);
        expect(Array.from(yd!)).toEqual(Array.from(ys!));
      } finally {
        tf.dispose([x, w]);
        disposeLayer(stock);
        disposeLayer(fused);
      }
    });
  }

  it('keeps the stock weights (names, order, shapes), class name and config', () => {
    const args = { momentum: MOMENTUM, epsilon: EPSILON, gammaInitializer: tf.initializers.randomNormal({ mean: 1, stddev: 0.02, seed: 5 }) };
    const stock = tf.layers.batchNormalization(args);
    const fused = batchNormalization(args);
    stock.build([null, 4, 4, 6]);
    fused.build([null, 4, 4, 6]);
    try {
      expect(fused.getClassName()).toBe('BatchNormalization');
      expect(fused).toBeInstanceOf(Object.getPrototypeOf(stock).constructor);
      const strip = (name: string) => name.replace(/^batch_normalization_\d+\//, '');
      expect(fused.weights.map((w) => [strip(w.originalName), w.shape, w.trainable])).toEqual(
        stock.weights.map((w) => [strip(w.originalName), w.shape, w.trainable]),
      );
      const { name: _a, ...stockConfig } = stock.getConfig();
      const { name: _b, ...fusedConfig } = fused.getConfig();
      expect(fusedConfig).toEqual(stockConfig);
    } finally {
      disposeLayer(stock);
      disposeLayer(fused);
    }
  });

  it('a model with the layer exports and reloads with tf.loadLayersModel as the stock layer', async () => {
    const input = tf.input({ shape: [6, 6, 3] });
    let h = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.randomNormal({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
    h = batchNormalization({ momentum: MOMENTUM, epsilon: EPSILON }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
    h = tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.randomNormal({ seed: 2 }) }).apply(h) as tf.SymbolicTensor;
    h = batchNormalization({ momentum: MOMENTUM, epsilon: EPSILON }).apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: h });
    const x = tf.tensor4d(values(8 * 6 * 6 * 3, 50, -1, 2), [8, 6, 6, 3]);
    let reloaded: Awaited<ReturnType<typeof exportAndReload>> | null = null;
    try {
      // Training passes move the moving statistics away from their initial values.
      for (let i = 0; i < 3; i++) {
        tf.tidy(() => {
          model.apply(x, { training: true });
        });
      }
      reloaded = await exportAndReload(model);
      const { loaded, classNames } = reloaded;
      expect(classNames.filter((c) => c === 'BatchNormalization')).toHaveLength(2);
      const loadedBn = loaded.layers.filter((l) => l.getClassName() === 'BatchNormalization');
      expect(loadedBn).toHaveLength(2);
      for (const l of loadedBn) expect(l).not.toBeInstanceOf(FusedBatchNormalization);
      const [a, b] = tf.tidy(() => [
        (model.predict(x) as tf.Tensor).dataSync().slice(),
        (loaded.predict(x) as tf.Tensor).dataSync().slice(),
      ]);
      expect(Array.from(b!)).toEqual(Array.from(a!));
      // The non-trainable statistics survived the round trip.
      const original = model.getWeights().map((t) => Array.from(t.dataSync()));
      const reloadedWeights = loaded.getWeights().map((t) => Array.from(t.dataSync()));
      expect(reloadedWeights).toEqual(original);
    } finally {
      x.dispose();
      model.dispose();
      await reloaded?.dispose();
    }
  });

  it('leaks no tensors across repeated training calls, with and without a tape', () => {
    const { fused, stock } = layerPair([8, 3, 3, 4], 60);
    disposeLayer(stock);
    const x = tf.variable(tf.tensor4d(values(8 * 3 * 3 * 4, 70), [8, 3, 3, 4]));
    const w = tf.tensor4d(values(8 * 3 * 3 * 4, 80), [8, 3, 3, 4]);
    try {
      const step = () => {
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.mul(fused.apply(x, { training: true }) as tf.Tensor, w)) as tf.Scalar,
          [x, ...fused.trainableWeights.map((v) => v.read() as tf.Variable)],
        );
        tf.dispose([value, ...Object.values(grads)]);
        tf.tidy(() => {
          fused.apply(x, { training: true });
        });
      };
      step();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) step();
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      tf.dispose([x, w]);
      disposeLayer(fused);
    }
  });

  it('batchNormTraining: gradient matches automatic differentiation of the plain formula', () => {
    const shape = [6, 7];
    const x = tf.tensor2d(values(42, 90, -2, 3), shape as [number, number]);
    const gamma = tf.tensor1d(values(7, 91, 0.5, 1.5));
    const beta = tf.tensor1d(values(7, 92));
    const w = tf.tensor2d(values(42, 93), shape as [number, number]);
    try {
      const plain = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, [0]);
        return tf.sum(tf.mul(tf.add(tf.mul(tf.mul(tf.sub(a, mean), tf.rsqrt(tf.add(variance, EPSILON))), g), b), w)) as tf.Scalar;
      };
      const fusedLoss = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(batchNormTraining(a, g, b, EPSILON), w)) as tf.Scalar;
      const expected = tf.grads(plain)([x, gamma, beta]);
      const actual = tf.grads(fusedLoss)([x, gamma, beta]);
      for (let i = 0; i < 3; i++) expect(relativeError(actual[i]!.dataSync(), expected[i]!.dataSync())).toBeLessThan(TOLERANCE);
      tf.dispose([...expected, ...actual]);
    } finally {
      tf.dispose([x, gamma, beta, w]);
    }
  });
});

describe('fused batchnorm layer on wasm (against the stock layer on cpu)', () => {
  let previousBackend = '';
  beforeAll(async () => {
    previousBackend = tf.getBackend();
    registerWasmTrainingKernels(); // as in training (its Identity shares the saved tensors' data)
    expect(await tf.setBackend('wasm')).toBe(true);
  });
  afterAll(async () => {
    if (previousBackend) await tf.setBackend(previousBackend);
  });

  /** Output and gradients of a training pass, then the four weights after a second one. */
  async function run(backend: 'cpu' | 'wasm', fused: boolean, shape: number[]) {
    await tf.setBackend(backend);
    const size = shape.reduce((a, b) => a * b, 1);
    const layer = fused ? batchNormalization({ momentum: MOMENTUM, epsilon: EPSILON }) : tf.layers.batchNormalization({ momentum: MOMENTUM, epsilon: EPSILON });
    layer.build(shape);
    const c = shape[shape.length - 1]!;
    const init = [values(c, 1, 0.5, 1.5), values(c, 2, -0.5, 0.5), values(c, 3, -0.2, 0.2), values(c, 4, 0.5, 2)].map((v) => tf.tensor1d(v));
    layer.setWeights(init);
    tf.dispose(init);
    const x = tf.variable(tf.tensor(values(size, 5, -1, 3), shape), true, `bn_wasm_x_${backend}_${fused}`);
    const w = tf.tensor(values(size, 6), shape);
    const x2 = tf.tensor(values(size, 7, -2, 2), shape);
    try {
      const pass = trainingPass(layer, x, w);
      tf.tidy(() => {
        layer.apply(x2, { training: true });
      });
      return { ...pass, weights: layer.getWeights().map((t) => t.dataSync().slice()) };
    } finally {
      tf.dispose([x, w, x2]);
      disposeLayer(layer);
    }
  }

  for (const shape of [[16, 24], [8, 8, 8, 16], [4, 16, 16, 8], [8, 4, 4, 32]]) {
    it(`[${shape.join(', ')}]: output, gradients and moving statistics match`, async () => {
      const ref = await run('cpu', false, shape);
      const got = await run('wasm', true, shape);
      const errors = {
        y: relativeError(got.y, ref.y),
        dx: relativeError(got.dx, ref.dx),
        dgamma: relativeError(got.dgamma, ref.dgamma),
        dbeta: relativeError(got.dbeta, ref.dbeta),
        ...Object.fromEntries(['gamma', 'beta', 'movingMean', 'movingVariance'].map((n, i) => [n, relativeError(got.weights[i]!, ref.weights[i]!)])),
      };
      console.log(`wasm batchnorm [${shape.join(', ')}]: ${Object.entries(errors).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
      for (const [name, err] of Object.entries(errors)) expect(err, name).toBeLessThan(TOLERANCE);
    });
  }
});

describe('batch groups: one training pass over concatenated batches, statistics per batch', () => {
  restoreBackendAfterAll();

  /** Output, gradients (x, gamma, beta) and the weights after, for `parts` batches of `shape`. */
  function pass(parts: Float32Array[], shape: number[], mode: 'per batch' | 'groups' | 'pooled') {
    const layer = batchNormalization({ momentum: MOMENTUM, epsilon: EPSILON });
    const batchShape = [shape[0]! * parts.length, ...shape.slice(1)];
    layer.build(batchShape);
    const c = shape[shape.length - 1]!;
    const init = [values(c, 1, 0.5, 1.5), values(c, 2, -0.5, 0.5), values(c, 3, -0.2, 0.2), values(c, 4, 0.5, 2)].map((v) => tf.tensor1d(v));
    layer.setWeights(init);
    tf.dispose(init);
    const xs = parts.map((p, i) => tf.variable(tf.tensor(p, shape), true, `bn_group_x_${mode.replace(' ', '_')}_${i}_${tf.getBackend()}`));
    const w = tf.tensor(values(shape.reduce((a, b) => a * b, 1) * parts.length, 31), batchShape);
    const [gamma, beta] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
    try {
      const { value, grads } = tf.variableGrads(() => {
        const y = mode === 'per batch'
          ? tf.concat(xs.map((x) => layer.apply(x, { training: true }) as tf.Tensor))
          : mode === 'groups'
            ? withBatchGroups(parts.length, () => layer.apply(tf.concat(xs), { training: true }) as tf.Tensor)
            : (layer.apply(tf.concat(xs), { training: true }) as tf.Tensor);
        return tf.sum(tf.mul(y, w)) as tf.Scalar;
      }, [...xs, gamma!, beta!]);
      const out: Record<'loss' | 'grads' | 'weights', ArrayLike<number>[]> = {
        loss: [[value.dataSync()[0]!]],
        grads: [...xs, gamma!, beta!].map((v) => grads[v.name]!.dataSync().slice()),
        weights: layer.getWeights().map((t) => t.dataSync().slice()),
      };
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    } finally {
      tf.dispose([...xs, w]);
      disposeLayer(layer);
    }
  }

  const setups: [string, 'cpu' | 'wasm', boolean][] = [
    ['cpu (tf ops)', 'cpu', false],
    ['wasm with the native kernels', 'wasm', true],
  ];
  for (const [label, backend, native] of setups) {
    it.skipIf(native && !nativeStatus().available)(`${label}: the same output, gradients and moving statistics as a pass per batch`, async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      if (native) {
        registerWasmTrainingKernels();
        registerNativeKernels();
        expect(nativeKernelsRegistered()).toBe(true);
      }
      const shape = [3, 4, 4, 5];
      const size = shape.reduce((a, b) => a * b, 1);
      // Three batches with different means and spreads: pooled statistics would differ a lot.
      const parts = [values(size, 41, -1, 1), values(size, 42, 2, 6), values(size, 43, -0.1, 0.1)];
      // The grouped pass leaves no more tensors behind than a pass per batch (the harness's own
      // layer bookkeeping leaves the same few in both).
      const t0 = tf.memory().numTensors;
      const ref = pass(parts, shape, 'per batch');
      const t1 = tf.memory().numTensors;
      const got = pass(parts, shape, 'groups');
      expect(tf.memory().numTensors - t1, 'tensors left by the grouped pass').toBe(t1 - t0);
      const pooled = pass(parts, shape, 'pooled');
      const figures = ['loss', 'grads', 'weights'] as const;
      for (const f of figures) {
        ref[f].forEach((r, i) => expect(relativeError(got[f][i]!, r), `${f} ${i}`).toBeLessThan(TOLERANCE));
      }
      // The counter-check: one pass with pooled statistics is far from it.
      expect(relativeError(pooled.grads[0]!, ref.grads[0]!)).toBeGreaterThan(1e-2);
      if (native) unregisterNativeKernels();
    });
  }

  it('refuses groups that do not divide the batch', async () => {
    await tf.setBackend('cpu');
    const x = tf.ones([5, 3]);
    const g = tf.ones([3]);
    const b = tf.zeros([3]);
    expect(() => batchNormTraining(x, g, b, EPSILON, undefined, 2)).toThrow(/2 groups do not divide the batch of 5/);
    expect(() => withBatchGroups(0, () => 1)).toThrow(/positive integer/);
    tf.dispose([x, g, b]);
  });
});

describe('an activation fused into batch norm (the ReLU or LeakyReLU layer after it)', () => {
  restoreBackendAfterAll();

  async function use(backend: 'cpu' | 'wasm', native: boolean): Promise<void> {
    expect(await tf.setBackend(backend)).toBe(true);
    if (native) {
      registerWasmTrainingKernels();
      registerNativeKernels();
      expect(nativeKernelsRegistered()).toBe(true);
    } else {
      unregisterNativeKernels();
    }
  }

  /** Output and gradients (x, gamma, beta) of Σ w·f(x, gamma, beta). */
  function gradsOf(f: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor, shape: number[]) {
    const size = shape.reduce((a, b) => a * b, 1);
    const c = shape[shape.length - 1]!;
    const x = tf.tensor(values(size, 51, -2, 3), shape);
    const gamma = tf.tensor1d(values(c, 52, 0.5, 1.5));
    const beta = tf.tensor1d(values(c, 53, -0.5, 0.5));
    const w = tf.tensor(values(size, 54), shape);
    try {
      const y = tf.tidy(() => f(x, gamma, beta).dataSync().slice());
      const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, g, b), w)))([x, gamma, beta]);
      const out = { y, grads: grads.map((t) => t.dataSync().slice()) };
      tf.dispose(grads);
      return out;
    } finally {
      tf.dispose([x, gamma, beta, w]);
    }
  }

  const activations: FusedActivation[] = [{ kind: 'relu' }, { kind: 'leakyrelu', alpha: 0.2 }];
  const setups: [string, 'cpu' | 'wasm', boolean][] = [
    ['cpu (tf ops)', 'cpu', false],
    ['wasm with the native kernels', 'wasm', true],
  ];
  for (const [label, backend, native] of setups) {
    for (const activation of activations) {
      for (const groups of [1, 2]) {
        it.skipIf(native && !nativeStatus().available)(`${label}, ${activation.kind}, ${groups} group(s): act(batch norm) and its gradients, as the two ops`, async () => {
          await use(backend, native);
          const shape = [4, 3, 3, 6];
          const stock = (y: tf.Tensor) => (activation.kind === 'relu' ? tf.relu(y) : tf.leakyRelu(y, activation.alpha));
          const ref = gradsOf((x, g, b) => stock(batchNormTraining(x, g, b, EPSILON, undefined, groups)), shape);
          const plain = gradsOf((x, g, b) => batchNormTraining(x, g, b, EPSILON, undefined, groups), shape);
          const status = nativeStatus();
          const spy = native && status.available ? vi.spyOn(status.addon as NativeAddon, 'bnBackward') : null;
          expect(spy != null).toBe(native);
          const got = gradsOf((x, g, b) => batchNormTraining(x, g, b, EPSILON, undefined, groups, activation), shape);
          if (spy) {
            // The native backward pass ran with the activation (code 1 relu, 3 leakyrelu).
            expect(spy.mock.calls.map((c) => c[12])).toEqual(Array(groups).fill(activation.kind === 'relu' ? 1 : 3));
            spy.mockRestore();
          }
          expect(relativeError(got.y, ref.y), 'y').toBeLessThan(TOLERANCE);
          got.grads.forEach((g, i) => expect(relativeError(g, ref.grads[i]!), `grad ${i}`).toBeLessThan(TOLERANCE));
          // The counter-check: the activation did something (about half the outputs are negative
          // before it) and changes every gradient.
          expect(plain.y.filter((v) => v < 0).length).toBeGreaterThan(plain.y.length / 4);
          expect(relativeError(got.y, plain.y)).toBeGreaterThan(0.05);
          plain.grads.forEach((g, i) => expect(relativeError(got.grads[i]!, g), `grad ${i} without the activation`).toBeGreaterThan(0.01));
        });
      }
    }
  }

  it('refuses an activation it cannot fuse', async () => {
    await use('cpu', false);
    const x = tf.ones([4, 3]);
    const g = tf.ones([3]);
    const b = tf.zeros([3]);
    expect(() => batchNormTraining(x, g, b, EPSILON, undefined, 1, { kind: 'tanh' } as unknown as FusedActivation)).toThrow(/cannot fuse/);
    expect(() => batchNormTraining(x, g, b, EPSILON, undefined, 1, { kind: 'leakyrelu', alpha: Number.NaN })).toThrow(/cannot fuse/);
    tf.dispose([x, g, b]);
  });

  /** conv → batch norm → activation → dense, with the fused pair or the two stock layers. */
  function model(fused: boolean, leak: number | null): tf.LayersModel {
    const input = tf.input({ shape: [5, 5, 3] });
    let h = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.randomNormal({ seed: 3 }) }).apply(input) as tf.SymbolicTensor;
    const args = { momentum: MOMENTUM, epsilon: EPSILON, betaInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 4 }) };
    if (fused) {
      const bn = batchNormalization(args);
      const act = leak == null ? new ReLUAfterBatchNorm() : new LeakyReLUAfterBatchNorm({ alpha: leak });
      bn.fuseActivation(act);
      h = act.apply(bn.apply(h)) as tf.SymbolicTensor;
    } else {
      h = tf.layers.batchNormalization(args).apply(h) as tf.SymbolicTensor;
      h = (leak == null ? tf.layers.reLU() : tf.layers.leakyReLU({ alpha: leak })).apply(h) as tf.SymbolicTensor;
    }
    h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
    h = tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.randomNormal({ seed: 5 }) }).apply(h) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: h });
  }

  for (const [label, backend, native] of setups) {
    for (const leak of [null, 0.2]) {
      it.skipIf(native && !nativeStatus().available)(`${label}: a model with the fused pair (${leak == null ? 'ReLU' : 'LeakyReLU'}) trains and predicts as the stock layers`, async () => {
        await use(backend, native);
        const stock = model(false, leak);
        const fused = model(true, leak);
        fused.setWeights(stock.getWeights());
        const x = tf.tensor4d(values(6 * 5 * 5 * 3, 60, -1, 2), [6, 5, 5, 3]);
        try {
          const pass = (m: tf.LayersModel) => {
            const vars = m.trainableWeights.map((v) => v.read() as tf.Variable);
            const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(m.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, vars);
            const out = [value.dataSync()[0]!, ...vars.map((v) => grads[v.name]!.dataSync().slice())] as const;
            tf.dispose([value, ...Object.values(grads)]);
            return out;
          };
          const [lossStock, ...gradsStock] = pass(stock);
          const before = tf.memory().numTensors;
          let fusedPass: ReturnType<typeof pass> | null = null;
          const fusedProfile = await tf.profile(() => {
            fusedPass = pass(fused);
          });
          const [lossFused, ...gradsFused] = fusedPass!;
          expect(tf.memory().numTensors, 'tensors left by a fused training pass').toBe(before);
          // The activation layer passes its gradient on as it is: no copy of it (a Cast of the
          // activation's shape, as tfjs's Identity gradient makes).
          const copies = fusedProfile.kernels.filter((k) => k.name === 'Cast' && JSON.stringify(k.outputShapes) === JSON.stringify([[6, 5, 5, 6]]));
          expect(copies).toHaveLength(0);
          expect(Math.abs(lossFused - lossStock) / lossStock).toBeLessThan(TOLERANCE);
          gradsFused.forEach((g, i) => expect(relativeError(g as Float32Array, gradsStock[i] as Float32Array), `gradient ${i}`).toBeLessThan(TOLERANCE));
          // Moving statistics moved the same way; inference is the stock computation.
          stock.getWeights().forEach((w, i) => expect(relativeError(fused.getWeights()[i]!.dataSync(), w.dataSync())).toBeLessThan(TOLERANCE));
          const [ps, pf] = tf.tidy(() => [stock.predict(x) as tf.Tensor, fused.predict(x) as tf.Tensor].map((t) => t.dataSync().slice()));
          expect(relativeError(pf!, ps!)).toBeLessThan(TOLERANCE);
          // The activation layer on a tensor the batch norm did not make still applies itself.
          const act = fused.layers.find((l) => l instanceof ReLUAfterBatchNorm || l instanceof LeakyReLUAfterBatchNorm)!;
          const applied = tf.tidy(() => (act.apply(tf.tensor1d([-2, 3]), { training: true }) as tf.Tensor).dataSync().slice());
          expect(Array.from(applied)).toEqual([leak == null ? 0 : -2 * leak, 3].map((v) => Math.fround(v)));
          // Saved as the stock classes.
          expect(fused.layers.map((l) => l.getClassName())).toEqual(stock.layers.map((l) => l.getClassName()));
        } finally {
          x.dispose();
          stock.dispose();
          fused.dispose();
        }
      });
    }
  }
});
