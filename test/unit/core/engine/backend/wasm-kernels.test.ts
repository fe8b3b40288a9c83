import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  registerWasmTrainingKernels,
  timeConvKernels,
  wasmTrainingKernelsRegistered,
} from '../../../../../src/main/core/engine/backend/wasm-kernels';
import {
  compare,
  convCase,
  convOutShape,
  convTransposeCase,
  runOn,
  size,
  values,
  type Check,
  type Pad,
  type Shape4,
} from '../../../../helpers/kernel-cases';

beforeAll(async () => {
  registerWasmTrainingKernels();
  registerWasmTrainingKernels(); // idempotent
  expect(await tf.setBackend('wasm')).toBe(true);
  expect(await tf.setBackend('cpu')).toBe(true);
});

describe('wasm training kernels', () => {
  it('are registered for wasm, once', () => {
    expect(wasmTrainingKernelsRegistered()).toBe(true);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).toBeDefined();
  });

  it('match the cpu backend over a grid of shapes, strides and paddings', async () => {
    let seed = 1;
    const pads: Pad[] = ['same', 'valid', 1];
    for (const stride of [1, 2]) {
      for (const pad of pads) {
        for (const inSize of [7, 8, 13, 16]) {
          for (const k of [3, 4, 5]) {
            if (pad === 'valid' && inSize < k) continue;
            await compare(convCase([2, inSize, inSize, 3], k, 4, stride, pad, seed++));
          }
        }
      }
    }
  });

  it('match the cpu backend on odd cases: stride 3, mixed strides, explicit and large padding, ceil rounding', async () => {
    let seed = 1000;
    await compare(convCase([2, 13, 11, 2], 4, 3, 3, 'same', seed++));
    await compare(convCase([2, 13, 11, 2], 5, 3, 3, 'valid', seed++));
    await compare(convCase([2, 9, 10, 3], 3, 2, [2, 1], 'same', seed++));
    await compare(convCase([2, 9, 10, 3], 4, 2, [1, 2], 'valid', seed++));
    await compare(convCase([2, 8, 9, 3], 3, 4, 2, [[0, 0], [2, 0], [0, 3], [0, 0]], seed++));
    await compare(convCase([2, 6, 6, 2], 3, 3, 2, 4, seed++)); // padding larger than the kernel
    await compare(convCase([1, 5, 5, 1], 5, 1, 1, 'valid', seed++)); // 1x1 output
    await compare(convCase([3, 6, 6, 5], 1, 7, 2, 'same', seed++)); // 1x1 kernel

    // dimRoundingMode 'ceil' reaches the kernels only through runKernel.
    const xShape: Shape4 = [2, 8, 8, 3];
    const fShape: Shape4 = [3, 3, 3, 4];
    const attrs = { strides: [2, 2], pad: 1, dataFormat: 'NHWC', dimRoundingMode: 'ceil' } as const;
    const dyShape = convOutShape(xShape, fShape, 2, 1, 'ceil');
    const xv = values(size(xShape), 7);
    const wv = values(size(fShape), 8);
    const dv = values(size(dyShape), 9);
    await compare({
      name: `runKernel x[${xShape}] k3 s2 pad 1 ceil -> [${dyShape}]`,
      outputs: ['dx', 'dw'],
      compute: () => {
        const x = tf.tensor4d(xv, xShape);
        const w = tf.tensor4d(wv, fShape);
        const dy = tf.tensor4d(dv, dyShape);
        const e = tf.engine();
        return [
          e.runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: xShape }) as tf.Tensor,
          e.runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: fShape }) as tf.Tensor,
        ];
      },
    });
  });

  it('match the cpu backend at the DCGAN shapes', async () => {
    let seed = 2000;
    // Generator: k4 s1 'valid' 1 -> 4, then k4 s2 'same' doublings.
    await compare(convTransposeCase([2, 1, 1, 16], 4, 4, 8, 1, 'valid', seed++));
    await compare(convTransposeCase([2, 7, 7, 16], 14, 4, 8, 2, 'same', seed++));
    await compare(convTransposeCase([2, 14, 14, 8], 28, 4, 1, 2, 'same', seed++));
    await compare(convTransposeCase([2, 4, 4, 16], 8, 4, 8, 2, 'same', seed++));
    await compare(convTransposeCase([2, 8, 8, 8], 16, 4, 8, 2, 'same', seed++));
    await compare(convTransposeCase([2, 16, 16, 8], 32, 4, 4, 2, 'same', seed++));
    await compare(convTransposeCase([2, 32, 32, 4], 64, 4, 3, 2, 'same', seed++));
    // Discriminator: k4 s2 'same' 28 -> 14 -> 7.
    await compare(convCase([2, 28, 28, 1], 4, 8, 2, 'same', seed++));
    await compare(convCase([2, 14, 14, 8], 4, 16, 2, 'same', seed++));
    // Wider channels, so that XNNPACK takes its blocked GEMM paths.
    await compare(convTransposeCase([3, 14, 14, 64], 28, 4, 32, 2, 'same', seed++));
  });

  it('match the cpu backend on the per-phase input-gradient path (>= 32 channels, small outputs)', async () => {
    let seed = 3000;
    // Phases interleaved by stacking + 3-D transpose (Cin 32) and by concatenation (Cin 64).
    await compare(convCase([2, 8, 8, 32], 4, 16, 2, 'same', seed++));
    await compare(convCase([2, 8, 8, 64], 4, 8, 2, 'same', seed++));
    await compare(convTransposeCase([2, 4, 4, 16], 8, 4, 64, 2, 'same', seed++));
    // Phases with different tap counts (k3 s2, k5 s3), and stride 3.
    await compare(convCase([2, 6, 6, 32], 3, 8, 2, 1, seed++));
    await compare(convCase([1, 9, 9, 32], 5, 4, 3, 'same', seed++));
  });

  it('match the cpu backend through the fused conv2d op (what tf.layers uses)', async () => {
    const xShape: Shape4 = [2, 14, 14, 5];
    const fShape: Shape4 = [4, 4, 5, 6];
    const yShape = convOutShape(xShape, fShape, 2, 'same');
    const xv = values(size(xShape), 31);
    const wv = values(size(fShape), 32);
    const bv = values(6, 33);
    const rv = values(size(yShape), 34);
    await compare({
      name: `fused conv2d+bias+relu x[${xShape}] k4 s2 same`,
      outputs: ['dx', 'dw', 'db'],
      compute: () => {
        const x = tf.tensor4d(xv, xShape);
        const w = tf.tensor4d(wv, fShape);
        const b = tf.tensor1d(bv);
        const r = tf.tensor4d(rv, yShape);
        return tf.grads((a: tf.Tensor, f: tf.Tensor, c: tf.Tensor) =>
          tf.sum(tf.mul(tf.fused.conv2d({
            x: a as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 2, pad: 'same', bias: c, activation: 'relu',
          }), r)))([x, w, b]);
      },
    });
  });

  it('leaks no tensors or wasm buffers across repeated calls', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend();
    const step = (): void => {
      tf.tidy(() => {
        const x = tf.tensor4d(values(2 * 14 * 14 * 4, 1), [2, 14, 14, 4]);
        const w = tf.tensor4d(values(4 * 4 * 4 * 6, 2), [4, 4, 4, 6]);
        const z = tf.tensor4d(values(2 * 7 * 7 * 6, 3), [2, 7, 7, 6]);
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')))([x, w]);
        const up = tf.conv2dTranspose(z, w, [2, 14, 14, 4], 2, 'same');
        return [dx.sum(), dw.sum(), up.sum()].map((t) => t.dataSync()[0]);
      });
    };
    step(); // first call may create lasting state
    const tensorsBefore = tf.memory().numTensors;
    const idsBefore = backend.numDataIds();
    for (let i = 0; i < 20; i++) step();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(backend.numDataIds()).toBe(idsBefore);
  });

  it('BatchMatMul with transposed operands matches the cpu backend (2-D and batched)', async () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[64, 100], [100, 313], false, false],
      [[64, 313], [100, 313], false, true],
      [[64, 100], [64, 313], true, false],
      [[100, 64], [313, 100], true, true],
      [[3, 5, 7], [3, 9, 7], false, true],
      [[3, 7, 5], [3, 7, 9], true, false],
    ];
    for (const [aShape, bShape, tA, tB] of cases) {
      await compare({
        name: `matMul ${aShape.join('x')} x ${bShape.join('x')} tA=${tA} tB=${tB}`,
        outputs: ['product', 'da', 'db'],
        compute: () => {
          const a = tf.tensor(values(size(aShape), 21), aShape);
          const b = tf.tensor(values(size(bShape), 22), bShape);
          const product = tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, tA, tB);
          // The gradients are matmuls with transposed operands too.
          const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D, tA, tB))))([a, b]);
          return [product, da!, db!];
        },
      });
    }
  });

  it('Identity shares data: a clone outlives its source and the source is unchanged', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const idsBefore = backend.numDataIds();
    const y = tf.clone(x);
    expect(backend.numDataIds()).toBe(idsBefore); // no copy was made
    const z = tf.add(y, 1);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    expect(Array.from(z.dataSync())).toEqual([2, 3, 4, 5]);
    tf.dispose([y, z]);
    expect(backend.numDataIds()).toBe(idsBefore - 1);
  });

  it('rejects NCHW with a clear error', async () => {
    await tf.setBackend('wasm');
    const dy = tf.zeros([1, 2, 4, 4]);
    const w = tf.zeros([3, 3, 2, 2]);
    expect(() =>
      tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w },
        { strides: 1, pad: 'same', dataFormat: 'NCHW', inputShape: [1, 2, 4, 4] }),
    ).toThrow(/NHWC/);
    tf.dispose([dy, w]);
  });

  it('times conv2d against its backprop kernels', async () => {
    await tf.setBackend('wasm');
    const t = await timeConvKernels({ batch: 4, inSize: 16, inCh: 8, outCh: 16, k: 4, stride: 2 }, 2);
    console.log('wasm timing (batch 4, 16x16x8 -> 8x8x16, k4 s2):', t);
    for (const v of Object.values(t)) expect(v).toBeGreaterThan(0);
  });
});
