/**
 * A batch-normalisation layer whose training-mode pass is one differentiable op.
 *
 * The stock tfjs-layers `BatchNormalization` in training mode runs `tf.moments` (Mean, Sub,
 * Square, Mean) and then `tf.batchNorm`, each recorded on the gradient tape on its own: the tape
 * keeps x, x - mean, (x - mean)^2 and more, several full-size tensors per layer, until the
 * backward pass ends. Here the whole normalisation is ONE `tf.customGrad` op. Nothing inside it
 * is recorded, its full-size temporaries are freed as soon as they are used, and the tape keeps
 * only x (shared, not copied: x is alive anyway as the previous layer's output) plus the
 * per-channel mean, 1/sqrt(var + eps) and gamma.
 *
 * Forward, with per-channel mean and biased variance over all axes but the last (as tf.moments):
 *   d = x - mean;  var = mean(d²);  y = d · (gamma · invstd) + beta,   invstd = 1/sqrt(var + eps)
 * Backward, the closed form (N elements per channel, Σ over all axes but the last; xhat = d·invstd):
 *   dbeta = Σ dy;  dgamma = Σ dy·xhat = invstd · Σ dy·d
 *   dx = gamma·invstd/N · (N·dy - Σ dy - xhat · Σ dy·xhat)
 *      = gamma·invstd · (dy - d · (invstd² · Σ dy·d / N) - Σ dy / N)
 * which is the derivative of the stock computation (batch statistics included), written with
 * per-channel sums and broadcasting multiplies only (no `Tile`). Per-channel sums of NHWC tensors
 * are an average pooling over the whole image plus a small sum over the batch: on the wasm
 * backend a reduction over leading axes transposes the whole tensor first, ten times slower.
 *
 * `FusedBatchNormalization` subclasses the stock class: same constructor arguments, weights
 * (gamma, beta, moving_mean, moving_variance: same names, order and shapes), `getConfig()` and
 * class name 'BatchNormalization', so a saved model loads with plain `tf.loadLayersModel` (as a
 * stock layer) and old checkpoints still load. In inference mode it is the stock `call`; in
 * training mode it updates the moving statistics as the stock layer does, operation for
 * operation (moving ← moving - (moving - batch)·(1 - momentum), with the biased batch variance).
 * Only the channels-last axis is fused; any other axis (or center/scale off) falls back to the
 * stock `call`.
 */
import * as tf from '@tensorflow/tfjs';
import type { Tensor } from '@tensorflow/tfjs';

type BatchNormalizationArgs = NonNullable<Parameters<typeof tf.layers.batchNormalization>[0]>;

