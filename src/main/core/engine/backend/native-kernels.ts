/**
 * Kernels of the wasm backend computed natively (package `gan-studio-native`, built from
 * ../../../../native by its install script where a C compiler and Debian's libopenblas-dev are
 * present).
 *
 * XNNPACK in wasm reaches ~45 GFLOPS on two cores here (wasm SIMD is 128-bit and has no fused
 * multiply-add); OpenBLAS's sgemm on the same two cores reaches ~170 with AVX-512, and oneDNN's
 * direct convolutions on NHWC ~210-240. The kernels below replace the wasm backend's `Conv2D`,
 * `FusedConv2D`, `Conv2DBackpropInput`, `Conv2DBackpropFilter` (oneDNN's direct convolutions where
 * the addon was built with it (Debian's libdnnl-dev) and it takes the shape, else im2col + sgemm;
 * GAN_STUDIO_DNNL=0 keeps im2col), `BatchMatMul` and `_FusedMatMul` (sgemm), `LeakyRelu`, `Relu`,
 * `Tanh`, `Add` of a bias and `Sum` over leading axes (single loops where wasm runs generic
 * broadcasting ones), and add one-pass gradients of LeakyRelu, Relu and Tanh, batch
 * normalisation's two training kernels (./batchnorm uses them when registered) and Adam's.
 * Each is one native call that reads its operands in place in the wasm memory and writes into
 * outputs the backend allocated: tensors never leave the wasm backend, so every other kernel,
 * and every test of them, is unchanged.
 *
 * Cases the native code does not cover (NCHW, a dtype other than float32, PReLU activation,
 * batch shapes that do not broadcast, empty tensors) run the kernel that was registered before.
 * `GAN_STUDIO_NATIVE=0` turns the native kernels off (the wasm kernels alone run).
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { ADAM_KERNEL } from '../layers/adam';
import { BATCH_NORM_BACKWARD_KERNEL, BATCH_NORM_FORWARD_KERNEL } from '../layers/batchnorm';
import type {
  BatchMatMulAttrs,
  Conv2DAttrs,
  GradConfig,
  LeakyReluAttrs,
  SumAttrs,
  _FusedMatMulAttrs,
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropInputAttrs,
  FusedConv2DAttrs,
  KernelConfig,
  KernelFunc,
  TensorInfo,
} from '@tensorflow/tfjs';

const { backend_util, getGradient, getKernel, registerGradient, registerKernel, unregisterKernel } = tf;

const BACKEND = 'wasm';
export const NATIVE_ENV_VAR = 'GAN_STUDIO_NATIVE';
export const DNNL_ENV_VAR = 'GAN_STUDIO_DNNL';
/** Kernel computing LeakyRelu's input gradient (registered for wasm only, with the others). */
const LEAKY_RELU_GRAD = 'GanStudioLeakyReluGrad';
/** Kernel computing Relu's input gradient, dy * step(x) in one pass. */
const RELU_GRAD = 'GanStudioReluGrad';
/** Kernel computing Tanh's input gradient from its output, (1 - y²)·dy in one pass. */
const TANH_GRAD = 'GanStudioTanhGrad';
const REPLACED = ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'LeakyRelu', 'Relu', 'Sum',
  'BatchMatMul', '_FusedMatMul', 'Add', 'Tanh'];
/** Kernels only this module registers (no wasm kernel of that name exists). */
const ADDED = [LEAKY_RELU_GRAD, RELU_GRAD, TANH_GRAD, BATCH_NORM_FORWARD_KERNEL, BATCH_NORM_BACKWARD_KERNEL, ADAM_KERNEL];

