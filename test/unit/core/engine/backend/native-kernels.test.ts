import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  nativeKernelsRegistered,
  nativeStatus,
  registerNativeKernels,
  unregisterNativeKernels,
  type NativeAddon,
} from '../../../../../src/main/core/engine/backend/native-kernels';
import { FusedAdamOptimizer } from '../../../../../src/main/core/engine/layers/adam';
import { batchNormTraining } from '../../../../../src/main/core/engine/layers/batchnorm';
import { registerWasmTrainingKernels, wasmTrainingKernelsRegistered } from '../../../../../src/main/core/engine/backend/wasm-kernels';
import { compare, convCase, convTransposeCase, runOn, size, values, type Shape4 } from '../../../../helpers/kernel-cases';

const require = createRequire(import.meta.url);
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

  it.runIf(required)('the addon is built with oneDNN (GAN_STUDIO_REQUIRE_NATIVE=1; setup.sh installs libdnnl-dev)', () => {
    const built = status.available ? status.addon.info().dnnl : null;
    expect(built ?? 'not built in').toMatch(/^oneDNN \d/);
  });

  /** nativeStatus() in a fresh process with `env` added, without the addon object. */
  const statusIn = (env: Record<string, string>): unknown => {
    const script = "import('./src/main/core/engine/backend/native-kernels.ts').then((m) => { const { addon, ...s } = m.nativeStatus(); " +
      'console.log(JSON.stringify(s)) })';
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').pop() ?? '{}');
  };

  it.runIf(status.available)('GAN_STUDIO_DNNL=0 keeps the convolutions on im2col, with the reason', () => {
    expect(statusIn({ GAN_STUDIO_DNNL: '0' })).toMatchObject({ available: true, dnnl: null, dnnlNote: 'turned off by GAN_STUDIO_DNNL=0' });
  }, 60_000);

  it('GAN_STUDIO_NATIVE=0 turns them off, with the reason', () => {
    expect(statusIn({ GAN_STUDIO_NATIVE: '0' })).toEqual({ available: false, reason: 'turned off by GAN_STUDIO_NATIVE=0' });
  }, 60_000);
});

// Node unloads an addon when the last worker thread that loaded it exits. oneDNN's OpenMP threads
// outlive that worker, and ran on in unmapped code: the CLI (whose training worker is the only
// thread that loads the addon) crashed with SIGSEGV after a run, about one run in two under load.
// The addon is linked with -z nodelete, so it (and the libraries it loaded) stays mapped.
describe.skipIf(!status.available)('native add-on: worker threads that load it come and go', () => {
  it('stays loaded after each worker exits, and the process exits cleanly', () => {
    const worker = `
      const n = require(${JSON.stringify(require.resolve('gan-studio-native'))});
      n.setThreads(2);
      if (n.info().dnnl) n.setDnnl(true);
      const size = 192, mem = new Float32Array(3 * size * size).fill(0.5);
      const params = Int32Array.from([1, 1, size, size, size, 0, 0, 0]);
      for (let i = 0; i < 3; i++) n.matmul(mem, 0, size * size * 4, 2 * size * size * 4, params, -1, 0);
      if (mem[2 * size * size] !== size * 0.25) throw new Error('wrong product ' + mem[2 * size * size]);`;
    const script = `
      const { Worker } = require('node:worker_threads');
      const { readFileSync } = require('node:fs');
      const mapped = () => readFileSync('/proc/self/maps', 'utf8').includes('gan_studio_native.node');
      const results = [];
      const once = (left) => {
        const w = new Worker(${JSON.stringify(worker)}, { eval: true });
        w.on('error', (e) => { console.error(e); process.exitCode = 1; });
        w.on('exit', (code) => {
          results.push({ code, mapped: mapped() });
          if (left > 1) once(left - 1);
          else setTimeout(() => console.log(JSON.stringify(results)), 300);
        });
      };
      once(3);`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out.trim())).toEqual([0, 0, 0].map((code) => ({ code, mapped: true })));
  }, 60_000);
});

