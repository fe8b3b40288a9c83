// The trainer's small-data remedies: DiffAugment on D's inputs and the averaged generator (EMA),
// with its own batch-norm statistics, in checkpoints, snapshots and an exact resume.
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../../../src/main/core/engine/backend/backends';
import { FusedBatchNormalization } from '../../../../../src/main/core/engine/layers/batchnorm';
import { readCheckpoint } from '../../../../../src/main/core/formats/checkpoint';
import { LoadedGenerator } from '../../../../../src/main/core/engine/ml/generator';
import { writeGeneratorSnapshot } from '../../../../../src/main/core/formats/generator-snapshot';
import { mixSeed, Stream } from '../../../../../src/main/core/engine/ml/rng';
import {
  EMA_CALIBRATION_BATCH,
  EMA_CALIBRATION_BATCHES,
  EMA_HALF_LIFE_IMAGES,
  EMA_RAMPUP,
  emaBeta,
  Trainer,
  type TrainerHooks,
} from '../../../../../src/main/core/engine/ml/trainer';
import type { StepMetrics, TrainConfig } from '../../../../../src/shared/types';
import { syntheticDataset } from '../../../../helpers/datasets';
import { QUIET_WATCH, testConfig } from '../../../../helpers/train-config';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-remedies-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function dcgan(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return { ...testConfig({ model: { kind: 'dcgan', latent: 16 }, seed: 5 }), ...overrides };
}

/** The trainer's private parts these tests look at. */
interface Inside {
  models: { generator: tf.LayersModel };
  average: { generator: tf.LayersModel; vars: tf.Variable[]; calibratedAt: number } | null;
  gVars: tf.Variable[];
  calibrateAverage(): void;
}
const inside = (t: Trainer) => t as unknown as Inside;

const values = (model: tf.LayersModel) => model.getWeights().map((w) => Array.from(w.dataSync()));
const trainable = (vars: tf.Variable[]) => vars.map((v) => Array.from(v.dataSync()));

function maxAbsDiff(a: number[][], b: number[][]): number {
  let worst = 0;
  a.forEach((row, i) => row.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - b[i]![j]!)))));
  return worst;
}

function hooks(): { hooks: TrainerHooks; steps: StepMetrics[]; checkpoints: string[] } {
  const steps: StepMetrics[] = [];
  const checkpoints: string[] = [];
  return {
    steps,
    checkpoints,
    hooks: {
      onStep: (m) => steps.push(m),
      onEpoch: () => undefined,
      onGrid: () => undefined,
      onQuality: () => undefined,
      onWarning: () => undefined,
      onCheckpoint: (c) => checkpoints.push(c.path),
      control: async () => 'continue',
    },
  };
}

describe('emaBeta', () => {
  it('follows a half-life in images, ramped up early in a run', () => {
    // Late in a run: half-life EMA_HALF_LIFE_IMAGES images, so after that many images the old average weighs 1/2.
    const late = 10 * EMA_HALF_LIFE_IMAGES / EMA_RAMPUP;
    expect(Math.pow(emaBeta(32, late), EMA_HALF_LIFE_IMAGES / 32)).toBeCloseTo(0.5, 10);
    // Early: the half-life is EMA_RAMPUP of the images so far (a short memory, as G changes fast).
    expect(Math.pow(emaBeta(32, 6400), (6400 * EMA_RAMPUP) / 32)).toBeCloseTo(0.5, 10);
    expect(emaBeta(32, 0)).toBe(0);
    expect(emaBeta(32, 1000)).toBeLessThan(emaBeta(32, 100_000));
  });
});

