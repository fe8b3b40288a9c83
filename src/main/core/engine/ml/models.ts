// Model builders: pure functions of a ModelConfig (plus a seed for the initial weights).
//
// - DCGAN (Radford et al. 2015): strided convolutions in D, transposed convolutions in G,
//   batchnorm in both (not on D's input layer nor G's output), ReLU in G, LeakyReLU(0.2) in D,
//   tanh output. 64 px is the paper's stack (latent → 4x4x512 → 8x8x256 → 16x16x128 → 32x32x64 →
//   64x64xC); 32 px drops the widest layer; 28 px is the MNIST-sized variant (a dense projection
//   to 7x7x128, then two 4x4 stride-2 transposed convolutions), the same network as the PyTorch
//   peer in shared/bench/torch_dcgan.py.
//   128 px (photo folders) is the 64 px stack with one more stride-2 layer each side:
//   latent → 4x4x512 → 8x8x256 → 16x16x128 → 32x32x64 → 64x64x32 → 128x128xC in G, mirrored in D
//   (128x128xC → 64x64x32 → … → 4x4x512 → 1); the widths at 4x4 … 32x32 are the 64 px stack's.
//   That is ~1.35x DCGAN-64's multiply-adds a step (3.6M weights in G, 2.8M in D). The "ngf*16"
//   stack (1024 at 4x4 … 64 at 64x64) is ~3.9x that again, measured ~3x slower a step and twice the
//   memory on the wasm backend with gan-studio-native (2.4 GB at batch 64, 3.8 GB at 128, near the
//   4 GB a wasm heap can hold): too much for the 2-core CPUs this trains on.
// - GAN (Goodfellow et al. 2014): MLPs. G 128-256-512-1024 with batchnorm and LeakyReLU, tanh
//   output; D 512-256-1 with LeakyReLU.
// - cGAN (Mirza & Osindero 2014): the MLP GAN with a label embedding joined to the latent in G and
//   to the flattened image in D. cdcgan: the DCGAN with the label embedding joined to the latent
//   in G and, as an extra image plane, to the image in D.
// D outputs logits (no sigmoid); the loss applies the sigmoid. All weights start from N(0, 0.02)
// (batchnorm scales from N(1, 0.02)), as in the DCGAN paper.
import * as tf from '@tensorflow/tfjs';
import { batchNormalization, LeakyReLUAfterBatchNorm, ReLUAfterBatchNorm } from '../layers/batchnorm';
import { conv2d } from '../layers/conv-layer';
import { isConditional, validateModelConfig } from '../../../../shared/models';
import type { ModelConfig } from '../../../../shared/types';
import { mixSeed, Stream } from './rng';

export interface GanModels {
  config: ModelConfig;
  generator: tf.LayersModel;
  discriminator: tf.LayersModel;
  /** True when both networks take a class label as their second input. */
  conditional: boolean;
}

/** What drawing from a generator needs: G alone (a loaded generator, the averaged one). */
export type GeneratorModels = Pick<GanModels, 'config' | 'generator' | 'conditional'>;

type Initializer = ReturnType<typeof tf.initializers.randomNormal>;

const LEAK = 0.2;
const BN_MOMENTUM = 0.9; // the running-average decay PyTorch uses (its momentum 0.1)
const BN_EPSILON = 1e-5;
const LABEL_EMBEDDING = 50;

/** Seeded initialisers: each layer draws from its own stream so builds are reproducible. */
class Init {
  private n = 0;
  constructor(private readonly seed: number) {}
  private next(): number {
    return mixSeed(this.seed, Stream.init, this.n++);
  }
  weights(): Initializer {
    return tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: this.next() });
  }
  gamma(): Initializer {
    return tf.initializers.randomNormal({ mean: 1, stddev: 0.02, seed: this.next() });
  }
}

export function buildGan(config: ModelConfig, seed: number): GanModels {
  const { init, ...g } = generatorFirst(config, seed);
  const discriminator = isConvolutional(config.kind)
    ? dcganDiscriminator(config, init, g.conditional)
    : mlpDiscriminator(config, init, g.conditional);
  return { ...g, discriminator };
}

function isConvolutional(kind: ModelConfig['kind']): boolean {
  return kind === 'dcgan' || kind === 'cdcgan';
}

/** G, built first from the seed's initialisers (D, if wanted, continues with `init`). */
function generatorFirst(config: ModelConfig, seed: number): GeneratorModels & { init: Init } {
  validateModelConfig(config);
  const init = new Init(seed);
  const conditional = isConditional(config.kind);
  const generator = isConvolutional(config.kind) ? dcganGenerator(config, init, conditional) : mlpGenerator(config, init, conditional);
  return { config, generator, conditional, init };
}