/** The parts of the stock layer's (private) state this module reads. */
interface StockBatchNormalization extends tf.layers.Layer {
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  gamma: tf.LayerVariable | null | undefined;
  beta: tf.LayerVariable | null | undefined;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

type StockBatchNormalizationClass = (new (args?: BatchNormalizationArgs) => StockBatchNormalization) & { className: string };

const STOCK_CLASS_NAME = 'BatchNormalization';

/**
 * Optional kernels (registered for wasm by ./native-kernels where gan-studio-native is built):
 * forward  {x, gamma, beta} {epsilon} -> [y, mean, variance, invStd] (per channel, last axis);
 * backward {dy, x, mean, invStd, gamma} -> [dx, dgamma, dbeta].
 */
export const BATCH_NORM_FORWARD_KERNEL = 'GanStudioBatchNormForward';
export const BATCH_NORM_BACKWARD_KERNEL = 'GanStudioBatchNormBackward';
const SCOPE = 'GanStudioBatchNormTraining';

/**
 * A stock tfjs-layers class by its class name, from the serialisation registry (constructing a
 * layer to reach its class would use up a layer name). GAN Studio's layers subclass them.
 */
export function stockLayerClass<T>(className: string): T {
  const map = tf.serialization.SerializationMap.getMap().classNameMap as Record<string, [unknown, unknown]>;
  const entry = map[className];
  if (!entry || typeof entry[0] !== 'function') throw new Error(`tfjs-layers has no registered ${className} class`);
  return entry[0] as T;
}

const StockBatchNormalization = stockLayerClass<StockBatchNormalizationClass>(STOCK_CLASS_NAME);

/**
 * An activation fused into the batch-norm op (training passes only): the ReLU or LeakyReLU layer
 * that follows the batch norm in the model, applied in the same pass over the data. The backward
 * pass recomputes the pre-activation from x where it needs act', so the op keeps nothing more.
 */
export type FusedActivation = { kind: 'relu' } | { kind: 'leakyrelu'; alpha: number };

/** act(z), as the stock Relu and LeakyRelu ops compute it. */
function applyActivation(z: Tensor, activation: FusedActivation | null): Tensor {
  if (activation == null) return z;
  return activation.kind === 'relu' ? tf.relu(z) : tf.leakyRelu(z, activation.alpha);
}

/** act'(z)·dy, as the stock Relu and LeakyRelu gradients compute it. */
function activationGrad(dy: Tensor, z: Tensor, activation: FusedActivation | null): Tensor {
  if (activation == null) return dy;
  if (activation.kind === 'relu') return tf.mul(dy, tf.step(z));
  return tf.where(tf.greater(z, 0), dy, tf.mul(dy, activation.alpha));
}

/** Per-channel batch statistics of a training pass, as the stock layer computes them. */
export type BatchStatisticsCallback = (mean: Tensor, variance: Tensor) => void;

/**
 * Per-channel sum (or mean) over all axes but the last, shape [C].
 *
 * A reduction over leading axes makes the wasm backend transpose the whole tensor first (about
 * 80 ms for 8M floats); for NHWC the spatial part is an average pooling over the whole image
 * instead (one pass, ~10x faster), which leaves a small [N, C] to reduce.
 */
function channelReduce(t: Tensor, kind: 'sum' | 'mean'): Tensor {
  const c = t.shape[t.rank - 1]!;
  if (t.rank === 4) {
    const [n, h, w] = t.shape as [number, number, number, number];
    if (h * w > 1) {
      const pooled = tf.reshape(tf.avgPool(t as tf.Tensor4D, [h, w], [h, w], 'valid'), [n, c]);
      return kind === 'mean' ? tf.mean(pooled, 0) : tf.mul(tf.sum(pooled, 0), h * w);
    }
  }
  const axes = Array.from({ length: t.rank - 1 }, (_, i) => i);
  return kind === 'mean' ? tf.mean(t, axes) : tf.sum(t, axes);
}

/** y = (x - mean)·(gamma·invStd) + beta from x - mean: the forward pass's, and the recomputation's in groupBackward. */
function normalised(centred: Tensor, scale: Tensor, invStd: Tensor, offset: Tensor): Tensor {
  return tf.tidy(() => tf.add(tf.mul(centred, tf.mul(scale, invStd)), offset));
}

/** The forward pass of one group (the stock computation, for backends without the kernels). */
function groupForward(input: Tensor, scale: Tensor, offset: Tensor, epsilon: number,
  onStatistics?: BatchStatisticsCallback): { value: Tensor; mean: Tensor; invStd: Tensor } {
  const mean = channelReduce(input, 'mean');
  const centred = tf.sub(input, mean);
  const squares = tf.square(centred);
  const variance = channelReduce(squares, 'mean');
  squares.dispose();
  onStatistics?.(mean, variance);
  const invStd = tf.rsqrt(tf.add(variance, epsilon));
  variance.dispose();
  const value = normalised(centred, scale, invStd, offset);
  centred.dispose();
  return { value, mean, invStd };
}

/**
 * The backward pass of one group: [dx, dgamma, dbeta]. With a fused activation, `dyOut` is the
 * gradient at its output and the pre-activation is recomputed exactly as groupForward computed it.
 */
function groupBackward(dyOut: Tensor, xs: Tensor, m: Tensor, inv: Tensor, g: Tensor, b: Tensor,
  activation: FusedActivation | null): Tensor[] {
  const count = xs.size / xs.shape[xs.rank - 1]!;
  const dy = activation == null ? dyOut : tf.tidy(() => activationGrad(dyOut, normalised(tf.sub(xs, m), g, inv, b), activation));
  // With d = x - mean (xhat = d·invstd) and k = gamma·invstd:
  //   dbeta = Σ dy,  dgamma = invstd · Σ dy·d,
  //   dx = k · (dy - d · (invstd² · Σ dy·d / N) - Σ dy / N).
  // Ordered so that at most two full-size temporaries are alive at a time.
  const sumDy = channelReduce(dy, 'sum');
  const d = tf.sub(xs, m);
  const dyD = tf.mul(dy, d);
  const sumDyD = channelReduce(dyD, 'sum');
  dyD.dispose();
  const along = tf.mul(d, tf.div(tf.mul(tf.square(inv), sumDyD), count));
  d.dispose();
  const residual = tf.sub(dy, along);
  along.dispose();
  const centred = tf.sub(residual, tf.div(sumDy, count));
  residual.dispose();
  const dx = tf.mul(centred, tf.mul(g, inv));
  centred.dispose();
  if (dy !== dyOut) dy.dispose();
  return [dx, tf.mul(sumDyD, inv), sumDy];
}

/**
 * y = (x - mean) / sqrt(var + eps) · gamma + beta, with mean and (biased) variance over all axes
 * but the last, as one op with the closed-form gradient for x, gamma and beta. `onStatistics`
 * sees the batch mean and variance (shape [C]) during the forward pass; they are disposed after.
 * Full-size temporaries are disposed as soon as they are used, to keep the peak low.
 *
 * `groups` > 1 splits the batch (axis 0) into that many equal parts, each normalised with its own
 * statistics, exactly as if each part went through the layer on its own (`onStatistics` is called
 * once a part, in order); gamma's and beta's gradients are the sums over the parts. The trainer
 * passes D's real and fake batches through D as one batch this way: every convolution runs once
 * on 2N images instead of twice on N, and batch norm still sees each batch alone, as in the papers.
 *
 * `activation` fuses the ReLU or LeakyReLU that follows into the op: it returns act(y), with
 * act's gradient taken inside the op's (one pass less each way, one full-size tensor less kept).
 */
export function batchNormTraining(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  epsilon: number,
  onStatistics?: BatchStatisticsCallback,
  groups = 1,
  activation: FusedActivation | null = null,
): Tensor {
  if (x.rank < 2) throw new Error(`batchNormTraining needs an input of rank 2 or more (got rank ${x.rank})`);
  const channels = x.shape[x.rank - 1]!;
  if (gamma.size !== channels || beta.size !== channels) {
    throw new Error(`batchNormTraining: gamma and beta must have ${channels} elements (the last axis of x)`);
  }
  if (!Number.isInteger(groups) || groups < 1 || x.shape[0]! % groups !== 0) {
    throw new Error(`batchNormTraining: ${groups} groups do not divide the batch of ${x.shape[0]}`);
  }
  // One kernel each way where the backend has them (wasm with gan-studio-native): the same
  // arithmetic in two passes over x instead of a dozen broadcast kernels.
  const backendName = tf.getBackend();
  const fused = x.dtype === 'float32' && gamma.dtype === 'float32' && beta.dtype === 'float32' &&
    tf.getKernel(BATCH_NORM_FORWARD_KERNEL, backendName) != null &&
    tf.getKernel(BATCH_NORM_BACKWARD_KERNEL, backendName) != null;
  /** Per-group [C] statistics, from [C] (one group) or [groups, C]. */
  const perGroup = (t: Tensor): Tensor[] => (groups === 1 ? [t] : tf.unstack(t));
  /** Sums per-group parameter gradients ([groups, C]) into [C]. */
  const total = (t: Tensor): Tensor => (groups === 1 ? t : tf.sum(t, 0));
  if (activation != null && !(activation.kind === 'relu' || (activation.kind === 'leakyrelu' && Number.isFinite(activation.alpha)))) {
    throw new Error(`batchNormTraining: cannot fuse the activation ${JSON.stringify(activation)}`);
  }
  const actAttrs: Record<string, string | number> = activation == null ? {}
    : { activation: activation.kind, alpha: activation.kind === 'leakyrelu' ? activation.alpha : 0 };
  const op = tf.customGrad((...args: (Tensor | ((tensors: Tensor[]) => void))[]) => {
    const [input, scale, offset] = args as [Tensor, Tensor, Tensor];
    const save = args[3] as (tensors: Tensor[]) => void;
    if (fused) {
      const [value, mean, variance, invStd] = tf.engine().runKernel(
        BATCH_NORM_FORWARD_KERNEL, { x: input, gamma: scale, beta: offset }, { epsilon, groups, ...actAttrs }) as Tensor[];
      if (onStatistics) {
        const means = perGroup(mean!);
        const variances = perGroup(variance!);
        means.forEach((m, g) => onStatistics(m, variances[g]!));
        if (groups > 1) tf.dispose([...means, ...variances]);
      }
      save([input, mean!, invStd!, scale, offset]);
      return {
        value: value!,
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const [xs, m, inv, g, b] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
          const inputs: Record<string, Tensor> = { dy, x: xs, mean: m, invStd: inv, gamma: g };
          if (activation != null) inputs['beta'] = b;
          const [dx, dgamma, dbeta] = tf.engine().runKernel(BATCH_NORM_BACKWARD_KERNEL, inputs, actAttrs) as Tensor[];
          return [dx!, total(dgamma!), total(dbeta!)];
        },
      };
    }
    const parts = groups === 1 ? [input] : tf.split(input, groups, 0);
    const outs = parts.map((part) => groupForward(part, scale, offset, epsilon, onStatistics));
    const normalised = groups === 1 ? outs[0]!.value : tf.concat(outs.map((o) => o.value), 0);
    const value = applyActivation(normalised, activation);
    if (value !== normalised) normalised.dispose();
    const mean = groups === 1 ? outs[0]!.mean : tf.stack(outs.map((o) => o.mean));
    const invStd = groups === 1 ? outs[0]!.invStd : tf.stack(outs.map((o) => o.invStd));
    if (groups > 1) tf.dispose([...parts, ...outs.flatMap((o) => [o.value, o.mean, o.invStd])]);
    save([input, mean, invStd, scale, offset]);
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs, m, inv, g, b] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
        if (groups === 1) return groupBackward(dy, xs, m, inv, g, b, activation);
        const dys = tf.split(dy, groups, 0);
        const xParts = tf.split(xs, groups, 0);
        const ms = tf.unstack(m);
        const invs = tf.unstack(inv);
        const grads = dys.map((d, i) => groupBackward(d, xParts[i]!, ms[i]!, invs[i]!, g, b, activation));
        return [tf.concat(grads.map((r) => r[0]!), 0), tf.addN(grads.map((r) => r[1]!)), tf.addN(grads.map((r) => r[2]!))];
      },
    };
  });
  // A named scope: the engine looks the tape node's gradient up by the enclosing scope's name
  // first, so the op must not run directly in a scope named after a kernel with a gradient.
  return tf.tidy(SCOPE, () => (op as unknown as (a: Tensor, b: Tensor, c: Tensor) => Tensor)(x, gamma, beta));
}

