// Sampling from a trained generator: load G from a run's checkpoint (or a generator snapshot) and
// draw images from seeded latents. The same (checkpoint, seed, count, class) always gives the same
// pixels.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../../../shared/types';
import { readCheckpoint } from '../../formats/checkpoint';
import { SNAPSHOT_KIND, type SnapshotMeta } from '../../formats/generator-snapshot';
import type { ImageBatch } from '../../images/image-grid';
import { buildGenerator, generate, type GeneratorModels } from './models';
import { isConditional } from '../../../../shared/models';
import { mixSeed, Stream } from './rng';
import type { CheckpointMeta } from './trainer';

export class LoadedGenerator {
  private constructor(
    readonly config: ModelConfig,
    private readonly model: GeneratorModels,
    readonly step: number,
    /** True when these are the averaged generator's weights (a run trained with `ema`). */
    readonly averaged = false,
  ) {}

  /**
   * G from a training checkpoint or a generator snapshot (same file format, G's tensors only
   * used). Where the run kept an averaged generator, that one (`Gema/`) unless `raw` asks for
   * the trained G itself.
   */
  static async fromCheckpoint(path: string, options: { raw?: boolean } = {}): Promise<LoadedGenerator> {
    const file = await readCheckpoint<CheckpointMeta | SnapshotMeta>(path);
    if (file.meta.kind !== 'gan-studio-checkpoint' && file.meta.kind !== SNAPSHOT_KIND) {
      throw new Error(`${path} is neither a GAN Studio checkpoint nor a generator snapshot`);
    }
    const config = file.meta.config.model;
    const models = buildGenerator(config, file.meta.seed);
    const averaged = !options.raw && file.tensors.some((t) => t.name.startsWith('Gema/'));
    const prefix = averaged ? 'Gema/' : 'G/';
    const stored = file.tensors.filter((t) => t.name.startsWith(prefix));
    if (stored.length === 0 && options.raw) {
      models.generator.dispose();
      throw new Error(`${path} holds only the averaged generator (a snapshot); the trained G is in the run's full checkpoints`);
    }
    const expected = models.generator.getWeights();
    if (stored.length !== expected.length || expected.some((w, i) => w.shape.join() !== stored[i]!.shape.join())) {
      models.generator.dispose();
      throw new Error(`checkpoint ${path} does not match its own model config`);
    }
    const tensors = stored.map((t) => tf.tensor(t.values, t.shape, t.dtype));
    models.generator.setWeights(tensors);
    tf.dispose(tensors);
    return new LoadedGenerator(config, models, file.meta.step, averaged);
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

  /**
   * A generator from a Layers model loaded elsewhere (an exported generator: see export.ts). Its
   * inputs must match `config`: the latent, and for conditional kinds a one-hot label.
   */
  static fromLayersModel(config: ModelConfig, generator: tf.LayersModel, step: number): LoadedGenerator {
    const conditional = isConditional(config.kind);
    const shapes = generator.inputs.map((i) => i.shape.slice(1).join('x'));
    const expected = conditional ? [String(config.latent), String(config.numClasses)] : [String(config.latent)];
    const output = generator.outputs[0]?.shape.slice(1).join('x');
    if (shapes.join() !== expected.join() || output !== `${config.size}x${config.size}x${config.channels}`) {
      throw new Error(
        `the model's inputs (${shapes.join(', ')}) and output (${output}) do not match a ${config.kind} generator ` +
          `with latent ${config.latent}${conditional ? ` and ${config.numClasses} classes` : ''} making ${config.size}x${config.size}x${config.channels} images`,
      );
    }
    const models: GeneratorModels = { config, generator, conditional };
    return new LoadedGenerator(config, models, step);
  }

  /** The Layers model of G (for export; owned by this object: do not dispose it). */
  get layersModel(): tf.LayersModel {
    return this.model.generator;
  }

  /**
   * Images from the given latents (each `config.latent` long); for conditional models `labels`
   * gives each image's class (cycled when shorter; default: class 0).
   */
  async render(latents: Float32Array[], labels: number[] | null): Promise<ImageBatch> {
    const { latent, size, channels, numClasses } = this.config;
    const count = latents.length;
    if (count === 0) throw new Error('no latents to render');
    const flat = new Float32Array(count * latent);
    latents.forEach((z, i) => {
      if (z.length !== latent) throw new Error(`latent ${i} has ${z.length} values; this model takes ${latent}`);
      flat.set(z, i * latent);
    });
    let classes: number[] | null = null;
    if (this.model.conditional) {
      const given = labels && labels.length ? labels : [0];
      const bad = given.find((c) => !Number.isInteger(c) || c < 0 || c >= numClasses);
      if (bad !== undefined) throw new Error(`class ${bad} is out of range: this model has classes 0 to ${numClasses - 1}`);
      classes = Array.from({ length: count }, (_, i) => given[i % given.length]!);
    }
    const out = tf.tidy(() => {
      const z = tf.tensor2d(flat, [count, latent]);
      const y = classes ? tf.tensor2d(classes, [count, 1]) : null;
      return generate(this.model, z, y, false);
    });
    const values = (await out.data()) as Float32Array;
    out.dispose();
    return { count, height: size, width: size, channels, values };
  }

  /**
   * Conditional models: images from the given latents with each image's label input given as class
   * weights (`numClasses` values; a one-hot row is one class). The label enters G through a linear
   * embedding of that row, so weights between two one-hot rows morph one class into the other.
   */
  async renderWithClassWeights(latents: Float32Array[], weights: Float32Array[]): Promise<ImageBatch> {
    const { latent, size, channels, numClasses } = this.config;
    if (!this.model.conditional) throw new Error('class weights need a conditional model');
    const count = latents.length;
    if (count === 0 || weights.length !== count) throw new Error(`${count} latents need ${count} rows of class weights (got ${weights.length})`);
    const z = new Float32Array(count * latent);
    const y = new Float32Array(count * numClasses);
    latents.forEach((row, i) => {
      if (row.length !== latent) throw new Error(`latent ${i} has ${row.length} values; this model takes ${latent}`);
      z.set(row, i * latent);
    });
    weights.forEach((row, i) => {
      if (row.length !== numClasses) throw new Error(`class weights ${i} have ${row.length} values; this model has ${numClasses} classes`);
      y.set(row, i * numClasses);
    });
    const out = tf.tidy(() => this.model.generator.apply([tf.tensor2d(z, [count, latent]), tf.tensor2d(y, [count, numClasses])], { training: false }) as tf.Tensor4D);
    const values = (await out.data()) as Float32Array;
    out.dispose();
    return { count, height: size, width: size, channels, values };
  }

  dispose(): void {
    this.model.generator.dispose();
  }
}