/**
 * G alone, as buildGan(config, seed) builds it (G draws its initial weights first), without the
 * cost of building D: for sampling from stored weights and for the averaged generator.
 */
export function buildGenerator(config: ModelConfig, seed: number): GeneratorModels {
  const { init: _init, ...g } = generatorFirst(config, seed);
  return g;
}

export function disposeGan(models: GanModels): void {
  models.generator.dispose();
  models.discriminator.dispose();
}

/** Generator input(s): the latent, and for conditional models the latent joined to a label embedding. */
function generatorInputs(config: ModelConfig, conditional: boolean, init: Init) {
  const z = tf.input({ shape: [config.latent], name: 'latent' });
  if (!conditional) return { inputs: [z], joined: z as tf.SymbolicTensor };
  const label = tf.input({ shape: [config.numClasses], name: 'label' });
  const embedded = labelEmbedding(LABEL_EMBEDDING, init).apply(label) as tf.SymbolicTensor;
  const joined = tf.layers.concatenate().apply([z, embedded]) as tf.SymbolicTensor;
  return { inputs: [z, label], joined };
}

/**
 * A learned label embedding: a bias-free dense layer on the one-hot label, which is the same map
 * as an embedding table but trains with a plain matrix product on every backend (the wasm backend
 * has no kernel for the scatter an embedding lookup's gradient needs).
 */
function labelEmbedding(units: number, init: Init) {
  return tf.layers.dense({ units, useBias: false, kernelInitializer: init.weights() });
}

/**
 * The stock BatchNormalization layer with a fused training pass (one op, a small gradient tape:
 * see batchnorm.ts); it saves and loads as the stock layer, with the same weights.
 */
function batchNorm(init: Init) {
  return batchNormalization({ momentum: BN_MOMENTUM, epsilon: BN_EPSILON, gammaInitializer: init.gamma() });
}

/**
 * Batch norm and then ReLU (alpha null) or LeakyReLU: two stock layers in the saved model, one
 * fused op in a training pass (see FusedBatchNormalization.fuseActivation).
 */
function batchNormThen(x: tf.SymbolicTensor, init: Init, leakAlpha: number | null): tf.SymbolicTensor {
  const bn = batchNorm(init);
  const act = leakAlpha == null ? new ReLUAfterBatchNorm() : new LeakyReLUAfterBatchNorm({ alpha: leakAlpha });
  bn.fuseActivation(act);
  return act.apply(bn.apply(x)) as tf.SymbolicTensor;
}

function deconv(filters: number, kernel: number, strides: number, padding: 'same' | 'valid', init: Init, useBias: boolean) {
  return tf.layers.conv2dTranspose({ filters, kernelSize: kernel, strides, padding, useBias, kernelInitializer: init.weights() });
}

/** The stock Conv2D layer without the gradients a step does not use (see conv-layer.ts). */
function conv(filters: number, kernel: number, strides: number, padding: 'same' | 'valid', init: Init, useBias: boolean) {
  return conv2d({ filters, kernelSize: kernel, strides, padding, useBias, kernelInitializer: init.weights() });
}

/** Feature widths of G's transposed convolutions after the projection, widest first. */
function dcganWidths(size: ModelConfig['size']): number[] {
  if (size === 128) return [512, 256, 128, 64, 32];
  if (size === 64) return [512, 256, 128, 64];
  if (size === 32) return [256, 128, 64];
  return [128, 64]; // 28: 7x7x128 → 14x14x64 → 28x28xC
}

function dcganGenerator(config: ModelConfig, init: Init, conditional: boolean): tf.LayersModel {
  const { inputs, joined } = generatorInputs(config, conditional, init);
  const widths = dcganWidths(config.size);
  let x: tf.SymbolicTensor;
  if (config.size === 28) {
    x = tf.layers.dense({ units: 7 * 7 * widths[0]!, useBias: false, kernelInitializer: init.weights() }).apply(joined) as tf.SymbolicTensor;
    x = batchNormThen(x, init, null);
    x = tf.layers.reshape({ targetShape: [7, 7, widths[0]!] }).apply(x) as tf.SymbolicTensor;
  } else {
    const width = (joined.shape[1] as number);
    x = tf.layers.reshape({ targetShape: [1, 1, width] }).apply(joined) as tf.SymbolicTensor;
    x = deconv(widths[0]!, 4, 1, 'valid', init, false).apply(x) as tf.SymbolicTensor; // 1x1 → 4x4
    x = batchNormThen(x, init, null);
  }
  for (const filters of widths.slice(1)) {
    x = deconv(filters, 4, 2, 'same', init, false).apply(x) as tf.SymbolicTensor;
    x = batchNormThen(x, init, null);
  }
  x = deconv(config.channels, 4, 2, 'same', init, config.size === 28).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'tanh' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs, outputs: x, name: `generator_${config.kind}_${config.size}` });
}