/** The batch groups of the training passes now running (see withBatchGroups). */
let activeBatchGroups = 1;

/**
 * Runs `fn` with every GAN Studio batch-normalisation layer in training mode normalising
 * `groups` equal parts of its batch separately (see batchNormTraining). The layers read it when
 * called, so `fn` must run the model synchronously (tfjs-layers' apply does).
 */
export function withBatchGroups<T>(groups: number, fn: () => T): T {
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`withBatchGroups: groups must be a positive integer, got ${groups}`);
  const previous = activeBatchGroups;
  activeBatchGroups = groups;
  try {
    return fn();
  } finally {
    activeBatchGroups = previous;
  }
}

/**
 * The stock BatchNormalization layer with a fused training pass (see the top of this file).
 * It serialises as, and loads back as, the stock 'BatchNormalization'.
 */
export class FusedBatchNormalization extends StockBatchNormalization {
  /** The stock class name: models save (and load) as plain 'BatchNormalization'. */
  static override className = STOCK_CLASS_NAME;

  /** The activation layer after this one whose activation training passes fuse in (fuseActivation). */
  private fusedWith: ActivationAfterBatchNorm | null = null;

  /** Batches seen since beginCalibration, or null when training passes use the momentum update. */
  private calibrationBatches: number | null = null;

