/**
 * Training kernels for the TensorFlow.js wasm backend.
 *
 * The wasm backend (tfjs-backend-wasm 4.22) cannot train convolutional nets as shipped:
 *  - `Conv2DBackpropFilter` is not registered at all, so `tf.grad` of `conv2d` throws;
 *  - `Conv2DBackpropInput` (the input gradient of `conv2d`, and the forward pass of
 *    `conv2dTranspose`) is a naive scalar loop, about 10x slower than `Conv2D`.
 *
 * Both are re-expressed here as ONE call of the backend's own XNNPACK-backed `Conv2D` kernel,
 * plus cheap layout kernels (Transpose, PadV2, Slice, Concat, Reshape) of the same backend:
 *
 *  - Filter gradient: dW[a, b, ci, co] = sum_{n,i,j} xpad[n, s*i + a, s*j + b, ci] * dy[n, i, j, co].
 *    With x's batch and channel axes swapped (x' = [Cin, H, W, N]) and dy read as a filter
 *    [Ho, Wo, N, Cout], that is a stride-1 convolution with dilation = the original stride:
 *    out[ci, a, b, co] = sum_{i,j,n} x'pad[ci, a + s*i, b + s*j, n] * dy[n, i, j, co].
 *
 *  - Input gradient, 1-D per spatial axis (forward y[o] = sum_t x[o*s + t - p] * W[t]):
 *    dx[i] = sum_{o,t : o*s + t - p = i} dy[o] * W[t]. Write i + p = q*s + r with 0 <= r < s;
 *    then t = r + s*j with j = q - o >= 0, so with J = ceil(k/s) and the sub-kernels
 *    W_r[j] = W[r + s*j] (zero where r + s*j >= k):  dx[q*s + r - p] = sum_{j<J} dy[q - j] * W_r[j].
 *    For every phase r this is a stride-1 correlation of dy (padded by J-1 before) with the
 *    flipped sub-kernel F_r[m] = W_r[J-1-m]. All sh*sw phases are stacked along the output
 *    channel axis, so a single Conv2D computes them; a depth-to-space transpose interleaves
 *    them (row q*s + r), and a slice at offset p cuts out dx. Stride 1 is the special case
 *    J = k, one phase: a plain convolution with the flipped, channel-swapped filter.
 *    No multiply ever touches an inserted zero.
 *    Where that single convolution would compute many rows no phase needs (small outputs: 5x5
 *    per phase for a 4x4 dy) and channels are many, each phase gets a convolution of its own
 *    with exact padding instead, and two interleavings (concatenations or 3-D transposes) put
 *    the phases together (backpropInputPerPhase).
 *
 * Padding is handed to Conv2D as explicit per-side padding (XNNPACK pads virtually), which
 * avoids materialising padded copies of x or dy.
 *
 * Only NHWC and dilation 1 are supported (the ops themselves assert dilation 1 for gradients).
 */