/** The addon's exports (native/src/native.c). */
export interface NativeAddon {
  conv2d(memory: Uint8Array, xOff: number, filterOff: number, yOff: number, params: Int32Array,
    biasOff: number, leakyreluAlpha: number): void;
  conv2dBackpropInput(memory: Uint8Array, dyOff: number, filterOff: number, dxOff: number, params: Int32Array): void;
  conv2dBackpropFilter(memory: Uint8Array, xOff: number, dyOff: number, dwOff: number, params: Int32Array): void;
  leakyRelu(memory: Uint8Array, xOff: number, yOff: number, count: number, alpha: number): void;
  leakyReluGrad(memory: Uint8Array, dyOff: number, xOff: number, dxOff: number, count: number, alpha: number): void;
  sumRows(memory: Uint8Array, xOff: number, yOff: number, rows: number, cols: number): void;
  /** params: [batchA, batchB, M, N, K, transposeA, transposeB, activation] */
  matmul(memory: Uint8Array, aOff: number, bOff: number, cOff: number, params: Int32Array,
    biasOff: number, leakyreluAlpha: number): void;
  /** activation: 0 (none, the default), 1 (relu) or 3 (leakyrelu with alpha), applied to y. */
  bnForward(memory: Uint8Array, xOff: number, gammaOff: number, betaOff: number, yOff: number, meanOff: number,
    varianceOff: number, invStdOff: number, rows: number, channels: number, epsilon: number,
    activation?: number, alpha?: number): void;
  /** With an activation (as bnForward's), dy is at its output and beta is needed. */
  bnBackward(memory: Uint8Array, dyOff: number, xOff: number, meanOff: number, invStdOff: number, gammaOff: number,
    dxOff: number, dgammaOff: number, dbetaOff: number, rows: number, channels: number,
    betaOff?: number, activation?: number, alpha?: number): void;
  relu(memory: Uint8Array, xOff: number, yOff: number, count: number): void;
  reluGrad(memory: Uint8Array, dyOff: number, xOff: number, dxOff: number, count: number): void;
  /** y[r, c] = x[r, c] + bias[c] */
  biasAdd(memory: Uint8Array, xOff: number, biasOff: number, yOff: number, rows: number, channels: number): void;
  tanh(memory: Uint8Array, xOff: number, yOff: number, count: number): void;
  /** dx = (1 - y²)·dy */
  tanhGrad(memory: Uint8Array, dyOff: number, yOff: number, dxOff: number, count: number): void;
  adam(memory: Uint8Array, wOff: number, mOff: number, vOff: number, gOff: number, outWOff: number, outMOff: number,
    outVOff: number, count: number, coefOff: number, consts: Float32Array): void;
  setThreads(n: number): void;
  /** Whether convolutions try oneDNN first (where built with it); returns whether they now do. */
  setDnnl(enabled: boolean): boolean;
  /** Convolutions run by oneDNN and by im2col + sgemm in this thread so far. */
  convStats(): { dnnl: number; im2col: number };
  info(): { threads: number; core: string; config: string; dnnl: string | null };
}

