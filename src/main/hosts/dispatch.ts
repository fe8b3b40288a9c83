// The host-independent side of the contract: validates a request for a channel, makes one call
// into the core, and answers `{ result }` or `{ error: { message, code } }`. Also the event bus
// hosts forward to their renderers: training handles' events become `training:*` events with the
// run id; import progress becomes `datasets:progress`. Electron IPC and the browser host's
// WebSocket both sit on top of this; neither adds logic of its own.

import path from 'node:path';
import {
  Channels,
  ErrorCodes,
  isRequestChannel,
  type AnyEvent,
  type AppInfo,
  type Channel,
  type ContractError,
  type DatasetImportResult,
  type DatasetInfo,
  type Envelope,
  type EventChannel,
  type GalleryInfo,
  type GalleryRegenerateResult,
  type GallerySummary,
  type HomeFile,
  type HostKind,
  type LatentArithmeticResult,
  type LatentInterpolateResult,
  type ModelInfo,
  type PayloadOf,
  type RequestOf,
  type ResponseOf,
  type RunDetails,
  type TrainingNewRequest,
  type TrainingPlanPreview,
  type TrainingPlanRequest,
  type TrainingStartRequest,
  type TrainingStarted,
  type Unsubscribe,
  type GridInfo,
  type WarningInfo,
} from '../../shared/contract';
import { parseRequest } from '../../shared/schemas';
import type { GridRecord, RunVerdict, RunWarning, StepMetrics } from '../../shared/types';
import { newRunConfig } from '../../shared/training-defaults';
import type { ImportSummary } from '../core/data/dataset-importer';
import { isConditional } from '../../shared/models';
import type { Gallery, RegeneratedImage } from '../core/gallery-service';
import type { LabArithmeticResult, LabInterpolateResult } from '../core/latent-lab';
import type { GallerySummaryRecord } from '../core/store/gallery-store';
import type { StoredDataset } from '../core/store/dataset-store';
import type { StoredModel } from '../core/store/model-store';
import { StudioError, type PlanPreview, type PlanPreviewRequest, type StoredRunDetails, type Studio, type TrainingHandle, type TrainRequest } from '../core/studio';
import { FolderBrowser } from './folder-browser';

export interface DispatcherOptions {
  /** The application's version (app:info). */
  version: string;
  host: HostKind;
  /** The folder browser behind fs:list (default: one starting at the user's home). */
  folders?: FolderBrowser;
  /** How often batched training:step events are pushed, in ms (default 100). */
  stepFlushMs?: number;
  /** Logs unexpected (INTERNAL) errors; default console.error. */
  logError?: (channel: string, err: unknown) => void;
}

export interface Dispatcher {
  /** Validates `raw` for `channel`, then makes one call into the core. Never throws. */
  handle(channel: unknown, raw: unknown): Promise<Envelope<unknown>>;
  /** Listens to every pushed event. */
  subscribe(listener: (event: AnyEvent) => void): Unsubscribe;
  /** Stops pushing events (flushes pending step batches first). */
  dispose(): void;
}

type Handlers = { [C in Channel]: (request: RequestOf<C>) => Promise<ResponseOf<C>> | ResponseOf<C> };

