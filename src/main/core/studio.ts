// Studio: the one service facade every host (Electron, `gan-studio serve`, the CLI) drives.
// It owns the home folder, the SQLite store and the training workers; hosts stay thin adapters.
import { EventEmitter } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { BackendInfo, BackendName, CheckpointRecord, EpochSummary, GridRecord, ImageSize, ModelConfig, QualityPoint, RunRecord, RunWarning, StepMetrics, TrainConfig } from '../../shared/types';
import { IMAGE_SIZES, MODEL_NAME_PATTERN, RESUMABLE_STATUSES } from '../../shared/types';
import { TRAIN_LIMITS, type PlannedSettings } from '../../shared/training-defaults';
import { describePlan, planTraining, type PlanChoices, type TrainingPlan } from '../../shared/training-plan';
import { isDataError } from './data/data-error';
import { DatasetConflictError, DatasetImporter, type ImportProgressEvent, type ImportRequest, type ImportSummary } from './data/dataset-importer';
import { selectBackend } from './engine/backend/backends';
import { LoadedGenerator } from './engine/ml/generator';
import { EXPORT_FILES, loadGeneratorExport, readSidecarSync, sidecarConfig, writeGeneratorExport, type GeneratorSidecar } from './engine/ml/export';
import { encodeGif, encodeGifFromPngs, spreadFrames, TIMELINE_GIF_MAX_FRAMES, tileGrid, encodePng, writeFileAtomic, writeGridPng, writeImagePngs, type ImageBatch } from './images/image-grid';
import { combine, formatExpression, interpolate, meanLatent, parseExpression, seededLatent, type InterpolationMode, type Latent } from './engine/ml/latent';
import { isConditional, validateModelConfig } from '../../shared/models';
import { SetupError, TrainingSession, type TrainingSessionEvents } from './engine/worker/training-session';
import type { DataReady } from './engine/worker/worker-protocol';
import { ensureHome, modelsDir, runDir } from './home';
import { openDatabase, type Database } from './store/database';
import { DatasetStore, type StoredDataset } from './store/dataset-store';
import { GalleryStore, type GallerySummaryRecord } from './store/gallery-store';
import { ModelStore, type StoredModel } from './store/model-store';
import {
  GalleryService,
  type CreateGalleryRequest,
  type Gallery,
  type GeneratorCheckpoint,
  type RegeneratedImage,
  type SavedGallery,
  type SaveGalleryRequest,
} from './gallery-service';
import { processIsAlive, RunStore } from './store/run-store';
import { classIndex, freeName } from './naming';
import { StudioError } from './studio-error';
import { LatentLab, type LabArithmeticRequest, type LabArithmeticResult, type LabInterpolateRequest, type LabInterpolateResult } from './latent-lab';

export { StudioError } from './studio-error';

export interface TrainRequest {
  /** A new run's config; ignored when `resume` is set. */
  config?: TrainConfig;
  /** Continue this run from its latest checkpoint. */
  resume?: number;
  /** On resume: a new total length (the run goes on until then). */
  epochs?: number;
  steps?: number | null;
  backend?: BackendName | 'auto';
  /** Use only the first N images (quick looks, tests). */
  limit?: number | null;
  /** For image folders: subfolders are classes. Conditional models always use labels. */
  labels?: boolean;
  keepCheckpoints?: number;
  /**
   * When config.data names an imported dataset: take the dataset's own size / channels instead
   * of the config's (the CLI sets these when --size / --channels were not given).
   */
  shapeFromDataset?: { size?: boolean; channels?: boolean };
  /**
   * A new run: which of config's batch, length (epochs/steps), augment and ema were not given and
   * are to be chosen by the training plan from the data's size (see shared/training-plan.ts).
   * Absent: the config is taken as it is.
   */
  planned?: Partial<PlannedSettings>;
}

/** `training:plan`: a new run's config as train would get it (placeholders where `planned` says so). */
export interface PlanPreviewRequest {
  config: TrainConfig;
  planned: NonNullable<TrainRequest['planned']>;
  shapeFromDataset?: { size?: boolean; channels?: boolean };
  limit?: number | null;
  /** Time a few steps now when no earlier run gives a step time (takes seconds). */
  measure?: boolean;
}

export interface PlanPreview {
  /** Images the run would train on. */
  count: number;
  plan: TrainingPlan;
  /** The config the run would be recorded with. */
  config: TrainConfig;
  msPerStep: number | null;
  /** Where the step time comes from: 'run N' (an earlier run like it) or 'measured' (timed now). */
  estimateSource: string | null;
  /** The whole plan's estimated training time. */
  seconds: number | null;
  /** The plan in words (describePlan). */
  text: string;
}

/** Steps a plan preview's measurement times (after its warm-up). */
const MEASURE_STEPS = 3;

/** The training plan for `config` on `count` images, keeping what `planned` does not name as given. */
export function planFor(config: TrainConfig, count: number, planned: NonNullable<TrainRequest['planned']>): TrainingPlan {
  const choices: PlanChoices = {};
  if (!planned.batch) choices.batch = config.batch;
  if (!planned.length) {
    if (config.steps !== null) choices.steps = config.steps;
    else choices.epochs = config.epochs;
  }
  if (!planned.augment) choices.augment = config.augment ?? false;
  if (!planned.ema) choices.ema = config.ema ?? false;
  return planTraining({ count, k: config.k, ...choices });
}

/** config with a plan's choices in it. */
export function applyPlan(config: TrainConfig, plan: TrainingPlan): TrainConfig {
  const length = plan.planned.length
    ? { steps: plan.steps, epochs: Math.max(1, Math.ceil(plan.epochs)) }
    : { steps: config.steps, epochs: config.epochs };
  return { ...config, batch: plan.batch, ...length, augment: plan.augment, ema: plan.ema };
}

/** What a TrainingHandle relays from its worker session (the session's own set-up events aside). */
export type TrainingEvents = Omit<TrainingSessionEvents, 'backend' | 'started'>;

export interface TrainingResult {
  run: RunRecord;
  peakRssBytes: number;
}

