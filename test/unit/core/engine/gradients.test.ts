// Our FusedBatchNorm gradient (src/main/core/engine/gradients.ts) against automatic
// differentiation of the plain batch-norm formula, written with elementary ops.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../../src/main/core/engine/backends';
import { registerTrainingGradients } from '../../../../src/main/core/engine/gradients';

const EPS = 1e-3;

beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
  registerTrainingGradients();
});

/** Batch norm in training mode as layers run it: tf.moments + tf.batchNorm (the FusedBatchNorm kernel). */
function viaKernel(x: tf.Tensor, gamma: tf.Tensor | null, beta: tf.Tensor): tf.Tensor {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  return tf.batchNorm(x, mean, variance, beta, gamma ?? undefined, EPS);
}

/** The same formula from elementary ops, so autodiff gives the reference gradient. */
function viaFormula(x: tf.Tensor, gamma: tf.Tensor | null, beta: tf.Tensor): tf.Tensor {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const mean = tf.mean(x, axes);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), axes);
  const normed = tf.mul(centred, tf.rsqrt(tf.add(variance, EPS)));
  return tf.add(gamma ? tf.mul(normed, gamma) : normed, beta);
}

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  const av = a.dataSync();
  const bv = b.dataSync();
  let scale = 1e-6;
  for (const v of bv) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < av.length; i++) worst = Math.max(worst, Math.abs(av[i]! - bv[i]!));
  return worst / scale;
}

describe('FusedBatchNorm gradient', () => {
  for (const shape of [[16, 37], [4, 5, 6, 8], [3, 7, 7, 1]] as const) {
    // Always with a scale: tfjs saves the `scale` input for every FusedBatchNorm gradient and
    // cannot save a missing one (the stock gradient fails the same way); layers always pass gamma.
    for (const withScale of [true]) {
      it(`matches autodiff of the formula for x ${shape.join('x')}${withScale ? '' : ' without scale'}`, () => {
        const c = shape[shape.length - 1]!;
        const x = tf.randomNormal([...shape], 0.3, 2, 'float32', 7);
        const gamma = withScale ? tf.randomNormal([c], 1, 0.2, 'float32', 8) : null;
        const beta = tf.randomNormal([c], 0, 0.5, 'float32', 9);
        // A loss that weighs every output differently, so no gradient is trivially zero.
        const w = tf.randomNormal([...shape], 0, 1, 'float32', 10);
        const loss = (f: typeof viaKernel) => (...t: tf.Tensor[]) =>
          tf.sum(tf.mul(tf.tanh(f(t[0]!, withScale ? t[1]! : null, t[withScale ? 2 : 1]!)), w));
        const args = withScale ? [x, gamma!, beta] : [x, beta];
        const names = withScale ? ['x', 'gamma', 'beta'] : ['x', 'beta'];
        const ours = tf.grads(loss(viaKernel))(args);
        const reference = tf.grads(loss(viaFormula))(args);
        for (let i = 0; i < args.length; i++) {
          const d = maxRelDiff(ours[i]!, reference[i]!);
          expect(d, `d/d${names[i]}`).toBeLessThan(1e-5);
        }
        // The gradient really is ours (registered), not the stock one.
        expect((tf.getGradient('FusedBatchNorm') as unknown as Record<symbol, boolean>)[Symbol.for('gan-studio.gradient')]).toBe(true);
        tf.dispose([w, ...args, ...ours, ...reference]);
      });
    }
  }

  it('leaks no tensors', () => {
    const x = tf.randomNormal([8, 4, 4, 3]);
    const g = tf.ones([3]);
    const b = tf.zeros([3]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) tf.dispose(tf.grads((a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.sum(viaKernel(a, s, o)))([x, g, b]));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, g, b]);
  });
});
