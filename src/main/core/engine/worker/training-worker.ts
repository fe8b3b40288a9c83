// The training worker: a worker_threads entry. It picks the backend, loads the data, and once the
// host has recorded the run ('begin'), trains and reports every step, epoch, grid and checkpoint.
// Beside each checkpoint it keeps a generator-only snapshot (generator-snapshot.ts), so galleries
// can be drawn again at any epoch after the trainer has retired that epoch's full checkpoint.
// The host's thread (Electron's main loop, the web server, the CLI) never runs a training step.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import type { ImageDataset, TrainConfig } from '../../../../shared/types';
import { isDataError } from '../../data/data-error';
import { DataError } from '../../data/data-error';
import { readDatasetCache } from '../../data/dataset-cache';
import { loadImageDataset, type LoadResult } from '../../data/dataset-loader';
import { selectBackend } from '../backend/backends';
import { snapshotsDir, writeGeneratorSnapshot } from '../../formats/generator-snapshot';
import { isConditional } from '../../../../shared/models';
import { stepsPerEpoch, totalSteps, Trainer, describeError, type ControlSignal } from '../ml/trainer';
import type { HostToWorker, TrainingBegin, TrainingJob, WorkerToHost } from './worker-protocol';

if (!parentPort) throw new Error('training-worker must run in a worker thread');
const port = parentPort;
const send = (message: WorkerToHost) => port.postMessage(message);

let paused = false;
let stopRequested = false;
let wake: (() => void) | null = null;
let beginResolve: ((begin: TrainingBegin | null) => void) | null = null;
let peakRss = process.memoryUsage().rss;
/** The snapshot of the last checkpoint while it is being written; a failure is kept to be reported. */
let snapshot: Promise<void> | null = null;

port.on('message', (message: HostToWorker) => {
  switch (message.type) {
    case 'job':
      void runJob(message.job);
      break;
    case 'begin':
      beginResolve?.(message.begin);
      break;
    case 'cancel':
      beginResolve?.(null);
      break;
    case 'pause':
      paused = true;
      break;
    case 'resume':
      paused = false;
      wake?.();
      break;
    case 'stop':
      stopRequested = true;
      wake?.();
      break;
  }
});

/**
 * Starts the snapshot of a checkpoint the trainer just wrote. It is awaited before the next step
 * (see control), so it always reads the file before the trainer can retire it.
 */
function startSnapshot(checkpointPath: string, runDir: string): void {
  const previous = snapshot ?? Promise.resolve();
  snapshot = previous.then(async () => {
    // A checkpoint retired at once (keepCheckpoints 0) leaves nothing to take a snapshot of.
    if (!existsSync(checkpointPath)) return;
    try {
      await writeGeneratorSnapshot(checkpointPath, snapshotsDir(runDir));
    } catch (err) {
      throw new Error(`could not save a generator snapshot in ${snapshotsDir(runDir)}: ${describeError(err)}`);
    }
  });
  // Reported where it is awaited; never an unhandled rejection.
  snapshot.catch(() => undefined);
}

/** Waits for a pending snapshot; throws (failing the run, like a checkpoint that cannot be saved) if it failed. */
async function snapshotWritten(): Promise<void> {
  const pending = snapshot;
  snapshot = null;
  if (pending) await pending;
}

async function control(): Promise<ControlSignal> {
  await snapshotWritten();
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  // Yield to the event loop so pause/stop messages are seen between steps.
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (paused && !stopRequested) {
    send({ type: 'paused' });
    while (paused && !stopRequested) await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
    if (!stopRequested) send({ type: 'resumed' });
  }
  return stopRequested ? 'stop' : 'continue';
}