export class TrainingHandle extends EventEmitter<TrainingEvents> {
  constructor(
    readonly run: RunRecord,
    readonly data: DataReady,
    readonly backend: BackendInfo,
    readonly startStep: number,
    readonly totalSteps: number,
    private readonly session: TrainingSession,
    readonly done: Promise<TrainingResult>,
    /** A new run's training plan (null on resume). */
    readonly plan: TrainingPlan | null = null,
  ) {
    super();
  }
  pause(): void {
    this.session.pause();
  }
  resume(): void {
    this.session.resume();
  }
  stop(): void {
    this.session.stop();
  }
}

/** `generate`: from a run's latest checkpoint (`runId`) or a model (`model`: an imported name or an export folder). */
export interface GenerateRequest extends GeneratorSource {
  count: number;
  outDir: string;
  grid?: boolean;
  seed?: number;
  /** A class (index or name) for conditional models: all images of that class; default: cycle through classes. */
  classLabel?: number | string | null;
}

/** A run with everything the store holds for it (absolute paths); hosts map it to the contract's RunDetails. */
export interface StoredRunDetails {
  run: RunRecord;
  epochs: EpochSummary[];
  /** The sample timeline, by step. */
  grids: GridRecord[];
  checkpoints: CheckpointRecord[];
  quality: QualityPoint[];
  warnings: RunWarning[];
  /** Training in this process now. */
  active: boolean;
  /** Not active, and a checkpoint file exists to continue from. */
  resumable: boolean;
  metricCount: number;
}

export interface RunMetrics {
  runId: number;
  points: StepMetrics[];
  every: number;
  total: number;
}

export interface StudioInfo {
  home: string;
  version: string;
  node: string;
  platform: string;
  backend: BackendInfo;
  runs: number;
}

const METRICS_FLUSH_MS = 250;

export class Studio {
  readonly runs: RunStore;
  readonly datasets: DatasetStore;
  readonly galleryStore: GalleryStore;
  readonly models: ModelStore;
  private readonly galleries: GalleryService;
  private readonly lab: LatentLab;
  private readonly active = new Map<number, TrainingHandle>();
  /** Step times measured for plan previews, by config (model, batch, remedies, backend). */
  private readonly measuredSteps = new Map<string, number>();
  /** The backend the last training worker (or a probe) reported; null until one did. */
  private lastBackend: BackendInfo | null = null;

  private constructor(
    readonly home: string,
    private readonly db: Database,
  ) {
    this.runs = new RunStore(db);
    this.datasets = new DatasetStore(db);
    this.galleryStore = new GalleryStore(db);
    this.models = new ModelStore(db);
    this.galleries = new GalleryService(home, this.runs, this.models, this.galleryStore);
    this.lab = new LatentLab(home, this.galleries, this.galleryStore);
  }

  /**
   * Opens (creating if needed) the studio in `home`; runs left `running` by a dead process become
   * `interrupted`, and model folders imported before models were recorded get their rows.
   */
  static open(home: string): Studio {
    ensureHome(home);
    const studio = new Studio(home, openDatabase(home));
    studio.runs.markInterrupted((pid) => processIsAlive(pid));
    studio.recordUnlistedModels();
    return studio;
  }

  close(): void {
    this.db.close();
  }

  async info(version: string): Promise<StudioInfo> {
    return {
      home: this.home,
      version,
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
      backend: await selectBackend({ prefer: 'auto' }),
      runs: this.runs.listRuns().length,
    };
  }

  /**
   * A training step's time on this machine for a config like `config` (same model, size,
   * channels, batch, k, augmentation, backend), from the epochs of earlier runs: the median
   * over the newest such run's epochs. Null when no run like it has finished an epoch here.
   */
  stepTimeEstimate(config: TrainConfig, backend: string | null): { msPerStep: number; runId: number } | null {
    const same = (c: TrainConfig) =>
      c.model.kind === config.model.kind && c.model.size === config.model.size && c.model.channels === config.model.channels &&
      c.batch === config.batch && c.k === config.k && Boolean(c.augment) === Boolean(config.augment) && Boolean(c.ema) === Boolean(config.ema);
    for (const run of this.runs.listRuns({ limit: 200 })) {
      if ((backend !== null && run.backend !== backend) || !same(run.config)) continue;
      const rates = this.runs.epochs(run.id).map((e) => e.imagesPerSec).filter((r) => Number.isFinite(r) && r > 0).sort((a, b) => a - b);
      if (rates.length === 0) continue;
      const median = rates[Math.floor(rates.length / 2)]!;
      return { msPerStep: (1000 * run.config.batch * run.config.k) / median, runId: run.id };
    }
    return null;
  }

  /**
   * The plan a new run on an imported dataset would get (training:plan, the Train page's preview):
   * what `train` would choose for what the request leaves out, in words, with a step time from
   * earlier runs like it or, with `measure`, from a few steps timed now in a worker (cached).
   */
  async planPreview(request: PlanPreviewRequest): Promise<PlanPreview> {
    const dataset = this.datasets.findByName(request.config.data);
    if (!dataset) throw new StudioError(`there is no imported dataset "${request.config.data}"; a plan preview needs one`, 'not-found');
    let config = fitConfigToDataset(request.config, dataset, request.shapeFromDataset ?? {});
    const count = Math.min(dataset.count, request.limit ?? Number.POSITIVE_INFINITY);
    const plan = planFor(config, count, request.planned);
    config = applyPlan(config, plan);
    validateTrainConfig(config);
    // The backend the last worker reported (none is loaded on this thread for a preview).
    const backend = this.lastBackend?.name ?? null;
    let estimate: { msPerStep: number; source: string } | null = null;
    const past = this.stepTimeEstimate(config, backend);
    const key = JSON.stringify([config.model.kind, config.model.size, config.model.channels, config.batch, config.k, config.augment, config.ema]);
    if (past) estimate = { msPerStep: past.msPerStep, source: `run ${past.runId}` };
    else if (this.measuredSteps.has(key)) estimate = { msPerStep: this.measuredSteps.get(key)!, source: 'measured' };
    else if (request.measure) {
      const msPerStep = await this.measureStep(config, dataset.cachePath!);
      this.measuredSteps.set(key, msPerStep);
      estimate = { msPerStep, source: 'measured' };
    }
    return {
      count,
      plan,
      config,
      msPerStep: estimate?.msPerStep ?? null,
      estimateSource: estimate?.source ?? null,
      seconds: estimate ? (plan.steps * estimate.msPerStep) / 1000 : null,
      text: describePlan(plan, count, estimate?.msPerStep),
    };
  }

