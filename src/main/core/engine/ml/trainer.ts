// The training loop: Goodfellow et al.'s Algorithm 1 (k discriminator updates per generator
// update) with the non-saturating generator loss, BCE on D's logits and Adam for both networks.
// As in the reference DCGAN loop, G's update scores the fake batch of the last D update (G runs
// once a step; see trainStep).
//
// Small-data remedies (both switches in TrainConfig, chosen by the training plan unless given):
// - `augment`: DiffAugment (Zhao et al. 2020, ./diff-augment) on every image D sees, real and
//   fake, in D's update and in G's, so D cannot memorise a small set and G's gradient still
//   passes through the augmentation.
// - `ema`: an averaged generator, an exponential moving average of G's trainable weights (half-life
//   EMA_HALF_LIFE_IMAGES images, ramped up early in a run as StyleGAN2-ADA does). Its batch-norm
//   statistics are its own: before it draws anything, precise statistics are computed by passing
//   fixed latents through it (calibrateAverage), since G's running statistics belong to G's weights.
//   Grids, snapshots, galleries and exports draw from it; checkpoints hold it as `Gema/`.
//
// Watching it learn (see run()): besides the epoch grids, a grid on the training clock (the first
// a few seconds in, then whenever no grid was drawn for GRID_CLOCK_EVERY_S), so the first picture
// comes in seconds and a long epoch still shows progress; long runs thin their clock grids. A
// quality score (quality.ts) on fixed latents, on a schedule that keeps its cost under
// QUALITY_BUDGET of training time; and a health monitor (health.ts) that turns steps and scores
// into warnings in words and, at the end, a verdict. None of it draws from training's random
// streams, so it changes nothing that is trained.
//
// Reproducibility: every random draw is keyed by (seed, step, purpose) (see rng.ts), the data
// order by (seed, epoch), and a checkpoint holds both networks (batchnorm statistics included),
// both optimizers' moments and iteration counts, the step and the fixed latent. Resuming from the
// checkpoint at step n therefore continues exactly as an uninterrupted run would.
import * as tf from '@tensorflow/tfjs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EpochSummary, GridKind, ImageDataset, QualityPoint, RunVerdict, RunWarning, StepMetrics, TrainConfig } from '../../../../shared/types';
import { FusedAdamOptimizer } from '../layers/adam';
import { readCheckpoint, writeCheckpoint, type StoredTensor } from '../../formats/checkpoint';
import { writeGridPng } from '../../images/image-grid';
import { FusedBatchNormalization, withBatchGroups } from '../layers/batchnorm';
import { diffAugment } from './diff-augment';
import { HealthMonitor } from './health';
import { buildQualityReference, measureQuality, QUALITY_SAMPLES, type QualityReference } from './quality';
import { buildGan, buildGenerator, discriminate, disposeGan, generate, type GanModels, type GeneratorModels } from './models';
import { mixSeed, permutation, Prng, Stream } from './rng';

export const GRID_SAMPLES = 64;

/** The averaged generator's half-life, in images G has been trained on (StyleGAN2-ADA's 10k). */
export const EMA_HALF_LIFE_IMAGES = 10_000;
/** Early in a run the half-life is at most this fraction of the images so far (the average's ramp-up). */
export const EMA_RAMPUP = 0.05;
/** Latents a batch-norm calibration of the averaged generator passes through it: batches x size. */
export const EMA_CALIBRATION_BATCHES = 4;
export const EMA_CALIBRATION_BATCH = 64;

/**
 * Grids and checkpoints are written at epoch ends; where a run has many epochs (a small set trains
 * for hundreds of them) only every n-th epoch, so that a run keeps at most about MAX_EPOCH_GRIDS
 * grids and writes at most about MAX_EPOCH_CHECKPOINTS checkpoints, each with a generator
 * snapshot that is kept (see generator-snapshot.ts). The end of a run, or a stop, gets both.
 */
export const MAX_EPOCH_GRIDS = 100;
export const MAX_EPOCH_CHECKPOINTS = 20;

/** The training clock's grids: the first this many seconds into a session, then whenever none was drawn for GRID_CLOCK_EVERY_S. */
export const GRID_CLOCK_FIRST_S = 2;
export const GRID_CLOCK_EVERY_S = 30;
/** A run keeps at most about this many clock grids: past it, every other older one is retired. */
export const MAX_CLOCK_GRIDS = 100;
/** Quality evaluations take at most this fraction of training time (the schedule adapts to their cost). */
export const QUALITY_BUDGET = 0.03;
/** Latents per batch when drawing grids and quality samples (bounds the memory of a 128 px generator). */
const SAMPLE_BATCH = 64;

/** How often a run draws clock grids and scores itself (tests change them). */
export interface WatchSchedule {
  gridFirstSeconds: number;
  gridEverySeconds: number;
  /** The fraction of training time quality evaluations may take; 0: none at all. */
  qualityBudget: number;
}

export const DEFAULT_WATCH: WatchSchedule = {
  gridFirstSeconds: GRID_CLOCK_FIRST_S,
  gridEverySeconds: GRID_CLOCK_EVERY_S,
  qualityBudget: QUALITY_BUDGET,
};