export function createDispatcher(studio: Studio, options: DispatcherOptions): Dispatcher {
  const folders = options.folders ?? new FolderBrowser();
  const bus = new EventBus(options.stepFlushMs ?? 100);
  const logError = options.logError ?? ((channel, err) => console.error(`[${options.host}] ${channel} failed:`, err));
  const home = studio.home;

  const handlers: Handlers = {
    [Channels.appInfo]: async (req) => appInfo(studio, options, (await studio.backend(req?.probeBackend ?? false))),
    [Channels.datasetsList]: () => studio.listDatasets().map((d) => toDatasetInfo(home, d)),
    [Channels.datasetsImport]: async (req) => toImportResult(home, await studio.importDataset(req, bus.importProgress(req.name))),
    [Channels.datasetsDelete]: async (req) => nothing(await studio.deleteDataset(req.id)),
    [Channels.runsList]: () => studio.listRuns(),
    [Channels.runsGet]: (req) => toRunDetails(home, studio.runDetails(req.runId)),
    [Channels.runsMetrics]: (req) => studio.runMetrics(req.runId, req),
    [Channels.runsDelete]: (req) => nothing(studio.deleteRun(req.runId)),
    [Channels.runsTimelineGif]: async (req) => {
      const gif = await studio.timelineGif(req.runId, req.delayMs);
      return { file: toHomeFile(home, gif.path) ?? '', frames: gif.frames, bytes: gif.bytes };
    },
    [Channels.trainingStart]: async (req) => bus.follow(home, await studio.train(toTrainRequest(req))),
    [Channels.trainingPause]: (req) => nothing(studio.pauseRun(req.runId)),
    [Channels.trainingResume]: (req) => nothing(studio.resumeRun(req.runId)),
    [Channels.trainingStop]: (req) => nothing(studio.stopRun(req.runId)),
    [Channels.trainingPlan]: async (req) => toPlanPreview(await studio.planPreview(toPlanRequest(req))),
    [Channels.fsList]: (req) => folders.list(req),
    [Channels.dialogOpenFolder]: () => {
      throw new StudioError('There is no native folder dialog in the browser; use the folder browser.', 'unsupported');
    },
    [Channels.dialogSaveFile]: () => {
      throw new StudioError('There is no native save dialog in the browser; choose a folder on the server instead.', 'unsupported');
    },
    [Channels.galleriesCreate]: async (req) => toGalleryInfo(home, await studio.createGallery(req)),
    [Channels.galleriesList]: (req) => studio.listGalleries({ runId: req?.runId, modelId: req?.modelId }).map(toGallerySummary),
    [Channels.galleriesGet]: (req) => toGalleryInfo(home, studio.getGallery(req.galleryId)),
    [Channels.galleriesPick]: (req) => toGalleryInfo(home, studio.setPicked(req.galleryId, req.indices, req.picked)),
    [Channels.galleriesSave]: (req) => studio.saveGallery(req),
    [Channels.galleriesDelete]: (req) => nothing(studio.deleteGallery(req.galleryId)),
    [Channels.galleriesRegenerate]: async (req) => toRegenerateResult(home, await studio.regenerate(req.galleryId, req.index, req.checkpointStep)),
    [Channels.galleriesCheckpoints]: (req) => studio.galleryCheckpoints(req.galleryId),
    [Channels.modelsList]: () => studio.listModels().map(toModelInfo),
    [Channels.modelsImport]: async (req) => toModelInfo(await studio.importModel(req)),
    [Channels.modelsDelete]: (req) => nothing(studio.deleteModel(req.modelId)),
    [Channels.latentArithmetic]: async (req) => toLatentArithmeticResult(home, await studio.labArithmetic(req)),
    [Channels.latentInterpolate]: async (req) => toLatentInterpolateResult(home, await studio.labInterpolate(req)),
  };

  async function handle(channel: unknown, raw: unknown): Promise<Envelope<unknown>> {
    if (!isRequestChannel(channel)) {
      return { error: { message: `Unknown channel ${describeChannel(channel)}`, code: ErrorCodes.unknownChannel } };
    }
    const parsed = parseRequest(channel, raw);
    if (!parsed.ok) return { error: { message: parsed.message, code: ErrorCodes.invalidRequest } };
    try {
      const handler = handlers[channel] as (request: unknown) => Promise<unknown> | unknown;
      return { result: await handler(parsed.value) };
    } catch (err) {
      const error = toContractError(err);
      if (error.code === ErrorCodes.internal) logError(channel, err);
      return { error };
    }
  }

  return {
    handle,
    subscribe: (listener) => bus.subscribe(listener),
    dispose: () => bus.dispose(),
  };
}

// ---------------------------------------------------------------------------------------------
// Errors

const STUDIO_CODES: Record<string, string> = {
  'not-found': ErrorCodes.notFound,
  invalid: ErrorCodes.invalidRequest,
  data: ErrorCodes.data,
  conflict: ErrorCodes.conflict,
  internal: ErrorCodes.internal,
  unsupported: ErrorCodes.unsupported,
};