  /** A few training steps of `config` timed in a worker (nothing recorded): the median ms a step. */
  private async measureStep(config: TrainConfig, cachePath: string): Promise<number> {
    const session = new TrainingSession({ config, backend: 'auto', limit: config.limit ?? null, labels: config.labels ?? false, cachePath, measureSteps: MEASURE_STEPS });
    let measured: number | null = null;
    session.once('measured', (m) => (measured = m.msPerStep));
    session.once('backend', (info) => (this.lastBackend = info));
    try {
      await session.ready();
    } catch (err) {
      if (err instanceof SetupError) throw new StudioError(err.message, err.kind === 'data' ? 'data' : 'invalid');
      throw err;
    }
    const done = await session.done;
    if (measured === null) throw new StudioError(`could not time a training step: ${done.error ?? 'the worker ended without a result'}`, 'internal');
    return measured;
  }

  listRuns(): RunRecord[] {
    return this.runs.listRuns();
  }

  getRun(id: number): RunRecord {
    const run = this.runs.getRun(id);
    if (!run) throw new StudioError(`there is no run ${id}`, 'not-found');
    return run;
  }

  /**
   * Starts (or resumes) a run in a training worker. Resolves once the data is loaded and the run
   * is recorded; rejects with a StudioError, writing nothing, when the data or config is unusable.
   */
  async train(request: TrainRequest): Promise<TrainingHandle> {
    let config: TrainConfig;
    let resumeFrom: string | null = null;
    let resumeStep = 0;
    let existing: RunRecord | null = null;
    if (request.resume !== undefined) {
      existing = this.getRun(request.resume);
      if (existing.status === 'running') throw new StudioError(`run ${existing.id} is already running (pid ${existing.pid})`, 'conflict');
      const checkpoint = this.runs.latestCheckpoint(existing.id);
      if (!checkpoint || !existsSync(checkpoint.path)) {
        throw new StudioError(`run ${existing.id} has no checkpoint to resume from`, 'conflict');
      }
      resumeFrom = checkpoint.path;
      resumeStep = checkpoint.step;
      config = { ...existing.config };
      if (request.steps !== undefined && request.steps !== null) config = { ...config, steps: request.steps };
      else if (request.epochs !== undefined) config = { ...config, epochs: request.epochs, steps: null };
      if (!RESUMABLE_STATUSES.includes(existing.status) && existing.status !== 'diverged' && existing.status !== 'failed') {
        throw new StudioError(`run ${existing.id} is ${existing.status} and cannot be resumed`, 'conflict');
      }
    } else {
      if (!request.config) throw new StudioError('a new run needs a config');
      // The data selection is part of the run, so a resume trains on the same images.
      config = { ...request.config, limit: request.limit ?? null, labels: request.labels ?? false };
      validateTrainConfig(config);
    }
    if (existing && request.limit !== undefined && request.limit !== null) config = { ...config, limit: request.limit };

    // `--data NAME`: an imported dataset, loaded from its cache (no decoding) by the worker.
    const dataset = this.datasetForData(config.data);
    if (dataset) {
      config = fitConfigToDataset(config, dataset, existing ? {} : (request.shapeFromDataset ?? {}));
      if (!existing) validateTrainConfig(config);
    }

    const session = new TrainingSession({
      config,
      backend: request.backend ?? 'auto',
      limit: config.limit ?? null,
      labels: config.labels ?? false,
      cachePath: dataset?.cachePath ?? null,
    });
    let backend: BackendInfo | null = null;
    session.once('backend', (info) => (backend = info));
    let data: DataReady;
    try {
      data = await session.ready();
    } catch (err) {
      if (err instanceof SetupError) throw new StudioError(err.message, err.kind === 'data' ? 'data' : 'invalid');
      throw err;
    }
    if (isConditional(config.model.kind)) {
      config = { ...config, model: { ...config.model, numClasses: data.classNames.length, classNames: data.classNames } };
    }
    let plan: TrainingPlan | null = null;
    if (!existing && request.planned) {
      plan = planFor(config, data.count, request.planned);
      config = applyPlan(config, plan);
      try {
        validateTrainConfig(config);
      } catch (err) {
        session.cancel();
        throw err;
      }
      data = { ...data, batch: Math.min(config.batch, data.count), stepsPerEpoch: plan.stepsPerEpoch, totalSteps: plan.steps };
    }
    const info = backend as BackendInfo | null;
    if (!info) {
      session.cancel();
      throw new StudioError('the training worker did not report its backend', 'internal');
    }

    let run: RunRecord;
    if (existing) {
      if (existing.config.model.numClasses !== config.model.numClasses) {
        session.cancel();
        throw new StudioError(`the data now has ${config.model.numClasses} classes; run ${existing.id} was trained on ${existing.config.model.numClasses}`, 'data');
      }
      run = this.runs.claim(existing.id, process.pid);
      this.runs.updateConfig(existing.id, config);
    } else {
      run = this.runs.createRun({ name: config.name, config, pid: process.pid, datasetId: dataset?.id ?? null });
    }
    this.runs.setBackend(run.id, info.name, info.reason);
    this.lastBackend = info;
    const dir = runDir(this.home, run.id);
    mkdirSync(dir, { recursive: true });

    const done = this.follow(run.id, session, data.stepsPerEpoch);
    // A resumed run's health monitor continues from what its earlier sessions recorded.
    const earlier = existing ? { warnings: this.runs.warnings(run.id), quality: this.runs.quality(run.id) } : undefined;
    if (existing) this.runs.setVerdict(run.id, null);
    session.begin({ runId: run.id, runDir: dir, config, resumeFrom, keepCheckpoints: request.keepCheckpoints ?? 3, earlier });
    const handle = new TrainingHandle(this.getRun(run.id), data, info, resumeStep, data.totalSteps, session, done, plan);
    for (const event of ['step', 'epoch', 'grid', 'quality', 'warning', 'checkpoint', 'paused', 'resumed'] as const) {
      session.on(event, (...args: unknown[]) => (handle.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args));
    }
    this.active.set(run.id, handle);
    void done.finally(() => this.active.delete(run.id));
    return handle;
  }