/** Every how many epochs of a run of `epochs` at most `count` things are written. */
export function epochsBetween(epochs: number, count: number): number {
  return Math.max(1, Math.ceil(epochs / count));
}

/** Which update an augmentation draw is for (part of its random key). */
const AUGMENT_D = 0;
const AUGMENT_G = 1;

/**
 * The averaged generator's decay after the step that brought the images seen to `imagesSeen`:
 * ema ← beta·ema + (1 - beta)·G with beta = 0.5^(batch / half-life).
 */
export function emaBeta(batch: number, imagesSeen: number): number {
  const halfLife = Math.min(EMA_HALF_LIFE_IMAGES, imagesSeen * EMA_RAMPUP);
  return halfLife <= 0 ? 0 : Math.pow(0.5, batch / Math.max(halfLife, 1e-8));
}

export interface CheckpointMeta {
  kind: 'gan-studio-checkpoint';
  step: number;
  epoch: number;
  seed: number;
  config: TrainConfig;
  backend: string;
  createdAt: string;
}

export type ControlSignal = 'continue' | 'stop';

/** A grid drawn; `removedSteps`: clock grids retired to thin the timeline (files deleted). */
export interface GridDrawn {
  epoch: number;
  step: number;
  kind: GridKind;
  path: string;
  removedSteps: number[];
}

export interface TrainerHooks {
  onStep(metrics: StepMetrics): void;
  onEpoch(summary: EpochSummary): void;
  onGrid(grid: GridDrawn): void;
  onQuality(point: QualityPoint): void;
  /** A warning raised, or raised before and seen again (same code). */
  onWarning(warning: RunWarning): void;
  onCheckpoint(checkpoint: { step: number; epoch: number; path: string }): void;
  /** Awaited between steps: resolves when training may go on (after a pause), or asks to stop. */
  control(): Promise<ControlSignal>;
}

export interface TrainOutcome {
  status: 'completed' | 'stopped' | 'diverged' | 'failed';
  step: number;
  epoch: number;
  error: string | null;
  /** The run's verdict at the end of this session (null where the run failed before it could judge). */
  verdict: RunVerdict | null;
}

export interface TrainerSetup {
  /** The final config: model.numClasses already set from the dataset for conditional models. */
  config: TrainConfig;
  dataset: ImageDataset;
  runDir: string;
  /** A checkpoint file to continue from, or null for a fresh start. */
  resumeFrom: string | null;
  /** How many of the newest checkpoints to keep on disk (older ones are deleted). */
  keepCheckpoints?: number;
  /** A resumed run's warnings and quality points so far (the health monitor continues from them). */
  earlier?: { warnings: RunWarning[]; quality: QualityPoint[] };
  /** Clock grids and the quality schedule; DEFAULT_WATCH unless given. */
  watch?: Partial<WatchSchedule>;
}

/** Batch size actually used: the configured one, or the whole set when it is smaller. */
export function effectiveBatch(config: TrainConfig, count: number): number {
  return Math.max(1, Math.min(config.batch, count));
}

/** Generator steps per epoch: one epoch is one pass of D over the data (k real batches a step). */
export function stepsPerEpoch(config: TrainConfig, count: number): number {
  return Math.max(1, Math.floor(count / (effectiveBatch(config, count) * config.k)));
}

export function totalSteps(config: TrainConfig, count: number): number {
  return config.steps ?? config.epochs * stepsPerEpoch(config, count);
}

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, '0')}.ckpt`;
}

export function gridName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, '0')}.png`;
}

/** A clock grid's file name, or a grid drawn where a run stopped or ended mid-epoch. */
export function stepGridName(kind: 'clock' | 'final', step: number): string {
  return `${kind}-${String(step).padStart(8, '0')}.png`;
}

const CLOCK_GRID_FILE = /^clock-(\d{8})\.png$/;

/**
 * Which clock grids to retire when a run holds more than `max`: every other one of the older
 * ones (the newest is always kept; epoch grids are not in this list). Returns indices into `steps`.
 */
export function clockGridsToRetire(count: number, max: number): number[] {
  if (count <= max) return [];
  const out: number[] = [];
  for (let i = 1; i < count - 1; i += 2) out.push(i);
  return out;
}

export class Trainer {
  readonly batch: number;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  private step = 0;
  private readonly models: GanModels;
  private readonly optD: tf.AdamOptimizer;
  private readonly optG: tf.AdamOptimizer;
  private readonly dVars: tf.Variable[];
  private readonly gVars: tf.Variable[];
  /** The averaged generator (config.ema), its trainable variables in gVars' order, and the step its batch-norm statistics were computed at. */
  private readonly average: { generator: tf.LayersModel; vars: tf.Variable[]; calibratedAt: number } | null;
  private fixedZ: tf.Tensor2D;
  private readonly fixedLabels: tf.Tensor2D | null;
  private readonly ones: tf.Tensor2D;
  private readonly zeros: tf.Tensor2D;
  private readonly realBuffer: Float32Array;
  private readonly labelBuffer: Float32Array;
  private permutationCache: { epoch: number; order: Uint32Array } | null = null;
  private readonly checkpoints: string[] = [];
  private lastCheckpointStep = -1;
  private lastGridStep = -1;
  /** This run's clock grids on disk, oldest first. */
  private readonly clockGrids: { step: number; path: string }[] = [];
  private readonly watch: WatchSchedule;
  private readonly health: HealthMonitor;
  private quality: QualityReference | null = null;
  private readonly qualityZ: tf.Tensor2D;
  private readonly qualityLabels: tf.Tensor2D | null;
  private lastQualityStep = -1;
  /** The memorisation warning's pair image on disk, if any. */
  private keptPair: string | null = null;

