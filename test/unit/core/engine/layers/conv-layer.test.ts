import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conv2d, Conv2DLayer } from '../../../../../src/main/core/engine/layers/conv-layer';
import { values } from '../../../../helpers/kernel-cases';
import { exportAndReload } from '../../../../helpers/layers-export';

type Conv2DArgs = Parameters<typeof tf.layers.conv2d>[0];

const SHAPE: [number, number, number, number] = [3, 8, 8, 4];

/** The same layer twice, stock and ours, with equal weights, built for SHAPE. */
function pair(args: Omit<Conv2DArgs, 'kernelInitializer' | 'biasInitializer'>) {
  const full = { ...args, kernelInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed: 7 }), biasInitializer: tf.initializers.randomNormal({ seed: 8 }) };
  const stock = tf.layers.conv2d(full);
  const ours = conv2d(full);
  stock.build([null, ...SHAPE.slice(1)]);
  ours.build([null, ...SHAPE.slice(1)]);
  ours.setWeights(stock.getWeights());
  return { stock, ours, dispose: () => [...stock.weights, ...ours.weights].forEach((w) => w.dispose()) };
}

/** Names of the kernels `fn` runs. */
async function kernelsRun(fn: () => tf.Tensor | tf.Tensor[]): Promise<string[]> {
  const info = await tf.profile(() => fn() as tf.Tensor);
  return info.kernels.map((k) => k.name);
}

/** The layer's trainable variables (kernel, then bias where it has one). */
function variables(layer: tf.layers.Layer): tf.Variable[] {
  return layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
}

describe('Conv2D layer with per-input gradients (cpu, against the stock layer)', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
  });

  const cases: [string, Omit<Conv2DArgs, 'kernelInitializer' | 'biasInitializer'>][] = [
    ['k4 s2 same, no bias (a DCGAN layer)', { filters: 6, kernelSize: 4, strides: 2, padding: 'same', useBias: false }],
    ['k3 s1 valid, bias', { filters: 5, kernelSize: 3, strides: 1, padding: 'valid', useBias: true }],
    ['k3 s2 same, bias and relu', { filters: 5, kernelSize: 3, strides: 2, padding: 'same', useBias: true, activation: 'relu' }],
    ['k4 s1 valid, bias and elu', { filters: 2, kernelSize: 4, strides: 1, padding: 'valid', useBias: true, activation: 'elu' }],
  ];
  for (const [name, args] of cases) {
    it(`${name}: output and every gradient are the stock layer's`, () => {
      const { stock, ours, dispose } = pair(args);
      const x = tf.tensor4d(values(SHAPE.reduce((a, b) => a * b), 3, -1, 2), SHAPE);
      try {
        const run = (layer: tf.layers.Layer) => tf.tidy(() => {
          const y = layer.apply(x) as tf.Tensor;
          // A non-uniform weighting, so that every gradient element matters.
          const w = tf.tensor(values(y.size, 4, -1, 1), y.shape);
          const f = () => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, w)) as tf.Scalar;
          const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input) as tf.Tensor, w)))(x);
          const { grads } = tf.variableGrads(f, variables(layer));
          return [y, dx, ...variables(layer).map((v) => grads[v.name]!)].map((t) => Array.from(t.dataSync()));
        });
        const [a, b] = [run(stock), run(ours)];
        expect(b.length).toBe(args.useBias ? 4 : 3);
        b.forEach((got, i) => {
          const want = a[i]!;
          const scale = Math.max(...want.map(Math.abs));
          const worst = Math.max(...got.map((v, j) => Math.abs(v - want[j]!)));
          expect(worst / scale, `output ${i}`).toBeLessThan(1e-6);
        });
      } finally {
        x.dispose();
        dispose();
      }
    });
  }

  it('computes only the gradient asked for: the filter gradient alone, or the input gradient alone', async () => {
    const { stock, ours, dispose } = pair({ filters: 6, kernelSize: 4, strides: 2, padding: 'same', useBias: true });
    const x = tf.tensor4d(values(SHAPE.reduce((a, b) => a * b), 5, -1, 2), SHAPE);
    try {
      const filterOnly = (layer: tf.layers.Layer) =>
        kernelsRun(() => Object.values(tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor) as tf.Scalar, variables(layer)).grads));
      const inputOnly = (layer: tf.layers.Layer) => kernelsRun(() => tf.grad((input: tf.Tensor) => tf.sum(layer.apply(input) as tf.Tensor))(x));

      // The stock layer computes both whatever is asked: what this layer exists to avoid.
      expect(await filterOnly(stock)).toEqual(expect.arrayContaining(['Conv2DBackpropInput', 'Conv2DBackpropFilter']));
      expect(await inputOnly(stock)).toEqual(expect.arrayContaining(['Conv2DBackpropInput', 'Conv2DBackpropFilter']));

      const forFilter = await filterOnly(ours);
      expect(forFilter).toContain('Conv2DBackpropFilter');
      expect(forFilter).not.toContain('Conv2DBackpropInput');
      const forInput = await inputOnly(ours);
      expect(forInput).toContain('Conv2DBackpropInput');
      expect(forInput).not.toContain('Conv2DBackpropFilter');
    } finally {
      x.dispose();
      dispose();
    }
  });

  it('keeps the stock weights (names, order, shapes), class name and config', () => {
    const { stock, ours, dispose } = pair({ filters: 3, kernelSize: 4, strides: 2, padding: 'same', useBias: true });
    try {
      expect(ours.getClassName()).toBe('Conv2D');
      expect(ours).toBeInstanceOf(Object.getPrototypeOf(stock).constructor);
      const strip = (name: string) => name.replace(/^conv2d_\d+\//, '');
      expect(ours.weights.map((w) => [strip(w.originalName), w.shape, w.trainable])).toEqual(
        stock.weights.map((w) => [strip(w.originalName), w.shape, w.trainable]),
      );
      const { name: _a, kernelInitializer: _k1, biasInitializer: _b1, ...stockConfig } = stock.getConfig();
      const { name: _b, kernelInitializer: _k2, biasInitializer: _b2, ...oursConfig } = ours.getConfig();
      expect(oursConfig).toEqual(stockConfig);
    } finally {
      dispose();
    }
  });

  it('a model with the layer exports and reloads with tf.loadLayersModel as the stock layer', async () => {
    const input = tf.input({ shape: [8, 8, 4] });
    let h = conv2d({ filters: 4, kernelSize: 4, strides: 2, padding: 'same', useBias: true, kernelInitializer: tf.initializers.randomNormal({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
    h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: h });
    const x = tf.tensor4d(values(2 * 8 * 8 * 4, 9, -1, 2), [2, 8, 8, 4]);
    const { loaded, classNames, dispose } = await exportAndReload(model);
    try {
      expect(classNames).toContain('Conv2D');
      const conv = loaded.layers.find((l) => l.getClassName() === 'Conv2D');
      expect(conv).toBeDefined();
      expect(conv).not.toBeInstanceOf(Conv2DLayer);
      const [a, b] = tf.tidy(() => [
        Array.from((model.predict(x) as tf.Tensor).dataSync()),
        Array.from((loaded.predict(x) as tf.Tensor).dataSync()),
      ]);
      expect(b).toEqual(a);
    } finally {
      x.dispose();
      model.dispose();
      await dispose();
    }
  });

  afterAll(() => {
    tf.disposeVariables();
  });
});