  /** Records a run's progress as the worker reports it; resolves with the final record. */
  private follow(runId: number, session: TrainingSession, stepsPerEpoch: number): Promise<TrainingResult> {
    let pending: StepMetrics[] = [];
    let lastFlush = Date.now();
    const flush = () => {
      if (pending.length === 0) return;
      this.runs.appendMetrics(runId, pending);
      const last = pending[pending.length - 1]!;
      this.runs.setProgress(runId, last.step, Math.floor(last.step / stepsPerEpoch));
      pending = [];
      lastFlush = Date.now();
    };
    session.on('step', (metrics) => {
      pending.push(metrics);
      if (Date.now() - lastFlush >= METRICS_FLUSH_MS) flush();
    });
    session.on('epoch', (summary) => {
      flush();
      this.runs.recordEpoch(runId, summary);
      this.runs.setProgress(runId, summary.step, summary.epoch);
    });
    session.on('grid', (grid) => {
      for (const step of grid.removedSteps) this.runs.removeGrid(runId, step);
      this.runs.addGrid({ runId, epoch: grid.epoch, step: grid.step, kind: grid.kind, path: grid.path });
    });
    session.on('quality', (point) => this.runs.addQuality(runId, point));
    session.on('warning', (warning) => this.runs.putWarning(runId, warning));
    session.on('checkpoint', (cp) => {
      flush();
      this.runs.addCheckpoint({ runId, step: cp.step, epoch: cp.epoch, path: cp.path, createdAt: new Date().toISOString() });
      // The trainer keeps only the newest few checkpoint files; forget the rows of removed ones.
      for (const old of this.runs.checkpoints(runId)) if (!existsSync(old.path)) this.runs.removeCheckpoint(runId, old.step);
    });
    return session.done.then((message) => {
      flush();
      this.runs.setProgress(runId, message.step, message.epoch);
      this.runs.setStatus(runId, message.status, { error: message.error });
      this.runs.setVerdict(runId, message.verdict);
      return { run: this.getRun(runId), peakRssBytes: message.memory.peakRssBytes };
    });
  }

  /** The training backend as last reported (by a worker, or by `probe`: picks one in this thread). */
  async backend(probe = false): Promise<BackendInfo | null> {
    if (probe && !this.lastBackend) this.lastBackend = await selectBackend({ prefer: 'auto' });
    return this.lastBackend;
  }

  /** Ids of the runs training in this process now. */
  activeRunIds(): number[] {
    return [...this.active.keys()];
  }

  /** The handle of a run training in this process; a StudioError when it is not. */
  activeRun(runId: number): TrainingHandle {
    const handle = this.active.get(runId);
    if (handle) return handle;
    this.getRun(runId);
    throw new StudioError(`run ${runId} is not training here`, 'conflict');
  }

  pauseRun(runId: number): void {
    this.activeRun(runId).pause();
  }

  resumeRun(runId: number): void {
    this.activeRun(runId).resume();
  }

  /** Asks a run to stop after its current step (it writes a checkpoint); `done` says when. */
  stopRun(runId: number): void {
    this.activeRun(runId).stop();
  }

  /** A run with everything recorded for it but its per-step metrics. */
  runDetails(runId: number): StoredRunDetails {
    const run = this.getRun(runId);
    const active = this.active.has(runId);
    const checkpoints = this.runs.checkpoints(runId);
    const resumable =
      !active && run.status !== 'running' && checkpoints.some((c) => existsSync(c.path));
    return {
      run,
      epochs: this.runs.epochs(runId),
      grids: this.runs.grids(runId),
      checkpoints,
      quality: this.runs.quality(runId),
      warnings: this.runs.warnings(runId),
      active,
      resumable,
      metricCount: this.runs.metricCount(runId),
    };
  }

  /**
   * Per-step metrics from `fromStep` on, at most about `maxPoints` of them: long runs are
   * downsampled to every `every`-th step, `every` a power of two of the run's whole length (so the
   * stride stays put while a live run grows, and polls with fromStep line up).
   */
  runMetrics(runId: number, query: { fromStep?: number; maxPoints?: number } = {}): RunMetrics {
    this.getRun(runId);
    const total = this.runs.metricCount(runId);
    const maxPoints = Math.max(1, query.maxPoints ?? 2000);
    const every = total <= maxPoints ? 1 : 2 ** Math.ceil(Math.log2(total / maxPoints));
    return { runId, points: this.runs.metrics(runId, { fromStep: query.fromStep, every }), every, total };
  }

  /** Stops every active run (each writes a checkpoint) and waits for them. */
  async stopAll(): Promise<void> {
    const handles = [...this.active.values()];
    handles.forEach((h) => h.stop());
    await Promise.all(handles.map((h) => h.done));
  }

