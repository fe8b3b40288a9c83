import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKEND_ENV_VAR, describeBackend } from '../../../../../src/shared/backend';
import { selectBackend } from '../../../../../src/main/core/engine/backend/backends';
import { nativeKernelsRegistered, nativeStatus } from '../../../../../src/main/core/engine/backend/native-kernels';
import { wasmTrainingKernelsRegistered } from '../../../../../src/main/core/engine/backend/wasm-kernels';

const require = createRequire(import.meta.url);

function installed(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

const GPU_PKG = '@tensorflow/tfjs-node-gpu';
const NODE_PKG = '@tensorflow/tfjs-node';
const nativeAbsent = !installed(GPU_PKG) && !installed(NODE_PKG);

describe('selectBackend', () => {
  let savedEnv: string | undefined;
  beforeEach(() => {
    savedEnv = process.env[BACKEND_ENV_VAR];
    delete process.env[BACKEND_ENV_VAR];
  });
  afterEach(() => {
    if (savedEnv === undefined) delete process.env[BACKEND_ENV_VAR];
    else process.env[BACKEND_ENV_VAR] = savedEnv;
  });

  it.runIf(nativeAbsent)('auto picks wasm here and says why the native backends were skipped', async () => {
    const info = await selectBackend();
    console.log(describeBackend(info));
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.skipped).toEqual([
      { name: 'tensorflow-gpu', reason: `${GPU_PKG} is not installed` },
      { name: 'tensorflow', reason: `${NODE_PKG} is not installed` },
    ]);
    expect(info.reason).toMatch(
      /^wasm \((no )?SIMD, \d+ threads?(, convolutions by (oneDNN [\d.]+ and )?OpenBLAS \([^)]+\))?\): @tensorflow\/tfjs-node-gpu and @tensorflow\/tfjs-node are not installed$/);
    // Native convolutions where gan-studio-native is built; otherwise the reason is recorded.
    const native = nativeStatus();
    expect(info.details.nativeConvolutions).toBe(native.available);
    if (native.available) {
      expect(info.reason).toContain(`OpenBLAS (${native.core})`);
      if (native.dnnl) expect(info.reason).toContain(`convolutions by ${native.dnnl} and OpenBLAS`);
      expect(nativeKernelsRegistered()).toBe(true);
    } else {
      expect(info.details.nativeNote).toBe(native.reason);
    }
    expect(typeof info.details.simd).toBe('boolean');
    expect(typeof info.details.threads).toBe('number');
    // The backprop kernels are the native ones over GAN Studio's wasm ones, or the wasm ones.
    expect(native.available ? nativeKernelsRegistered() : wasmTrainingKernelsRegistered()).toBe(true);
    // The wasm backend can now train a conv net: the filter gradient exists.
    const g = tf.tidy(() => tf.grad((w: tf.Tensor) =>
      tf.sum(tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid')))(tf.ones([3, 3, 1, 1])));
    expect(Array.from(g.dataSync())).toEqual(new Array(9).fill(4));
    g.dispose();
  });

  it('prefer cpu selects cpu', async () => {
    const info = await selectBackend({ prefer: 'cpu' });
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(info.skipped).toEqual([]);
    expect(info.reason).toContain("chosen by prefer: 'cpu'");
  });

  it('GAN_STUDIO_BACKEND forces a backend when prefer is absent or auto', async () => {
    process.env[BACKEND_ENV_VAR] = 'cpu';
    expect((await selectBackend({ prefer: 'auto' })).name).toBe('cpu');
    process.env[BACKEND_ENV_VAR] = 'wasm';
    const info = await selectBackend();
    expect(info.name).toBe('wasm');
    expect(info.reason).toContain(`${BACKEND_ENV_VAR}=wasm`);
    // prefer wins over the environment.
    expect((await selectBackend({ prefer: 'cpu' })).name).toBe('cpu');
    process.env[BACKEND_ENV_VAR] = 'webgl';
    await expect(selectBackend()).rejects.toThrow(/GAN_STUDIO_BACKEND=webgl is not a backend/);
  });

  // Only meaningful where the package really is absent (as on the development machine).
  it.runIf(!installed(NODE_PKG))('prefer tensorflow throws a clear error when @tensorflow/tfjs-node is absent', async () => {
    await expect(selectBackend({ prefer: 'tensorflow' })).rejects.toThrow(
      "Backend 'tensorflow' (prefer: 'tensorflow') cannot be used: @tensorflow/tfjs-node is not installed");
  });

  it.runIf(!installed(GPU_PKG))('prefer tensorflow-gpu throws a clear error when @tensorflow/tfjs-node-gpu is absent', async () => {
    await expect(selectBackend({ prefer: 'tensorflow-gpu' })).rejects.toThrow(/@tensorflow\/tfjs-node-gpu is not installed/);
  });
});
