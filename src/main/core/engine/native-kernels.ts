/**
 * Convolution kernels of the wasm backend computed natively by OpenBLAS (package
 * `gan-studio-native`, built from ../../../../native by its install script where a C compiler and
 * Debian's libopenblas-dev are present).
 *
 * XNNPACK in wasm reaches ~45 GFLOPS on two cores here (wasm SIMD is 128-bit and has no fused
 * multiply-add); OpenBLAS's sgemm on the same two cores reaches ~170 with AVX-512. The kernels
 * below replace the wasm backend's `Conv2D`, `FusedConv2D`, `Conv2DBackpropInput` and
 * `Conv2DBackpropFilter` with one native call each, which reads its operands in place in the wasm
 * memory and writes the result into an output the backend allocated: tensors never leave the
 * wasm backend, so every other kernel, and every test of them, is unchanged.
 *
 * Cases the native code does not cover (NCHW, a dtype other than float32, PReLU activation, empty
 * tensors) run the kernel that was registered before.
 * `GAN_STUDIO_NATIVE=0` turns the native kernels off (the wasm kernels alone run).
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type {
  Conv2DAttrs,
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropInputAttrs,
  FusedConv2DAttrs,
  KernelConfig,
  KernelFunc,
  TensorInfo,
} from '@tensorflow/tfjs';

const { backend_util, getKernel, registerKernel, unregisterKernel } = tf;

const BACKEND = 'wasm';
export const NATIVE_ENV_VAR = 'GAN_STUDIO_NATIVE';

/** The addon's exports (native/src/native.c). */
export interface NativeAddon {
  conv2d(memory: Uint8Array, xOff: number, filterOff: number, yOff: number, params: Int32Array,
    biasOff: number, leakyreluAlpha: number): void;
  conv2dBackpropInput(memory: Uint8Array, dyOff: number, filterOff: number, dxOff: number, params: Int32Array): void;
  conv2dBackpropFilter(memory: Uint8Array, xOff: number, dyOff: number, dwOff: number, params: Int32Array): void;
  setThreads(n: number): void;
  info(): { threads: number; core: string; config: string };
}

export type NativeStatus =
  | { available: true; addon: NativeAddon; core: string; config: string }
  | { available: false; reason: string };

let status: NativeStatus | null = null;

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? 'unknown error';
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** Loads the addon once; says why not where it cannot be used. */
export function nativeStatus(): NativeStatus {
  if (status != null) return status;
  const flag = process.env[NATIVE_ENV_VAR];
  if (flag === '0' || flag === 'false' || flag === 'off') {
    status = { available: false, reason: `turned off by ${NATIVE_ENV_VAR}=${flag}` };
    return status;
  }
  try {
    const require = createRequire(import.meta.url);
    const addon = require('gan-studio-native') as NativeAddon;
    const info = addon.info();
    status = { available: true, addon, core: info.core, config: info.config };
  } catch (err) {
    status = {
      available: false,
      reason: `gan-studio-native is not built (${firstLine(err)}); ` +
        'install a C compiler and libopenblas-dev, then run npm ci',
    };
  }
  return status;
}

/** What the kernels need of the wasm backend object (tfjs-backend-wasm 4.22's BackendWasm). */
interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

type Conv2DInfo = ReturnType<typeof backend_util.computeConv2DInfo>;

const ACTIVATIONS: Record<string, number> = {
  linear: 0, relu: 1, relu6: 2, leakyrelu: 3, sigmoid: 4, elu: 5,
};

function params(info: Conv2DInfo, activation = 0): Int32Array {
  return Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
    info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left, activation,
  ]);
}

function offsetOf(backend: WasmBackendLike, t: TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (data == null) throw new Error('native kernels: a tensor is not in the wasm backend');
  return data.memoryOffset;
}

function covered(info: Conv2DInfo, ...tensors: TensorInfo[]): boolean {
  if (info.dataFormat !== 'channelsLast') return false;
  if (tensors.some((t) => t.dtype !== 'float32')) return false;
  const sizes = [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight,
    info.outWidth, info.outChannels, info.filterHeight, info.filterWidth];
  return sizes.every((s) => s >= 1) && info.padInfo.top >= 0 && info.padInfo.left >= 0;
}

/** Marks our kernel functions, so registration is idempotent. */
const NATIVE_KERNEL = Symbol.for('gan-studio.nativeKernel');

function mark(fn: KernelFunc): KernelFunc {
  (fn as unknown as Record<symbol, boolean>)[NATIVE_KERNEL] = true;
  return fn;
}

function isNative(config: KernelConfig | undefined): boolean {
  return config != null && (config.kernelFunc as unknown as Record<symbol, boolean>)[NATIVE_KERNEL] === true;
}