// oneDNN's JIT gemm kernels are not safe against signals: one delivered mid-call wrote its frame
// into the heap (`node --cpu-prof`, whose sampling signals hit the calling thread, aborted every
// training run). The addon holds asynchronous signals around each oneDNN call.
describe.skipIf(!status.available || !(status as { dnnl: string | null }).dnnl)('native add-on: signals during oneDNN calls', () => {
  it('a CPU profile sampling every 50 µs over a thousand oneDNN matrix products corrupts nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gan-cpuprof-'));
    try {
      const script = `
        const n = require(${JSON.stringify(require.resolve('gan-studio-native'))});
        n.setThreads(2);
        if (!n.setDnnl(true)) throw new Error('oneDNN is not built in');
        const mem = new Float32Array(3 << 20).fill(0.01);
        const u8 = new Uint8Array(mem.buffer);
        // D's input gradient through DCGAN-28's projection: [64, 6272] x [100, 6272]^T.
        const params = Int32Array.from([1, 1, 64, 100, 6272, 0, 1, 0]);
        for (let i = 0; i < 1000; i++) {
          n.matmul(u8, 0, 4 * (1 << 20), 4 * (2 << 20), params, -1, 0);
          const churn = []; for (let j = 0; j < 20; j++) churn.push(Buffer.alloc(100 + 50 * j));
        }
        const v = mem[2 << 20];
        if (Math.abs(v - 6272 * 1e-4) > 1e-4) throw new Error('wrong product ' + v);
        console.log('ok');`;
      const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', dir, '-e', script],
        { encoding: 'utf8', timeout: 60_000 });
      expect({ status: r.status, signal: r.signal, out: r.stdout.trim(), err: r.stderr.trim().split('\n').slice(-2) })
        .toEqual({ status: 0, signal: null, out: 'ok', err: [''] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
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

  // The third field: how many of the case's 5 convolutions oneDNN runs (default all 5). It takes
  // none where the last input rows or columns are never read (a negative padding on the far
  // side), and leaves gradients into 1-3 input channels (dx and the transposed conv) and filters as
  // large as their input (one matrix product each) to im2col + sgemm.
  const cases: [string, () => ReturnType<typeof convCase>, number?][] = [
    ['k3 s1 same, 3 channels', () => convCase([2, 9, 9, 3], 3, 5, 1, 'same', 1), 3],
    ['k3 s1 same, 4 channels (oneDNN takes every gradient)', () => convCase([2, 9, 9, 4], 3, 5, 1, 'same', 9)],
    ['three channels in, k4 s2 (DCGAN-64 first layer)', () => convCase([3, 16, 16, 3], 4, 8, 2, 'same', 10), 3],
    ['k4 s2 same (DCGAN layer)', () => convCase([3, 14, 14, 8], 4, 16, 2, 'same', 2)],
    ['k3 s2 valid, odd sizes (the last column unread)', () => convCase([2, 7, 6, 5], 3, 4, 2, 'valid', 3), 0],
    ['k3 strides [2, 1], explicit padding (the last row unread)',
      () => convCase([2, 8, 7, 3], 3, 4, [2, 1], [[0, 0], [2, 0], [1, 1], [0, 0]], 4), 0],
    ['k4 valid over the whole 4x4 input (one output position)', () => convCase([5, 4, 4, 8], 4, 3, 1, 'valid', 5), 0],
    ['1x1 stride 1 (a matrix product)', () => convCase([2, 5, 5, 7], 1, 9, 1, 'valid', 6)],
    ['one channel in (DCGAN-28 first layer)', () => convCase([4, 28, 28, 1], 4, 8, 2, 'same', 7), 3],
    ['several im2col chunks (3 images of 3.5M column values)',
      () => convCase([3, 64, 64, 96], 3, 4, 1, 'same', 8)],
  ];
  // Every case on both paths: im2col + sgemm (always built) and oneDNN's direct convolutions
  // (where the addon was built with oneDNN, unless GAN_STUDIO_DNNL=0).
  const withDnnl = (status as { dnnl: string | null }).dnnl != null;
  if (!withDnnl) {
    console.warn(`oneDNN convolution cases skipped: oneDNN is ${(status as { dnnlNote?: string }).dnnlNote ?? 'not available'}`);
  }
  const paths = [...(withDnnl ? ['oneDNN' as const] : []), 'im2col' as const];
  for (const path of paths) {
    describe(`by ${path}`, () => {
      beforeAll(() => {
        expect(addon.setDnnl(path === 'oneDNN')).toBe(path === 'oneDNN');
      });
      afterAll(() => {
        addon.setDnnl(withDnnl);
      });

      for (const [label, make, dnnlCount = 5] of cases) {
        it(`conv2d, its input and filter gradients, conv2dTranspose: ${label}`, async () => {
          const before = addon.convStats();
          await compare(make());
          const after = addon.convStats();
          // 5 native convolutions a case on wasm (y; the forward pass inside tf.grads, dx, dw;
          // convT): by oneDNN as many as it takes on its path, none on the im2col path.
          const dnnl = path === 'oneDNN' ? dnnlCount : 0;
          expect({ dnnl: after.dnnl - before.dnnl, im2col: after.im2col - before.im2col }).toEqual({ dnnl, im2col: 5 - dnnl });
        }, 60_000);
      }

      it('transposed convolutions as in a generator (1x1 -> 4x4, 4x4 -> 8x8)', async () => {
        await compare(convTransposeCase([3, 1, 1, 6], 4, 4, 8, 1, 'valid', 21));
        await compare(convTransposeCase([2, 4, 4, 8], 8, 4, 5, 2, 'same', 22));
      });
    });
  }

  it.runIf(withDnnl)('shapes oneDNN does not take (dilation) run by im2col', async () => {
    expect(addon.setDnnl(true)).toBe(true);
    const before = addon.convStats();
    await compare({
      name: 'conv2d dilation 2 (im2col)',
      outputs: ['y'],
      compute: () => [tf.conv2d(tf.ones([1, 7, 7, 2]) as tf.Tensor4D, tf.ones([3, 3, 2, 3]) as tf.Tensor4D, 1, 'same', 'NHWC', 2)],
    });
    expect(addon.convStats().im2col - before.im2col).toBe(1);
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

  it('LeakyRelu and its gradient (one pass) match the cpu backend', async () => {
    const spy = vi.spyOn(addon, 'leakyReluGrad');
    const xv = values(2 * 5 * 5 * 3, 51);
    const rv = values(2 * 5 * 5 * 3, 52);
    await compare({
      name: 'leakyRelu alpha 0.2 + gradient',
      outputs: ['y', 'dx'],
      compute: () => {
        const x = tf.tensor4d(xv, [2, 5, 5, 3]);
        const r = tf.tensor4d(rv, [2, 5, 5, 3]);
        const y = tf.leakyRelu(x, 0.2);
        const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(a, 0.2), r)))(x);
        return [y, dx];
      },
    });
    expect(spy).toHaveBeenCalledTimes(1); // on wasm only; cpu ran tfjs's own gradient
  });

  it('Tanh and its gradient (one pass, from the output) match the cpu backend', async () => {
    const fwd = vi.spyOn(addon, 'tanh');
    const grad = vi.spyOn(addon, 'tanhGrad');
    // Large enough to be split over the threads; values from -12 to 12, zero, and both signs.
    const n = 3 * 64 * 64 * 3;
    const xv = values(n, 53).map((v, i) => (i % 97 === 0 ? 0 : v * (i % 3 === 0 ? 12 : 1.5)));
    const rv = values(n, 54);
    await compare({
      name: 'tanh + gradient',
      outputs: ['y', 'dx'],
      compute: () => {
        const x = tf.tensor4d(xv, [3, 64, 64, 3]);
        const r = tf.tensor4d(rv, [3, 64, 64, 3]);
        return [tf.tanh(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.tanh(a), r)))(x)];
      },
    });
    expect(fwd).toHaveBeenCalledTimes(2); // y, and the forward pass inside tf.grad
    expect(grad).toHaveBeenCalledTimes(1); // on wasm only; cpu ran tfjs's own gradient

    // Special values on wasm: NaN stays NaN (a diverged generator must show), ±inf → ±1, -0 → -0.
    const special = [Number.NaN, Infinity, -Infinity, -0, 0.55, -20, 1e-30];
    const got = tf.tidy(() => Array.from(tf.tanh(tf.tensor1d(special)).dataSync()));
    expect(tf.getBackend()).toBe('wasm');
    expect(got.slice(0, 4)).toEqual([Number.NaN, 1, -1, -0]);
    expect(Object.is(got[3], -0)).toBe(true);
    expect(got[4]).toBeCloseTo(Math.tanh(0.55), 7);
    expect(got.slice(5)).toEqual([-1, Math.fround(1e-30)]);
    // Within 2 ulp (relative 2.4e-7) of the exact value everywhere, not just within compare's 1e-4.
    const ys = tf.tidy(() => Array.from(tf.tanh(tf.tensor1d(xv)).dataSync()));
    const worst = Math.max(...ys.map((y, i) => {
      const exact = Math.tanh(xv[i]!);
      return exact === 0 ? Math.abs(y) : Math.abs(y - exact) / Math.abs(exact);
    }));
    expect(worst).toBeLessThan(2.4e-7);
    expect(fwd).toHaveBeenCalledTimes(4);
  });

  it('adds a bias over the last axis natively (either operand order), other Adds as before', async () => {
    const spy = vi.spyOn(addon, 'biasAdd');
    const xv = values(4 * 5 * 5 * 6, 55);
    const bv = values(6, 56);
    await compare({
      name: 'add',
      outputs: ['x + b', 'b + x', 'x + b[1,1,1,6]', 'grads', 'same shape', 'scalar', 'rows [4,1,1,1]'],
      compute: () => {
        const x = tf.tensor4d(xv, [4, 5, 5, 6]);
        const b = tf.tensor1d(bv);
        const [gx, gb] = tf.grads((a: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(tf.add(a, c))))([x, b]);
        return [tf.add(x, b), tf.add(b, x), tf.add(x, b.reshape([1, 1, 1, 6])), tf.concat([gx!.flatten(), gb!.flatten()]),
          tf.add(x, x), tf.add(x, tf.scalar(0.5)), tf.add(x, tf.tensor4d([1, 2, 3, 4], [4, 1, 1, 1]))];
      },
    });
    expect(spy).toHaveBeenCalledTimes(4); // three bias adds, and the one inside tf.grads
  });

  it('sums over leading axes natively, other reductions as before', async () => {
    const spy = vi.spyOn(addon, 'sumRows');
    const xv = values(4 * 6 * 5 * 7, 61);
    await compare({
      name: 'sum over axes',
      outputs: ['[0,1,2]', '[0] keepDims', '[0,1]', '[1,2] (not leading)', 'all', '[-4,-3]'],
      compute: () => {
        const x = tf.tensor4d(xv, [4, 6, 5, 7]);
        return [tf.sum(x, [0, 1, 2]), tf.sum(x, 0, true), tf.sum(x, [1, 0]), tf.sum(x, [1, 2]), tf.sum(x),
          tf.sum(x, [-4, -3])];
      },
    });
    expect(spy).toHaveBeenCalledTimes(4);
  });

  it('matrix products: plain, transposed, batched, broadcast, fused with bias and activation', async () => {
    const spy = vi.spyOn(addon, 'matmul');
    const av = values(3 * 4 * 5, 71);
    const bv = values(3 * 5 * 6, 72);
    const biasv = values(6, 73);
    await compare({
      name: 'matmul',
      outputs: ['a*b', 'aT*b', 'a*bT', 'aT*bT', 'batched', 'broadcast a', 'broadcast b', 'fused relu',
        'fused leakyrelu', 'fused prelu (wasm kernel)', 'dense grads', 'outer (K=1)', 'outer aT*bT', 'outer batched',
        'outer fused relu'],
      compute: () => {
        const a = tf.tensor2d(av.subarray(0, 20), [4, 5]);
        const b = tf.tensor2d(bv.subarray(0, 30), [5, 6]);
        const a3 = tf.tensor3d(av, [3, 4, 5]);
        const b3 = tf.tensor3d(bv, [3, 5, 6]);
        const bias = tf.tensor1d(biasv);
        const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
          tf.sum(tf.square(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D))))([a, b]);
        return [
          tf.matMul(a, b),
          tf.matMul(tf.transpose(a), b, true, false),
          tf.matMul(a, tf.transpose(b), false, true),
          tf.matMul(tf.transpose(a), tf.transpose(b), true, true),
          tf.matMul(a3, b3),
          tf.matMul(a, b3),
          tf.matMul(a3, b),
          tf.fused.matMul({ a, b, bias, activation: 'relu' }),
          tf.fused.matMul({ a, b, bias, activation: 'leakyrelu', leakyreluAlpha: 0.3 }),
          tf.fused.matMul({ a, b, bias, activation: 'prelu', preluActivationWeights: tf.tensor1d(biasv) }),
          tf.concat([ga!.flatten(), gb!.flatten()]),
          tf.matMul(tf.tensor2d(av.subarray(0, 4), [4, 1]), tf.tensor2d(bv.subarray(0, 6), [1, 6])),
          tf.matMul(tf.tensor2d(av.subarray(0, 4), [1, 4]), tf.tensor2d(bv.subarray(0, 6), [6, 1]), true, true),
          tf.matMul(tf.tensor3d(av.subarray(0, 12), [3, 4, 1]), tf.tensor3d(bv.subarray(0, 18), [3, 1, 6])),
          tf.fused.matMul({ a: tf.tensor2d(av.subarray(0, 4), [4, 1]), b: tf.tensor2d(bv.subarray(0, 6), [1, 6]), bias, activation: 'relu' }),
        ];
      },
    });
    expect(spy.mock.calls.length).toBeGreaterThanOrEqual(13);
  });

  it('batch normalisation in training: one kernel each way, same values and gradients as the cpu backend', async () => {
    const fwd = vi.spyOn(addon, 'bnForward');
    const bwd = vi.spyOn(addon, 'bnBackward');
    for (const shape of [[6, 5, 4, 3], [130, 7]] as const) {
      const n = size(shape);
      const c = shape[shape.length - 1]!;
      // An offset and a spread per channel, so that mean and variance matter.
      const xv = values(n, 81).map((v, i) => v * (1 + (i % c)) + (i % c) - 1);
      const rv = values(n, 82);
      const gv = values(c, 83).map((v) => 1 + v / 2);
      const bv = values(c, 84);
      await compare({
        name: `batchNormTraining [${shape}]`,
        outputs: ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'],
        compute: () => {
          const x = tf.tensor(xv, [...shape]);
          const r = tf.tensor(rv, [...shape]);
          const gamma = tf.tensor1d(gv);
          const beta = tf.tensor1d(bv);
          let stats: tf.Tensor[] = [];
          const y = batchNormTraining(x, gamma, beta, 1e-3, (m, v) => {
            stats = [tf.keep(m.clone()), tf.keep(v.clone())];
          });
          const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(batchNormTraining(a, g, b, 1e-3), r)))([x, gamma, beta]);
          return [y, ...stats, ...grads];
        },
      });
    }
    expect(fwd).toHaveBeenCalledTimes(4); // on wasm: two shapes, value and gradient runs
    expect(bwd).toHaveBeenCalledTimes(2);
  });

  it('Relu and its gradient (one pass) match the cpu backend', async () => {
    const spy = vi.spyOn(addon, 'reluGrad');
    const xv = values(3 * 4 * 5, 91);
    const rv = values(3 * 4 * 5, 92);
    await compare({
      name: 'relu + gradient',
      outputs: ['y', 'dx'],
      compute: () => {
        const x = tf.tensor3d(xv, [3, 4, 5]);
        const r = tf.tensor3d(rv, [3, 4, 5]);
        return [tf.relu(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), r)))(x)];
      },
    });
    expect(spy).toHaveBeenCalledTimes(1);
  });

  /** Weights after `steps` Adam steps on a least-squares problem, from fixed start values. */
  function adamRun(makeOptimizer: () => tf.AdamOptimizer, steps: number): () => tf.Tensor[] {
    const wv = values(6 * 4, 101);
    const bv = values(4, 102);
    const xv = values(8 * 6, 103);
    const tv = values(8 * 4, 104);
    return () => {
      const w = tf.variable(tf.tensor2d(wv, [6, 4]));
      const b = tf.variable(tf.tensor1d(bv));
      const x = tf.tensor2d(xv, [8, 6]);
      const target = tf.tensor2d(tv, [8, 4]);
      const opt = makeOptimizer();
      for (let i = 0; i < steps; i++) {
        opt.minimize(() => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, w), b), target))) as tf.Scalar);
      }
      const out = [w.clone(), b.clone()];
      opt.dispose();
      w.dispose();
      b.dispose();
      return out;
    };
  }

  it('Adam as one kernel per variable: the cpu backend\'s weights, and bit for bit tfjs\'s Adam on wasm', async () => {
    const spy = vi.spyOn(addon, 'adam');
    const fused = () => new FusedAdamOptimizer(0.01, 0.5, 0.999);
    await compare({ name: 'FusedAdamOptimizer, 5 steps', outputs: ['w', 'b'], compute: adamRun(fused, 5) });
    expect(spy).toHaveBeenCalledTimes(10); // wasm only: 2 variables x 5 steps
    const ours = await runOn('wasm', adamRun(fused, 5));
    const stock = await runOn('wasm', adamRun(() => tf.train.adam(0.01, 0.5, 0.999), 5));
    expect(ours).toEqual(stock);
  });

  it('Adam keeps tfjs\'s optimizer state: weights saved after 3 steps resume to the same 6-step result', async () => {
    await tf.setBackend('wasm');
    const wv = values(5, 111);
    const run = async (split: boolean): Promise<Float32Array> => {
      const w = tf.variable(tf.tensor1d(wv));
      const loss = () => tf.sum(tf.square(tf.sub(w, 1))) as tf.Scalar;
      let opt = new FusedAdamOptimizer(0.05, 0.5, 0.999);
      for (let i = 0; i < 3; i++) opt.minimize(loss);
      if (split) {
        const saved = await opt.getWeights();
        const copies = saved.map((s) => ({ name: s.name, tensor: s.tensor.clone() }));
        opt.dispose();
        opt = new FusedAdamOptimizer(0.05, 0.5, 0.999);
        await opt.setWeights(copies);
      }
      for (let i = 0; i < 3; i++) opt.minimize(loss);
      const out = Float32Array.from(w.dataSync());
      opt.dispose();
      w.dispose();
      return out;
    };
    expect(await run(true)).toEqual(await run(false));
  });

  it('bnForward: batch statistics as accurate as two passes over x, for a mean 10^5 times the spread', () => {
    // 300 rows (5 blocks of the kernel's 64) x 3 channels, 1000 + 0.01 * noise, with a drift
    // between the blocks; the reference is the two-pass computation in double on the same floats.
    const rows = 300;
    const C = 3;
    const x = new Float32Array(rows * C);
    const noise = values(rows * C, 77, -1, 1);
    for (let i = 0; i < x.length; i++) x[i] = 1000 + 0.01 * noise[i]! + 0.002 * Math.floor(i / C / 64) * ((i % C) - 1);
    const memory = new Uint8Array(new SharedArrayBuffer(x.byteLength + 16 * 4 * C));
    const f = new Float32Array(memory.buffer);
    f.set(x);
    const at = (slot: number) => x.byteLength + slot * 4 * C; // gamma, beta, y (rows*C), mean, variance, invStd
    f.fill(1, at(0) / 4, at(0) / 4 + C);
    const yOff = 0; // y over x: the kernel reads x before it writes each row of y
    addon.bnForward(memory, 0, at(0), at(1), yOff, at(2), at(3), at(4), rows, C, 1e-5);
    for (let c = 0; c < C; c++) {
      let mean = 0;
      for (let r = 0; r < rows; r++) mean += x[r * C + c]!;
      mean /= rows;
      let variance = 0;
      for (let r = 0; r < rows; r++) variance += (x[r * C + c]! - mean) ** 2;
      variance /= rows;
      expect(Math.abs(f[at(2) / 4 + c]! - mean) / 0.01, `mean ${c}`).toBeLessThan(1e-2);
      expect(Math.abs(f[at(3) / 4 + c]! - variance) / variance, `variance ${c}`).toBeLessThan(1e-4);
    }
  });

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
    expect(() => addon.leakyRelu(memory, 0, 4000, 100, 0.2)).toThrow(/outside the memory/);
    expect(() => addon.leakyReluGrad(memory, 0, 64, 4096, 1, 0.2)).toThrow(/outside the memory/);
    expect(() => addon.sumRows(memory, 0, 64, 2000, 2)).toThrow(/outside the memory/);
    expect(() => addon.biasAdd(memory, 0, 512, 1024, 16, 4)).not.toThrow();
    expect(() => addon.biasAdd(memory, 0, 4090, 1024, 16, 4)).toThrow(/outside the memory/);
    expect(() => addon.biasAdd(memory, 0, 512, 1024, 16, 0)).toThrow(RangeError);
    expect(() => addon.tanh(memory, 0, 3000, 300)).toThrow(/outside the memory/);
    expect(() => addon.tanhGrad(memory, 0, 64, 4000, 100)).toThrow(/outside the memory/);
    expect(() => addon.sumRows(memory, 0, 64, 4, 0)).toThrow(RangeError);
    //                                  bA bB  M  N  K tA tB act
    const mm = Int32Array.from([2, 3, 4, 4, 4, 0, 0, 0]); // batches 2 and 3 do not broadcast
    expect(() => addon.matmul(memory, 0, 256, 512, mm, -1, 0)).toThrow(/bad parameters/);
    mm[1] = 2;
    expect(() => addon.matmul(memory, 0, 256, 512, mm, -1, 0)).not.toThrow();
    expect(() => addon.matmul(memory, 0, 256, 4000, mm, -1, 0)).toThrow(/outside the memory/);
    expect(() => addon.bnForward(memory, 0, 512, 528, 1024, 2048, 2064, 2080, 16, 4, 1e-3)).not.toThrow();
    expect(() => addon.bnForward(memory, 0, 512, 528, 4000, 2048, 2064, 2080, 16, 4, 1e-3)).toThrow(/outside the memory/);
    expect(() => addon.bnBackward(memory, 0, 256, 512, 528, 544, 1024, 2048, 4090, 16, 4)).toThrow(/outside the memory/);
    expect(() => addon.bnBackward(memory, 0, 256, 512, 528, 544, 1024, 2048, 2064, 16, 0)).toThrow(/bad arguments/);
    // A fused activation: relu (1) or leakyrelu (3) only; the backward pass needs beta in memory.
    expect(() => addon.bnForward(memory, 0, 512, 528, 1024, 2048, 2064, 2080, 16, 4, 1e-3, 3, 0.2)).not.toThrow();
    expect(() => addon.bnForward(memory, 0, 512, 528, 1024, 2048, 2064, 2080, 16, 4, 1e-3, 2, 0)).toThrow(/bad arguments/);
    expect(() => addon.bnBackward(memory, 0, 256, 512, 528, 544, 1024, 2048, 2064, 16, 4, 528, 1, 0)).not.toThrow();
    expect(() => addon.bnBackward(memory, 0, 256, 512, 528, 544, 1024, 2048, 2064, 16, 4, 4090, 1, 0)).toThrow(/outside the memory/);
    expect(() => addon.bnBackward(memory, 0, 256, 512, 528, 544, 1024, 2048, 2064, 16, 4, 528, 4, 0)).toThrow(/bad arguments/);
  });

  it('can be taken out again, restoring the wasm training kernels', async () => {
    unregisterNativeKernels();
    expect(nativeKernelsRegistered()).toBe(false);
    expect(wasmTrainingKernelsRegistered()).toBe(true);
    const spy = vi.spyOn(addon, 'conv2dBackpropFilter');
    const grad = vi.spyOn(addon, 'leakyReluGrad');
    await compare(convCase([2, 8, 8, 4], 4, 6, 2, 'same', 12));
    await compare({
      name: 'leakyRelu gradient without the native kernels',
      outputs: ['dx'],
      compute: () => [tf.grad((a: tf.Tensor) => tf.sum(tf.leakyRelu(a, 0.2)))(tf.tensor1d([-1, 0, 2]))],
    });
    const bn = vi.spyOn(addon, 'bnForward');
    tf.tidy(() => batchNormTraining(tf.ones([2, 3]), tf.ones([3]), tf.zeros([3]), 1e-3));
    expect(spy).not.toHaveBeenCalled();
    expect(grad).not.toHaveBeenCalled();
    expect(bn).not.toHaveBeenCalled();
    registerNativeKernels();
    expect(nativeKernelsRegistered()).toBe(true);
  });
});