describe('Trainer with the averaged generator', () => {
  it('updates the average as beta·ema + (1 - beta)·G after each step, and leaves G alone', async () => {
    await selectBackend({ prefer: 'wasm' });
    const with_ = await Trainer.create({ config: dcgan({ steps: 10, ema: true }), dataset: syntheticDataset(32, 28, 1), runDir: join(dir, 'a'), resumeFrom: null });
    const without = await Trainer.create({ config: dcgan({ steps: 10, ema: false }), dataset: syntheticDataset(32, 28, 1), runDir: join(dir, 'b'), resumeFrom: null });
    const t = inside(with_);
    expect(inside(without).average).toBeNull();
    // At the start the average is G.
    expect(maxAbsDiff(trainable(t.average!.vars), trainable(t.gVars))).toBe(0);
    for (let step = 1; step <= 4; step++) {
      const before = trainable(t.average!.vars);
      const m1 = await with_.trainStep();
      const m2 = await without.trainStep();
      // The average never feeds back into training.
      expect(m1).toEqual(m2);
      const g = trainable(t.gVars);
      const beta = emaBeta(with_.batch, step * with_.batch);
      const expected = before.map((row, i) => row.map((e, j) => beta * e + (1 - beta) * g[i]![j]!));
      expect(maxAbsDiff(trainable(t.average!.vars), expected)).toBeLessThan(1e-6);
    }
    // After a few steps the average lags G (it is not a copy).
    expect(maxAbsDiff(trainable(t.average!.vars), trainable(t.gVars))).toBeGreaterThan(1e-6);
    with_.dispose();
    without.dispose();
  });

  it('gives the average batch-norm statistics of its own, from its weights on the calibration latents', async () => {
    await selectBackend({ prefer: 'wasm' });
    const config = dcgan({ steps: 10, ema: true });
    const trainer = await Trainer.create({ config, dataset: syntheticDataset(32, 28, 1), runDir: dir, resumeFrom: null });
    for (let i = 0; i < 6; i++) await trainer.trainStep();
    const t = inside(trainer);
    t.calibrateAverage();
    const g = t.average!.generator;
    // DCGAN-28's G: latent → dense (no bias) → batch norm. The first batch norm's statistics are
    // the plain average, over the calibration batches, of each batch's mean and biased variance of z·W.
    const dense = g.layers.find((l) => l.getClassName() === 'Dense')!;
    const bn = g.layers.find((l): l is FusedBatchNormalization => l instanceof FusedBatchNormalization)!;
    const kernel = dense.getWeights()[0]!;
    const expected = tf.tidy(() => {
      let mean = tf.zeros([kernel.shape[1]!]);
      let variance = tf.zeros([kernel.shape[1]!]);
      for (let j = 0; j < EMA_CALIBRATION_BATCHES; j++) {
        const z = tf.randomNormal([EMA_CALIBRATION_BATCH, config.model.latent], 0, 1, 'float32', mixSeed(config.seed, Stream.emaCalibration, j)) as tf.Tensor2D;
        const moments = tf.moments(tf.matMul(z, kernel as tf.Tensor2D), 0);
        mean = mean.add(moments.mean.div(EMA_CALIBRATION_BATCHES));
        variance = variance.add(moments.variance.div(EMA_CALIBRATION_BATCHES));
      }
      return [mean, variance];
    });
    const [movingMean, movingVariance] = bn.getWeights().slice(2);
    const diff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
    const scale = tf.tidy(() => tf.max(tf.abs(expected[1]!)).dataSync()[0]!);
    expect(diff(movingMean!, expected[0]!)).toBeLessThan(1e-4 * Math.max(1, scale));
    expect(diff(movingVariance!, expected[1]!)).toBeLessThan(1e-4 * Math.max(1, scale));
    // …and they are not G's running statistics.
    const gStats = inside(trainer).models.generator.layers.find((l) => l instanceof FusedBatchNormalization)!.getWeights()[2]!;
    expect(diff(gStats, movingMean!)).toBeGreaterThan(1e-6);
    // Calibrating again at the same weights changes nothing (deterministic).
    const once = values(g);
    t.average!.calibratedAt = -1;
    t.calibrateAverage();
    expect(maxAbsDiff(values(g), once)).toBe(0);
    tf.dispose(expected);
    trainer.dispose();
  });

  it('keeps the average in checkpoints and snapshots, and generators draw from it unless raw is asked for', async () => {
    await selectBackend({ prefer: 'wasm' });
    const trainer = await Trainer.create({ config: dcgan({ steps: 6, ema: true }), dataset: syntheticDataset(32, 28, 1), runDir: dir, resumeFrom: null, watch: QUIET_WATCH });
    const seen = hooks();
    const outcome = await trainer.run(seen.hooks);
    expect(outcome.status).toBe('completed');
    const average = values(inside(trainer).average!.generator);
    const raw = values(inside(trainer).models.generator);
    trainer.dispose();
    const path = seen.checkpoints.at(-1)!;
    const file = await readCheckpoint(path);
    const names = file.tensors.map((t) => t.name);
    expect(names.filter((n) => n.startsWith('Gema/'))).toHaveLength(names.filter((n) => n.startsWith('G/')).length);

    const averaged = await LoadedGenerator.fromCheckpoint(path);
    expect(averaged.averaged).toBe(true);
    expect(maxAbsDiff(values(averaged.layersModel), average)).toBe(0);
    averaged.dispose();
    const trained = await LoadedGenerator.fromCheckpoint(path, { raw: true });
    expect(trained.averaged).toBe(false);
    expect(maxAbsDiff(values(trained.layersModel), raw)).toBe(0);
    trained.dispose();

    // A snapshot keeps the averaged generator only.
    const snapshot = await writeGeneratorSnapshot(path, join(dir, 'snapshots'));
    const snap = await readCheckpoint(snapshot.path);
    expect(snap.tensors.every((t) => t.name.startsWith('Gema/'))).toBe(true);
    const fromSnapshot = await LoadedGenerator.fromCheckpoint(snapshot.path);
    expect(maxAbsDiff(values(fromSnapshot.layersModel), average)).toBe(0);
    fromSnapshot.dispose();
    await expect(LoadedGenerator.fromCheckpoint(snapshot.path, { raw: true })).rejects.toThrow(/only the averaged generator/);
  });
});