  private constructor(private readonly setup: TrainerSetup) {
    const { config, dataset } = setup;
    if (dataset.height !== config.model.size || dataset.width !== config.model.size || dataset.channels !== config.model.channels) {
      throw new Error(
        `dataset is ${dataset.width}x${dataset.height}x${dataset.channels}, model expects ` +
          `${config.model.size}x${config.model.size}x${config.model.channels}`,
      );
    }
    if (dataset.count < 1) throw new Error('the dataset is empty');
    this.batch = effectiveBatch(config, dataset.count);
    this.stepsPerEpoch = stepsPerEpoch(config, dataset.count);
    this.totalSteps = totalSteps(config, dataset.count);
    this.models = buildGan(config.model, config.seed);
    if (this.models.conditional && !dataset.labels) throw new Error('a conditional model needs a labelled dataset');
    // tfjs's Adam; one fused kernel per variable where the backend has it (./adam).
    this.optD = new FusedAdamOptimizer(config.lr, config.beta1, config.beta2);
    this.optG = new FusedAdamOptimizer(config.lr, config.beta1, config.beta2);
    this.dVars = this.models.discriminator.trainableWeights.map((w) => w.read() as tf.Variable);
    this.gVars = this.models.generator.trainableWeights.map((w) => w.read() as tf.Variable);
    this.average = config.ema ? this.buildAverage() : null;
    this.fixedZ = tf.randomNormal([GRID_SAMPLES, config.model.latent], 0, 1, 'float32', mixSeed(config.seed, Stream.fixedLatent));
    this.fixedLabels = this.models.conditional
      ? tf.tensor2d(Array.from({ length: GRID_SAMPLES }, (_, i) => i % config.model.numClasses), [GRID_SAMPLES, 1])
      : null;
    this.qualityZ = tf.randomNormal([QUALITY_SAMPLES, config.model.latent], 0, 1, 'float32', mixSeed(config.seed, Stream.qualityLatent));
    this.qualityLabels = this.models.conditional
      ? tf.tensor2d(Array.from({ length: QUALITY_SAMPLES }, (_, i) => i % config.model.numClasses), [QUALITY_SAMPLES, 1])
      : null;
    this.watch = { ...DEFAULT_WATCH, ...setup.watch };
    this.health = new HealthMonitor(
      {
        totalSteps: this.totalSteps,
        stepsPerEpoch: this.stepsPerEpoch,
        batch: this.batch,
        count: dataset.count,
        lr: config.lr,
        augment: config.augment ?? false,
        ema: config.ema ?? false,
        k: config.k,
      },
      setup.earlier,
    );
    this.keptPair = setup.earlier?.warnings.find((w) => w.pairPath !== null)?.pairPath ?? null;
    const lastEarlier = setup.earlier?.quality.at(-1);
    if (lastEarlier) this.lastQualityStep = lastEarlier.step;
    this.ones = tf.ones([this.batch, 1]);
    this.zeros = tf.zeros([this.batch, 1]);
    const { size, channels } = config.model;
    this.realBuffer = new Float32Array(this.batch * size * size * channels);
    this.labelBuffer = new Float32Array(this.batch);
  }

  static async create(setup: TrainerSetup): Promise<Trainer> {
    await mkdir(join(setup.runDir, 'grids'), { recursive: true });
    await mkdir(join(setup.runDir, 'checkpoints'), { recursive: true });
    const trainer = new Trainer(setup);
    try {
      if (setup.resumeFrom) {
        await trainer.restore(setup.resumeFrom);
        // Earlier sessions' checkpoint files count against the retention limit too.
        const dir = join(setup.runDir, 'checkpoints');
        const earlier = (await readdir(dir))
          .filter((f) => /^step-\d{8}\.ckpt$/.test(f) && Number(f.slice(5, 13)) <= trainer.step)
          .sort()
          .map((f) => join(dir, f));
        trainer.checkpoints.push(...earlier);
        // And earlier sessions' clock grids against the timeline's.
        const grids = join(setup.runDir, 'grids');
        for (const f of (await readdir(grids)).sort()) {
          const m = CLOCK_GRID_FILE.exec(f);
          if (m && Number(m[1]) <= trainer.step) trainer.clockGrids.push({ step: Number(m[1]), path: join(grids, f) });
        }
      }
    } catch (err) {
      trainer.dispose();
      throw err;
    }
    return trainer;
  }

  /** A second G, with G's initial weights, whose trainable weights become G's moving average. */
  private buildAverage(): { generator: tf.LayersModel; vars: tf.Variable[]; calibratedAt: number } {
    const copy = buildGenerator(this.setup.config.model, this.setup.config.seed);
    copy.generator.setWeights(this.models.generator.getWeights());
    const vars = copy.generator.trainableWeights.map((w) => w.read() as tf.Variable);
    return { generator: copy.generator, vars, calibratedAt: -1 };
  }