export type NativeStatus =
  | { available: true; addon: NativeAddon; core: string; config: string; dnnl: string | null; dnnlNote?: string }
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
    // oneDNN runs the convolutions where built in, unless GAN_STUDIO_DNNL=0: null (and why) otherwise.
    const dnnlFlag = process.env[DNNL_ENV_VAR];
    const dnnlOff = dnnlFlag === '0' || dnnlFlag === 'false' || dnnlFlag === 'off';
    status = { available: true, addon, core: info.core, config: info.config, dnnl: dnnlOff ? null : info.dnnl };
    if (dnnlOff) status.dnnlNote = `turned off by ${DNNL_ENV_VAR}=${dnnlFlag}`;
    else if (info.dnnl == null) status.dnnlNote = 'not built in (install libdnnl-dev, then run npm ci)';
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

  type Attrs = Parameters<KernelFunc>[0]['attrs'];
  // An elementwise kernel y = f(x) on float32 (other dtypes and empty tensors: the wasm kernel).
  const unary = (name: string, run: (memory: Uint8Array, xOff: number, yOff: number, count: number, attrs: Attrs) => void): KernelFunc =>
    (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      const count = sizeOf(x.shape);
      if (x.dtype !== 'float32' || count === 0) return fallback(name, args);
      const backend = args.backend as unknown as WasmBackendLike;
      const out = backend.makeOutput(x.shape, 'float32');
      run(backend.wasm.HEAPU8, offsetOf(backend, x), offsetOf(backend, out), count, args.attrs);
      return out;
    };
  // A one-pass gradient dx from dy and what tfjs's gradient saved as x (see wrapGradient).
  const gradient = (run: (memory: Uint8Array, dyOff: number, xOff: number, dxOff: number, count: number, attrs: Attrs) => void): KernelFunc =>
    (args) => {
      const { dy, x } = args.inputs as { dy: TensorInfo; x: TensorInfo };
      const backend = args.backend as unknown as WasmBackendLike;
      const out = backend.makeOutput(x.shape, 'float32');
      run(backend.wasm.HEAPU8, offsetOf(backend, dy), offsetOf(backend, x), offsetOf(backend, out), sizeOf(x.shape), args.attrs);
      return out;
    };
  const alphaOf = (attrs: Attrs) => (attrs as unknown as LeakyReluAttrs).alpha;
  const leakyRelu = unary('LeakyRelu', (m, x, y, n, attrs) => addon.leakyRelu(m, x, y, n, alphaOf(attrs)));
  // The gradient of LeakyRelu in one pass (tfjs's is Greater + Multiply + Select, three loops).
  const leakyReluGrad = gradient((m, dy, x, dx, n, attrs) => addon.leakyReluGrad(m, dy, x, dx, n, alphaOf(attrs)));
  const relu = unary('Relu', (m, x, y, n) => addon.relu(m, x, y, n));
  const reluGrad = gradient((m, dy, x, dx, n) => addon.reluGrad(m, dy, x, dx, n));
  const tanh = unary('Tanh', (m, x, y, n) => addon.tanh(m, x, y, n));
  // From Tanh's output y: dx = (1 - y²)·dy.
  const tanhGrad = gradient((m, dy, y, dx, n) => addon.tanhGrad(m, dy, y, dx, n));

  // An Add of a [..., C] tensor and a [C] one (a bias, either operand), else the wasm kernel.
  const add: KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const [big, small] = sizeOf(a.shape) >= sizeOf(b.shape) ? [a, b] : [b, a];
    const channels = big.shape[big.shape.length - 1] ?? 0;
    // small is [C] or [1, ..., 1, C], of no higher rank than big: the output has big's shape.
    const isBias = a.dtype === 'float32' && b.dtype === 'float32' && big.shape.length >= 2 && channels > 0 &&
      small.shape.length >= 1 && small.shape.length <= big.shape.length && sizeOf(small.shape) === channels &&
      small.shape[small.shape.length - 1] === channels;
    if (!isBias) return fallback('Add', args);
    const backend = args.backend as unknown as WasmBackendLike;
    const out = backend.makeOutput(big.shape, 'float32');
    const rows = sizeOf(big.shape) / channels;
    addon.biasAdd(backend.wasm.HEAPU8, offsetOf(backend, big), offsetOf(backend, small), offsetOf(backend, out), rows, channels);
    return out;
  };

  // One Adam step of one variable (./adam's FusedAdamOptimizer runs it): new w, m and v.
  const adam: KernelFunc = (args) => {
    const { w, m, v, g, coef } = args.inputs as Record<'w' | 'm' | 'v' | 'g' | 'coef', TensorInfo>;
    const { consts } = args.attrs as { consts: number[] };
    const count = sizeOf(w.shape);
    if ([m, v, g].some((t) => sizeOf(t.shape) !== count) || sizeOf(coef.shape) !== 2 || consts.length !== 6 ||
      [w, m, v, g, coef].some((t) => t.dtype !== 'float32')) {
      throw new Error(`${ADAM_KERNEL}: w, m, v and g must be float32 of one size, coef 2 values, consts 6`);
    }
    const backend = args.backend as unknown as WasmBackendLike;
    const outs = [backend.makeOutput(w.shape, 'float32'), backend.makeOutput(w.shape, 'float32'),
      backend.makeOutput(w.shape, 'float32')];
    if (count > 0) {
      const [ow, om, ov] = outs.map((t) => offsetOf(backend, t)) as [number, number, number];
      addon.adam(backend.wasm.HEAPU8, offsetOf(backend, w), offsetOf(backend, m), offsetOf(backend, v),
        offsetOf(backend, g), ow, om, ov, count, offsetOf(backend, coef), Float32Array.from(consts));
    }
    return outs;
  };

  // Sums over leading axes (bias gradients, batch sums): wasm's Sum transposes such a tensor
  // whole before reducing it. Other reductions run the wasm kernel.
  const sum: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as SumAttrs;
    const rank = x.shape.length;
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    const count = sizeOf(x.shape);
    if (x.dtype !== 'float32' || !leading || count === 0) return fallback('Sum', args);
    const kept = x.shape.slice(axes.length);
    const outShape = keepDims ? [...axes.map(() => 1), ...kept] : kept;
    const cols = sizeOf(kept);
    const backend = args.backend as unknown as WasmBackendLike;
    const out = backend.makeOutput(outShape, 'float32');
    addon.sumRows(backend.wasm.HEAPU8, offsetOf(backend, x), offsetOf(backend, out), count / cols, cols);
    return out;
  };

  const matmulKernel = (name: 'BatchMatMul' | '_FusedMatMul'): KernelFunc => (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as {
      a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo;
    };
    const attrs = args.attrs as unknown as BatchMatMulAttrs & Partial<_FusedMatMulAttrs>;
    const act = ACTIVATIONS[attrs.activation ?? 'linear'];
    const plan = matmulPlan(a, b, attrs.transposeA, attrs.transposeB);
    const n = plan?.n ?? 0;
    const biasOk = bias == null ||
      (bias.dtype === 'float32' && sizeOf(bias.shape) === n && bias.shape[bias.shape.length - 1] === n);
    if (plan == null || act == null || preluActivationWeights != null || !biasOk) return fallback(name, args);
    const backend = args.backend as unknown as WasmBackendLike;
    const out = backend.makeOutput(plan.outShape, 'float32');
    addon.matmul(backend.wasm.HEAPU8, offsetOf(backend, a), offsetOf(backend, b), offsetOf(backend, out),
      Int32Array.from([plan.batchA, plan.batchB, plan.m, plan.n, plan.k,
        attrs.transposeA ? 1 : 0, attrs.transposeB ? 1 : 0, act]),
      bias == null ? -1 : offsetOf(backend, bias), attrs.leakyreluAlpha ?? 0.2);
    return out;
  };

  // Batch normalisation in training (./batchnorm runs these when registered): per channel of
  // the last axis, and per group of rows where the attribute `groups` splits the batch into equal
  // parts (one kernel call a group, at offsets into the same tensors); the statistics come out as
  // [C], or [groups, C], and the backward pass takes them so and returns dgamma and dbeta per group.
  /** The activation fused after batch norm (attrs activation: 'relu' | 'leakyrelu', alpha). */
  const bnActivation = (attrs: unknown, kernel: string): [number, number] => {
    const { activation = 'linear', alpha = 0 } = attrs as { activation?: string; alpha?: number };
    const code = ACTIVATIONS[activation];
    if (code !== ACTIVATIONS.linear && code !== ACTIVATIONS.relu && code !== ACTIVATIONS.leakyrelu) {
      throw new Error(`${kernel}: no fused activation '${activation}' (linear, relu or leakyrelu)`);
    }
    return [code!, alpha];
  };

  const bnForward: KernelFunc = (args) => {
    const { x, gamma, beta } = args.inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
    const { epsilon, groups = 1 } = args.attrs as { epsilon: number; groups?: number };
    const [act, alpha] = bnActivation(args.attrs, BATCH_NORM_FORWARD_KERNEL);
    const channels = x.shape[x.shape.length - 1] ?? 0;
    const rows = sizeOf(x.shape) / Math.max(1, channels);
    if (channels < 1 || rows < 1 || sizeOf(gamma.shape) !== channels || sizeOf(beta.shape) !== channels) {
      throw new Error(`${BATCH_NORM_FORWARD_KERNEL}: gamma and beta need ${channels} values, x must not be empty`);
    }
    if (!Number.isInteger(groups) || groups < 1 || x.shape.length < 2 || (x.shape[0] ?? 0) % groups !== 0) {
      throw new Error(`${BATCH_NORM_FORWARD_KERNEL}: groups must divide the batch (${x.shape[0]}), got ${groups}`);
    }
    const backend = args.backend as unknown as WasmBackendLike;
    const statShape = groups === 1 ? [channels] : [groups, channels];
    const outs = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput(statShape, 'float32'),
      backend.makeOutput(statShape, 'float32'), backend.makeOutput(statShape, 'float32')];
    const [y, mean, variance, invStd] = outs.map((t) => offsetOf(backend, t)) as [number, number, number, number];
    const groupRows = rows / groups;
    for (let g = 0; g < groups; g++) {
      const part = g * groupRows * channels * 4;
      const stat = g * channels * 4;
      addon.bnForward(backend.wasm.HEAPU8, offsetOf(backend, x) + part, offsetOf(backend, gamma), offsetOf(backend, beta),
        y + part, mean + stat, variance + stat, invStd + stat, groupRows, channels, epsilon, act, alpha);
    }
    return outs;
  };

  const bnBackward: KernelFunc = (args) => {
    const { dy, x, mean, invStd, gamma, beta } = args.inputs as
      Record<'dy' | 'x' | 'mean' | 'invStd' | 'gamma', TensorInfo> & { beta?: TensorInfo };
    const [act, alpha] = bnActivation(args.attrs, BATCH_NORM_BACKWARD_KERNEL);
    const channels = x.shape[x.shape.length - 1] ?? 0;
    const rows = sizeOf(x.shape) / Math.max(1, channels);
    const groups = channels < 1 ? 0 : sizeOf(mean.shape) / channels;
    if (channels < 1 || rows < 1 || sizeOf(dy.shape) !== sizeOf(x.shape) || sizeOf(gamma.shape) !== channels ||
      !Number.isInteger(groups) || groups < 1 || (x.shape[0] ?? 0) % groups !== 0 ||
      sizeOf(invStd.shape) !== sizeOf(mean.shape) ||
      (act !== ACTIVATIONS.linear && (beta == null || sizeOf(beta.shape) !== channels))) {
      throw new Error(`${BATCH_NORM_BACKWARD_KERNEL}: operands do not match x's channels`);
    }
    const backend = args.backend as unknown as WasmBackendLike;
    const outs = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput(mean.shape, 'float32'),
      backend.makeOutput(mean.shape, 'float32')];
    const [dx, dgamma, dbeta] = outs.map((t) => offsetOf(backend, t)) as [number, number, number];
    const groupRows = rows / groups;
    for (let g = 0; g < groups; g++) {
      const part = g * groupRows * channels * 4;
      const stat = g * channels * 4;
      addon.bnBackward(backend.wasm.HEAPU8, offsetOf(backend, dy) + part, offsetOf(backend, x) + part,
        offsetOf(backend, mean) + stat, offsetOf(backend, invStd) + stat, offsetOf(backend, gamma), dx + part,
        dgamma + stat, dbeta + stat, groupRows, channels, beta == null ? -1 : offsetOf(backend, beta), act, alpha);
    }
    return outs;
  };

  return [
    [BATCH_NORM_FORWARD_KERNEL, mark(bnForward)],
    [BATCH_NORM_BACKWARD_KERNEL, mark(bnBackward)],
    ['Conv2D', mark(conv2d)],
    ['FusedConv2D', mark(fusedConv2d)],
    ['Conv2DBackpropInput', mark(backpropInput)],
    ['Conv2DBackpropFilter', mark(backpropFilter)],
    ['LeakyRelu', mark(leakyRelu)],
    [LEAKY_RELU_GRAD, mark(leakyReluGrad)],
    ['Relu', mark(relu)],
    [RELU_GRAD, mark(reluGrad)],
    ['Add', mark(add)],
    ['Tanh', mark(tanh)],
    [TANH_GRAD, mark(tanhGrad)],
    [ADAM_KERNEL, mark(adam)],
    ['Sum', mark(sum)],
    ['BatchMatMul', mark(matmulKernel('BatchMatMul'))],
    ['_FusedMatMul', mark(matmulKernel('_FusedMatMul'))],
  ];
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

