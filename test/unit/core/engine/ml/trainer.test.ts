import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../../../src/main/core/engine/backend/backends';
import { readCheckpoint } from '../../../../../src/main/core/formats/checkpoint';
import { clockGridsToRetire, stepsPerEpoch, Trainer, type GridDrawn, type TrainerHooks, type WatchSchedule } from '../../../../../src/main/core/engine/ml/trainer';
import type { ModelKind, QualityPoint, RunWarning, StepMetrics, TrainConfig } from '../../../../../src/shared/types';
import { syntheticDataset } from '../../../../helpers/datasets';
import { QUIET_WATCH, testConfig } from '../../../../helpers/train-config';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-trainer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function config(kind: ModelKind, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return { ...testConfig({ model: { kind, latent: 16, numClasses: kind.startsWith('c') ? 4 : 0 }, seed: 3 }), ...overrides };
}

interface Recorded {
  steps: StepMetrics[];
  grids: GridDrawn[];
  checkpoints: { step: number; epoch: number; path: string }[];
  epochs: number[];
  quality: QualityPoint[];
  warnings: RunWarning[];
}

/** No clock grids and no quality scores, unless a test asks: what the tests below count on. */
const QUIET: WatchSchedule = QUIET_WATCH;
/** Quality scored only at the start and the end. */
const ENDS: WatchSchedule = { ...QUIET, qualityBudget: 1e-9 };

function recorder(stopAt: number | null = null): { hooks: TrainerHooks; seen: Recorded } {
  const seen: Recorded = { steps: [], grids: [], checkpoints: [], epochs: [], quality: [], warnings: [] };
  const hooks: TrainerHooks = {
    onStep: (m) => seen.steps.push(m),
    onEpoch: (e) => seen.epochs.push(e.epoch),
    onGrid: (g) => seen.grids.push(g),
    onQuality: (q) => seen.quality.push(q),
    onWarning: (w) => seen.warnings.push(w),
    onCheckpoint: (c) => seen.checkpoints.push(c),
    control: async () => (stopAt !== null && seen.steps.length >= stopAt ? 'stop' : 'continue'),
  };
  return { hooks, seen };
}

async function train(cfg: TrainConfig, runDir: string, resumeFrom: string | null = null, stopAt: number | null = null, count = 64, watch: WatchSchedule = QUIET) {
  const trainer = await Trainer.create({ config: cfg, dataset: syntheticDataset(count, 28, 1, cfg.model.numClasses), runDir, resumeFrom, watch });
  const { hooks, seen } = recorder(stopAt);
  const outcome = await trainer.run(hooks);
  const weights = trainer['models'].generator.getWeights().map((w: tf.Tensor) => Array.from(w.dataSync()));
  trainer.dispose();
  return { outcome, seen, weights };
}

function maxRelDiff(a: number[], b: number[]): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(a[i]!)));
  return worst;
}

async function expectResumeMatchesStraight(kind: ModelKind): Promise<void> {
  const straight = await train(config(kind, { steps: 20 }), join(dir, 'straight'));
  const first = await train(config(kind, { steps: 10 }), join(dir, 'resumed'));
  expect(first.outcome).toMatchObject({ status: 'completed', step: 10 });
  const checkpoint = first.seen.checkpoints.at(-1)!;
  expect(checkpoint.step).toBe(10);
  const second = await train(config(kind, { steps: 20 }), join(dir, 'resumed'), checkpoint.path);
  expect(second.outcome).toMatchObject({ status: 'completed', step: 20 });
  expect(second.seen.steps.map((m) => m.step)).toEqual(Array.from({ length: 10 }, (_, i) => 11 + i));
  // Retention counts the first session's files too: of 8, 10, 16, 20 the newest three remain.
  expect((await readdir(join(dir, 'resumed', 'checkpoints'))).sort()).toEqual(['step-00000010.ckpt', 'step-00000016.ckpt', 'step-00000020.ckpt']);
  const metric = (list: StepMetrics[]) => list.flatMap((m) => [m.lossD, m.lossG, m.dReal, m.dFake]);
  const metricDiff = maxRelDiff(metric(straight.seen.steps.slice(10)), metric(second.seen.steps));
  const weightDiff = maxRelDiff(straight.weights.flat(), second.weights.flat());
  console.log(`${kind} on ${tf.getBackend()}: 10+10 resumed vs 20 straight: max rel diff metrics ${metricDiff.toExponential(2)}, G weights ${weightDiff.toExponential(2)}`);
  expect(metricDiff).toBeLessThan(1e-4);
  expect(weightDiff).toBeLessThan(1e-4);
  // And resuming really mattered: a fresh 10-step run differs from steps 11..20.
  expect(maxRelDiff(metric(first.seen.steps), metric(second.seen.steps))).toBeGreaterThan(1e-3);
}

