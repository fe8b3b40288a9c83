import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../../../src/main/core/store/database';
import { RunStore, processIsAlive } from '../../../../src/main/core/store/run-store';
import { TRAIN_DEFAULTS, type StepMetrics, type TrainConfig } from '../../../../src/shared/types';

function sampleConfig(over: Partial<TrainConfig> = {}): TrainConfig {
  return {
    model: { kind: 'cdcgan', size: 32, channels: 3, latent: TRAIN_DEFAULTS.latent, numClasses: 10 },
    data: '/data/cifar-10-batches-bin',
    epochs: 3,
    steps: null,
    batch: 64,
    lr: TRAIN_DEFAULTS.lr,
    beta1: TRAIN_DEFAULTS.beta1,
    beta2: TRAIN_DEFAULTS.beta2,
    k: 2,
    seed: 42,
    name: 'cifar',
    ...over,
  };
}

function metric(step: number, epoch = 0, lossD = 1.3): StepMetrics {
  return { step, epoch, lossD, lossG: 0.7 + step / 1000, dReal: 0.55, dFake: 0.45 };
}

/** The pid of a process that has certainly exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawn gave no pid');
  await new Promise<void>((resolve, reject) => {
    child.once('exit', () => resolve());
    child.once('error', reject);
  });
  return pid;
}

describe('RunStore', () => {
  let home: string;
  let db: Database;
  let store: RunStore;

  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'gan-runs-'));
    db = openDatabase(home);
    store = new RunStore(db);
  });
  afterEach(async () => {
    if (db.open) db.close();
    await rm(home, { recursive: true, force: true });
  });

  it('creates, gets and lists runs (newest first), round-tripping the config', () => {
    const config = sampleConfig();
    const a = store.createRun({ name: 'first', config, pid: process.pid });
    const b = store.createRun({ name: 'second', config: sampleConfig({ steps: 500 }), pid: null });
    expect(a.status).toBe('running');
    expect(a.config).toEqual(config);
    expect(a.step).toBe(0);
    expect(a.epoch).toBe(0);
    expect(a.pid).toBe(process.pid);
    expect(a.backend).toBeNull();
    expect(a.datasetId).toBeNull();
    expect(a.finishedAt).toBeNull();
    expect(a.error).toBeNull();
    expect(Number.isNaN(Date.parse(a.createdAt))).toBe(false);

    expect(store.getRun(a.id)).toEqual(a);
    expect(store.getRun(9999)).toBeNull();
    expect(store.listRuns().map((r) => r.name)).toEqual(['second', 'first']);
    expect(store.listRuns()[0]!.config.steps).toBe(500);
    expect(store.listRuns({ limit: 1 }).map((r) => r.id)).toEqual([b.id]);
  });

  it('records backend and progress', () => {
    const run = store.createRun({ name: 'r', config: sampleConfig(), pid: null });
    store.setBackend(run.id, 'wasm', 'tfjs-node is not installed');
    store.setProgress(run.id, 120, 2);
    const got = store.getRun(run.id)!;
    expect(got.backend).toBe('wasm');
    expect(got.backendReason).toBe('tfjs-node is not installed');
    expect(got.step).toBe(120);
    expect(got.epoch).toBe(2);
  });

  it('setStatus stamps finished_at for terminal statuses and clears it for running', () => {
    const run = store.createRun({ name: 'r', config: sampleConfig(), pid: process.pid });
    store.setStatus(run.id, 'failed', { error: 'out of memory' });
    let got = store.getRun(run.id)!;
    expect(got.status).toBe('failed');
    expect(got.error).toBe('out of memory');
    expect(got.finishedAt).not.toBeNull();
    expect(got.pid).toBeNull();

    store.setStatus(run.id, 'running');
    got = store.getRun(run.id)!;
    expect(got.status).toBe('running');
    expect(got.finishedAt).toBeNull();
    expect(got.error).toBeNull();

    for (const status of ['completed', 'stopped', 'diverged', 'interrupted'] as const) {
      store.setStatus(run.id, status);
      got = store.getRun(run.id)!;
      expect(got.status).toBe(status);
      expect(got.finishedAt).not.toBeNull();
    }
  });

  it('rejects unknown statuses at the database', () => {
    const run = store.createRun({ name: 'r', config: sampleConfig(), pid: null });
    expect(() =>
      db.prepare(`UPDATE runs SET status = 'bogus' WHERE id = ?`).run(run.id),
    ).toThrow(/CHECK/);
  });

  it('claim resumes a run under a new pid and clears the error', async () => {
    const run = store.createRun({ name: 'r', config: sampleConfig(), pid: 1234567 });
    store.setStatus(run.id, 'interrupted', { error: 'gone' });
    const claimed = store.claim(run.id, process.pid);
    expect(claimed.status).toBe('running');
    expect(claimed.pid).toBe(process.pid);
    expect(claimed.error).toBeNull();
    expect(claimed.finishedAt).toBeNull();

    // Refuses to take a run that another live process is training...
    expect(() => store.claim(run.id, process.pid + 1)).toThrow(/already running/);
    // ...but takes one whose owner is dead.
    const dead = await deadPid();
    const other = store.createRun({ name: 'o', config: sampleConfig(), pid: dead });
    expect(store.claim(other.id, process.pid).pid).toBe(process.pid);
    expect(() => store.claim(424242, process.pid)).toThrow(/does not exist/);
  });

  it('appends metrics in one transaction and reads them back ordered by step', () => {
    const run = store.createRun({ name: 'r', config: sampleConfig(), pid: null });
    store.appendMetrics(run.id, [metric(3), metric(1), metric(2)]);
    store.appendMetrics(run.id, []);
    expect(store.metrics(run.id).map((m) => m.step)).toEqual([1, 2, 3]);
    expect(store.metrics(run.id)[0]).toEqual(metric(1));
    expect(store.metricCount(run.id)).toBe(3);

    // One bad row (a NaN step is stored as NULL: NOT NULL fails) rolls the whole batch back.
    const before = store.metrics(run.id).length;
    expect(() =>
      store.appendMetrics(run.id, [metric(10), { ...metric(11), step: Number.NaN }]),
    ).toThrow();
    expect(store.metrics(run.id)).toHaveLength(before);
    expect(() => store.appendMetrics(99999, [metric(1)])).toThrow(/FOREIGN KEY/);
  });

  it('keeps NaN losses (diverged steps) as NaN', () => {
    const run = store.createRun({ name: 'r', config: sampleConfig(), pid: null });
    store.appendMetrics(run.id, [{ ...metric(1), lossD: Number.NaN, lossG: Infinity }]);
    const [m] = store.metrics(run.id);
    expect(Number.isNaN(m!.lossD)).toBe(true);
    expect(m!.lossG).toBe(Infinity);
  });

  it('replaces a repeated step (a resumed run redoing work) instead of failing', () => {
    const run = store.createRun({ name: 'r', config: sampleConfig(), pid: null });
    store.appendMetrics(run.id, [metric(1, 0, 1.0), metric(2, 0, 1.0)]);
    store.appendMetrics(run.id, [metric(2, 0, 0.5), metric(3, 0, 0.5)]);
    const rows = store.metrics(run.id);
    expect(rows.map((m) => m.step)).toEqual([1, 2, 3]);
    expect(rows[1]!.lossD).toBe(0.5);
  });

  it('filters by fromStep and downsamples with every', () => {
    const run = store.createRun({ name: 'r', config: sampleConfig(), pid: null });
    const rows = Array.from({ length: 100 }, (_, i) => metric(i + 1, Math.floor(i / 40)));
    store.appendMetrics(run.id, rows);
    expect(store.metrics(run.id)).toHaveLength(100);
    expect(store.metrics(run.id, { fromStep: 91 }).map((m) => m.step)).toEqual([
      91, 92, 93, 94, 95, 96, 97, 98, 99, 100,
    ]);
    expect(store.metrics(run.id, { every: 25 }).map((m) => m.step)).toEqual([25, 50, 75, 100]);
    expect(store.metrics(run.id, { every: 10, fromStep: 55 }).map((m) => m.step)).toEqual([
      60, 70, 80, 90, 100,
    ]);
    expect(store.metrics(run.id, { every: 1 })).toHaveLength(100);
    expect(store.metrics(run.id, { every: 0 })).toHaveLength(100);
  });

  it('records epochs, grids and checkpoints', () => {
    const run = store.createRun({ name: 'r', config: sampleConfig(), pid: null });
    store.recordEpoch(run.id, { epoch: 2, step: 200, seconds: 10.5, imagesPerSec: 1220 });
    store.recordEpoch(run.id, { epoch: 1, step: 100, seconds: 11, imagesPerSec: 1164.2 });
    store.recordEpoch(run.id, { epoch: 2, step: 200, seconds: 9.5, imagesPerSec: 1347 });
    expect(store.epochs(run.id)).toEqual([
      { epoch: 1, step: 100, seconds: 11, imagesPerSec: 1164.2 },
      { epoch: 2, step: 200, seconds: 9.5, imagesPerSec: 1347 },
    ]);

    store.addGrid({ runId: run.id, epoch: 1, step: 100, kind: 'epoch', path: 'runs/1/grids/epoch-1.png' });
    store.addGrid({ runId: run.id, epoch: 0, step: 0, kind: 'epoch', path: 'runs/1/grids/epoch-0.png' });
    store.addGrid({ runId: run.id, epoch: 1, step: 40, kind: 'clock', path: 'runs/1/grids/clock-40.png' });
    expect(store.grids(run.id).map((g) => g.step)).toEqual([0, 40, 100]);
    expect(store.grids(run.id)[2]).toEqual({
      runId: run.id,
      epoch: 1,
      step: 100,
      kind: 'epoch',
      path: 'runs/1/grids/epoch-1.png',
    });
    expect(store.removeGrid(run.id, 40)).toBe(true);
    expect(store.removeGrid(run.id, 40)).toBe(false);
    expect(store.grids(run.id).map((g) => g.kind)).toEqual(['epoch', 'epoch']);

    expect(store.latestCheckpoint(run.id)).toBeNull();
    const cp = (step: number, epoch: number) => ({
      runId: run.id,
      step,
      epoch,
      path: `runs/1/checkpoints/step-${step}`,
      createdAt: new Date(2024, 0, 1, 0, 0, step).toISOString(),
    });
    store.addCheckpoint(cp(200, 2));
    store.addCheckpoint(cp(100, 1));
    expect(store.checkpoints(run.id).map((c) => c.step)).toEqual([100, 200]);
    expect(store.latestCheckpoint(run.id)).toEqual(cp(200, 2));
    expect(store.removeCheckpoint(run.id, 200)).toBe(true);
    expect(store.removeCheckpoint(run.id, 200)).toBe(false);
    expect(store.latestCheckpoint(run.id)).toEqual(cp(100, 1));
  });

  it('records quality points, one warning per code (first step kept) and the verdict', () => {
    const run = store.createRun({ name: 'q', config: sampleConfig(), pid: null });
    store.addQuality(run.id, { step: 50, score: 40, distance: 0.2, variety: 0.8, copied: 0.01, duplicates: 0, seconds: 0.3 });
    store.addQuality(run.id, { step: 0, score: 2, distance: 1.1, variety: 0.1, copied: 0, duplicates: 0, seconds: 0.4 });
    store.addQuality(run.id, { step: 90, score: Number.NaN, distance: Number.POSITIVE_INFINITY, variety: 1, copied: 0, duplicates: 0, seconds: 0.3 });
    expect(store.quality(run.id).map((q) => q.step)).toEqual([0, 50, 90]);
    expect(store.quality(run.id)[1]).toEqual({ step: 50, score: 40, distance: 0.2, variety: 0.8, copied: 0.01, duplicates: 0, seconds: 0.3 });
    // Non-finite figures (a NaN sample set) are kept as 0 rather than failing the insert.
    expect(store.quality(run.id)[2]).toMatchObject({ score: 0, distance: 0 });

    store.putWarning(run.id, { code: 'd-overpowering', step: 30, lastStep: 30, message: 'first', advice: 'try', pairPath: null });
    store.putWarning(run.id, { code: 'memorisation', step: 60, lastStep: 60, message: 'copies', advice: 'more data', pairPath: '/p/pair.png' });
    store.putWarning(run.id, { code: 'd-overpowering', step: 80, lastStep: 80, message: 'again', advice: 'try', pairPath: null });
    expect(store.warnings(run.id)).toEqual([
      { code: 'd-overpowering', step: 30, lastStep: 80, message: 'again', advice: 'try', pairPath: null },
      { code: 'memorisation', step: 60, lastStep: 60, message: 'copies', advice: 'more data', pairPath: '/p/pair.png' },
    ]);

    expect(store.getRun(run.id)!.verdict).toBeNull();
    const verdict = { code: 'improving' as const, text: 'varied samples, still improving (quality 61)', step: 90, score: 61 };
    store.setVerdict(run.id, verdict);
    expect(store.getRun(run.id)!.verdict).toEqual(verdict);
    expect(store.listRuns()[0]!.verdict).toEqual(verdict);
    store.setVerdict(run.id, null);
    expect(store.getRun(run.id)!.verdict).toBeNull();
  });

  it('deleting a run cascades to its metrics, epochs, grids and checkpoints', () => {
    const keep = store.createRun({ name: 'keep', config: sampleConfig(), pid: null });
    const run = store.createRun({ name: 'gone', config: sampleConfig(), pid: null });
    for (const id of [keep.id, run.id]) {
      store.appendMetrics(id, [metric(1), metric(2)]);
      store.recordEpoch(id, { epoch: 1, step: 2, seconds: 1, imagesPerSec: 1 });
      store.addGrid({ runId: id, epoch: 1, step: 2, kind: 'epoch', path: 'g.png' });
      store.addQuality(id, { step: 2, score: 50, distance: 0.1, variety: 0.9, copied: 0, duplicates: 0, seconds: 0.2 });
      store.putWarning(id, { code: 'plateau', step: 2, lastStep: 2, message: 'm', advice: 'a', pairPath: null });
      store.addCheckpoint({ runId: id, step: 2, epoch: 1, path: 'c', createdAt: 'x' });
    }
    expect(store.deleteRun(run.id)).toBe(true);
    expect(store.deleteRun(run.id)).toBe(false);
    expect(store.getRun(run.id)).toBeNull();
    for (const table of ['metrics', 'epochs', 'grids', 'checkpoints', 'quality', 'warnings']) {
      const count = (id: number) =>
        (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE run_id = ?`).get(id) as { n: number })
          .n;
      expect(count(run.id), table).toBe(0);
      expect(count(keep.id), table).toBeGreaterThan(0);
    }
    // Ids are never reused, so a new run cannot inherit a deleted run's folder.
    const next = store.createRun({ name: 'next', config: sampleConfig(), pid: null });
    expect(next.id).toBeGreaterThan(run.id);
  });

  it('markInterrupted marks runs whose process is gone, and leaves live ones running', async () => {
    const dead = await deadPid();
    expect(processIsAlive(dead)).toBe(false);
    expect(processIsAlive(process.pid)).toBe(true);

    const live = store.createRun({ name: 'live', config: sampleConfig(), pid: process.pid });
    const orphan = store.createRun({ name: 'orphan', config: sampleConfig(), pid: dead });
    const noPid = store.createRun({ name: 'nopid', config: sampleConfig(), pid: null });
    const done = store.createRun({ name: 'done', config: sampleConfig(), pid: dead });
    store.setStatus(done.id, 'completed');

    const changed = store.markInterrupted(processIsAlive);
    expect(changed.sort((x, y) => x - y)).toEqual([orphan.id, noPid.id]);

    expect(store.getRun(live.id)!.status).toBe('running');
    expect(store.getRun(live.id)!.pid).toBe(process.pid);
    const o = store.getRun(orphan.id)!;
    expect(o.status).toBe('interrupted');
    expect(o.error).toContain(`pid ${dead}`);
    expect(o.error).toContain('ended without finishing');
    expect(o.finishedAt).not.toBeNull();
    expect(store.getRun(noPid.id)!.status).toBe('interrupted');
    expect(store.getRun(done.id)!.status).toBe('completed');

    // Nothing left to mark.
    expect(store.markInterrupted(processIsAlive)).toEqual([]);
  });

  it('processIsAlive treats non-positive and non-integer pids as dead', () => {
    expect(processIsAlive(0)).toBe(false);
    expect(processIsAlive(-1)).toBe(false);
    expect(processIsAlive(1.5)).toBe(false);
  });
});