interface MatmulPlan {
  batchA: number;
  batchB: number;
  m: number;
  n: number;
  k: number;
  outShape: number[];
}

/** Shapes of a float32 (batched) matrix product the native kernel covers, or null. */
function matmulPlan(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): MatmulPlan | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb || m < 1 || n < 1 || k < 1) return null;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  const same = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  if (!same && batchA !== 1 && batchB !== 1) return null;
  // A batch of 1 broadcasts: the output's outer axes are the other operand's (or the longer).
  const outer = batchA === 1 && (batchB !== 1 || outerB.length > outerA.length) ? outerB : outerA;
  return { batchA, batchB, m, n, k, outShape: [...outer, m, n] };
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
  for (const name of REPLACED) {
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
  wrapGradient('LeakyRelu', LEAKY_RELU_GRAD);
  wrapGradient('Relu', RELU_GRAD);
  wrapGradient('Tanh', TANH_GRAD);
  return s;
}

/**
 * The gradients of LeakyRelu, Relu and Tanh run one-pass kernels on a backend that has them (wasm
 * with the native kernels), and tfjs's own gradients everywhere else. Gradients are global, so
 * this wraps the registered ones rather than replacing them. The kernel gets what tfjs's gradient
 * saved as `x`: the input for LeakyRelu and Relu, the output for Tanh.
 */