function dcganDiscriminator(config: ModelConfig, init: Init, conditional: boolean): tf.LayersModel {
  const { size, channels } = config;
  const image = tf.input({ shape: [size, size, channels], name: 'image' });
  const inputs = [image];
  let x: tf.SymbolicTensor = image;
  if (conditional) {
    const label = tf.input({ shape: [config.numClasses], name: 'label' });
    inputs.push(label);
    let plane = labelEmbedding(size * size, init).apply(label) as tf.SymbolicTensor;
    plane = tf.layers.reshape({ targetShape: [size, size, 1] }).apply(plane) as tf.SymbolicTensor;
    x = tf.layers.concatenate({ axis: -1 }).apply([image, plane]) as tf.SymbolicTensor;
  }
  const widths = [...dcganWidths(size)].reverse(); // narrowest first
  widths.forEach((filters, i) => {
    // Bias only where no batchnorm follows; the 32, 64 and 128 px stacks have none at all.
    x = conv(filters, 4, 2, 'same', init, i === 0 && size === 28).apply(x) as tf.SymbolicTensor;
    x = i > 0 ? batchNormThen(x, init, LEAK) : (tf.layers.leakyReLU({ alpha: LEAK }).apply(x) as tf.SymbolicTensor);
  });
  if (size === 28) {
    x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
    x = tf.layers.dense({ units: 1, kernelInitializer: init.weights() }).apply(x) as tf.SymbolicTensor;
  } else {
    x = conv(1, 4, 1, 'valid', init, false).apply(x) as tf.SymbolicTensor; // 4x4 → 1x1
    x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  }
  return tf.model({ inputs, outputs: x, name: `discriminator_${config.kind}_${size}` });
}

function mlpGenerator(config: ModelConfig, init: Init, conditional: boolean): tf.LayersModel {
  const { inputs, joined } = generatorInputs(config, conditional, init);
  let x = joined;
  [128, 256, 512, 1024].forEach((units, i) => {
    x = tf.layers.dense({ units, kernelInitializer: init.weights() }).apply(x) as tf.SymbolicTensor;
    x = i > 0 ? batchNormThen(x, init, LEAK) : (tf.layers.leakyReLU({ alpha: LEAK }).apply(x) as tf.SymbolicTensor);
  });
  const pixels = config.size * config.size * config.channels;
  x = tf.layers.dense({ units: pixels, activation: 'tanh', kernelInitializer: init.weights() }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reshape({ targetShape: [config.size, config.size, config.channels] }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs, outputs: x, name: `generator_${config.kind}_${config.size}` });
}

function mlpDiscriminator(config: ModelConfig, init: Init, conditional: boolean): tf.LayersModel {
  const image = tf.input({ shape: [config.size, config.size, config.channels], name: 'image' });
  const inputs = [image];
  let x = tf.layers.flatten().apply(image) as tf.SymbolicTensor;
  if (conditional) {
    const label = tf.input({ shape: [config.numClasses], name: 'label' });
    inputs.push(label);
    const embedded = labelEmbedding(LABEL_EMBEDDING, init).apply(label) as tf.SymbolicTensor;
    x = tf.layers.concatenate().apply([x, embedded]) as tf.SymbolicTensor;
  }
  for (const units of [512, 256]) {
    x = tf.layers.dense({ units, kernelInitializer: init.weights() }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.leakyReLU({ alpha: LEAK }).apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.dense({ units: 1, kernelInitializer: init.weights() }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs, outputs: x, name: `discriminator_${config.kind}_${config.size}` });
}

/** Runs G on latents (and class indices, shape [n, 1], for conditional models). */
export function generate(models: GeneratorModels, z: tf.Tensor2D, labels: tf.Tensor2D | null, training: boolean): tf.Tensor4D {
  const input = models.conditional ? [z, oneHot(models, labels)] : z;
  return models.generator.apply(input, { training }) as tf.Tensor4D;
}

/** Runs D on images (and class indices, shape [n, 1]), returning logits of shape [n, 1]. */
export function discriminate(models: GanModels, images: tf.Tensor4D, labels: tf.Tensor2D | null, training: boolean): tf.Tensor2D {
  const input = models.conditional ? [images, oneHot(models, labels)] : images;
  return models.discriminator.apply(input, { training }) as tf.Tensor2D;
}

function oneHot(models: Pick<GanModels, 'config'>, labels: tf.Tensor2D | null): tf.Tensor2D {
  if (!labels) throw new Error('a conditional model needs class labels');
  return tf.oneHot(tf.cast(labels.reshape([-1]), 'int32') as tf.Tensor1D, models.config.numClasses).toFloat() as tf.Tensor2D;
}
