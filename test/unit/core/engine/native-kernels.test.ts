import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  nativeKernelsRegistered,
  nativeStatus,
  registerNativeKernels,
  unregisterNativeKernels,
  type NativeAddon,
} from '../../../../src/main/core/engine/native-kernels';
import { registerWasmTrainingKernels, wasmTrainingKernelsRegistered } from '../../../../src/main/core/engine/wasm-kernels';
import { compare, convCase, convTransposeCase, size, values, type Shape4 } from '../../../helpers/kernel-cases';

const status = nativeStatus();
// CI installs libopenblas-dev and builds the addon: there a missing addon is a failure, not a skip.
const required = process.env.GAN_STUDIO_REQUIRE_NATIVE === '1';
if (!status.available) {
  console.warn(`native kernel tests skipped: ${status.reason}`);
}

describe('native kernels: availability', () => {
  it.runIf(required)('the addon is built (GAN_STUDIO_REQUIRE_NATIVE=1)', () => {
    expect(status.available ? 'built' : status.reason).toBe('built');
  });

  it('GAN_STUDIO_NATIVE=0 turns them off, with the reason', () => {
    const script = "import('./src/main/core/engine/native-kernels.ts').then((m) => " +
      'console.log(JSON.stringify(m.nativeStatus())))';
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
      env: { ...process.env, GAN_STUDIO_NATIVE: '0' },
      encoding: 'utf8',
    });
    expect(JSON.parse(out.trim().split('\n').pop() ?? '{}')).toEqual({
      available: false,
      reason: 'turned off by GAN_STUDIO_NATIVE=0',
    });
  }, 60_000);
});