  /**
   * Until endCalibration, training passes set the moving statistics to the plain average of the
   * batch statistics they see (the first batch replaces them), instead of the momentum update:
   * "precise" batch-norm statistics for weights that were never trained through this layer, such
   * as an averaged generator's (see the trainer's calibrateAverage).
   */
  beginCalibration(): void {
    this.calibrationBatches = 0;
  }

  endCalibration(): void {
    this.calibrationBatches = null;
  }

  constructor(args?: BatchNormalizationArgs) {
    super(args);
  }

  /**
   * Fuses `next` (applied to this layer's output in the model) into this layer's training pass:
   * the batch-norm op applies its activation, and `next` passes that output on unchanged. In
   * inference (and where the pass is not fused) both layers run as the stock layers do.
   */
  fuseActivation(next: ActivationAfterBatchNorm): void {
    this.fusedWith = next;
  }

  override call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor | Tensor[] {
    const training = kwargs['training'] == null ? false : Boolean(kwargs['training']);
    if (!training) return super.call(inputs, kwargs);
    if (Array.isArray(inputs) && inputs.length !== 1) {
      throw new Error(`BatchNormalization expects exactly one input tensor (got ${inputs.length})`);
    }
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const axis = this.axis >= 0 ? this.axis : this.axis + x.rank;
    const groups = activeBatchGroups;
    if (x.rank < 2 || axis !== x.rank - 1 || !this.gamma || !this.beta) {
      if (groups !== 1) throw new Error(`${this.name}: batch groups need batch normalisation over the last axis, with center and scale`);
      return super.call(inputs, kwargs);
    }
    const gamma = this.gamma.read();
    const beta = this.beta.read();
    const next = this.fusedWith;
    const activation = next?.fusableActivation() ?? null;
    const y = tf.tidy(() =>
      batchNormTraining(x, gamma, beta, this.epsilon, (mean, variance) => {
        // Calibrating: the n-th batch enters the running average with weight 1/n.
        const decay = this.calibrationBatches == null ? 1 - this.momentum : 1 / ++this.calibrationBatches;
        this.updateMovingAverage(this.movingMean, mean, decay);
        this.updateMovingAverage(this.movingVariance, variance, decay);
      }, groups, activation),
    );
    if (activation != null) activatedFor.set(y, next!);
    return y;
  }

