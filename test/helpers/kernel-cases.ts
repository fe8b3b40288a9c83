/**
 * Shared by the kernel tests: deterministic inputs, one computation run on the cpu backend and on
 * wasm with its outputs compared, and the convolution cases (forward, both gradients, transposed).
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

export type Shape4 = [number, number, number, number];
export type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

/** Deterministic values in [lo, hi), [-1, 1) by default. */
export function values(size: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(size);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = lo + (s / 4294967296) * (hi - lo);
  }
  return out;
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Runs `compute` on one backend; returns copies of its outputs. */
export async function runOn(backend: 'cpu' | 'wasm', compute: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(compute);
  const data = outs.map((t) => t.dataSync() as Float32Array).map((a) => Float32Array.from(a));
  tf.dispose(outs);
  return data;
}

export interface Check {
  name: string;
  /** Names of the outputs `compute` returns. */
  outputs: string[];
  compute: () => tf.Tensor[];
}

/** Same computation on cpu and wasm; logs and asserts the max abs error of every output. */
export async function compare({ name, outputs, compute }: Check): Promise<void> {
  const ref = await runOn('cpu', compute);
  const got = await runOn('wasm', compute);
  const parts: string[] = [];
  for (let o = 0; o < ref.length; o++) {
    const a = ref[o];
    const b = got[o];
    expect(b.length, `${name} ${outputs[o]} length`).toBe(a.length);
    let err = 0;
    let scale = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      if (!(d <= err)) err = Number.isNaN(d) ? Infinity : d;
      scale = Math.max(scale, Math.abs(a[i]));
    }
    parts.push(`${outputs[o]} ${err.toExponential(2)} (max|v| ${scale.toFixed(2)})`);
    expect(err, `${name}: ${outputs[o]} max abs error`).toBeLessThan(1e-4 * Math.max(1, scale));
  }
  console.log(`${name}: max|err| ${parts.join(', ')}`);
}

export function convOutShape(xShape: Shape4, fShape: Shape4, strides: number | [number, number], pad: Pad,
  rounding?: 'floor' | 'round' | 'ceil'): Shape4 {
  return tf.backend_util.computeConv2DInfo(xShape, fShape, strides, 1, pad, rounding).outShape;
}

/**
 * conv2d forward + tf.grads of sum(conv2d(x, w) * r) w.r.t. x (Conv2DBackpropInput) and w
 * (Conv2DBackpropFilter), and conv2dTranspose of a tensor of the conv's output shape.
 */
export function convCase(xShape: Shape4, k: number, cout: number, strides: number | [number, number], pad: Pad, seed: number): Check {
  const fShape: Shape4 = [k, k, xShape[3], cout];
  const yShape = convOutShape(xShape, fShape, strides, pad);
  const xv = values(size(xShape), seed);
  const wv = values(size(fShape), seed + 1);
  const rv = values(size(yShape), seed + 2);
  const label = `conv x[${xShape}] k${k} s${strides} pad ${JSON.stringify(pad)} -> [${yShape}]`;
  return {
    name: label,
    outputs: ['y', 'dx', 'dw', 'convT'],
    compute: () => {
      const x = tf.tensor4d(xv, xShape);
      const w = tf.tensor4d(wv, fShape);
      const r = tf.tensor4d(rv, yShape);
      const y = tf.conv2d(x, w, strides, pad);
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), r)))([x, w]);
      const convT = tf.conv2dTranspose(r, w, xShape, strides, pad);
      return [y, dx, dw, convT];
    },
  };
}

/**
 * A transposed convolution (generator layer) from [n, h, w, cin] with a [k, k, cout, cin]
 * filter, plus tf.grads of sum(conv2dTranspose(x, w) * r) w.r.t. x (Conv2D) and w
 * (Conv2DBackpropFilter with the roles of x and dy swapped).
 */
export function convTransposeCase(inShape: Shape4, outSpatial: number, k: number, cout: number, strides: number, pad: Pad, seed: number): Check {
  const fShape: Shape4 = [k, k, cout, inShape[3]];
  const outShape: Shape4 = [inShape[0], outSpatial, outSpatial, cout];
  const check = convOutShape(outShape, fShape, strides, pad);
  if (check[1] !== inShape[1] || check[2] !== inShape[2]) throw new Error(`bad transposed case ${inShape} -> ${outShape}`);
  const xv = values(size(inShape), seed);
  const wv = values(size(fShape), seed + 1);
  const rv = values(size(outShape), seed + 2);
  return {
    name: `convT [${inShape}] -> [${outShape}] k${k} s${strides} ${JSON.stringify(pad)}`,
    outputs: ['y', 'dx', 'dw'],
    compute: () => {
      const x = tf.tensor4d(xv, inShape);
      const w = tf.tensor4d(wv, fShape);
      const r = tf.tensor4d(rv, outShape);
      const y = tf.conv2dTranspose(x, w, outShape, strides, pad);
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, outShape, strides, pad), r)))([x, w]);
      return [y, dx, dw];
    },
  };
}
