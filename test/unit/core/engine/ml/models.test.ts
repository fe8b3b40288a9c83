import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../../../src/main/core/engine/backend/backends';
import { buildGan, buildGenerator, discriminate, disposeGan, generate } from '../../../../../src/main/core/engine/ml/models';
import type { ModelConfig, ModelKind } from '../../../../../src/shared/types';

beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
});

const trainable = (model: tf.LayersModel) => model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);

/** Parameters of a conv or transposed conv layer (k x k kernel, optional bias). */
const convParams = (cin: number, cout: number, k: number, bias = false) => cin * cout * k * k + (bias ? cout : 0);
const bn = (c: number) => 2 * c; // trainable gamma and beta

describe('model builders', () => {
  const kinds: ModelKind[] = ['dcgan', 'gan', 'cgan', 'cdcgan'];
  for (const kind of kinds) {
    // 128 px: the convolutional models only (an MLP GAN at 128x128x3 has ~75M weights: too slow here).
    const sizes = kind === 'dcgan' || kind === 'cdcgan' ? ([28, 32, 64, 128] as const) : ([28, 32, 64] as const);
    for (const size of sizes) {
      for (const channels of [1, 3] as const) {
        it(`${kind} ${size}px ${channels}ch: G maps latents to [-1, 1] images, D maps images to one logit`, () => {
          const config: ModelConfig = { kind, size, channels, latent: 100, numClasses: kind.startsWith('c') ? 10 : 0 };
          const models = buildGan(config, 1);
          const out = tf.tidy(() => {
            const z = tf.randomNormal([3, 100]) as tf.Tensor2D;
            const labels = models.conditional ? tf.tensor2d([[0], [4], [9]]) : null;
            const images = generate(models, z, labels, false);
            const logits = discriminate(models, images, labels, false);
            return { imageShape: images.shape, min: images.min().dataSync()[0]!, max: images.max().dataSync()[0]!, logitShape: logits.shape };
          });
          expect(out.imageShape).toEqual([3, size, size, channels]);
          expect(out.min).toBeGreaterThanOrEqual(-1);
          expect(out.max).toBeLessThanOrEqual(1);
          expect(out.logitShape).toEqual([3, 1]);
          disposeGan(models);
        });
      }
    }
  }

  it('DCGAN-64 is the Radford et al. stack: 512-256-128-64 transposed 4x4 convolutions from a 100-d latent', () => {
    const models = buildGan({ kind: 'dcgan', size: 64, channels: 3, latent: 100, numClasses: 0 }, 1);
    const g = models.generator.layers.filter((l) => l.getClassName() === 'Conv2DTranspose');
    expect(g.map((l) => (l.getConfig() as { filters: number }).filters)).toEqual([512, 256, 128, 64, 3]);
    expect(g.every((l) => String((l.getConfig() as { kernelSize: number[] }).kernelSize) === '4,4')).toBe(true);
    const d = models.discriminator.layers.filter((l) => l.getClassName() === 'Conv2D');
    expect(d.map((l) => (l.getConfig() as { filters: number }).filters)).toEqual([64, 128, 256, 512, 1]);
    expect(models.discriminator.layers.filter((l) => l.getClassName() === 'LeakyReLU').map((l) => (l.getConfig() as { alpha: number }).alpha)).toEqual([0.2, 0.2, 0.2, 0.2]);
    expect(models.generator.layers.filter((l) => l.getClassName() === 'ReLU')).toHaveLength(4);
    // The same parameter counts as the PyTorch reference in scripts/peer/torch_dcgan.py.
    expect(trainable(models.generator)).toBe(
      convParams(100, 512, 4) + bn(512) + convParams(512, 256, 4) + bn(256) + convParams(256, 128, 4) + bn(128) + convParams(128, 64, 4) + bn(64) + convParams(64, 3, 4),
    );
    expect(trainable(models.discriminator)).toBe(
      convParams(3, 64, 4) + convParams(64, 128, 4) + bn(128) + convParams(128, 256, 4) + bn(256) + convParams(256, 512, 4) + bn(512) + convParams(512, 1, 4),
    );
    disposeGan(models);
  });

  it('DCGAN-128 is the 64 px stack with a 32-wide stride-2 layer more each side', () => {
    const models = buildGan({ kind: 'dcgan', size: 128, channels: 3, latent: 100, numClasses: 0 }, 1);
    const g = models.generator.layers.filter((l) => l.getClassName() === 'Conv2DTranspose');
    expect(g.map((l) => (l.getConfig() as { filters: number }).filters)).toEqual([512, 256, 128, 64, 32, 3]);
    // Spatial sizes after each transposed convolution: 1x1 → 4x4, then doubling to 128x128.
    expect(g.map((l) => (l.outputShape as number[])[1])).toEqual([4, 8, 16, 32, 64, 128]);
    const d = models.discriminator.layers.filter((l) => l.getClassName() === 'Conv2D');
    expect(d.map((l) => (l.getConfig() as { filters: number }).filters)).toEqual([32, 64, 128, 256, 512, 1]);
    expect(d.map((l) => (l.outputShape as number[])[1])).toEqual([64, 32, 16, 8, 4, 1]);
    expect(models.generator.layers.filter((l) => l.getClassName() === 'ReLU')).toHaveLength(5);
    expect(models.discriminator.layers.filter((l) => l.getClassName() === 'LeakyReLU')).toHaveLength(5);
    // By hand: G 100→512 (4x4 valid), 512→256→128→64→32 (batchnorm after each), 32→3;
    // D 3→32 (no batchnorm), 32→64→128→256→512 (batchnorm after each), 512→1 (4x4 valid). No biases.
    const gExpected = 100 * 512 * 16 + 2 * 512 + 512 * 256 * 16 + 2 * 256 + 256 * 128 * 16 + 2 * 128 + 128 * 64 * 16 + 2 * 64 +
      64 * 32 * 16 + 2 * 32 + 32 * 3 * 16;
    const dExpected = 3 * 32 * 16 + 32 * 64 * 16 + 2 * 64 + 64 * 128 * 16 + 2 * 128 + 128 * 256 * 16 + 2 * 256 +
      256 * 512 * 16 + 2 * 512 + 512 * 1 * 16;
    expect(gExpected).toBe(3_608_000);
    expect(dExpected).toBe(2_796_928);
    expect(trainable(models.generator)).toBe(gExpected);
    expect(trainable(models.discriminator)).toBe(dExpected);
    disposeGan(models);
  });

  it('cDCGAN-128: the label embedding joins G\'s latent and D\'s image as a 128x128 plane', () => {
    const models = buildGan({ kind: 'cdcgan', size: 128, channels: 3, latent: 100, numClasses: 10 }, 1);
    const embedding = 10 * 50; // one-hot (10) → 50, no bias
    const plane = 10 * 128 * 128; // one-hot (10) → 128x128 plane, no bias
    expect(trainable(models.generator)).toBe(embedding + 150 * 512 * 16 + 2 * 512 + 512 * 256 * 16 + 2 * 256 + 256 * 128 * 16 + 2 * 128 +
      128 * 64 * 16 + 2 * 64 + 64 * 32 * 16 + 2 * 32 + 32 * 3 * 16);
    expect(trainable(models.discriminator)).toBe(plane + 4 * 32 * 16 + 32 * 64 * 16 + 2 * 64 + 64 * 128 * 16 + 2 * 128 +
      128 * 256 * 16 + 2 * 256 + 256 * 512 * 16 + 2 * 512 + 512 * 16);
    disposeGan(models);
  });

  it('DCGAN-28 matches the PyTorch peer network (dense 7x7x128 projection, two transposed convolutions)', () => {
    const models = buildGan({ kind: 'dcgan', size: 28, channels: 1, latent: 100, numClasses: 0 }, 1);
    expect(trainable(models.generator)).toBe(100 * 7 * 7 * 128 + bn(7 * 7 * 128) + convParams(128, 64, 4) + bn(64) + convParams(64, 1, 4, true));
    expect(trainable(models.discriminator)).toBe(convParams(1, 64, 4, true) + convParams(64, 128, 4) + bn(128) + (128 * 7 * 7 + 1));
    disposeGan(models);
  });

  it('MLP GAN: G 128-256-512-1024 with batchnorm, D 512-256-1', () => {
    const models = buildGan({ kind: 'gan', size: 28, channels: 1, latent: 100, numClasses: 0 }, 1);
    const units = (m: tf.LayersModel) => m.layers.filter((l) => l.getClassName() === 'Dense').map((l) => (l.getConfig() as { units: number }).units);
    expect(units(models.generator)).toEqual([128, 256, 512, 1024, 784]);
    expect(units(models.discriminator)).toEqual([512, 256, 1]);
    expect(models.generator.layers.filter((l) => l.getClassName() === 'BatchNormalization')).toHaveLength(3);
    disposeGan(models);
  });

  it('initial weights are drawn from N(0, 0.02), batchnorm scales from N(1, 0.02), reproducibly by seed', () => {
    const a = buildGan({ kind: 'dcgan', size: 32, channels: 3, latent: 100, numClasses: 0 }, 7);
    const b = buildGan({ kind: 'dcgan', size: 32, channels: 3, latent: 100, numClasses: 0 }, 7);
    const c = buildGan({ kind: 'dcgan', size: 32, channels: 3, latent: 100, numClasses: 0 }, 8);
    const kernels = a.generator.trainableWeights.filter((w) => w.name.includes('kernel'));
    const values = Float32Array.from(kernels.flatMap((w) => Array.from(w.read().dataSync())));
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(Math.abs(std - 0.02)).toBeLessThan(0.002);
    const gammas = a.generator.trainableWeights.filter((w) => w.name.includes('gamma')).flatMap((w) => Array.from(w.read().dataSync()));
    expect(Math.abs(gammas.reduce((s, v) => s + v, 0) / gammas.length - 1)).toBeLessThan(0.01);
    const first = (m: typeof a) => Array.from(m.generator.trainableWeights[0]!.read().dataSync().slice(0, 8));
    expect(first(a)).toEqual(first(b));
    expect(first(a)).not.toEqual(first(c));
    [a, b, c].forEach(disposeGan);
  });

  it('builds G alone exactly as buildGan builds it (the same initial weights, no D)', () => {
    for (const config of [
      { kind: 'dcgan', size: 28, channels: 1, latent: 16, numClasses: 0 },
      { kind: 'cgan', size: 28, channels: 1, latent: 16, numClasses: 3 },
    ] as const) {
      const both = buildGan(config, 4);
      const alone = buildGenerator(config, 4);
      expect(alone.conditional).toBe(both.conditional);
      const values = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
      expect(values(alone.generator)).toEqual(values(both.generator));
      disposeGan(both);
      alone.generator.dispose();
    }
  });

  it('rejects impossible configs', () => {
    expect(() => buildGan({ kind: 'dcgan', size: 48 as 28, channels: 1, latent: 100, numClasses: 0 }, 1)).toThrow(/image size must be one of 28, 32, 64, 128 \(got 48\)/);
    expect(() => buildGan({ kind: 'cgan', size: 28, channels: 1, latent: 100, numClasses: 1 }, 1)).toThrow(/at least 2 classes/);
    expect(() => buildGan({ kind: 'gan', size: 28, channels: 2 as 1, latent: 100, numClasses: 0 }, 1)).toThrow(/channels/);
    expect(() => buildGan({ kind: 'gan', size: 128, channels: 3, latent: 100, numClasses: 0 }, 1)).toThrow(/MLP GANs .* up to 64 px/);
    expect(() => buildGan({ kind: 'cgan', size: 128, channels: 1, latent: 100, numClasses: 3 }, 1)).toThrow(/use dcgan or cdcgan at 128 px/);
  });
});