  /** The stock layer's update, operation for operation: v ← v - (v - value)·decay, decay = 1 - momentum. */
  private updateMovingAverage(variable: tf.LayerVariable, value: Tensor, decay: number): void {
    // A calibration's first batch replaces the statistics exactly (v - (v - value) can round).
    if (decay === 1) {
      variable.write(tf.clone(value));
      return;
    }
    tf.tidy(() => {
      const orig = variable.read();
      const delta = tf.mul(tf.sub(orig, value), decay);
      variable.write(tf.sub(orig, delta));
    });
  }
}

/** `tf.layers.batchNormalization` with the fused training pass. */
export function batchNormalization(args?: BatchNormalizationArgs): FusedBatchNormalization {
  return new FusedBatchNormalization(args);
}

/**
 * Outputs of fused training passes that already carry the activation, each with the activation
 * layer that is to pass it on unchanged.
 */
const activatedFor = new WeakMap<Tensor, tf.layers.Layer>();

/**
 * x as a new tensor (sharing x's data where the backend's Identity does, as GAN Studio's wasm one
 * does), with dy itself as x's gradient: tfjs's own Identity gradient copies dy (a cast), a full
 * pass over the tensor for nothing.
 */
const passOn = tf.customGrad(((x: Tensor) => ({ value: tf.clone(x), gradFunc: (dy: Tensor) => dy })) as never) as unknown as (x: Tensor) => Tensor;
const PASS_ON_SCOPE = 'GanStudioPassOn';

/** Passes `inputs` on unchanged where `layer`'s activation is already applied. */
function alreadyActivated(layer: tf.layers.Layer, inputs: Tensor | Tensor[]): Tensor | null {
  const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0]! : null) : inputs;
  if (x == null || activatedFor.get(x) !== layer) return null;
  activatedFor.delete(x);
  // In a scope of its own: see the end of batchNormTraining.
  return tf.tidy(PASS_ON_SCOPE, () => passOn(x));
}

interface StockActivationLayer extends tf.layers.Layer {
  call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor | Tensor[];
}
type StockReLUClass = (new (args?: { maxValue?: number }) => StockActivationLayer & { readonly maxValue?: number | null }) & { className: string };
type StockLeakyReLUClass = (new (args?: { alpha?: number }) => StockActivationLayer & { readonly alpha: number }) & { className: string };

const StockReLU = stockLayerClass<StockReLUClass>('ReLU');
const StockLeakyReLU = stockLayerClass<StockLeakyReLUClass>('LeakyReLU');

/** The stock ReLU layer, which a batch norm before it can fuse into its training pass. */
export class ReLUAfterBatchNorm extends StockReLU {
  static override className = 'ReLU';

  /** The activation the batch norm applies for this layer (none with a maxValue). */
  fusableActivation(): FusedActivation | null {
    return this.maxValue == null ? { kind: 'relu' } : null;
  }

  override call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor | Tensor[] {
    return alreadyActivated(this, inputs) ?? super.call(inputs, kwargs);
  }
}

/** The stock LeakyReLU layer, which a batch norm before it can fuse into its training pass. */
export class LeakyReLUAfterBatchNorm extends StockLeakyReLU {
  static override className = 'LeakyReLU';

  fusableActivation(): FusedActivation | null {
    return { kind: 'leakyrelu', alpha: this.alpha };
  }

  override call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor | Tensor[] {
    return alreadyActivated(this, inputs) ?? super.call(inputs, kwargs);
  }
}

export type ActivationAfterBatchNorm = ReLUAfterBatchNorm | LeakyReLUAfterBatchNorm;