describe('Trainer', () => {
  it('resumed 10+10 steps match 20 straight steps on the cpu backend (MLP GAN)', async () => {
    await selectBackend({ prefer: 'cpu' });
    await expectResumeMatchesStraight('gan');
  });

  it('resumed 10+10 steps match 20 straight steps on the wasm backend (DCGAN)', async () => {
    await selectBackend({ prefer: 'wasm' });
    await expectResumeMatchesStraight('dcgan');
  });

  it('keeps the tensor count flat across steps', async () => {
    await selectBackend({ prefer: 'wasm' });
    const trainer = await Trainer.create({ config: config('dcgan', { steps: 50 }), dataset: syntheticDataset(32, 28, 1), runDir: dir, resumeFrom: null });
    const counts: number[] = [];
    for (let i = 0; i < 6; i++) {
      await trainer.trainStep();
      counts.push(tf.memory().numTensors);
    }
    trainer.dispose();
    // Adam creates its moment variables on the first update; from then on nothing may accumulate.
    expect(new Set(counts.slice(1)).size).toBe(1);
  });

  it('records metrics, an epoch-0 grid and a grid + checkpoint per epoch', async () => {
    await selectBackend({ prefer: 'wasm' });
    const cfg = config('dcgan', { epochs: 2 });
    const { outcome, seen } = await train(cfg, dir, null, null, 64, ENDS);
    const perEpoch = stepsPerEpoch(cfg, 64);
    expect(perEpoch).toBe(8);
    expect(outcome).toMatchObject({ status: 'completed', step: 16, epoch: 2, error: null });
    expect(outcome.verdict?.text).toBeTruthy();
    expect(seen.steps).toHaveLength(16);
    for (const m of seen.steps) {
      expect(Number.isFinite(m.lossD) && Number.isFinite(m.lossG)).toBe(true);
      expect(m.dReal).toBeGreaterThanOrEqual(0);
      expect(m.dReal).toBeLessThanOrEqual(1);
      expect(m.dFake).toBeGreaterThanOrEqual(0);
      expect(m.dFake).toBeLessThanOrEqual(1);
    }
    expect(seen.epochs).toEqual([1, 2]);
    expect(seen.grids.map((g) => [g.kind, g.epoch, g.step])).toEqual([['epoch', 0, 0], ['epoch', 1, 8], ['epoch', 2, 16]]);
    // Scored before the first step and at the end (this schedule allows no more).
    expect(seen.quality.map((q) => q.step)).toEqual([0, 16]);
    expect(seen.checkpoints.map((c) => c.step)).toEqual([8, 16]);
    const meta = await sharp(seen.grids[0]!.path).metadata();
    expect([meta.width, meta.height]).toEqual([8 * 28 + 9 * 2, 8 * 28 + 9 * 2]);
    expect(meta.channels).toBe(1); // a grayscale model writes grayscale PNGs
    const ckpt = await readCheckpoint<{ step: number; config: TrainConfig }>(seen.checkpoints[1]!.path);
    expect(ckpt.meta.step).toBe(16);
    expect(ckpt.meta.config).toEqual(cfg);
    expect(ckpt.tensors.some((t) => t.name === 'optG/iter')).toBe(true);
  });

  it('k discriminator steps per generator step consume k real batches a step', async () => {
    await selectBackend({ prefer: 'wasm' });
    const cfg = config('gan', { k: 2, epochs: 1 });
    expect(stepsPerEpoch(cfg, 64)).toBe(4);
    const { outcome, seen } = await train(cfg, dir);
    expect(outcome.step).toBe(4);
    expect(seen.checkpoints.map((c) => c.step)).toEqual([4]);
  });

  it('stops on request with a checkpoint at the stop step', async () => {
    await selectBackend({ prefer: 'wasm' });
    const { outcome, seen } = await train(config('dcgan', { epochs: 3 }), dir, null, 3, 64, ENDS);
    expect(outcome).toMatchObject({ status: 'stopped', step: 3 });
    expect(seen.checkpoints.map((c) => c.step)).toEqual([3]);
    // The partial epoch's grid: epoch 1 in progress.
    expect(seen.grids.map((g) => [g.kind, g.epoch, g.step])).toEqual([['epoch', 0, 0], ['final', 1, 3]]);
    expect(seen.quality.at(-1)?.step).toBe(3);
    expect(outcome.verdict?.code).toBe('too-short');
  });

  it('a NaN loss stops the run as diverged and leaves the last good checkpoint untouched', async () => {
    await selectBackend({ prefer: 'wasm' });
    const first = await train(config('dcgan', { steps: 8 }), dir);
    const good = first.seen.checkpoints.at(-1)!;
    const before = await readFile(good.path);
    const cfg = config('dcgan', { steps: 40, lr: 1e30 });
    const { outcome, seen } = await train(cfg, dir, good.path);
    expect(outcome.status).toBe('diverged');
    expect(outcome.error).toMatch(/diverged at step \d+/);
    expect(outcome.error).toContain('last good checkpoint (step 8)');
    expect(seen.checkpoints).toEqual([]);
    expect(Buffer.compare(await readFile(good.path), before)).toBe(0);
  });

  it('a checkpoint that cannot be written fails the run with the reason, keeping earlier files', async () => {
    await selectBackend({ prefer: 'wasm' });
    const trainer = await Trainer.create({ config: config('gan', { steps: 4 }), dataset: syntheticDataset(64, 28, 1), runDir: dir, resumeFrom: null });
    // Make the checkpoint folder unusable (a file where the folder should be): writes fail with ENOTDIR.
    await rm(join(dir, 'checkpoints'), { recursive: true });
    await writeFile(join(dir, 'checkpoints'), 'not a folder');
    const { hooks } = recorder();
    const outcome = await trainer.run(hooks);
    trainer.dispose();
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/could not save a checkpoint/);
    expect((await readdir(join(dir, 'grids'))).length).toBeGreaterThan(0);
  });

  it('draws clock grids between epoch ends, and scores quality on its schedule', async () => {
    await selectBackend({ prefer: 'wasm' });
    // A clock grid after every step (no grid for 0 s), and an evaluation after every step (a budget
    // so large that any evaluation's cost is due again at once).
    const watch: WatchSchedule = { gridFirstSeconds: 0, gridEverySeconds: 0, qualityBudget: 1e9 };
    const { outcome, seen } = await train(config('dcgan', { steps: 6 }), dir, null, null, 64, watch);
    expect(outcome.status).toBe('completed');
    expect(seen.grids.map((g) => [g.kind, g.epoch, g.step])).toEqual([
      ['epoch', 0, 0],
      ...[1, 2, 3, 4, 5].map((step) => ['clock', 1, step]),
      ['final', 1, 6],
    ]);
    expect(seen.grids.every((g) => g.removedSteps.length === 0)).toBe(true);
    expect((await readdir(join(dir, 'grids'))).sort()).toEqual([
      'clock-00000001.png', 'clock-00000002.png', 'clock-00000003.png', 'clock-00000004.png', 'clock-00000005.png',
      'epoch-0000.png', 'final-00000006.png',
    ]);
    expect(seen.quality.map((q) => q.step)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const q of seen.quality) {
      expect(q.score).toBeGreaterThanOrEqual(0);
      expect(q.score).toBeLessThanOrEqual(100);
      expect(q.seconds).toBeGreaterThan(0);
    }
  });

  it('thins clock grids by retiring every other older one, never the newest', () => {
    expect(clockGridsToRetire(100, 100)).toEqual([]);
    expect(clockGridsToRetire(101, 100)).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i + 1));
    expect(clockGridsToRetire(5, 4)).toEqual([1, 3]);
    expect(clockGridsToRetire(4, 3)).toEqual([1]);
  });

  it('trains a conditional DCGAN with one grid column per class', async () => {
    await selectBackend({ prefer: 'wasm' });
    const { outcome, seen } = await train(config('cdcgan', { steps: 2 }), dir);
    expect(outcome.status).toBe('completed');
    const meta = await sharp(seen.grids[0]!.path).metadata();
    expect(meta.width).toBe(4 * 28 + 5 * 2);
  });

  it('refuses a dataset that does not fit the model', async () => {
    await selectBackend({ prefer: 'wasm' });
    await expect(
      Trainer.create({ config: config('dcgan'), dataset: syntheticDataset(8, 32, 1), runDir: dir, resumeFrom: null }),
    ).rejects.toThrow(/dataset is 32x32x1, model expects 28x28x1/);
    await expect(
      Trainer.create({ config: config('cgan'), dataset: syntheticDataset(8, 28, 1, 0), runDir: dir, resumeFrom: null }),
    ).rejects.toThrow(/labelled dataset/);
  });
});