describe.skipIf(!status.available)('native convolution kernels (OpenBLAS) against the cpu backend', () => {
  const addon = (status as { addon: NativeAddon }).addon;

  beforeAll(async () => {
    registerWasmTrainingKernels();
    expect(registerNativeKernels().available).toBe(true);
    registerNativeKernels(); // idempotent
    expect(await tf.setBackend('wasm')).toBe(true);
    expect(await tf.setBackend('cpu')).toBe(true);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('are registered for wasm and are the kernels that run', async () => {
    expect(nativeKernelsRegistered()).toBe(true);
    const calls = {
      conv2d: vi.spyOn(addon, 'conv2d'),
      input: vi.spyOn(addon, 'conv2dBackpropInput'),
      filter: vi.spyOn(addon, 'conv2dBackpropFilter'),
    };
    await compare(convCase([2, 8, 8, 4], 4, 6, 2, 'same', 11));
    expect(calls.conv2d).toHaveBeenCalled();
    expect(calls.input).toHaveBeenCalled();
    expect(calls.filter).toHaveBeenCalled();
  });

  const cases: [string, () => ReturnType<typeof convCase>][] = [
    ['k3 s1 same, 3 channels', () => convCase([2, 9, 9, 3], 3, 5, 1, 'same', 1)],
    ['k4 s2 same (DCGAN layer)', () => convCase([3, 14, 14, 8], 4, 16, 2, 'same', 2)],
    ['k3 s2 valid, odd sizes', () => convCase([2, 7, 6, 5], 3, 4, 2, 'valid', 3)],
    ['k3 strides [2, 1], explicit padding',
      () => convCase([2, 8, 7, 3], 3, 4, [2, 1], [[0, 0], [2, 0], [1, 1], [0, 0]], 4)],
    ['k4 valid over the whole 4x4 input (one output position)', () => convCase([5, 4, 4, 8], 4, 3, 1, 'valid', 5)],
    ['1x1 stride 1 (a matrix product)', () => convCase([2, 5, 5, 7], 1, 9, 1, 'valid', 6)],
    ['one channel in (DCGAN-28 first layer)', () => convCase([4, 28, 28, 1], 4, 8, 2, 'same', 7)],
    ['several im2col chunks (3 images of 3.5M column values)',
      () => convCase([3, 64, 64, 96], 3, 4, 1, 'same', 8)],
  ];
  for (const [label, make] of cases) {
    it(`conv2d, its input and filter gradients, conv2dTranspose: ${label}`, async () => {
      await compare(make());
    }, 60_000);
  }

  it('transposed convolutions as in a generator (1x1 -> 4x4, 4x4 -> 8x8)', async () => {
    await compare(convTransposeCase([3, 1, 1, 6], 4, 4, 8, 1, 'valid', 21));
    await compare(convTransposeCase([2, 4, 4, 8], 8, 4, 5, 2, 'same', 22));
  });

  it('dilated conv2d', async () => {
    const xShape: Shape4 = [2, 9, 9, 3];
    const fShape: Shape4 = [3, 3, 3, 4];
    const xv = values(size(xShape), 31);
    const wv = values(size(fShape), 32);
    await compare({
      name: 'conv2d dilation 2',
      outputs: ['y'],
      compute: () => [tf.conv2d(tf.tensor4d(xv, xShape), tf.tensor4d(wv, fShape), 1, 'same', 'NHWC', 2)],
    });
  });

  for (const activation of ['linear', 'relu', 'relu6', 'leakyrelu', 'sigmoid', 'elu', 'prelu'] as const) {
    it(`fused conv2d with bias and ${activation}`, async () => {
      const xShape: Shape4 = [2, 8, 8, 3];
      const fShape: Shape4 = [4, 4, 3, 6];
      const xv = values(size(xShape), 41).map((v) => v * 4);
      const wv = values(size(fShape), 42);
      const bv = values(6, 43);
      const pv = values(6, 44);
      await compare({
        name: `fused conv2d + bias + ${activation}`,
        outputs: ['y'],
        compute: () => [tf.fused.conv2d({
          x: tf.tensor4d(xv, xShape),
          filter: tf.tensor4d(wv, fShape),
          strides: 2,
          pad: 'same',
          bias: tf.tensor1d(bv),
          activation,
          ...(activation === 'prelu' ? { preluActivationWeights: tf.tensor1d(pv) } : {}),
          ...(activation === 'leakyrelu' ? { leakyreluAlpha: 0.13 } : {}),
        })],
      });
    });
  }

  it('refuses operands outside the memory and bad parameters with a RangeError', () => {
    const memory = new Uint8Array(new SharedArrayBuffer(4096));
    //                       N  H  W Cin OH OW Co KH KW SH SW DH DW PT PL act
    const p = Int32Array.from([1, 4, 4, 2, 4, 4, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
    expect(() => addon.conv2d(memory, 0, 128, 256, p, -1, 0)).not.toThrow();
    expect(() => addon.conv2d(memory, 0, 128, 4096 - 16, p, -1, 0)).toThrow(RangeError);
    expect(() => addon.conv2d(memory, 2, 128, 256, p, -1, 0)).toThrow(/outside the memory/);
    expect(() => addon.conv2dBackpropFilter(memory, -4, 128, 256, p)).toThrow(RangeError);
    expect(() => addon.conv2dBackpropInput(memory, 0, 128, 1e12, p)).toThrow(RangeError);
    const bad = Int32Array.from(p);
    bad[9] = 0; // stride 0
    expect(() => addon.conv2d(memory, 0, 128, 256, bad, -1, 0)).toThrow(/bad parameters/);
    expect(() => addon.conv2d(memory, 0, 128, 256, p.subarray(0, 5), -1, 0)).toThrow(/bad parameters/);
    expect(() => addon.conv2d([] as unknown as Uint8Array, 0, 128, 256, p, -1, 0)).toThrow(/typed array/);
    expect(() => addon.setThreads(0)).toThrow(RangeError);
  });

  it('can be taken out again, restoring the wasm training kernels', async () => {
    unregisterNativeKernels();
    expect(nativeKernelsRegistered()).toBe(false);
    expect(wasmTrainingKernelsRegistered()).toBe(true);
    const spy = vi.spyOn(addon, 'conv2dBackpropFilter');
    await compare(convCase([2, 8, 8, 4], 4, 6, 2, 'same', 12));
    expect(spy).not.toHaveBeenCalled();
    registerNativeKernels();
    expect(nativeKernelsRegistered()).toBe(true);
  });
});