import * as tf from '@tensorflow/tfjs';
// The wasm backend registers its own kernels when it is imported; import it here so that our
// registrations always come after its own (a later import would overwrite ours).
import '@tensorflow/tfjs-backend-wasm';
import type {
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropInputAttrs,
  KernelBackend,
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs';

const { backend_util, getKernel, registerKernel, unregisterKernel } = tf;

const BACKEND = 'wasm';
const CONV2D = 'Conv2D';
const BACKPROP_FILTER = 'Conv2DBackpropFilter';
const BACKPROP_INPUT = 'Conv2DBackpropInput';
const BATCH_MATMUL = 'BatchMatMul';
const IDENTITY = 'Identity';

/** Marks the kernel functions defined here, so registration can tell ours from the stock ones. */
const OUR_KERNEL = Symbol.for('gan-studio.wasmTrainingKernel');

type Shape4 = [number, number, number, number];
type Conv2DInfo = ReturnType<typeof backend_util.computeConv2DInfo>;
type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/**
 * Runs kernels of the wasm backend on TensorInfos and remembers every result, so that all
 * intermediates can be released with one `dispose()` (also on errors). Reshape results share
 * their input's data and hold a reference of their own, so they are released the same way.
 */
class KernelScope {
  private readonly owned: TensorInfo[] = [];

  constructor(private readonly backend: KernelBackend) {}

  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const config = getKernel(kernelName, BACKEND);
    if (config == null) {
      throw new Error(`wasm training kernels: the wasm backend has no '${kernelName}' kernel`);
    }
    const out = config.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) {
      for (const info of out) this.owned.push(info);
      throw new Error(`wasm training kernels: '${kernelName}' returned several outputs`);
    }
    this.owned.push(out);
    return out;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run('Slice', { x }, { begin, size });
  }

  /**
   * Reverses the middle axis of `x` viewed as [outer, n, inner], as n slices concatenated in
   * reverse order: plain copies of contiguous runs (the wasm `Reverse` kernel is an
   * element-by-element loop, tens of milliseconds even for a filter).
   */
  flip(x: TensorInfo, outer: number, n: number, inner: number): TensorInfo {
    if (n <= 1) return x;
    const view = this.reshape(x, [outer, n, inner]);
    const parts: TensorInfo[] = [];
    for (let j = n - 1; j >= 0; j--) parts.push(this.slice(view, [0, j, 0], [outer, 1, inner]));
    const flipped = this.run('Concat', parts as unknown as NamedTensorInfoMap, { axis: 1 });
    return this.reshape(flipped, x.shape);
  }

  /**
   * Interleaves p tensors of `outer * inner` values, [outer, inner] each, into [outer, p, inner].
   * Long runs are copied by one concatenation (it copies run by run, in JavaScript); short runs
   * by stacking whole tensors and a 3-D transpose, which the backend does natively.
   */
  interleave(parts: TensorInfo[], outer: number, inner: number): TensorInfo {
    if (parts.length === 1) return this.reshape(parts[0]!, [outer, 1, inner]);
    if (inner >= 64) {
      const views = parts.map((t) => this.reshape(t, [outer, 1, inner]));
      return this.run('Concat', views as unknown as NamedTensorInfoMap, { axis: 1 });
    }
    const views = parts.map((t) => this.reshape(t, [1, outer, inner]));
    const stacked = this.run('Concat', views as unknown as NamedTensorInfoMap, { axis: 0 });
    return this.transpose(stacked, [1, 0, 2]);
  }

  conv2d(x: TensorInfo, filter: TensorInfo, dilations: [number, number], pad: ExplicitPadding): TensorInfo {
    return this.run(CONV2D, { x, filter }, {
      strides: [1, 1],
      dilations,
      pad: pad as unknown as NamedAttrMap[string],
      dataFormat: 'NHWC',
    });
  }

  /** Takes `info` out of the scope: the caller owns it (the kernel's output). */
  keep(info: TensorInfo): TensorInfo {
    const i = this.owned.lastIndexOf(info);
    if (i >= 0) this.owned.splice(i, 1);
    return info;
  }

  dispose(): void {
    for (const info of this.owned) this.backend.disposeData(info.dataId);
    this.owned.length = 0;
  }
}