async function runJob(job: TrainingJob): Promise<void> {
  let dataset: ImageDataset;
  let config: TrainConfig = job.config;
  try {
    send({ type: 'backend', info: await selectBackend({ prefer: job.backend }) });
  } catch (err) {
    send({ type: 'setup-failed', kind: 'config', message: describeError(err) });
    return;
  }
  try {
    const conditional = isConditional(config.model.kind);
    const loaded = job.cachePath
      ? await loadCachedDataset(job.cachePath, config, job.limit)
      : await loadImageDataset(config.data, {
          size: config.model.size,
          channels: config.model.channels,
          labels: job.labels || conditional,
          limit: job.limit ?? undefined,
        });
    dataset = loaded.dataset;
    if (conditional) {
      if (!dataset.labels || dataset.classNames.length < 2) {
        throw new Error(
          `${config.model.kind} is a conditional model and needs labelled data with at least 2 classes: ` +
            'an image folder with one subfolder per class, or IDX images with their labels file beside them',
        );
      }
      config = { ...config, model: { ...config.model, numClasses: dataset.classNames.length, classNames: dataset.classNames } };
    }
    send({
      type: 'ready',
      data: {
        count: dataset.count,
        size: dataset.height,
        channels: dataset.channels,
        classNames: dataset.classNames,
        labelled: dataset.labels !== null,
        source: dataset.source,
        format: loaded.format,
        skipped: loaded.skipped,
        stepsPerEpoch: stepsPerEpoch(config, dataset.count),
        totalSteps: totalSteps(config, dataset.count),
        batch: Math.min(config.batch, dataset.count),
      },
    });
  } catch (err) {
    send({ type: 'setup-failed', kind: isDataError(err) ? 'data' : 'config', message: describeError(err) });
    return;
  }

  if (job.measureSteps) {
    await measure(config, dataset, job.measureSteps);
    return;
  }

  const begin = await new Promise<TrainingBegin | null>((resolve) => (beginResolve = resolve));
  beginResolve = null;
  if (!begin) return;

  let trainer: Trainer;
  try {
    trainer = await Trainer.create({
      config: begin.config,
      dataset,
      runDir: begin.runDir,
      resumeFrom: begin.resumeFrom,
      keepCheckpoints: begin.keepCheckpoints,
      earlier: begin.earlier,
    });
  } catch (err) {
    send({ type: 'done', status: 'failed', step: 0, epoch: 0, error: describeError(err), verdict: null, memory: { peakRssBytes: peakRss } });
    return;
  }
  send({ type: 'started', step: trainer.currentStep, totalSteps: trainer.totalSteps, ...trainer.modelSummary });
  let outcome = await trainer.run({
    onStep: (metrics) => send({ type: 'step', metrics }),
    onEpoch: (summary) => send({ type: 'epoch', summary }),
    onGrid: (grid) => send({ type: 'grid', ...grid }),
    onQuality: (point) => send({ type: 'quality', point }),
    onWarning: (warning) => send({ type: 'warning', warning }),
    onCheckpoint: (checkpoint) => {
      send({ type: 'checkpoint', ...checkpoint });
      startSnapshot(checkpoint.path, begin.runDir);
    },
    control,
  });
  trainer.dispose();
  try {
    await snapshotWritten();
  } catch (err) {
    // A run that diverged or failed keeps that error; one that would end well fails instead.
    if (outcome.status === 'completed' || outcome.status === 'stopped') outcome = { ...outcome, status: 'failed', error: describeError(err) };
  }
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  send({ type: 'done', ...outcome, memory: { peakRssBytes: peakRss } });
}

/**
 * A measurement's warm-up: at least this many steps and this long (V8 optimises tfjs's JavaScript
 * over a DCGAN-28 run's first ~10 steps, so the first steps are several times slower than the rest).
 */
const MEASURE_WARMUP_STEPS = 5;
const MEASURE_WARMUP_MS = 2000;
/** Then at least the asked-for steps and this long, at most MEASURE_MAX_STEPS. */
const MEASURE_MIN_MS = 1000;
const MEASURE_MAX_STEPS = 50;

/** Times `steps` training steps of `config` on `dataset` in a scratch folder; reports 'measured', then 'done'. */
async function measure(config: TrainConfig, dataset: ImageDataset, steps: number): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'gan-studio-measure-'));
  let trainer: Trainer | null = null;
  try {
    trainer = await Trainer.create({ config, dataset, runDir: scratch, resumeFrom: null, keepCheckpoints: 0 });
    const warm0 = performance.now();
    for (let i = 0; i < MEASURE_WARMUP_STEPS || performance.now() - warm0 < MEASURE_WARMUP_MS; i++) await trainer.trainStep();
    const times: number[] = [];
    const t0 = performance.now();
    while (times.length < MEASURE_MAX_STEPS && (times.length < steps || performance.now() - t0 < MEASURE_MIN_MS)) {
      const t = performance.now();
      await trainer.trainStep();
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    send({ type: 'measured', msPerStep: times[Math.floor(times.length / 2)]!, steps: times.length });
    send({ type: 'done', status: 'completed', step: 0, epoch: 0, error: null, verdict: null, memory: { peakRssBytes: peakRss } });
  } catch (err) {
    send({ type: 'done', status: 'failed', step: 0, epoch: 0, error: describeError(err), verdict: null, memory: { peakRssBytes: peakRss } });
  } finally {
    trainer?.dispose();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** An imported dataset's cache file, which must already be at the model's size and channels. */
async function loadCachedDataset(file: string, config: TrainConfig, limit: number | null): Promise<LoadResult> {
  const { dataset, meta } = await readDatasetCache(file, { limit: limit ?? undefined });
  const { size, channels } = config.model;
  if (dataset.height !== size || dataset.width !== size || dataset.channels !== channels) {
    throw new DataError(
      `dataset "${config.data}" holds ${dataset.width}x${dataset.height}x${dataset.channels} images; ` +
        `the model needs ${size}x${size}x${channels}`,
    );
  }
  if (dataset.count === 0) throw new DataError(`dataset "${config.data}" holds no images`);
  return { dataset, skipped: [], format: meta.format };
}