  /** ema ← beta·ema + (1 - beta)·G for every trainable weight, after the step just taken. */
  private updateAverage(): void {
    if (!this.average) return;
    const beta = emaBeta(this.batch, this.step * this.batch);
    tf.tidy(() => {
      this.average!.vars.forEach((v, i) => {
        const w = this.gVars[i]!;
        v.assign(tf.add(w, tf.mul(tf.sub(v, w), beta)));
      });
    });
  }

  /**
   * The averaged generator's own batch-norm statistics: fixed latents (and cycling classes) in
   * training mode, each batch-norm layer averaging the batch statistics it sees (see
   * FusedBatchNormalization.beginCalibration). Deterministic for given weights; once per step.
   */
  private calibrateAverage(): void {
    const average = this.average;
    if (!average || average.calibratedAt === this.step) return;
    const layers = average.generator.layers.filter((l): l is FusedBatchNormalization => l instanceof FusedBatchNormalization);
    const { latent, numClasses } = this.setup.config.model;
    layers.forEach((l) => l.beginCalibration());
    try {
      for (let j = 0; j < EMA_CALIBRATION_BATCHES; j++) {
        tf.tidy(() => {
          const z = tf.randomNormal([EMA_CALIBRATION_BATCH, latent], 0, 1, 'float32', mixSeed(this.setup.config.seed, Stream.emaCalibration, j)) as tf.Tensor2D;
          const labels = this.models.conditional
            ? tf.tensor2d(Array.from({ length: EMA_CALIBRATION_BATCH }, (_, i) => (i + j) % numClasses), [EMA_CALIBRATION_BATCH, 1])
            : null;
          generate({ ...this.models, generator: average.generator }, z, labels, true);
        });
      }
    } finally {
      layers.forEach((l) => l.endCalibration());
    }
    average.calibratedAt = this.step;
  }

  /** The generator grids and snapshots draw from: the averaged one (calibrated) when on, else G. */
  private samplingModels(): GeneratorModels {
    if (!this.average) return this.models;
    this.calibrateAverage();
    return { ...this.models, generator: this.average.generator };
  }

  get currentStep(): number {
    return this.step;
  }

  get completedEpochs(): number {
    return Math.floor(this.step / this.stepsPerEpoch);
  }

  /** The epoch the last step belonged to (1-based; 0 before training). */
  get epochInProgress(): number {
    return this.step === 0 ? 0 : Math.floor((this.step - 1) / this.stepsPerEpoch) + 1;
  }

  get modelSummary(): { generatorParams: number; discriminatorParams: number } {
    return { generatorParams: this.models.generator.countParams(), discriminatorParams: this.models.discriminator.countParams() };
  }

  async run(hooks: TrainerHooks): Promise<TrainOutcome> {
    const { config } = this.setup;
    // The training clock: time spent training in this session, pauses and evaluations left out.
    let clockMs = 0;
    let lastGridMs = 0;
    let clockGridsDrawn = 0;
    let qualityDueMs = 0;
    try {
      if (this.step === 0) await this.writeGrid(hooks, 'epoch', 0);
      // Plain JavaScript (tfjs's cpu backend, the last resort) takes a minute for what wasm does in a
      // second: there the run is not scored. So too with a budget of 0.
      if (this.watch.qualityBudget > 0 && tf.getBackend() !== 'cpu') this.quality = buildQualityReference(this.setup.dataset, config.seed);
      if (this.quality && this.lastQualityStep !== this.step) {
        const spent = await this.evaluateQuality(hooks);
        qualityDueMs = spent / this.watch.qualityBudget;
      } else {
        // Resumed where the last session scored: the next is due as that one's cost allows.
        const seconds = this.setup.earlier?.quality.at(-1)?.seconds ?? 0;
        qualityDueMs = (seconds * 1000) / Math.max(this.watch.qualityBudget, 1e-9);
      }
      let epochStarted = performance.now();
      let epochSteps = 0;
      while (this.step < this.totalSteps) {
        if ((await hooks.control()) === 'stop') {
          await this.finishPartial(hooks);
          return this.outcome(hooks, 'stopped', null);
        }
        const t0 = performance.now();
        const metrics = await this.trainStep();
        epochSteps++;
        if (![metrics.lossD, metrics.lossG, metrics.dReal, metrics.dFake].every(Number.isFinite)) {
          const kept = this.lastCheckpointStep >= 0 ? `the last good checkpoint (step ${this.lastCheckpointStep}) is kept` : 'no checkpoint was written yet';
          return this.outcome(
            hooks,
            'diverged',
            `training diverged at step ${metrics.step}: loss_D=${metrics.lossD}, loss_G=${metrics.lossG}; ${kept}. ` +
              `Try a lower learning rate (now ${config.lr}).`,
          );
        }
        hooks.onStep(metrics);
        for (const w of this.health.observeStep(metrics)) hooks.onWarning(w);
        let gridDrawn = false;
        if (this.step % this.stepsPerEpoch === 0) {
          const seconds = (performance.now() - epochStarted) / 1000;
          const epoch = this.completedEpochs;
          hooks.onEpoch({
            epoch,
            step: this.step,
            seconds,
            imagesPerSec: (epochSteps * this.batch * config.k) / Math.max(seconds, 1e-9),
          });
          const epochs = Math.ceil(this.totalSteps / this.stepsPerEpoch);
          if (epoch % epochsBetween(epochs, MAX_EPOCH_GRIDS) === 0) {
            await this.writeGrid(hooks, 'epoch', epoch);
            gridDrawn = true;
          }
          if (epoch % epochsBetween(epochs, MAX_EPOCH_CHECKPOINTS) === 0) await this.writeCheckpoint(hooks);
          epochStarted = performance.now();
          epochSteps = 0;
        }
        clockMs += performance.now() - t0;
        if (gridDrawn) lastGridMs = clockMs;
        const gridGap = (clockGridsDrawn === 0 ? this.watch.gridFirstSeconds : this.watch.gridEverySeconds) * 1000;
        if (!gridDrawn && clockMs - lastGridMs >= gridGap && this.step < this.totalSteps) {
          await this.writeGrid(hooks, 'clock', this.epochInProgress);
          clockGridsDrawn++;
          lastGridMs = clockMs;
        }
        if (this.quality && clockMs >= qualityDueMs && this.step < this.totalSteps) {
          const spent = await this.evaluateQuality(hooks);
          qualityDueMs = clockMs + spent / this.watch.qualityBudget;
        }
      }
      await this.finishPartial(hooks);
      return this.outcome(hooks, 'completed', null);
    } catch (err) {
      return this.outcome(hooks, 'failed', describeError(err));
    }
  }