function assertChannelsLast(kernelName: string, dataFormat: string): void {
  if (dataFormat !== 'NHWC') {
    throw new Error(
      `${kernelName} on the wasm backend supports dataFormat 'NHWC' only (got '${dataFormat}'); ` +
        `use channels-last tensors`,
    );
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Filter gradient: dW = conv(x with batch/channel swapped, dy as filter, dilation = stride).
 */
function conv2DBackpropFilter(args: {
  inputs: NamedTensorInfoMap;
  backend: KernelBackend;
  attrs: NamedAttrMap;
}): TensorInfo {
  const { inputs, backend } = args;
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  assertChannelsLast(BACKPROP_FILTER, dataFormat);

  const info = backend_util.computeConv2DInfo(
    x.shape as Shape4, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top: padTop, left: padLeft } = info.padInfo;
  const expectedDy = [batchSize, outHeight, outWidth, outChannels];
  if (!sameShape(dy.shape, expectedDy)) {
    throw new Error(
      `${BACKPROP_FILTER}: dy has shape [${dy.shape}] but x [${x.shape}], filter [${filterShape}] ` +
        `and these strides/padding give [${expectedDy}]`);
  }

  // Rows of padded x the dilated "filter" dy spans: kh + sh*(Ho-1). Pad after x just enough
  // (the conv output then has at least kh rows); rows past H + padTop are zeros, as in the
  // reference, and padding given by the forward op beyond what is read does not matter.
  const padBottom = Math.max(0, kh + sh * (outHeight - 1) - inHeight - padTop);
  const padRight = Math.max(0, kw + sw * (outWidth - 1) - inWidth - padLeft);

  const scope = new KernelScope(backend);
  try {
    // [N, H, W, Cin] -> [Cin, H, W, N]. The backend's 4-D transpose with this permutation is a
    // slow generic loop (about 50 ms for x of 32x32x64 at batch 64); a 2-D transpose
    // [N, H*W*Cin] -> [H*W, Cin, N] and a 3-D swap of the leading axes take half as long.
    const hw = inHeight * inWidth;
    const xT = scope.reshape(scope.transpose(
      scope.reshape(scope.transpose(scope.reshape(x, [batchSize, hw * inChannels]), [1, 0]), [hw, inChannels, batchSize]),
      [1, 0, 2]), [inChannels, inHeight, inWidth, batchSize]);
    const dyF = scope.transpose(dy, [1, 2, 0, 3]); // as a filter [Ho, Wo, N, Cout]
    let g = scope.conv2d(xT, dyF, [sh, sw], [[0, 0], [padTop, padBottom], [padLeft, padRight], [0, 0]]);
    // g: [Cin, >=kh, >=kw, Cout]
    if (g.shape[1] !== kh || g.shape[2] !== kw) {
      g = scope.slice(g, [0, 0, 0, 0], [inChannels, kh, kw, outChannels]);
    }
    return scope.keep(scope.transpose(g, [1, 2, 0, 3])); // [kh, kw, Cin, Cout]
  } finally {
    scope.dispose();
  }
}

/** Per-axis plan of the sub-pixel decomposition (see the file comment). */
interface AxisPlan {
  /** Stride s (number of phases along this axis). */
  s: number;
  /** Taps per phase: ceil(k / s). */
  taps: number;
  /** Explicit padding of dy for the stride-1 convolution. */
  padBefore: number;
  padAfter: number;
  /** Output length of that convolution (per phase). */
  convOut: number;
  /** Where dx starts in the interleaved result (length convOut * s). */
  offset: number;
}

function planAxis(inSize: number, outSize: number, k: number, s: number, padBefore: number): AxisPlan {
  const taps = Math.ceil(k / s);
  // Phase rows q needed: q*s + r = i + padBefore for i in [0, inSize), i.e. q in [q0, q1).
  // Start at q0 (clamped so that the leading padding stays >= 0; starting earlier only
  // computes rows that are sliced off).
  const q0 = Math.min(Math.floor(padBefore / s), taps - 1);
  const q1 = Math.ceil((inSize + padBefore) / s);
  const convPadBefore = taps - 1 - q0;
  const convPadAfter = Math.max(0, q1 - outSize);
  const convOut = outSize + convPadBefore + convPadAfter - taps + 1; // >= q1 - q0
  return { s, taps, padBefore: convPadBefore, padAfter: convPadAfter, convOut, offset: padBefore - q0 * s };
}


function backpropInputPerPhaseScoped(
  backend: KernelBackend, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo,
): TensorInfo | null {
  const scope = new KernelScope(backend);
  try {
    const dx = backpropInputPerPhase(scope, dy, filter, info);
    return dx == null ? null : scope.keep(dx);
  } finally {
    scope.dispose();
  }
}

/** One phase r of one axis in the per-phase plan (see planPhases). */
interface PhasePlan {
  /** Taps of the forward kernel this phase uses: t = r + s*j for j < taps. */
  r: number;
  taps: number;
  /** Explicit padding of dy for this phase's stride-1 convolution (both >= 0). */
  padBefore: number;
  padAfter: number;
  /** Position of this phase's rows in each block of s rows of dx: dx[m*s + pos] = out[m]. */
  pos: number;
}

/**
 * Per-phase plan along one axis, or null where it does not apply: every phase must give
 * exactly inSize/s rows of dx (inSize divisible by s), use at least one tap, and need no
 * negative padding. Then each phase's convolution computes exactly its own rows of dx, with
 * no rows computed only to be sliced off (the stacked plan computes max over phases).
 */
function planPhases(inSize: number, outSize: number, k: number, s: number, p: number): PhasePlan[] | null {
  if (s <= 1 || inSize % s !== 0) return null;
  const count = inSize / s;
  const phases: PhasePlan[] = [];
  for (let r = 0; r < s; r++) {
    const taps = Math.ceil((k - r) / s);
    if (taps <= 0) return null;
    // dx rows of phase r: i = q*s + r - p in [0, inSize), q in [qlo, qlo + count).
    const qlo = Math.ceil((p - r) / s);
    const padBefore = taps - 1 - qlo;
    const padAfter = qlo + count - outSize;
    if (padBefore < 0 || padAfter < 0) return null;
    phases.push({ r, taps, padBefore, padAfter, pos: qlo * s + r - p });
  }
  return phases;
}

/**
 * Input gradient with one stride-1 Conv2D per phase (rh, rw), each computing exactly the rows
 * and columns of dx it owns, from the flipped, channel-swapped sub-kernel of that phase; the
 * phase results are interleaved by two concatenations. Returns null where planPhases does not
 * apply on both axes.
 */
function backpropInputPerPhase(
  scope: KernelScope, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo,
): TensorInfo | null {
  const { batchSize: n, inHeight, inWidth, inChannels: cin, outHeight, outWidth, outChannels: cout } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const rowsH = planPhases(inHeight, outHeight, kh, sh, info.padInfo.top);
  const rowsW = planPhases(inWidth, outWidth, kw, sw, info.padInfo.left);
  if (rowsH == null || rowsW == null) return null;
  const qh = inHeight / sh;
  const qw = inWidth / sw;
  // Worth it only where the stacked plan wastes enough (output positions it computes, against
  // the qh*qw each phase needs) to pay for sh*sw filter set-ups and the interleaving copies,
  // and where channels are not so few that those copies dominate (measured: DCGAN shapes).
  const stacked = planAxis(inHeight, outHeight, kh, sh, info.padInfo.top).convOut *
    planAxis(inWidth, outWidth, kw, sw, info.padInfo.left).convOut;
  if (cin < 32 || stacked < 1.2 * qh * qw) return null;
  const tap = cout * cin;

  // [kh, kw, Cin, Cout] -> [kh*kw, Cout*Cin]: one row per tap, as a filter slice wants it.
  const wt = scope.reshape(scope.transpose(scope.reshape(filter, [kh * kw, cin, cout]), [0, 2, 1]), [kh * kw, tap]);
  const out: TensorInfo[][] = []; // [pos_h][pos_w]
  for (const ph of rowsH) {
    const row: TensorInfo[] = [];
    for (const pw of rowsW) {
      // Flipped sub-kernel: F[mh, mw] = W[rh + sh*(Jh-1-mh), rw + sw*(Jw-1-mw)].
      const parts: TensorInfo[] = [];
      for (let mh = 0; mh < ph.taps; mh++) {
        for (let mw = 0; mw < pw.taps; mw++) {
          const t = (ph.r + sh * (ph.taps - 1 - mh)) * kw + (pw.r + sw * (pw.taps - 1 - mw));
          parts.push(scope.slice(wt, [t, 0], [1, tap]));
        }
      }
      const f = parts.length === 1
        ? parts[0]!
        : scope.run('Concat', parts as unknown as NamedTensorInfoMap, { axis: 0 });
      const z = scope.conv2d(dy, scope.reshape(f, [ph.taps, pw.taps, cout, cin]), [1, 1],
        [[0, 0], [ph.padBefore, ph.padAfter], [pw.padBefore, pw.padAfter], [0, 0]]);
      row[pw.pos] = z;
    }
    out[ph.pos] = row;
  }
  // Interleave columns ([N*Qh*Qw, Cin] per phase -> [N*Qh, W*Cin]), then rows.
  const rows = out.map((row) => scope.reshape(scope.interleave(row, n * qh * qw, cin), [n * qh, inWidth * cin]));
  const dx = scope.interleave(rows, n * qh, inWidth * cin);
  return scope.reshape(dx, [n, inHeight, inWidth, cin]);
}

/**
 * Input gradient / transposed convolution by sub-pixel decomposition: one stride-1 Conv2D
 * of dy with all sh*sw flipped sub-kernels stacked on the output channels, then
 * depth-to-space and a slice.
 */
function conv2DBackpropInput(args: {
  inputs: NamedTensorInfoMap;
  backend: KernelBackend;
  attrs: NamedAttrMap;
}): TensorInfo {
  const { inputs, backend } = args;
  const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  assertChannelsLast(BACKPROP_INPUT, dataFormat);

  const info = backend_util.computeConv2DInfo(
    inputShape, filter.shape as Shape4, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize: n, inHeight, inWidth, inChannels: cin, outHeight, outWidth, outChannels: cout } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const expectedDy = [n, outHeight, outWidth, cout];
  if (!sameShape(dy.shape, expectedDy)) {
    throw new Error(
      `${BACKPROP_INPUT}: dy has shape [${dy.shape}] but input shape [${inputShape}], filter ` +
        `[${filter.shape}] and these strides/padding give [${expectedDy}]`);
  }

  const perPhase = backpropInputPerPhaseScoped(backend, dy, filter, info);
  if (perPhase != null) return perPhase;

  const ph = planAxis(inHeight, outHeight, kh, sh, info.padInfo.top);
  const pw = planAxis(inWidth, outWidth, kw, sw, info.padInfo.left);
  const phases = sh * sw;

  const scope = new KernelScope(backend);
  try {
    // Filter [kh, kw, Cin, Cout] -> zero-pad taps to J*s -> flip j in t = j*s + r, i.e. in the
    // view [Jh, sh, Jw, sw, Cin, Cout] -> [Jh, Jw, Cout, sh, sw, Cin] -> [Jh, Jw, Cout, phases*Cin].
    let w = filter;
    const extraH = ph.taps * sh - kh;
    const extraW = pw.taps * sw - kw;
    if (extraH > 0 || extraW > 0) {
      w = scope.run('PadV2', { x: w }, {
        paddings: [[0, extraH], [0, extraW], [0, 0], [0, 0]],
        constantValue: 0,
      });
    }
    w = scope.flip(w, 1, ph.taps, sh * pw.taps * sw * cin * cout); // j_h -> Jh-1-j_h
    w = scope.flip(w, ph.taps * sh, pw.taps, sw * cin * cout); // j_w -> Jw-1-j_w
    w = scope.reshape(w, [ph.taps, sh, pw.taps, sw * cin, cout]);
    w = scope.transpose(w, [0, 2, 4, 1, 3]);
    w = scope.reshape(w, [ph.taps, pw.taps, cout, phases * cin]);

    // All phases at once: [N, convOutH, convOutW, sh*sw*Cin].
    let z = scope.conv2d(dy, w, [1, 1], [[0, 0], [ph.padBefore, ph.padAfter], [pw.padBefore, pw.padAfter], [0, 0]]);
    const fullH = ph.convOut * sh;
    const fullW = pw.convOut * sw;
    if (phases > 1) {
      // Depth-to-space: [N*Qh, Qw, sh, sw*Cin] -> [N*Qh, sh, Qw, sw*Cin] = [N, Qh*sh, Qw*sw, Cin].
      z = scope.reshape(z, [n * ph.convOut, pw.convOut, sh, sw * cin]);
      z = scope.transpose(z, [0, 2, 1, 3]);
    }
    if (ph.offset !== 0 || pw.offset !== 0 || fullH !== inHeight || fullW !== inWidth) {
      // Rows of W*Cin values are contiguous: slice a 3-D view, one copy per row.
      z = scope.reshape(z, [n, fullH, fullW * cin]);
      z = scope.slice(z, [0, ph.offset, pw.offset * cin], [n, inHeight, inWidth * cin]);
    }
    return scope.keep(scope.reshape(z, [n, inHeight, inWidth, cin]));
  } finally {
    scope.dispose();
  }
}

function tag(fn: KernelFunc): KernelFunc {
  (fn as unknown as Record<symbol, boolean>)[OUR_KERNEL] = true;
  return fn;
}

const backpropFilterFunc = tag(conv2DBackpropFilter as unknown as KernelFunc);
const backpropInputFunc = tag(conv2DBackpropInput as unknown as KernelFunc);

/**
 * The stock wasm `BatchMatMul` multiplies transposed operands (`transposeA` / `transposeB`, as
 * every matmul gradient asks) in a slow scalar loop: 40–60 ms for the 64x6272x100 products of
 * DCGAN-28's dense layer, against about 5 ms for the untransposed product plus an explicit
 * `Transpose`. So transposed operands are transposed first and the stock kernel does the rest.
 */
let stockBatchMatMul: KernelFunc | null = null;

function batchMatMul(args: { inputs: NamedTensorInfoMap; backend: KernelBackend; attrs: NamedAttrMap }): TensorInfo | TensorInfo[] {
  const stock = stockBatchMatMul;
  if (stock == null) throw new Error('wasm training kernels: the stock BatchMatMul kernel was not found');
  const { inputs, backend, attrs } = args;
  const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
  if (!transposeA && !transposeB) return stock(args);
  const scope = new KernelScope(backend);
  try {
    const swapLast = (t: TensorInfo): TensorInfo => {
      const perm = t.shape.map((_, i) => i);
      const r = perm.length;
      [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
      return scope.transpose(t, perm);
    };
    const a = transposeA ? swapLast(inputs['a']!) : inputs['a']!;
    const b = transposeB ? swapLast(inputs['b']!) : inputs['b']!;
    return stock({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
  } finally {
    scope.dispose();
  }
}

const batchMatMulFunc = tag(batchMatMul as unknown as KernelFunc);

/**
 * `Identity` (what `tf.clone` runs: the tape clones every tensor it saves for the backward pass,
 * hundreds per training step) copies the whole buffer on wasm. TensorFlow.js tensors are
 * immutable (a variable's `assign` swaps its data, it never writes in place), so sharing the
 * data with one more reference is enough, as the cpu backend's own `Identity` does.
 */
function identity(args: { inputs: NamedTensorInfoMap; backend: KernelBackend }): TensorInfo {
  const x = args.inputs['x']!;
  if (x.dtype === 'string') throw new Error('wasm training kernels: Identity of a string tensor is not supported');
  (args.backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const identityFunc = tag(identity as unknown as KernelFunc);

function isOurs(config: KernelConfig | undefined): boolean {
  return config != null && (config.kernelFunc as unknown as Record<symbol, boolean>)[OUR_KERNEL] === true;
}

/**
 * Registers `Conv2DBackpropFilter` and a fast `Conv2DBackpropInput` for the wasm backend
 * (replacing its naive one). Idempotent. Call after `@tensorflow/tfjs-backend-wasm` was
 * imported (this module imports it); it does not need the backend to be initialised.
 */
export function registerWasmTrainingKernels(): void {
  const kernels: [string, KernelFunc][] = [
    [BACKPROP_FILTER, backpropFilterFunc],
    [BACKPROP_INPUT, backpropInputFunc],
    [BATCH_MATMUL, batchMatMulFunc],
    [IDENTITY, identityFunc],
  ];
  for (const [kernelName, kernelFunc] of kernels) {
    const existing = getKernel(kernelName, BACKEND);
    if (isOurs(existing)) continue;
    if (kernelName === BATCH_MATMUL) {
      if (existing == null) continue; // nothing to wrap
      stockBatchMatMul = existing.kernelFunc;
    }
    if (existing != null) unregisterKernel(kernelName, BACKEND);
    // A wrapped stock kernel keeps its set-up function (it binds the wasm export at start-up).
    const setupFunc = kernelName === BATCH_MATMUL ? existing?.setupFunc : undefined;
    registerKernel({ kernelName, backendName: BACKEND, kernelFunc, ...(setupFunc ? { setupFunc } : {}) });
  }
}

/** Whether the kernels of this module are the ones registered for wasm now. */
export function wasmTrainingKernelsRegistered(): boolean {
  return isOurs(getKernel(BACKPROP_FILTER, BACKEND)) && isOurs(getKernel(BACKPROP_INPUT, BACKEND));
}

export interface ConvBenchShape {
  batch: number;
  /** Height = width of the forward convolution's input x. */
  inSize: number;
  inCh: number;
  outCh: number;
  /** Square kernel size. */
  k: number;
  stride: number;
}

export interface ConvBenchTimes {
  /** Forward conv2d x -> y ('same' padding). */
  conv2dMs: number;
  /** Conv2DBackpropInput (dy, filter) -> dx: the input gradient, and conv2dTranspose y -> x. */
  backpropInputMs: number;
  /** Conv2DBackpropFilter (x, dy) -> dW. */
  backpropFilterMs: number;
}

/**
 * Times, on the active backend, the forward conv2d of one shape ('same' padding) and its two
 * backprop kernels at the same shape: mean milliseconds per call over `reps` calls, after one
 * warm-up call each.
 */
export async function timeConvKernels(shape: ConvBenchShape, reps = 10): Promise<ConvBenchTimes> {
  const { batch, inSize, inCh, outCh, k, stride } = shape;
  const outSize = Math.ceil(inSize / stride);
  const xShape: Shape4 = [batch, inSize, inSize, inCh];
  const filterShape: Shape4 = [k, k, inCh, outCh];
  const x = tf.randomNormal(xShape) as tf.Tensor4D;
  const filter = tf.randomNormal(filterShape) as tf.Tensor4D;
  const dy = tf.randomNormal([batch, outSize, outSize, outCh]) as tf.Tensor4D;
  const engine = tf.engine();
  const common = { strides: [stride, stride], pad: 'same', dataFormat: 'NHWC' };

  const ops: Record<keyof ConvBenchTimes, () => tf.Tensor> = {
    conv2dMs: () => tf.conv2d(x, filter, stride, 'same'),
    backpropInputMs: () =>
      engine.runKernel(BACKPROP_INPUT, { dy, filter }, { ...common, inputShape: xShape }) as tf.Tensor,
    backpropFilterMs: () =>
      engine.runKernel(BACKPROP_FILTER, { x, dy }, { ...common, filterShape }) as tf.Tensor,
  };

  const result: ConvBenchTimes = { conv2dMs: 0, backpropInputMs: 0, backpropFilterMs: 0 };
  try {
    for (const key of Object.keys(ops) as (keyof ConvBenchTimes)[]) {
      const op = ops[key];
      const warm = op();
      await warm.data();
      warm.dispose();
      const t0 = performance.now();
      let last: tf.Tensor | null = null;
      for (let i = 0; i < reps; i++) {
        last?.dispose();
        last = op();
      }
      // Backends that queue work (webgl, webgpu) finish when the last result is read.
      if (last != null) {
        await last.data();
        last.dispose();
      }
      result[key] = (performance.now() - t0) / Math.max(1, reps);
    }
  } finally {
    x.dispose();
    filter.dispose();
    dy.dispose();
  }
  return result;
}