  /**
   * Writes `count` PNGs (or one grid) from a run's latest checkpoint or from a model. Returns the
   * files written; never replaces a file.
   */
  async generate(request: GenerateRequest): Promise<{ files: string[]; step: number }> {
    if (!Number.isInteger(request.count) || request.count < 1 || request.count > 10_000) {
      throw new StudioError(`count must be an integer from 1 to 10000 (got ${request.count})`);
    }
    // Bad input is refused before the generator is loaded.
    if (request.runId !== undefined && request.classLabel !== undefined && request.classLabel !== null) {
      const run = this.getRun(request.runId);
      classIndex(run.config.model, request.classLabel, `run ${run.id}`);
    }
    const { generator, label, what, config } = await this.openGenerator(request);
    try {
      const conditional = isConditional(config.kind);
      const classLabel = request.classLabel === undefined || request.classLabel === null ? null : classIndex(config, request.classLabel, what);
      const seed = request.seed ?? 1;
      const labels = classLabel === null ? null : [classLabel];
      const batch = await generator.sample(request.count, seed, labels);
      const outDir = resolve(request.outDir);
      mkdirSync(outDir, { recursive: true });
      const taken = new Set(readdirSync(outDir));
      const base = `${label}-step${generator.step}-seed${seed}`;
      if (request.grid) {
        const name = freeName(taken, `${base}-grid`, '.png');
        const columns = conditional && !labels ? config.numClasses : Math.ceil(Math.sqrt(request.count));
        await writeGridPng(join(outDir, name), batch, columns);
        return { files: [join(outDir, name)], step: generator.step };
      }
      const names = Array.from({ length: request.count }, (_, i) => {
        const name = freeName(taken, `${base}-${String(i).padStart(4, '0')}`, '.png');
        taken.add(name);
        return name;
      });
      return { files: await writeImagePngs(outDir, batch, names), step: generator.step };
    } finally {
      generator.dispose();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Latent lab and models in / out

  /**
   * Latent arithmetic: G(expression over the operands' latents) next to the pixel-wise combination
   * of G(operand) images, plus each operand's image and one strip of them all (operands, then the
   * latent-space result, then the pixel-wise one). Never overwrites a file.
   */
  async latentArithmetic(request: LatentArithmeticRequest): Promise<LatentArithmeticResult> {
    let terms;
    try {
      terms = parseExpression(request.expression);
    } catch (err) {
      throw new StudioError((err as Error).message);
    }
    const operands = assignOperands(terms.map((t) => t.name), request.operands);
    const { generator, label, what, config } = await this.openGenerator(request);
    try {
      const classes = request.classLabel === undefined || request.classLabel === null ? null : [classIndex(config, request.classLabel, what)];
      const latents = new Map<string, Latent>();
      for (const op of operands) latents.set(op.name, meanLatent(op.seeds.map((seed) => seededLatent(seed, config.latent))));
      const names = operands.map((o) => o.name);
      const combined = combine(terms, latents);
      const images = await generator.render([...names.map((n) => latents.get(n)!), combined], classes);
      const pixels = imageSize(images);
      const perOperand = new Map(names.map((n, i) => [n, images.values.subarray(i * pixels, (i + 1) * pixels)] as const));
      const pixelWise = combine(terms, perOperand);
      const all: ImageBatch = { ...images, count: images.count + 1, values: concat(images.values, pixelWise) };

      const outDir = resolve(request.outDir);
      mkdirSync(outDir, { recursive: true });
      const taken = new Set(readdirSync(outDir));
      const slug = formatExpression(terms).replace(/\s+/g, '').replace(/\*/g, 'x');
      const base = `${label}-step${generator.step}-latent-${slug}`;
      const take = (stem: string) => {
        const name = freeName(taken, stem, '.png');
        taken.add(name);
        return name;
      };
      const operandNames = operands.map((o) => take(`${base}-${o.name}-seed${o.seeds.join('+')}`));
      const latentName = take(`${base}-latent-space`);
      const pixelName = take(`${base}-pixel-wise`);
      const stripName = take(`${base}-strip`);
      const written = await writeImagePngs(outDir, all, [...operandNames, latentName, pixelName]);
      const strip = tileGrid(all, all.count);
      await writeFileAtomic(join(outDir, stripName), await encodePng(strip.data, strip.width, strip.height, all.channels));
      return {
        step: generator.step,
        expression: formatExpression(terms),
        operands: operands.map((o, i) => ({ name: o.name, seeds: o.seeds, file: written[i]! })),
        latentSpace: written[operands.length]!,
        pixelWise: written[operands.length + 1]!,
        strip: join(outDir, stripName),
      };
    } finally {
      generator.dispose();
    }
  }

  /**
   * An interpolation from one seed's latent to another's: a strip PNG of `steps` frames at
   * `request.out` (a free name beside it when taken) and an animated GIF of the same frames beside
   * it (the same stem, .gif).
   */
  async interpolate(request: InterpolateRequest): Promise<InterpolateResult> {
    if (!Number.isInteger(request.steps) || request.steps < 2 || request.steps > 1000) {
      throw new StudioError(`steps must be an integer from 2 to 1000 (got ${request.steps})`);
    }
    const mode = request.mode ?? 'slerp';
    const { generator, what, config } = await this.openGenerator(request);
    try {
      const classes = request.classLabel === undefined || request.classLabel === null ? null : [classIndex(config, request.classLabel, what)];
      const frames = interpolate(seededLatent(request.from, config.latent), seededLatent(request.to, config.latent), request.steps, mode);
      const batch = await generator.render(frames, classes);
      const target = resolve(request.out);
      const dir = dirname(target);
      mkdirSync(dir, { recursive: true });
      const ext = extname(target).toLowerCase();
      const stem = ext === '.png' || ext === '.gif' ? basename(target, extname(target)) : basename(target);
      const taken = new Set(readdirSync(dir));
      let free = stem;
      for (let i = 1; taken.has(`${free}.png`) || taken.has(`${free}.gif`); i++) free = `${stem}-${i}`;
      const strip = tileGrid(batch, batch.count);
      const stripPath = join(dir, `${free}.png`);
      const gifPath = join(dir, `${free}.gif`);
      await writeFileAtomic(stripPath, await encodePng(strip.data, strip.width, strip.height, batch.channels));
      await writeFileAtomic(gifPath, await encodeGif(batch, request.delayMs ?? 100));
      return { step: generator.step, mode, frames: batch.count, strip: stripPath, animation: gifPath };
    } finally {
      generator.dispose();
    }
  }

  /**
   * Exports a run's generator (its latest checkpoint) as a TensorFlow.js Layers model folder:
   * model.json + weights.bin + gan-studio.json. When `outDir` already holds any of those files, a
   * new folder beside it is used (`DIR-1`, `DIR-2`, …).
   */
  async exportGenerator(request: { runId: number; outDir: string; raw?: boolean }): Promise<ExportResult> {
    const run = this.getRun(request.runId);
    const { generator } = await this.openGenerator({ runId: run.id, raw: request.raw ?? false });
    try {
      const wanted = resolve(request.outDir);
      let dir = wanted;
      for (let i = 1; existsSync(dir) && (!statSync(dir).isDirectory() || EXPORT_FILES.some((f) => existsSync(join(dir, f)))); i++) dir = `${wanted}-${i}`;
      mkdirSync(dir, { recursive: true });
      const sidecar = await writeGeneratorExport(dir, generator, { runId: run.id, runName: run.name });
      return { dir, files: EXPORT_FILES.map((f) => join(dir, f)), sidecar };
    } finally {
      generator.dispose();
    }
  }

  /**
   * Imports an exported generator folder into `<home>/models/NAME` (after loading it once to check
   * it) and records it, so `--model NAME` and the Gallery page can browse and explore it. A NAME
   * already taken (a recorded model, or a folder of that name) is a conflict: nothing is replaced.
   */
  async importModel(request: { path: string; name?: string }): Promise<StoredModel> {
    const source = resolve(request.path);
    const name = (request.name ?? basename(source)).trim();
    if (!MODEL_NAME.test(name)) throw new StudioError(`a model name is 1 to 100 letters, digits, '.', '_' or '-' (got "${name}")`);
    const root = modelsDir(this.home);
    const dir = join(root, name);
    const taken = () => {
      if (this.models.findByName(name) || existsSync(dir)) throw new StudioError(`there is already a model "${name}" (${dir}); pick another --name`, 'conflict');
    };
    taken();
    if (!existsSync(source) || !statSync(source).isDirectory()) throw new StudioError(`${source} is not a folder (give the folder gan-studio export wrote)`, 'data');
    await selectBackend({ prefer: 'auto' });
    let sidecar: GeneratorSidecar;
    try {
      const loaded = await loadGeneratorExport(source);
      loaded.generator.dispose();
      sidecar = loaded.sidecar;
    } catch (err) {
      throw new StudioError((err as Error).message, 'data');
    }
    const json = JSON.parse(await readFile(join(source, 'model.json'), 'utf8')) as {
      weightsManifest?: { paths: string[] }[];
    };
    const files = ['model.json', 'gan-studio.json', ...(json.weightsManifest ?? []).flatMap((g) => g.paths)];
    if (files.some((f) => f.includes('/') || f.includes('\\') || f.startsWith('.'))) throw new StudioError(`${source}: weight paths must be plain file names`, 'data');
    const tmp = join(root, `.${name}.${process.pid}.tmp`);
    mkdirSync(tmp, { recursive: true });
    try {
      for (const f of files) copyFileSync(join(source, f), join(tmp, f));
      // Another import may have taken the name while the files were copied.
      taken();
      await rename(tmp, dir);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new StudioError(`there is already a model "${name}" (${dir}); pick another --name`, 'conflict');
      throw err;
    }
    try {
      return this.models.add(modelRow(name, dir, source, sidecar));
    } catch (err) {
      // Another process opening the studio may have recorded the folder just moved into place.
      const recorded = this.models.findByName(name);
      if (recorded && recorded.dir === dir) return recorded;
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Imported models, by name. */
  listModels(): StoredModel[] {
    return this.models.list();
  }

  /** An imported model by id or name. */
  getModel(idOrName: number | string): StoredModel {
    const m = typeof idOrName === 'number' ? this.models.get(idOrName) : this.models.findByName(idOrName);
    if (!m) throw new StudioError(`there is no imported model ${typeof idOrName === 'number' ? idOrName : `"${idOrName}"`}`, 'not-found');
    return m;
  }

  /** Deletes an imported model: its row, its folder, and its galleries (rows, images, lab folders). */
  deleteModel(id: number): void {
    const model = this.getModel(id);
    this.galleries.removeModelFiles(model.id);
    this.models.remove(model.id);
    rmSync(model.dir, { recursive: true, force: true });
  }

  /**
   * Records model folders under `<home>/models` that have no row (imported before models were
   * recorded): each one whose sidecar reads. Others are left alone.
   */
  private recordUnlistedModels(): void {
    const root = modelsDir(this.home);
    if (!existsSync(root)) return;
    const known = new Set(this.models.list().map((m) => m.name));
    for (const entry of readdirSync(root, { withFileTypes: true })) {
      if (!entry.isDirectory() || known.has(entry.name) || !MODEL_NAME.test(entry.name)) continue;
      const dir = join(root, entry.name);
      try {
        const sidecar = readSidecarSync(dir);
        sidecarConfig(sidecar);
        this.models.add(modelRow(entry.name, dir, dir, sidecar));
      } catch {
        // Not a model folder (or a broken one): nothing to record.
      }
    }
  }

  /** A run's latest-checkpoint generator, or an imported / exported model folder. The caller disposes it. */
  private async openGenerator(source: GeneratorSource): Promise<{ generator: LoadedGenerator; label: string; what: string; config: ModelConfig }> {
    if ((source.runId === undefined) === (source.model === undefined)) throw new StudioError('give a run or a model (not both)');
    if (source.runId !== undefined) {
      const run = this.getRun(source.runId);
      const checkpoint = this.runs.latestCheckpoint(run.id);
      if (!checkpoint || !existsSync(checkpoint.path)) throw new StudioError(`run ${run.id} has no checkpoint yet`, 'conflict');
      await selectBackend({ prefer: 'auto' });
      const generator = await LoadedGenerator.fromCheckpoint(checkpoint.path, { raw: source.raw ?? false });
      // The run record knows the class names the worker found in the data.
      return { generator, label: `run${run.id}`, what: `run ${run.id}`, config: { ...generator.config, classNames: run.config.model.classNames ?? generator.config.classNames } };
    }
    const model = source.model!;
    const recorded = this.models.findByName(model);
    const dir = recorded ? recorded.dir : resolve(model);
    if (!existsSync(dir)) throw new StudioError(`there is no model "${model}" (import one with: gan-studio import-model DIR --name NAME)`, 'not-found');
    await selectBackend({ prefer: 'auto' });
    try {
      const { generator } = await loadGeneratorExport(dir);
      return { generator, label: `model-${basename(dir).replace(/[^A-Za-z0-9._-]/g, '_')}`, what: `model "${recorded?.name ?? model}"`, config: generator.config };
    } catch (err) {
      throw new StudioError((err as Error).message, 'data');
    }
  }

  // -------------------------------------------------------------------------------------------
  // Datasets

  /**
   * Imports an image folder, IDX set or CIFAR-10 batches into the home (see DatasetImporter):
   * re-importing an unchanged source is instant. Bad input is a StudioError ('data', or
   * 'conflict' for a name taken by another source).
   */
  async importDataset(request: ImportRequest, onProgress?: (p: ImportProgressEvent) => void): Promise<ImportSummary> {
    try {
      return await new DatasetImporter(this.home, this.datasets).import(request, onProgress);
    } catch (err) {
      if (err instanceof DatasetConflictError) throw new StudioError(err.message, 'conflict');
      if (isDataError(err)) throw new StudioError(err.message, 'data');
      throw err;
    }
  }

  /** Imported datasets, by name. */
  listDatasets(): StoredDataset[] {
    return this.datasets.list();
  }

  /** A dataset by id or name. */
  getDataset(idOrName: number | string): StoredDataset {
    const d = typeof idOrName === 'number' ? this.datasets.get(idOrName) : this.datasets.findByName(idOrName);
    if (!d) throw new StudioError(`there is no dataset ${typeof idOrName === 'number' ? idOrName : `"${idOrName}"`}`, 'not-found');
    return d;
  }

  /** Deletes a dataset's row, cache file and contact sheet; runs that used it keep their records. */
  async deleteDataset(id: number): Promise<void> {
    const d = this.getDataset(id);
    this.datasets.remove(id);
    await new DatasetImporter(this.home, this.datasets).removeFiles(d);
  }

  /** The imported dataset `data` names, when it is not an existing path; null for a path. */
  private datasetForData(data: string): StoredDataset | null {
    if (existsSync(data)) return null;
    const d = this.datasets.findByName(data);
    if (!d) return null;
    if (!d.cachePath || !existsSync(d.cachePath)) {
      throw new StudioError(`dataset "${d.name}" has no cache file; import it again (gan-studio import ${d.sourcePath} --name ${d.name})`, 'data');
    }
    return d;
  }

  /**
   * The run's sample timeline as one animated GIF, `<run>/timeline.gif` (replaced each time): its
   * grids in step order, at most TIMELINE_GIF_MAX_FRAMES of them (evenly spread, first and last in).
   */
  async timelineGif(runId: number, delayMs = 400): Promise<{ path: string; frames: number; bytes: number }> {
    this.getRun(runId);
    if (!Number.isInteger(delayMs) || delayMs < 20 || delayMs > 10_000) {
      throw new StudioError(`delayMs must be a whole number of milliseconds from 20 to 10000 (got ${delayMs})`, 'invalid');
    }
    const grids = this.runs.grids(runId).filter((g) => existsSync(g.path));
    if (grids.length === 0) throw new StudioError(`run ${runId} has no sample grids yet`, 'not-found');
    const files = spreadFrames(grids.length, TIMELINE_GIF_MAX_FRAMES).map((i) => grids[i]!.path);
    let encoded: { gif: Buffer; frames: number };
    try {
      encoded = await encodeGifFromPngs(files, delayMs);
    } catch (err) {
      throw new StudioError(`could not animate run ${runId}'s grids: ${err instanceof Error ? err.message : String(err)}`, 'data');
    }
    const path = join(runDir(this.home, runId), 'timeline.gif');
    await writeFileAtomic(path, encoded.gif);
    return { path, frames: encoded.frames, bytes: encoded.gif.length };
  }

  /** Deletes a run's rows and files (not while it trains). */
  deleteRun(id: number): void {
    const run = this.getRun(id);
    if (run.status === 'running' && run.pid !== null && processIsAlive(run.pid)) {
      throw new StudioError(`run ${id} is running; stop it first`, 'conflict');
    }
    this.galleries.removeRunFiles(id);
    this.runs.deleteRun(id);
    rmSync(runDir(this.home, id), { recursive: true, force: true });
  }

  // -------------------------------------------------------------------------------------------
  // Galleries (see GalleryService)

  /** Draws a gallery from seeded latents at a run's latest checkpoint or by a model; same source + seed, same pixels. */
  createGallery(request: CreateGalleryRequest): Promise<Gallery> {
    return this.galleries.create(request);
  }

  getGallery(galleryId: number): Gallery {
    return this.galleries.get(galleryId);
  }

  /** Newest first; one run's or one imported model's when the filter names it. */
  listGalleries(filter: { runId?: number; modelId?: number } = {}): GallerySummaryRecord[] {
    return this.galleries.list(filter);
  }

  setPicked(galleryId: number, indices: readonly number[], picked: boolean): Gallery {
    return this.galleries.setPicked(galleryId, indices, picked);
  }

  /** Draws one gallery image again from its stored latent, at its own or another checkpoint step. */
  regenerate(galleryId: number, index: number, checkpointStep?: number): Promise<RegeneratedImage> {
    return this.galleries.regenerate(galleryId, index, checkpointStep);
  }

  /** The steps a gallery's images can be drawn again at (its run's checkpoints and per-epoch snapshots). */
  galleryCheckpoints(galleryId: number): GeneratorCheckpoint[] {
    return this.galleries.checkpoints(galleryId);
  }

  /** Writes the picked (or all) images, or one grid, into a folder; never replaces a file. */
  saveGallery(request: SaveGalleryRequest): Promise<SavedGallery> {
    return this.galleries.save(request);
  }

  deleteGallery(galleryId: number): void {
    this.galleries.delete(galleryId);
  }

  /** Latent arithmetic over gallery images (see LatentLab): results in a new `<home>/lab/<n>/`. */
  labArithmetic(request: LabArithmeticRequest): Promise<LabArithmeticResult> {
    return this.lab.arithmetic(request);
  }

  /** An interpolation between two gallery images' latents: strip PNG + animated GIF in `<home>/lab/<n>/`. */
  labInterpolate(request: LabInterpolateRequest): Promise<LabInterpolateResult> {
    return this.lab.interpolate(request);
  }
}


const MODEL_NAME = MODEL_NAME_PATTERN;

/** A model row from its sidecar. */
function modelRow(name: string, dir: string, sourcePath: string, sidecar: GeneratorSidecar): Omit<StoredModel, 'id' | 'createdAt'> {
  return {
    name,
    dir,
    sourcePath,
    kind: sidecar.modelKind,
    latent: sidecar.latentSize,
    size: sidecar.imageSize,
    channels: sidecar.channels,
    numClasses: sidecar.numClasses,
    classNames: Array.isArray(sidecar.classNames) ? sidecar.classNames.map(String) : [],
    step: Number.isSafeInteger(sidecar.step) ? sidecar.step : 0,
    fromRunId: typeof sidecar.runId === 'number' ? sidecar.runId : null,
    fromRunName: typeof sidecar.runName === 'string' ? sidecar.runName : null,
  };
}

/** Where a generator comes from: a run's latest checkpoint, or a model (an imported name or an export folder). */
export interface GeneratorSource {
  runId?: number;
  model?: string;
  /** With runId: draw from the trained G rather than the averaged generator the run kept (if any). */
  raw?: boolean;
}

/** An operand: named, or (name null) taking the next unnamed operand of the expression; several seeds make a mean. */
export interface OperandSeeds {
  name: string | null;
  seeds: number[];
}

export interface LatentArithmeticRequest extends GeneratorSource {
  expression: string;
  operands: OperandSeeds[];
  outDir: string;
  /** Conditional models: the class every image is drawn in (index or name); default class 0. */
  classLabel?: number | string | null;
}

export interface LatentArithmeticResult {
  step: number;
  expression: string;
  operands: { name: string; seeds: number[]; file: string }[];
  latentSpace: string;
  pixelWise: string;
  strip: string;
}

export interface InterpolateRequest extends GeneratorSource {
  from: number;
  to: number;
  steps: number;
  out: string;
  mode?: InterpolationMode;
  delayMs?: number;
  classLabel?: number | string | null;
}

export interface InterpolateResult {
  step: number;
  mode: InterpolationMode;
  frames: number;
  strip: string;
  animation: string;
}

export interface ExportResult {
  dir: string;
  files: string[];
  sidecar: GeneratorSidecar;
}

/**
 * Matches operands to an expression's names: named ones by name, the rest in order of the
 * names' first appearance (`--seeds 1,2,3` for a-b+c: a=1, b=2, c=3). A StudioError when a name
 * is unknown, given twice, or left without seeds.
 */
export function assignOperands(names: string[], given: OperandSeeds[]): { name: string; seeds: number[] }[] {
  const byName = new Map<string, number[]>();
  for (const op of given) {
    if (op.seeds.length === 0) throw new StudioError(`an operand${op.name ? ` (${op.name})` : ''} has no seeds`);
    if (op.name === null) continue;
    if (!names.includes(op.name)) throw new StudioError(`"${op.name}" is not an operand of the expression (operands: ${names.join(', ')})`);
    if (byName.has(op.name)) throw new StudioError(`operand "${op.name}" is given twice`);
    byName.set(op.name, op.seeds);
  }
  const unnamed = given.filter((o) => o.name === null);
  const open = names.filter((n) => !byName.has(n));
  if (unnamed.length !== open.length) {
    throw new StudioError(`the expression has ${names.length} operand${names.length === 1 ? '' : 's'} (${names.join(', ')}) but ${given.length} seed${given.length === 1 ? ' was' : 's were'} given`);
  }
  open.forEach((n, i) => byName.set(n, unnamed[i]!.seeds));
  return names.map((name) => ({ name, seeds: byName.get(name)! }));
}


function imageSize(batch: ImageBatch): number {
  return batch.height * batch.width * batch.channels;
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}


/**
 * The config with the dataset's size / channels where `take` says so; a StudioError when the
 * dataset cannot be trained at the config's size or channels.
 */
export function fitConfigToDataset(
  config: TrainConfig,
  dataset: StoredDataset,
  take: { size?: boolean; channels?: boolean },
): TrainConfig {
  const size = take.size ? dataset.size : config.model.size;
  const channels = take.channels ? dataset.channels : config.model.channels;
  const reimport = `gan-studio import ${dataset.sourcePath} --name ${dataset.name}`;
  if (!IMAGE_SIZES.includes(size as ImageSize)) {
    throw new StudioError(
      `dataset "${dataset.name}" holds ${dataset.size} px images, but the models train at ${IMAGE_SIZES.join(', ')} px; ` +
        `import it again at one of those sizes (${reimport} --size 64)`,
      'data',
    );
  }
  if (size !== dataset.size) {
    throw new StudioError(
      `dataset "${dataset.name}" holds ${dataset.size} px images; train it with --size ${dataset.size}, or import it again at --size ${size}`,
      'data',
    );
  }
  if (channels !== dataset.channels) {
    throw new StudioError(
      `dataset "${dataset.name}" holds ${dataset.channels === 1 ? 'grayscale' : 'RGB'} images; train it with --channels ${dataset.channels}, ` +
        `or import it again with --channels ${channels}`,
      'data',
    );
  }
  return { ...config, model: { ...config.model, size: size as ImageSize, channels } };
}

export function validateTrainConfig(config: TrainConfig): void {
  const fail = (message: string) => {
    throw new StudioError(message);
  };
  try {
    validateModelConfig({ ...config.model, numClasses: isConditional(config.model.kind) ? Math.max(2, config.model.numClasses) : 0 });
  } catch (err) {
    fail((err as Error).message);
  }
  const positiveInt = (name: string, value: number, max: number) => {
    if (!Number.isInteger(value) || value < 1 || value > max) fail(`${name} must be an integer from 1 to ${max} (got ${value})`);
  };
  positiveInt('batch', config.batch, TRAIN_LIMITS.batch);
  positiveInt('k', config.k, TRAIN_LIMITS.k);
  positiveInt('epochs', config.epochs, TRAIN_LIMITS.epochs);
  if (config.steps !== null) positiveInt('steps', config.steps, TRAIN_LIMITS.steps);
  if (!Number.isFinite(config.lr) || config.lr <= 0) fail(`lr must be a positive number (got ${config.lr})`);
  if (!Number.isFinite(config.beta1) || config.beta1 < 0 || config.beta1 >= 1) fail(`beta1 must be in [0, 1) (got ${config.beta1})`);
  if (!Number.isFinite(config.beta2) || config.beta2 < 0 || config.beta2 >= 1) fail(`beta2 must be in [0, 1) (got ${config.beta2})`);
  if (!Number.isSafeInteger(config.seed) || config.seed < 0) fail(`seed must be a non-negative integer (got ${config.seed})`);
  if (!config.data) fail('no data given');
  if (!config.name || config.name.length > 200) fail('a run name must be 1 to 200 characters');
}