  /**
   * Scores the quality samples (QUALITY_SAMPLES fixed latents through the sampling generator)
   * against the data, reports the point and any warnings it raises; returns the milliseconds it took.
   */
  private async evaluateQuality(hooks: TrainerHooks): Promise<number> {
    const reference = this.quality;
    if (!reference) return 0;
    const t0 = performance.now();
    const samples = await this.draw(this.qualityZ, this.qualityLabels);
    const measure = measureQuality(reference, samples, QUALITY_SAMPLES);
    const seconds = (performance.now() - t0) / 1000;
    const point: QualityPoint = {
      step: this.step,
      score: measure.score,
      distance: measure.distance,
      variety: measure.variety,
      copied: measure.copied,
      duplicates: measure.duplicates,
      seconds,
    };
    this.lastQualityStep = this.step;
    hooks.onQuality(point);
    let pairPath: string | null = null;
    if (measure.nearest && measure.copied > 0) pairPath = await this.writePair(samples, measure.nearest.sample, measure.nearest.image);
    for (const w of this.health.observeQuality(point, pairPath)) hooks.onWarning(w);
    // Only the pair the memorisation warning shows is kept.
    const shown = this.health.warnings().find((w) => w.pairPath !== null)?.pairPath ?? null;
    for (const path of [pairPath, this.keptPair]) if (path && path !== shown) await rm(path, { force: true });
    this.keptPair = shown;
    return performance.now() - t0;
  }

  /** A PNG of quality sample `sample` beside training image `image` (the memorisation warning's pair). */
  private async writePair(samples: Float32Array, sample: number, image: number): Promise<string> {
    const { dataset } = this.setup;
    const { size, channels } = this.setup.config.model;
    const per = size * size * channels;
    const values = new Float32Array(2 * per);
    values.set(samples.subarray(sample * per, (sample + 1) * per), 0);
    const pixels = dataset.pixels.subarray(image * per, (image + 1) * per);
    for (let i = 0; i < per; i++) values[per + i] = pixels[i]! / 127.5 - 1;
    const dir = join(this.setup.runDir, 'pairs');
    await mkdir(dir, { recursive: true });
    const path = join(dir, `step-${String(this.step).padStart(8, '0')}.png`);
    await writeGridPng(path, { count: 2, height: size, width: size, channels, values }, 2);
    return path;
  }

  /** At a stop or at the end of a run that ends mid-epoch: a grid of the partial epoch and a checkpoint. */
  private async finishPartial(hooks: TrainerHooks): Promise<void> {
    if (this.step === 0) return;
    if (this.step !== this.lastGridStep) await this.writeGrid(hooks, 'final', this.epochInProgress);
    if (this.step !== this.lastCheckpointStep) await this.writeCheckpoint(hooks);
    // The verdict judges the samples as they are now.
    if (this.quality && this.step !== this.lastQualityStep) await this.evaluateQuality(hooks);
  }

  /**
   * How the session ended, with its verdict; the warnings are reported once more as they stand
   * (the monitor updates a step-based warning's figures between the reports it sends).
   */
  private outcome(hooks: TrainerHooks, status: TrainOutcome['status'], error: string | null): TrainOutcome {
    const verdict = status === 'failed' ? null : this.health.verdict({ status, step: this.step });
    for (const w of this.health.warnings()) hooks.onWarning(w);
    return { status, step: this.step, epoch: this.completedEpochs, error, verdict };
  }