function makeKernels(addon: NativeAddon, previous: Map<string, KernelConfig>): [string, KernelFunc][] {
  const fallback = (name: string, args: Parameters<KernelFunc>[0]) => {
    const config = previous.get(name);
    if (config == null) throw new Error(`native kernels: '${name}' has no wasm kernel to fall back to`);
    return config.kernelFunc(args);
  };

  const conv2d: KernelFunc = (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as Conv2DAttrs;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
      a.strides, a.dilations, a.pad, a.dimRoundingMode, false,
      backend_util.convertConv2DDataFormat(a.dataFormat));
    if (!covered(info, x, filter)) return fallback('Conv2D', args);
    const backend = args.backend as unknown as WasmBackendLike;
    const out = backend.makeOutput(info.outShape, 'float32');
    addon.conv2d(backend.wasm.HEAPU8, offsetOf(backend, x), offsetOf(backend, filter),
      offsetOf(backend, out), params(info), -1, 0);
    return out;
  };

  const fusedConv2d: KernelFunc = (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as {
      x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo;
    };
    const a = args.attrs as unknown as FusedConv2DAttrs;
    const act = ACTIVATIONS[a.activation ?? 'linear'];
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
      a.strides, a.dilations, a.pad, a.dimRoundingMode, false,
      backend_util.convertConv2DDataFormat(a.dataFormat));
    const biasOk = bias == null || (bias.dtype === 'float32' &&
      bias.shape.reduce((p, s) => p * s, 1) === info.outChannels);
    if (act == null || preluActivationWeights != null || !biasOk || !covered(info, x, filter)) {
      return fallback('FusedConv2D', args);
    }
    const backend = args.backend as unknown as WasmBackendLike;
    const out = backend.makeOutput(info.outShape, 'float32');
    addon.conv2d(backend.wasm.HEAPU8, offsetOf(backend, x), offsetOf(backend, filter),
      offsetOf(backend, out), params(info, act), bias == null ? -1 : offsetOf(backend, bias),
      a.leakyreluAlpha ?? 0.2);
    return out;
  };

  const backpropInput: KernelFunc = (args) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as Conv2DBackpropInputAttrs;
    const info = backend_util.computeConv2DInfo(
      a.inputShape, filter.shape as [number, number, number, number], a.strides, 1, a.pad,
      a.dimRoundingMode, false, backend_util.convertConv2DDataFormat(a.dataFormat));
    if (!covered(info, dy, filter)) return fallback('Conv2DBackpropInput', args);
    const backend = args.backend as unknown as WasmBackendLike;
    const out = backend.makeOutput(info.inShape, 'float32');
    addon.conv2dBackpropInput(backend.wasm.HEAPU8, offsetOf(backend, dy), offsetOf(backend, filter),
      offsetOf(backend, out), params(info));
    return out;
  };

  const backpropFilter: KernelFunc = (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const a = args.attrs as unknown as Conv2DBackpropFilterAttrs;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad,
      a.dimRoundingMode, false, backend_util.convertConv2DDataFormat(a.dataFormat));
    if (!covered(info, x, dy)) return fallback('Conv2DBackpropFilter', args);
    const backend = args.backend as unknown as WasmBackendLike;
    const out = backend.makeOutput(info.filterShape, 'float32');
    addon.conv2dBackpropFilter(backend.wasm.HEAPU8, offsetOf(backend, x), offsetOf(backend, dy),
      offsetOf(backend, out), params(info));
    return out;
  };

  return [
    ['Conv2D', mark(conv2d)],
    ['FusedConv2D', mark(fusedConv2d)],
    ['Conv2DBackpropInput', mark(backpropInput)],
    ['Conv2DBackpropFilter', mark(backpropFilter)],
  ];
}

/** The kernels replaced, by name, to fall back to and to restore. */
const replaced = new Map<string, KernelConfig>();

/**
 * Registers the native convolution kernels for wasm, over the ones registered now (the wasm
 * training kernels of ./wasm-kernels must be registered first: they are the fallback).
 * Returns the status; idempotent.
 */
export function registerNativeKernels(threads?: number): NativeStatus {
  const s = nativeStatus();
  if (!s.available) return s;
  if (threads != null && threads >= 1) s.addon.setThreads(threads);
  const names = ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'];
  for (const name of names) {
    const existing = getKernel(name, BACKEND);
    if (existing != null && !isNative(existing)) replaced.set(name, existing);
  }
  for (const [kernelName, kernelFunc] of makeKernels(s.addon, replaced)) {
    const existing = getKernel(kernelName, BACKEND);
    if (isNative(existing)) continue;
    if (existing != null) unregisterKernel(kernelName, BACKEND);
    // The stock kernels' set-up functions bind wasm exports at start-up; keep them for fallback.
    const setupFunc = existing?.setupFunc;
    registerKernel({ kernelName, backendName: BACKEND, kernelFunc, ...(setupFunc ? { setupFunc } : {}) });
  }
  return s;
}

/** Puts back the kernels registered before `registerNativeKernels` (for tests and A/B runs). */
export function unregisterNativeKernels(): void {
  for (const [name, config] of replaced) {
    if (isNative(getKernel(name, BACKEND))) unregisterKernel(name, BACKEND);
    if (getKernel(name, BACKEND) == null) registerKernel(config);
  }
}

/** Whether the native kernels are the ones registered for wasm now. */
export function nativeKernelsRegistered(): boolean {
  return isNative(getKernel('Conv2DBackpropFilter', BACKEND)) && isNative(getKernel('Conv2D', BACKEND));
}