describe('Trainer with DiffAugment', () => {
  it('changes what D sees (and so the losses), and off is exactly the plain trainer', async () => {
    await selectBackend({ prefer: 'wasm' });
    const run = async (augment: boolean | undefined) => {
      const cfg = dcgan({ steps: 3 });
      const trainer = await Trainer.create({ config: augment === undefined ? cfg : { ...cfg, augment }, dataset: syntheticDataset(32, 28, 1), runDir: join(dir, String(augment)), resumeFrom: null });
      const metrics: StepMetrics[] = [];
      for (let i = 0; i < 3; i++) metrics.push(await trainer.trainStep());
      trainer.dispose();
      return metrics;
    };
    const plain = await run(undefined);
    expect(await run(false)).toEqual(plain);
    const augmented = await run(true);
    expect(augmented[0]!.lossD).not.toBeCloseTo(plain[0]!.lossD, 5);
    for (const m of augmented) expect([m.lossD, m.lossG, m.dReal, m.dFake].every(Number.isFinite)).toBe(true);
  });

  it('leaves no tensors behind across steps with both remedies on', async () => {
    await selectBackend({ prefer: 'wasm' });
    const trainer = await Trainer.create({ config: dcgan({ steps: 50, augment: true, ema: true }), dataset: syntheticDataset(32, 28, 1), runDir: dir, resumeFrom: null });
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) {
      await trainer.trainStep();
      await trainer.sampleFixed();
      counts.push(tf.memory().numTensors);
    }
    trainer.dispose();
    expect(new Set(counts.slice(1)).size).toBe(1);
  });
});

describe('exact resume with augmentation and the average on', () => {
  for (const kind of ['dcgan', 'gan'] as const) {
    it(`${kind}: 10 + 10 resumed steps match 20 straight steps (losses, G, the average, the grid)`, async () => {
      await selectBackend({ prefer: 'wasm' });
      const cfg = (steps: number): TrainConfig => ({ ...testConfig({ model: { kind, latent: 16 }, seed: 9 }), steps, augment: true, ema: true });
      const train = async (steps: number, runDir: string, resumeFrom: string | null) => {
        const trainer = await Trainer.create({ config: cfg(steps), dataset: syntheticDataset(64, 28, 1), runDir, resumeFrom, watch: QUIET_WATCH });
        const seen = hooks();
        const outcome = await trainer.run(seen.hooks);
        const result = {
          outcome,
          seen,
          g: trainable(inside(trainer).gVars),
          ema: trainable(inside(trainer).average!.vars),
          grid: Array.from(await trainer.sampleFixed()),
        };
        trainer.dispose();
        return result;
      };
      const straight = await train(20, join(dir, 'straight'), null);
      const first = await train(10, join(dir, 'resumed'), null);
      expect(first.outcome).toMatchObject({ status: 'completed', step: 10 });
      const second = await train(20, join(dir, 'resumed'), first.seen.checkpoints.at(-1)!);
      expect(second.outcome).toMatchObject({ status: 'completed', step: 20 });
      const metric = (list: StepMetrics[]) => list.map((m) => [m.lossD, m.lossG, m.dReal, m.dFake]);
      expect(maxAbsDiff(metric(second.seen.steps), metric(straight.seen.steps.slice(10)))).toBeLessThan(1e-4);
      expect(maxAbsDiff(second.g, straight.g)).toBeLessThan(1e-5);
      expect(maxAbsDiff(second.ema, straight.ema)).toBeLessThan(1e-5);
      expect(maxAbsDiff([second.grid], [straight.grid])).toBeLessThan(1e-4);
      // Resuming mattered: steps 11..20 differ from a fresh run's first ten.
      expect(maxAbsDiff(metric(first.seen.steps), metric(second.seen.steps))).toBeGreaterThan(1e-3);
    });
  }
});