  /**
   * One generator step: k discriminator updates, then one generator update.
   *
   * The generator runs once per step, as in the reference DCGAN training loop: the fake batch of
   * the last discriminator update is the one the generator update scores with the updated D.
   * To backpropagate into G without running it again, that last G forward pass happens inside
   * the generator's gradient scope, and the discriminator update is made from within it, with
   * G's tape set aside meanwhile (see `offTape`): D's update is complete in itself, and G's tape
   * keeps only what G's gradient needs (G's forward pass and D's pass over the fake batch).
   */
  async trainStep(): Promise<StepMetrics> {
    const { config } = this.setup;
    const k = config.k;
    const dStats: tf.Tensor[] = [];
    const dUpdate = (i: number, fake: tf.Tensor4D, fakeLabels: tf.Tensor2D | null) => {
      const { images: real, labels: realLabels } = this.realBatch(this.step * k + i);
      let scores: tf.Tensor | null = null;
      const lossD = this.optD.minimize(
        () => {
          const d = this.discriminatorLoss(real, realLabels, fake, fakeLabels, i);
          scores = tf.keep(d.scores);
          return d.loss;
        },
        true,
        this.dVars,
      )!;
      const stats = scores as tf.Tensor | null;
      dStats.push(tf.keep(tf.tidy(() => tf.concat([lossD.reshape([1]), stats!]))));
      tf.dispose(present(real, realLabels, lossD, stats));
    };
    const latent = (i: number) =>
      tf.randomNormal([this.batch, config.model.latent], 0, 1, 'float32', mixSeed(config.seed, Stream.discriminatorLatent, this.step, i)) as tf.Tensor2D;
    // The first k-1 discriminator updates (k > 1 only) use fake batches G makes outside any tape.
    for (let i = 0; i < k - 1; i++) {
      const z = latent(i);
      const fakeLabels = this.fakeLabels(Stream.discriminatorLatent, i);
      const fake = tf.tidy(() => generate(this.models, z, fakeLabels, true));
      dUpdate(i, fake, fakeLabels);
      tf.dispose(present(z, fakeLabels, fake));
    }
    const z = latent(k - 1);
    const labels = this.fakeLabels(Stream.discriminatorLatent, k - 1);
    const lossG = this.optG.minimize(
      () => {
        const fake = generate(this.models, z, labels, true);
        offTape(() => dUpdate(k - 1, fake, labels));
        const seen = this.augment(fake, AUGMENT_G, k - 1);
        return tf.losses.sigmoidCrossEntropy(this.ones, discriminate(this.models, seen, labels, true)) as tf.Scalar;
      },
      true,
      this.gVars,
    )!;
    const packed = tf.tidy(() => tf.concat([tf.stack(dStats).mean(0), lossG.reshape([1])]));
    const values = await packed.data();
    tf.dispose(present(packed, lossG, z, labels, ...dStats));
    this.step++;
    this.updateAverage();
    return {
      step: this.step,
      epoch: Math.floor((this.step - 1) / this.stepsPerEpoch) + 1,
      lossD: values[0]!,
      dReal: values[1]!,
      dFake: values[2]!,
      lossG: values[3]!,
    };
  }

  /**
   * D's loss on a real and a fake batch, BCE(D(real), 1) + BCE(D(fake), 0), and D's mean outputs
   * [D(x), D(G(z))]. The two batches go through D as one (batch norm per half, see
   * withBatchGroups): the same values and gradients as a pass per batch (as in the papers' loops),
   * with half as many kernel calls, each on twice the images.
   */
  private discriminatorLoss(real: tf.Tensor4D, realLabels: tf.Tensor2D | null, fake: tf.Tensor4D,
    fakeLabels: tf.Tensor2D | null, i: number): { loss: tf.Scalar; scores: tf.Tensor1D } {
    const joined = tf.concat([real, fake]) as tf.Tensor4D;
    const images = this.augment(joined, AUGMENT_D, i);
    const labels = realLabels && fakeLabels ? (tf.concat([realLabels, fakeLabels]) as tf.Tensor2D) : null;
    const logits = withBatchGroups(2, () => discriminate(this.models, images, labels, true));
    const [realLogits, fakeLogits] = tf.split(logits, 2) as [tf.Tensor2D, tf.Tensor2D];
    const scores = tf.stack([tf.sigmoid(realLogits).mean(), tf.sigmoid(fakeLogits).mean()]) as tf.Tensor1D;
    const loss = tf.losses.sigmoidCrossEntropy(this.ones, realLogits).add(tf.losses.sigmoidCrossEntropy(this.zeros, fakeLogits)) as tf.Scalar;
    return { loss, scores };
  }

  /**
   * DiffAugment of a batch D is about to see (config.augment), or the batch itself. Each draw is
   * keyed by (seed, step, update, which: D's update or G's), so a resumed run augments as an
   * uninterrupted one would.
   */
  private augment(images: tf.Tensor4D, which: number, update: number): tf.Tensor4D {
    if (!this.setup.config.augment) return images;
    return diffAugment(images, mixSeed(this.setup.config.seed, Stream.augment, this.step, update, which));
  }