const WRAPPED = Symbol.for('gan-studio.nativeGradient');
function wrapGradient(kernelName: 'LeakyRelu' | 'Relu' | 'Tanh', gradKernel: string): void {
  const original = getGradient(kernelName);
  if (original == null || (original as unknown as Record<symbol, boolean>)[WRAPPED]) return;
  const wrapped: GradConfig = {
    kernelName,
    ...(original.outputsToSave ? { outputsToSave: original.outputsToSave } : { inputsToSave: original.inputsToSave ?? ['x'] }),
    gradFunc: (dy, saved, attrs) => {
      const dyT = Array.isArray(dy) ? dy[0]! : dy;
      const x = saved[0]!;
      const usable = getKernel(gradKernel, tf.getBackend()) != null &&
        dyT.dtype === 'float32' && x.dtype === 'float32' && dyT.size === x.size && x.size > 0;
      if (!usable) return original.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel(gradKernel, { dy: dyT, x }, attrs) as tf.Tensor };
    },
  };
  (wrapped as unknown as Record<symbol, boolean>)[WRAPPED] = true;
  registerGradient(wrapped);
}

/** Puts back the kernels registered before `registerNativeKernels` (for tests and A/B runs). */
export function unregisterNativeKernels(): void {
  for (const [name, config] of replaced) {
    if (isNative(getKernel(name, BACKEND))) unregisterKernel(name, BACKEND);
    if (getKernel(name, BACKEND) == null) registerKernel(config);
  }
  // Without their kernels, the wrapped gradients are tfjs's own again, and batch normalisation
  // and Adam run as separate kernels.
  for (const name of ADDED) {
    if (isNative(getKernel(name, BACKEND))) unregisterKernel(name, BACKEND);
  }
}

/** Whether the native kernels are the ones registered for wasm now. */
export function nativeKernelsRegistered(): boolean {
  return isNative(getKernel('Conv2DBackpropFilter', BACKEND)) && isNative(getKernel('Conv2D', BACKEND));
}