const MAX_MESSAGE = 2000;

/** A StudioError's message and mapped code; anything else is INTERNAL with its first line only (no stack). */
export function toContractError(err: unknown): ContractError {
  if (err instanceof StudioError) {
    return { message: clip(err.message), code: STUDIO_CODES[err.code] ?? ErrorCodes.internal };
  }
  const message = err instanceof Error ? err.message : String(err);
  const first = message.split('\n')[0]?.trim() || 'Unknown error';
  return { message: clip(`Something went wrong: ${first}`), code: ErrorCodes.internal };
}

function clip(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

function describeChannel(channel: unknown): string {
  if (typeof channel !== 'string') return `(a ${channel === null ? 'null' : typeof channel})`;
  return JSON.stringify(channel.length > 60 ? `${channel.slice(0, 60)}…` : channel);
}

const nothing = (_: unknown): null => null;

// ---------------------------------------------------------------------------------------------
// Mapping core records to the contract's shapes

function appInfo(studio: Studio, options: DispatcherOptions, backend: AppInfo['backend']): AppInfo {
  return {
    version: options.version,
    platform: process.platform,
    home: studio.home,
    host: options.host,
    backend: backend ? { name: backend.name, reason: backend.reason } : null,
    activeRuns: studio.activeRunIds(),
  };
}

/** A path under the home as a home-relative `/` path; null for anything outside it. */
export function toHomeFile(home: string, file: string | null): HomeFile | null {
  if (!file) return null;
  const rel = path.relative(home, path.resolve(home, file));
  if (!rel || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return null;
  return rel.split(path.sep).join('/');
}

function toDatasetInfo(home: string, d: StoredDataset): DatasetInfo {
  const { cachePath: _cache, contentHash: _hash, contactSheetPath, ...record } = d;
  return { ...record, contactSheet: toHomeFile(home, contactSheetPath) };
}

const MAX_SKIPPED_LISTED = 500;

function toImportResult(home: string, s: ImportSummary): DatasetImportResult {
  return {
    dataset: toDatasetInfo(home, s.dataset),
    imported: s.imported,
    skipped: s.skipped,
    skippedFiles: s.skippedFiles.slice(0, MAX_SKIPPED_LISTED),
    seen: s.seen,
    count: s.count,
    mirrored: s.mirrored,
    unchanged: s.unchanged,
    seconds: s.seconds,
    imagesPerSec: s.imagesPerSec,
    message: s.message,
  };
}

function toGridInfo(home: string, g: Pick<GridRecord, 'epoch' | 'step' | 'kind' | 'path'>): GridInfo {
  return { epoch: g.epoch, step: g.step, kind: g.kind, file: toHomeFile(home, g.path) ?? '' };
}

function toWarningInfo(home: string, w: RunWarning): WarningInfo {
  const { pairPath, ...rest } = w;
  return { ...rest, pair: toHomeFile(home, pairPath) };
}

function toRunDetails(home: string, d: StoredRunDetails): RunDetails {
  return {
    run: d.run,
    epochs: d.epochs,
    grids: d.grids.map((g) => toGridInfo(home, g)).filter((g) => g.file !== ''),
    checkpoints: d.checkpoints.map(({ step, epoch, createdAt }) => ({ step, epoch, createdAt })),
    quality: d.quality,
    warnings: d.warnings.map((w) => toWarningInfo(home, w)),
    active: d.active,
    resumable: d.resumable,
    metricCount: d.metricCount,
  };
}

function toGallerySummary(g: GallerySummaryRecord): GallerySummary {
  return {
    id: g.id,
    runId: g.runId,
    modelId: g.modelId,
    name: g.name,
    seed: g.seed,
    step: g.step,
    epoch: g.epoch,
    perClass: g.perClass,
    createdAt: g.createdAt,
    count: g.count,
    picked: g.picked,
  };
}

function toGalleryInfo(home: string, g: Gallery): GalleryInfo {
  const { config } = g;
  const classNames = config.classNames ?? [];
  return {
    ...toGallerySummary({ ...g, count: g.images.length, picked: g.images.filter((i) => i.picked).length }),
    runName: g.run?.name ?? null,
    modelName: g.model?.name ?? null,
    modelKind: config.kind,
    size: config.size,
    channels: config.channels,
    numClasses: isConditional(config.kind) ? config.numClasses : 0,
    classNames,
    images: g.images.map((i) => ({
      index: i.index,
      seed: i.seed,
      latentIndex: i.latentIndex,
      classLabel: i.classLabel,
      className: i.classLabel === null ? null : (classNames[i.classLabel] ?? `class ${i.classLabel}`),
      picked: i.picked,
      savedPath: i.savedPath,
      file: toHomeFile(home, i.path) ?? '',
    })),
  };
}

function toModelInfo(m: StoredModel): ModelInfo {
  const { dir: _dir, ...record } = m;
  return record;
}

function toRegenerateResult(home: string, r: RegeneratedImage): GalleryRegenerateResult {
  return { galleryId: r.galleryId, index: r.index, step: r.step, epoch: r.epoch, file: toHomeFile(home, r.path) ?? '' };
}

function toLatentArithmeticResult(home: string, r: LabArithmeticResult): LatentArithmeticResult {
  const file = (p: string) => toHomeFile(home, p) ?? '';
  return {
    galleryId: r.galleryId,
    runId: r.runId,
    modelId: r.modelId,
    step: r.step,
    expression: r.expression,
    dir: file(r.dir),
    operands: r.operands.map((o) => ({ name: o.name, indices: o.indices, classLabel: o.classLabel, file: file(o.file) })),
    resultClass: r.resultClass,
    latentSpace: file(r.latentSpace),
    pixelWise: file(r.pixelWise),
    strip: file(r.strip),
  };
}

function toLatentInterpolateResult(home: string, r: LabInterpolateResult): LatentInterpolateResult {
  const file = (p: string) => toHomeFile(home, p) ?? '';
  return {
    galleryId: r.galleryId,
    runId: r.runId,
    modelId: r.modelId,
    step: r.step,
    mode: r.mode,
    frames: r.frames,
    fromClass: r.fromClass,
    toClass: r.toClass,
    dir: file(r.dir),
    strip: file(r.strip),
    animation: file(r.animation),
  };
}

/** A new run's config with the papers' defaults, or a resume; the core validates the result again. */
export function toTrainRequest(req: TrainingStartRequest): TrainRequest {
  if ('resume' in req) {
    return { resume: req.resume, epochs: req.epochs, steps: req.steps, backend: req.backend };
  }
  const { limit, labels, backend, ...settings }: TrainingNewRequest = req;
  // What the request leaves out, the training plan chooses from the data's size.
  const { config, planned, shapeFromDataset } = newRunConfig(settings);
  return { config, limit: limit ?? null, labels: labels ?? false, backend: backend ?? 'auto', shapeFromDataset, planned };
}

/** `training:plan`: the same reading of the settings as `training:start`. */
export function toPlanRequest(req: TrainingPlanRequest): PlanPreviewRequest {
  const train = toTrainRequest(req);
  return { config: train.config!, planned: train.planned!, shapeFromDataset: train.shapeFromDataset, limit: train.limit, measure: req.measure ?? false };
}

function toPlanPreview(p: PlanPreview): TrainingPlanPreview {
  const { plan } = p;
  return {
    count: p.count,
    batch: plan.batch,
    steps: plan.steps,
    stepsPerEpoch: plan.stepsPerEpoch,
    epochs: plan.epochs,
    augment: plan.augment,
    ema: plan.ema,
    planned: plan.planned,
    msPerStep: p.msPerStep,
    estimateSource: p.estimateSource,
    seconds: p.seconds,
    text: p.text,
  };
}

// ---------------------------------------------------------------------------------------------
// Events

type Listener = (event: AnyEvent) => void;

class EventBus {
  private readonly listeners = new Set<Listener>();
  private readonly pendingSteps = new Map<number, StepMetrics[]>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;

  constructor(private readonly stepFlushMs: number) {}

  subscribe(listener: Listener): Unsubscribe {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit<E extends EventChannel>(event: E, payload: PayloadOf<E>): void {
    if (this.disposed) return;
    const message = { event, payload } as AnyEvent;
    for (const listener of [...this.listeners]) {
      try {
        listener(message);
      } catch (err) {
        console.error(`[events] a ${event} listener failed:`, err);
      }
    }
  }

  /** A progress callback for one import: at most ten events a second, and always the last one. */
  importProgress(name: string) {
    let last = 0;
    return (p: { done: number; total: number; imported: number; skipped: number; imagesPerSec: number; seconds: number }) => {
      const now = Date.now();
      if (now - last < 100 && p.done < p.total) return;
      last = now;
      this.emit(Channels.datasetsProgress, {
        name,
        done: p.done,
        total: p.total,
        imported: p.imported,
        skipped: p.skipped,
        imagesPerSec: p.imagesPerSec,
        seconds: p.seconds,
      });
    };
  }

  /** Forwards a training handle's events as `training:*` events; returns the start response. */
  follow(home: string, handle: TrainingHandle): TrainingStarted {
    const runId = handle.run.id;
    let step = handle.startStep;
    let epoch = handle.run.epoch;
    const status = (s: PayloadOf<typeof Channels.trainingStatus>['status'], error: string | null = null, verdict: RunVerdict | null = null) =>
      this.emit(Channels.trainingStatus, { runId, status: s, error, step, epoch, verdict });
    handle.on('step', (m) => {
      step = m.step;
      this.queueStep(runId, m);
    });
    handle.on('epoch', (summary) => {
      this.flushSteps();
      epoch = summary.epoch;
      this.emit(Channels.trainingEpoch, { runId, ...summary });
    });
    handle.on('grid', (grid) => {
      const info = toGridInfo(home, grid);
      if (info.file) this.emit(Channels.trainingGrid, { runId, ...info, removedSteps: grid.removedSteps });
    });
    handle.on('quality', (point) => {
      this.flushSteps();
      this.emit(Channels.trainingQuality, { runId, ...point });
    });
    handle.on('warning', (warning) => {
      this.flushSteps();
      this.emit(Channels.trainingWarning, { runId, ...toWarningInfo(home, warning) });
    });
    handle.on('paused', () => {
      this.flushSteps();
      status('paused');
    });
    handle.on('resumed', () => status('running'));
    handle.done.then(
      ({ run }) => {
        this.flushSteps();
        step = run.step;
        epoch = run.epoch;
        const final = run.status === 'running' || run.status === 'interrupted' ? 'failed' : run.status;
        status(final, run.error, run.verdict);
      },
      (err: unknown) => {
        this.flushSteps();
        status('failed', toContractError(err).message);
      },
    );
    // The renderer hears `running` right after it gets the start response.
    queueMicrotask(() => status('running'));
    const { data, backend } = handle;
    return {
      runId,
      run: handle.run,
      backend: { name: backend.name, reason: backend.reason },
      data: {
        count: data.count,
        source: data.source,
        format: data.format,
        classNames: data.classNames,
        skipped: data.skipped.length,
      },
      batch: data.batch,
      stepsPerEpoch: data.stepsPerEpoch,
      startStep: handle.startStep,
      totalSteps: handle.totalSteps,
    };
  }

  private queueStep(runId: number, m: StepMetrics): void {
    const list = this.pendingSteps.get(runId);
    if (list) list.push(m);
    else this.pendingSteps.set(runId, [m]);
    this.timer ??= setTimeout(() => this.flushSteps(), this.stepFlushMs);
  }

  private flushSteps(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batches = [...this.pendingSteps];
    this.pendingSteps.clear();
    for (const [runId, steps] of batches) this.emit(Channels.trainingStep, { runId, steps });
  }

  dispose(): void {
    this.flushSteps();
    this.disposed = true;
    this.listeners.clear();
  }
}