  /** The real batch with global index `index` (k batches per step), scaled to [-1, 1]. */
  private realBatch(index: number): { images: tf.Tensor4D; labels: tf.Tensor2D | null } {
    const { dataset, config } = this.setup;
    const batchesPerEpoch = this.stepsPerEpoch * config.k;
    const epoch = Math.floor(index / batchesPerEpoch);
    const position = index % batchesPerEpoch;
    if (!this.permutationCache || this.permutationCache.epoch !== epoch) {
      this.permutationCache = { epoch, order: permutation(dataset.count, mixSeed(config.seed, Stream.shuffle, epoch)) };
    }
    const order = this.permutationCache.order;
    const imageSize = dataset.height * dataset.width * dataset.channels;
    const scale = 1 / 127.5;
    for (let b = 0; b < this.batch; b++) {
      const src = order[(position * this.batch + b) % dataset.count]!;
      const pixels = dataset.pixels.subarray(src * imageSize, (src + 1) * imageSize);
      const offset = b * imageSize;
      for (let p = 0; p < imageSize; p++) this.realBuffer[offset + p] = pixels[p]! * scale - 1;
      if (dataset.labels) this.labelBuffer[b] = dataset.labels[src]!;
    }
    const images = tf.tensor4d(this.realBuffer, [this.batch, dataset.height, dataset.width, dataset.channels]);
    const labels = this.models.conditional ? tf.tensor2d(this.labelBuffer, [this.batch, 1]) : null;
    return { images, labels };
  }

  private fakeLabels(stream: number, i: number): tf.Tensor2D | null {
    if (!this.models.conditional) return null;
    const rng = new Prng(mixSeed(this.setup.config.seed, Stream.fakeLabels, stream, this.step, i));
    const n = this.setup.config.model.numClasses;
    return tf.tensor2d(Array.from({ length: this.batch }, () => rng.int(n)), [this.batch, 1]);
  }

  /**
   * The grid's generator (the averaged one when on) on the fixed latent in inference mode
   * (batch-norm running statistics), as floats in [-1, 1].
   */
  async sampleFixed(): Promise<Float32Array> {
    return this.draw(this.fixedZ, this.fixedLabels);
  }

  /**
   * The sampling generator (the averaged one when on) on latents `z` (and `labels`) in inference
   * mode, SAMPLE_BATCH at a time (bounding a 128 px generator's memory), as floats in [-1, 1].
   */
  private async draw(z: tf.Tensor2D, labels: tf.Tensor2D | null): Promise<Float32Array> {
    const models = this.samplingModels();
    const count = z.shape[0];
    const { size, channels } = this.setup.config.model;
    const per = size * size * channels;
    const values = new Float32Array(count * per);
    for (let start = 0; start < count; start += SAMPLE_BATCH) {
      const n = Math.min(SAMPLE_BATCH, count - start);
      const out = tf.tidy(() => {
        const zs = z.slice([start, 0], [n, -1]) as tf.Tensor2D;
        const ls = labels ? (labels.slice([start, 0], [n, -1]) as tf.Tensor2D) : null;
        return generate(models, zs, ls, false);
      });
      values.set((await out.data()) as Float32Array, start * per);
      out.dispose();
    }
    return values;
  }

  /**
   * Draws the fixed-latent grid: `epoch` grids at an epoch's end (epoch 0 before training), `clock`
   * grids between them, `final` where a run stops or ends mid-epoch (`epoch`: the epoch in progress).
   */
  private async writeGrid(hooks: TrainerHooks, kind: GridKind, epoch: number): Promise<void> {
    const { size, channels, numClasses } = this.setup.config.model;
    const name = kind === 'epoch' ? gridName(epoch) : stepGridName(kind, this.step);
    const path = join(this.setup.runDir, 'grids', name);
    const columns = this.models.conditional ? numClasses : 8;
    await writeGridPng(path, { count: GRID_SAMPLES, height: size, width: size, channels, values: await this.sampleFixed() }, columns);
    this.lastGridStep = this.step;
    const removedSteps: number[] = [];
    if (kind === 'clock') {
      this.clockGrids.push({ step: this.step, path });
      const retire = new Set(clockGridsToRetire(this.clockGrids.length, MAX_CLOCK_GRIDS));
      for (const i of retire) {
        const old = this.clockGrids[i]!;
        await rm(old.path, { force: true });
        removedSteps.push(old.step);
      }
      if (retire.size > 0) {
        const kept = this.clockGrids.filter((_, i) => !retire.has(i));
        this.clockGrids.splice(0, this.clockGrids.length, ...kept);
      }
    }
    hooks.onGrid({ epoch, step: this.step, kind, path, removedSteps });
  }

