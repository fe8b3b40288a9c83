// Sampling from a trained generator: load G from a run's checkpoint and draw images from seeded
// latents. The same (checkpoint, seed, count, class) always gives the same pixels.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../../shared/types';
import { readCheckpoint } from './checkpoint';
import type { ImageBatch } from './image-grid';
import { buildGan, generate } from './models';
import { mixSeed, Stream } from './rng';
import type { CheckpointMeta } from './trainer';

export class LoadedGenerator {
  private constructor(
    readonly config: ModelConfig,
    private readonly model: ReturnType<typeof buildGan>,
    readonly step: number,
  ) {}

  static async fromCheckpoint(path: string): Promise<LoadedGenerator> {
    const file = await readCheckpoint<CheckpointMeta>(path);
    const config = file.meta.config.model;
    const models = buildGan(config, file.meta.seed);
    models.discriminator.dispose();
    const stored = file.tensors.filter((t) => t.name.startsWith('G/'));
    const expected = models.generator.getWeights();
    if (stored.length !== expected.length || expected.some((w, i) => w.shape.join() !== stored[i]!.shape.join())) {
      models.generator.dispose();
      throw new Error(`checkpoint ${path} does not match its own model config`);
    }
    const tensors = stored.map((t) => tf.tensor(t.values, t.shape, t.dtype));
    models.generator.setWeights(tensors);
    tf.dispose(tensors);
    return new LoadedGenerator(config, models, file.meta.step);
  }

  /**
   * `count` images from latents drawn with `seed`; for conditional models `labels` gives each
   * image's class (cycled when shorter than count).
   */
  async sample(count: number, seed: number, labels: number[] | null): Promise<ImageBatch> {
    const { latent, size, channels, numClasses } = this.config;
    const conditional = this.model.conditional;
    if (conditional) {
      const bad = (labels ?? []).find((c) => !Number.isInteger(c) || c < 0 || c >= numClasses);
      if (bad !== undefined) throw new Error(`class ${bad} is out of range: this model has classes 0 to ${numClasses - 1}`);
    }
    const classes = conditional ? Array.from({ length: count }, (_, i) => (labels && labels.length ? labels[i % labels.length]! : i % numClasses)) : null;
    const out = tf.tidy(() => {
      const z = tf.randomNormal([count, latent], 0, 1, 'float32', mixSeed(seed, Stream.generate)) as tf.Tensor2D;
      const y = classes ? tf.tensor2d(classes, [count, 1]) : null;
      return generate(this.model, z, y, false);
    });
    const values = (await out.data()) as Float32Array;
    out.dispose();
    return { count, height: size, width: size, channels, values };
  }

  dispose(): void {
    this.model.generator.dispose();
  }
}