  private async writeCheckpoint(hooks: TrainerHooks): Promise<void> {
    const path = join(this.setup.runDir, 'checkpoints', checkpointName(this.step));
    const tensors: StoredTensor[] = [];
    const add = async (prefix: string, list: { name: string; tensor: tf.Tensor }[]) => {
      for (const { name, tensor } of list) {
        const values = (await tensor.data()) as Float32Array | Int32Array;
        tensors.push({ name: `${prefix}/${name}`, shape: tensor.shape, dtype: tensor.dtype === 'int32' ? 'int32' : 'float32', values });
      }
    };
    await add('G', this.models.generator.getWeights().map((tensor, i) => ({ name: String(i), tensor })));
    await add('D', this.models.discriminator.getWeights().map((tensor, i) => ({ name: String(i), tensor })));
    if (this.average) {
      this.calibrateAverage();
      await add('Gema', this.average.generator.getWeights().map((tensor, i) => ({ name: String(i), tensor })));
    }
    const optG = await this.optG.getWeights();
    const optD = await this.optD.getWeights();
    await add('optG', optG);
    await add('optD', optD);
    await add('fixed', [{ name: 'z', tensor: this.fixedZ }]);
    // The iteration counters come back as fresh tensors; the moments are the live variables.
    tf.dispose([optG[0]!.tensor, optD[0]!.tensor]);
    const meta: CheckpointMeta = {
      kind: 'gan-studio-checkpoint',
      step: this.step,
      epoch: this.completedEpochs,
      seed: this.setup.config.seed,
      config: this.setup.config,
      backend: tf.getBackend(),
      createdAt: new Date().toISOString(),
    };
    try {
      await writeCheckpoint(path, meta, tensors);
    } catch (err) {
      throw new Error(`could not save a checkpoint to ${path}: ${describeError(err)}`);
    }
    this.lastCheckpointStep = this.step;
    this.checkpoints.push(path);
    // Retire the oldest files before announcing the new one, so listeners see the final set.
    const keep = this.setup.keepCheckpoints ?? 3;
    while (this.checkpoints.length > keep) {
      await rm(this.checkpoints.shift()!, { force: true });
    }
    hooks.onCheckpoint({ step: this.step, epoch: this.completedEpochs, path });
  }

  private async restore(path: string): Promise<void> {
    const file = await readCheckpoint<CheckpointMeta>(path);
    if (file.meta.kind !== 'gan-studio-checkpoint') throw new Error(`${path} is not a training checkpoint`);
    const group = (prefix: string) => file.tensors.filter((t) => t.name.startsWith(`${prefix}/`));
    const toTensor = (t: StoredTensor) => tf.tensor(t.values, t.shape, t.dtype);
    const setModel = (model: tf.LayersModel, stored: StoredTensor[], label: string) => {
      const expected = model.getWeights();
      if (expected.length !== stored.length || expected.some((w, i) => w.shape.join() !== stored[i]!.shape.join())) {
        throw new Error(`checkpoint ${path} does not match this run's ${label} (different architecture)`);
      }
      const tensors = stored.map(toTensor);
      model.setWeights(tensors);
      tf.dispose(tensors);
    };
    setModel(this.models.generator, group('G'), 'generator');
    setModel(this.models.discriminator, group('D'), 'discriminator');
    if (this.average) {
      // A run that had no average before (none is written without config.ema) starts it from G.
      const stored = group('Gema');
      setModel(this.average.generator, stored.length ? stored : group('G'), 'averaged generator');
    }
    const named = (stored: StoredTensor[]) => stored.map((t) => ({ name: t.name.slice(t.name.indexOf('/') + 1), tensor: toTensor(t) }));
    const optG = named(group('optG'));
    const optD = named(group('optD'));
    await this.optG.setWeights(optG);
    await this.optD.setWeights(optD);
    tf.dispose([...optG, ...optD].map((n) => n.tensor));
    const fixed = group('fixed')[0];
    if (fixed) {
      this.fixedZ.dispose();
      this.fixedZ = toTensor(fixed) as tf.Tensor2D;
    }
    this.step = file.meta.step;
    this.lastCheckpointStep = file.meta.step;
    this.lastGridStep = file.meta.step;
  }

  dispose(): void {
    disposeGan(this.models);
    this.average?.generator.dispose();
    this.optD.dispose();
    this.optG.dispose();
    tf.dispose([this.fixedZ, this.qualityZ, this.ones, this.zeros]);
    if (this.fixedLabels) this.fixedLabels.dispose();
    if (this.qualityLabels) this.qualityLabels.dispose();
    this.quality?.dispose();
    this.quality = null;
  }
}

interface EngineTapeState {
  activeTape: unknown;
  gradientDepth: number;
}

/**
 * Runs `fn` with the gradient tape of the enclosing `tf.grads`/`minimize` set aside, so that its
 * ops are not recorded there (a gradient computed inside `fn` gets a tape of its own, released
 * when it ends). TensorFlow.js has no public switch for this; it reads the engine's state, and
 * where that is not the expected shape (another tfjs version) `fn` simply runs recorded, which
 * gives the same gradients at the cost of memory.
 */
function offTape<T>(fn: () => T): T {
  const state = (tf.engine() as unknown as { state?: Partial<EngineTapeState> }).state;
  if (state == null || typeof state.gradientDepth !== 'number' || !('activeTape' in state)) return fn();
  const saved = { activeTape: state.activeTape, gradientDepth: state.gradientDepth };
  state.activeTape = null;
  state.gradientDepth = 0;
  try {
    return fn();
  } finally {
    state.activeTape = saved.activeTape;
    state.gradientDepth = saved.gradientDepth;
  }
}

/** The tensors of a list that are not null (conditional-only tensors are null otherwise). */
function present(...tensors: (tf.Tensor | null)[]): tf.Tensor[] {
  return tensors.filter((t): t is tf.Tensor => t !== null);
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') return `no space left on device (${err.message})`;
    return err.message;
  }
  return String(err);
}
