// The contract between the renderer and whichever host serves it (Electron IPC, or the browser
// host's WebSocket). Every channel name, request, response, pushed event and error shape lives here.
// Plain data only, and no `electron` or `node:` imports: the renderer and the preload import this.

import type {
  BackendInfo,
  BackendName,
  DatasetRecord,
  DatasetSize,
  EpochSummary,
  FitMode,
  ImageChannels,
  ImageSize,
  ModelKind,
  ModelRecord,
  GridKind,
  QualityPoint,
  RunRecord,
  RunVerdict,
  RunWarning,
  SkippedFile,
  StepMetrics,
} from './types';

/**
 * Every channel, as `domain:verb`: requests (renderer → host) and pushed events (host → renderer).
 * No channel string literal may appear anywhere else: hosts, the preload and clients all refer to
 * `Channels.X`.
 */
export const Channels = {
  // requests
  appInfo: 'app:info',
  datasetsList: 'datasets:list',
  datasetsImport: 'datasets:import',
  datasetsDelete: 'datasets:delete',
  runsList: 'runs:list',
  runsGet: 'runs:get',
  runsMetrics: 'runs:metrics',
  runsDelete: 'runs:delete',
  /** The run's sample timeline as one animated GIF (written into the run's folder). */
  runsTimelineGif: 'runs:timelineGif',
  trainingStart: 'training:start',
  trainingPause: 'training:pause',
  trainingResume: 'training:resume',
  trainingStop: 'training:stop',
  trainingPlan: 'training:plan',
  fsList: 'fs:list',
  /** Electron only: the native folder picker. The browser uses `fs:list`. */
  dialogOpenFolder: 'dialog:openFolder',
  dialogSaveFile: 'dialog:saveFile',
  galleriesCreate: 'galleries:create',
  galleriesList: 'galleries:list',
  galleriesGet: 'galleries:get',
  galleriesPick: 'galleries:pick',
  galleriesSave: 'galleries:save',
  galleriesDelete: 'galleries:delete',
  galleriesRegenerate: 'galleries:regenerate',
  galleriesCheckpoints: 'galleries:checkpoints',
  modelsList: 'models:list',
  modelsImport: 'models:import',
  modelsDelete: 'models:delete',
  latentArithmetic: 'latent:arithmetic',
  latentInterpolate: 'latent:interpolate',
  // pushed events
  trainingStep: 'training:step',
  trainingEpoch: 'training:epoch',
  trainingGrid: 'training:grid',
  trainingStatus: 'training:status',
  trainingQuality: 'training:quality',
  trainingWarning: 'training:warning',
  datasetsProgress: 'datasets:progress',
} as const;

export type ChannelKey = keyof typeof Channels;
export type AnyChannel = (typeof Channels)[ChannelKey];

/** The channels the host pushes to the renderer. */
export const EVENT_CHANNELS = [
  Channels.trainingStep,
  Channels.trainingEpoch,
  Channels.trainingGrid,
  Channels.trainingStatus,
  Channels.trainingQuality,
  Channels.trainingWarning,
  Channels.datasetsProgress,
] as const;
export type EventChannel = (typeof EVENT_CHANNELS)[number];

/** Request channels: everything that is not an event. */
export type Channel = Exclude<AnyChannel, EventChannel>;
export const REQUEST_CHANNELS: readonly Channel[] = (Object.values(Channels) as AnyChannel[]).filter(
  (c): c is Channel => !(EVENT_CHANNELS as readonly string[]).includes(c),
);

export function isRequestChannel(value: unknown): value is Channel {
  return typeof value === 'string' && (REQUEST_CHANNELS as readonly string[]).includes(value);
}

// ---------------------------------------------------------------------------------------------
// Requests and responses

/** Which host serves the UI: the Electron app, or `gan-studio serve` in a browser. */
export type HostKind = 'electron' | 'browser';

/** `app:info` request: nothing, or ask the host to pick the training backend now (loads TensorFlow.js). */
export type AppInfoRequest = void | { probeBackend?: boolean };

/** What `app:info` returns. */
export interface AppInfo {
  /** The application's version (package.json `version`). */
  version: string;
  /** Node's `process.platform` of the machine running the core (`linux`, `darwin`, `win32`…). */
  platform: string;
  /** The studio's home: `GAN_STUDIO_HOME`, default `~/.gan-studio`. */
  home: string;
  /** Which host serves this UI: `electron` has native dialogs; `browser` uses `fs:list`. */
  host: HostKind;
  /**
   * The TensorFlow.js backend training uses, and why it was chosen; null until known (the last
   * run's worker reported it, or `app:info` was asked with `probeBackend: true`).
   */
  backend: Pick<BackendInfo, 'name' | 'reason'> | null;
  /** Runs training in this host process now. */
  activeRuns: number[];
}

/**
 * Files under the studio home (sample grids, contact sheets) travel as home-relative paths with
 * `/` separators; `api.fileUrl(path)` turns one into a URL the page can load.
 */
export type HomeFile = string;

/** A dataset as the UI sees it (no cache internals). */
export interface DatasetInfo extends DatasetRecord {
  /** The contact sheet PNG (home-relative), or null. */
  contactSheet: HomeFile | null;
}

export interface DatasetImportRequest {
  /** Absolute path of an image folder, an IDX images file (or its folder), or CIFAR-10 batches. */
  path: string;
  /** The name to train it by (1 to 100 characters). */
  name: string;
  size?: DatasetSize;
  channels?: ImageChannels;
  /** Image folders: first-level subfolders are classes. */
  labels?: boolean;
  fit?: FitMode;
  /** Add horizontal flips (doubles the images). */
  mirror?: boolean;
}

export interface DatasetImportResult {
  dataset: DatasetInfo;
  imported: number;
  skipped: number;
  /** Files that could not be used, with the reason (the first few hundred at most). */
  skippedFiles: SkippedFile[];
  seen: number;
  count: number;
  mirrored: boolean;
  /** The source had not changed since the last import: nothing was decoded again. */
  unchanged: boolean;
  seconds: number;
  imagesPerSec: number;
  /** One line for users. */
  message: string;
}

export interface DatasetRef {
  id: number;
}

export interface RunRef {
  runId: number;
}

export interface GridInfo {
  /** `epoch` grids: the epoch just completed (0 = before training); others: the epoch in progress. */
  epoch: number;
  step: number;
  /** Why it was drawn: at an epoch's end, on the training clock, or where the run stopped. */
  kind: GridKind;
  file: HomeFile;
}

/** A warning as the renderer gets it: the memorisation pair as a home file. */
export interface WarningInfo extends Omit<RunWarning, 'pairPath'> {
  pair: HomeFile | null;
}

export interface CheckpointInfo {
  step: number;
  epoch: number;
  createdAt: string;
}

/** `runs:get`: the run and everything recorded for it except the per-step metrics. */
export interface RunDetails {
  run: RunRecord;
  epochs: EpochSummary[];
  /** The sample timeline, ordered by step. */
  grids: GridInfo[];
  checkpoints: CheckpointInfo[];
  /** Quality evaluations, ordered by step. */
  quality: QualityPoint[];
  /** Warnings raised, in the order they were first raised. */
  warnings: WarningInfo[];
  /** Whether it is training in this host process now (and so can be paused / stopped). */
  active: boolean;
  /** Whether `training:start` with `resume` can continue it. */
  resumable: boolean;
  /** Per-step metric rows recorded. */
  metricCount: number;
}

/** `runs:timelineGif`: the run's sample grids, in step order, as one animated GIF. */
export interface TimelineGifRequest {
  runId: number;
  /** Milliseconds per frame (default 400); the last frame is held longer. */
  delayMs?: number;
}

export interface TimelineGifResult {
  /** The GIF, in the run's folder (`timeline.gif`, replaced each time). */
  file: HomeFile;
  frames: number;
  bytes: number;
}

export interface RunMetricsRequest {
  runId: number;
  /** Only steps >= fromStep (polling: the last step seen + 1). */
  fromStep?: number;
  /** At most this many points (default 2000): long runs are downsampled server-side. */
  maxPoints?: number;
}

export interface RunMetricsResult {
  runId: number;
  /** Ordered by step. */
  points: StepMetrics[];
  /** The stride used: every `every`-th step (1 = all of them). Stable while a run grows, within a factor of 2. */
  every: number;
  /** Metric rows recorded for the run in all. */
  total: number;
}

/**
 * `training:start`: a new run. Every field but `data` has a default from the papers (DCGAN:
 * Radford et al. 2016, lr 2e-4, beta1 0.5, batch 128; GAN: Goodfellow et al. 2014, k 1) applied
 * by the host; `size` / `channels` default to the dataset's own when `data` names an imported one.
 */
export interface TrainingNewRequest {
  /** An imported dataset's name, or the absolute path of an image folder / IDX file. */
  data: string;
  model?: ModelKind;
  size?: ImageSize;
  channels?: ImageChannels;
  latent?: number;
  epochs?: number;
  /** Total generator steps (overrides epochs). */
  steps?: number | null;
  batch?: number;
  lr?: number;
  beta1?: number;
  beta2?: number;
  k?: number;
  seed?: number;
  /** Default: `<model>-<data>`. */
  name?: string;
  limit?: number | null;
  labels?: boolean;
  backend?: BackendName | 'auto';
  /** DiffAugment for D; absent: the training plan decides from the data's size. */
  augment?: boolean;
  /** An averaged generator; absent: the training plan decides. */
  ema?: boolean;
}

/**
 * `training:plan`: a new run's settings as for `training:start` (on an imported dataset); the
 * answer says what the run would do. `measure` times a few steps now when no earlier run says
 * how long one takes (seconds; later previews of the same settings reuse it).
 */
export interface TrainingPlanRequest extends TrainingNewRequest {
  measure?: boolean;
}

export interface TrainingPlanPreview {
  /** Images the run would train on. */
  count: number;
  batch: number;
  steps: number;
  stepsPerEpoch: number;
  epochs: number;
  augment: boolean;
  ema: boolean;
  /** Which of those the plan chose (rather than the request). */
  planned: { batch: boolean; length: boolean; augment: boolean; ema: boolean };
  /** ms a training step on this machine, or null when not known yet (ask with `measure`). */
  msPerStep: number | null;
  /** 'run N' (an earlier run like it) or 'measured' (timed for this preview). */
  estimateSource: string | null;
  /** Estimated training time of the whole plan, in seconds. */
  seconds: number | null;
  /** The plan in words. */
  text: string;
}

/** `training:start`: continue a stopped / interrupted / completed run from its latest checkpoint. */
export interface TrainingResumeRequest {
  resume: number;
  /** A new total length. */
  epochs?: number;
  steps?: number | null;
  backend?: BackendName | 'auto';
}

export type TrainingStartRequest = TrainingNewRequest | TrainingResumeRequest;

export interface TrainingStarted {
  runId: number;
  run: RunRecord;
  backend: Pick<BackendInfo, 'name' | 'reason'>;
  data: {
    count: number;
    source: string;
    format: string;
    classNames: string[];
    skipped: number;
  };
  batch: number;
  stepsPerEpoch: number;
  /** The step training starts from (0, or the checkpoint's step on resume). */
  startStep: number;
  totalSteps: number;
}

export interface FolderListRequest {
  /** Absolute folder path; default: the user's home directory. */
  path?: string;
  /** Include folders whose name starts with a dot. */
  showHidden?: boolean;
}

export interface FolderEntryInfo {
  name: string;
  /** Absolute path. */
  path: string;
  /** Image files directly inside it (capped: see `imagesCapped`). */
  images: number;
  imagesCapped: boolean;
  /** Subfolders directly inside it (classes, when importing with labels). */
  folders: number;
  /** IDX or CIFAR-10 files directly inside it. */
  dataFiles: number;
}

export interface FolderListing {
  /** The folder listed (absolute, resolved). */
  path: string;
  /** Its parent, or null at a filesystem root. */
  parent: string | null;
  /** The user's home directory (for a "home" button). */
  home: string;
  /** Subfolders, by name. */
  entries: FolderEntryInfo[];
  /** Image files directly in this folder. */
  images: number;
  /** IDX / CIFAR-10 files directly in this folder (importable as a file). */
  dataFiles: string[];
  /** More subfolders than listed were present. */
  truncated: boolean;
}

export type OpenFolderRequest = void | { title?: string };

/** The native save dialog: a suggested file name (no folders) and optional type filters. */
export interface SaveFileRequest {
  title?: string;
  defaultName: string;
  filters?: { name: string; extensions: string[] }[];
}

/**
 * `galleries:create`: N images from seeded latents at a run's latest checkpoint, or by an imported
 * model (give `runId` or `modelId`). The same source, checkpoint and seed always give the same pixels.
 */
export interface GalleryCreateRequest {
  runId?: number;
  modelId?: number;
  /** Images in all (default 16). Conditional runs without `perClass` cycle through the classes. */
  count?: number;
  /** The latent seed (default 1). */
  seed?: number;
  /** Conditional runs: this many images of each class, one row per class. */
  perClass?: number;
  /** Conditional runs: only these classes (indices), in this order. */
  classes?: number[];
  name?: string;
}

export interface GalleryRef {
  galleryId: number;
}

/** All galleries, or one run's, or one imported model's. */
export type GalleryListRequest = void | { runId?: number; modelId?: number };

export interface GalleryImageInfo {
  index: number;
  /** The image's latent: row `latentIndex` of the draw with `seed` (and its class). */
  seed: number;
  latentIndex: number;
  /** Conditional runs: the class index and its name; else null. */
  classLabel: number | null;
  className: string | null;
  picked: boolean;
  /** Where it was last saved (absolute), or null. */
  savedPath: string | null;
  file: HomeFile;
}

export interface GallerySummary {
  id: number;
  /** The run it was drawn from, or null (an imported model's gallery). */
  runId: number | null;
  /** The imported model it was drawn from, or null (a run's gallery). */
  modelId: number | null;
  name: string;
  seed: number;
  /** The checkpoint the images were drawn at. */
  step: number;
  epoch: number;
  /** Images per class (one row each) for a class-by-class gallery, else null. */
  perClass: number | null;
  createdAt: string;
  count: number;
  picked: number;
}

export interface GalleryInfo extends GallerySummary {
  /** The run's name, or null for an imported model's gallery. */
  runName: string | null;
  /** The imported model's name, or null for a run's gallery. */
  modelName: string | null;
  modelKind: ModelKind;
  size: number;
  channels: number;
  /** Conditional models: the number of classes (the lab can draw in any of them); else 0. */
  numClasses: number;
  /** The class names (conditional models, when known), else []. */
  classNames: string[];
  images: GalleryImageInfo[];
}

/** A step a gallery's images can be drawn again at: a checkpoint or per-epoch snapshot of its run. */
export interface GalleryCheckpoint {
  step: number;
  /** Completed epochs at that step; null for an imported model's own weights. */
  epoch: number | null;
}

/** `galleries:regenerate`: one image drawn again from its stored latent, at another checkpoint. */
export interface GalleryRegenerateRequest {
  galleryId: number;
  /** The image (0-based). */
  index: number;
  /** A step from `galleries:checkpoints`; default: the gallery's own step. */
  checkpointStep?: number;
}

export interface GalleryRegenerateResult {
  galleryId: number;
  index: number;
  step: number;
  epoch: number | null;
  file: HomeFile;
}

/** An imported generator (`gan-studio import-model`, or `models:import`). */
export type ModelInfo = ModelRecord;

/** `models:import`: copies an exported generator folder into the studio home and records it. */
export interface ModelImportRequest {
  /** Absolute path of a folder written by `gan-studio export` (model.json, weights, gan-studio.json). */
  path: string;
  /** Default: the folder's name. Letters, digits, `.`, `_` and `-`; a taken name is refused. */
  name?: string;
}

export interface ModelRef {
  modelId: number;
}

export interface GalleryPickRequest {
  galleryId: number;
  indices: number[];
  picked: boolean;
}

/** `galleries:save`: PNG files (or one grid PNG) into a folder; an existing file is never replaced. */
export interface GallerySaveRequest {
  galleryId: number;
  which: 'picked' | 'all';
  /** An absolute folder on the machine running GAN Studio (created if missing). */
  outDir: string;
  asGrid?: boolean;
}

export interface GallerySaveResult {
  dir: string;
  /** Absolute paths of the files written. */
  files: string[];
}

/** A latent-lab operand: one gallery image, or several whose latents are averaged (a class mean). */
export interface LatentOperand {
  /** The operand's name in the expression (`a`, `b`, `c`…). */
  name: string;
  /** Gallery image indices (0-based). */
  indices: number[];
  /** Conditional models: the class to draw it in (default: its first image's class). */
  classLabel?: number;
}

/**
 * `latent:arithmetic`: G(expression over the operands' latents) next to the pixel-wise combination
 * of the operands' images, drawn at the gallery's checkpoint. Operands the expression does not
 * use are ignored.
 */
export interface LatentArithmeticRequest {
  galleryId: number;
  /** A linear combination of operand names: `a - b + c`, `a + b`, `2*a - b`. */
  expression: string;
  operands: LatentOperand[];
  /** Conditional models: the class to draw both results in (default: the first operand's). */
  resultClass?: number;
}

export interface LatentArithmeticResult {
  galleryId: number;
  runId: number | null;
  modelId: number | null;
  step: number;
  /** The expression as parsed (`a - b + c`). */
  expression: string;
  /** The folder written, `lab/<n>`. */
  dir: HomeFile;
  /** G(operand latent) for each operand the expression uses, in its order, and its class (conditional models). */
  operands: { name: string; indices: number[]; classLabel: number | null; file: HomeFile }[];
  /** Conditional models: the class both results were drawn in; else null. */
  resultClass: number | null;
  /** G(expression in latent space). */
  latentSpace: HomeFile;
  /** The expression over the operands' images, pixel by pixel. */
  pixelWise: HomeFile;
  /** Operands, latent-space result, pixel-wise result, side by side. */
  strip: HomeFile;
}

export type LatentInterpolationMode = 'lerp' | 'slerp';

/** `latent:interpolate`: K frames from one gallery image's latent to another's. */
export interface LatentInterpolateRequest {
  galleryId: number;
  /** Gallery image indices (0-based). */
  from: number;
  to: number;
  /** Frames K, both ends included (2 to 64). */
  frames: number;
  /** Default slerp. */
  mode?: LatentInterpolationMode;
  /** GIF frame delay (default 120 ms). */
  delayMs?: number;
  /**
   * Conditional models: the class at each end (default: that end's image's class). Between two
   * classes the label input morphs along with the latent.
   */
  fromClass?: number;
  toClass?: number;
}

export interface LatentInterpolateResult {
  galleryId: number;
  runId: number | null;
  modelId: number | null;
  step: number;
  mode: LatentInterpolationMode;
  frames: number;
  /** Conditional models: the class at each end; else null. */
  fromClass: number | null;
  toClass: number | null;
  dir: HomeFile;
  /** The K frames side by side (PNG). */
  strip: HomeFile;
  /** The same frames as an animated GIF. */
  animation: HomeFile;
}

/** Request and response types, by request channel. A request of `void` means "send nothing". */
export interface ChannelTypes {
  [Channels.appInfo]: { request: AppInfoRequest; response: AppInfo };
  [Channels.datasetsList]: { request: void; response: DatasetInfo[] };
  [Channels.datasetsImport]: { request: DatasetImportRequest; response: DatasetImportResult };
  [Channels.datasetsDelete]: { request: DatasetRef; response: null };
  [Channels.runsList]: { request: void; response: RunRecord[] };
  [Channels.runsGet]: { request: RunRef; response: RunDetails };
  [Channels.runsMetrics]: { request: RunMetricsRequest; response: RunMetricsResult };
  [Channels.runsDelete]: { request: RunRef; response: null };
  [Channels.runsTimelineGif]: { request: TimelineGifRequest; response: TimelineGifResult };
  [Channels.trainingStart]: { request: TrainingStartRequest; response: TrainingStarted };
  [Channels.trainingPause]: { request: RunRef; response: null };
  [Channels.trainingResume]: { request: RunRef; response: null };
  [Channels.trainingStop]: { request: RunRef; response: null };
  [Channels.trainingPlan]: { request: TrainingPlanRequest; response: TrainingPlanPreview };
  [Channels.fsList]: { request: FolderListRequest | void; response: FolderListing };
  /** The chosen folder's absolute path, or null when the user cancelled. */
  [Channels.dialogOpenFolder]: { request: OpenFolderRequest; response: string | null };
  /** The chosen file's absolute path, or null when the user cancelled. */
  [Channels.dialogSaveFile]: { request: SaveFileRequest; response: string | null };
  [Channels.galleriesCreate]: { request: GalleryCreateRequest; response: GalleryInfo };
  [Channels.galleriesList]: { request: GalleryListRequest; response: GallerySummary[] };
  [Channels.galleriesGet]: { request: GalleryRef; response: GalleryInfo };
  [Channels.galleriesPick]: { request: GalleryPickRequest; response: GalleryInfo };
  [Channels.galleriesSave]: { request: GallerySaveRequest; response: GallerySaveResult };
  [Channels.galleriesDelete]: { request: GalleryRef; response: null };
  [Channels.galleriesRegenerate]: { request: GalleryRegenerateRequest; response: GalleryRegenerateResult };
  [Channels.galleriesCheckpoints]: { request: GalleryRef; response: GalleryCheckpoint[] };
  [Channels.modelsList]: { request: void; response: ModelInfo[] };
  [Channels.modelsImport]: { request: ModelImportRequest; response: ModelInfo };
  [Channels.modelsDelete]: { request: ModelRef; response: null };
  [Channels.latentArithmetic]: { request: LatentArithmeticRequest; response: LatentArithmeticResult };
  [Channels.latentInterpolate]: { request: LatentInterpolateRequest; response: LatentInterpolateResult };
}

export type RequestOf<C extends Channel> = ChannelTypes[C]['request'];
export type ResponseOf<C extends Channel> = ChannelTypes[C]['response'];

// ---------------------------------------------------------------------------------------------
// Pushed events

/** Status of a live run; `failed` and `diverged` carry the error text. */
export type LiveRunStatus = 'running' | 'paused' | 'completed' | 'stopped' | 'failed' | 'diverged';

export interface TrainingStepEvent {
  runId: number;
  /** Steps since the last event, in order (the host batches them, about 10 events a second). */
  steps: StepMetrics[];
}

export interface TrainingEpochEvent extends EpochSummary {
  runId: number;
}

export interface TrainingGridEvent extends GridInfo {
  runId: number;
  /** Steps of earlier clock grids retired to thin a long run's timeline (their files are gone). */
  removedSteps: number[];
}

export interface TrainingQualityEvent extends QualityPoint {
  runId: number;
}

/** A warning raised, or one raised before and seen again (same code: update it in place). */
export interface TrainingWarningEvent extends WarningInfo {
  runId: number;
}

export interface TrainingStatusEvent {
  runId: number;
  status: LiveRunStatus;
  /** The error text for `failed` / `diverged`, else null. */
  error: string | null;
  step: number;
  epoch: number;
  /** The run's verdict once its session has ended (null while it trains). */
  verdict: RunVerdict | null;
}

export interface DatasetProgressEvent {
  /** The dataset name being imported. */
  name: string;
  done: number;
  total: number;
  imported: number;
  skipped: number;
  imagesPerSec: number;
  seconds: number;
}

export interface EventTypes {
  [Channels.trainingStep]: TrainingStepEvent;
  [Channels.trainingEpoch]: TrainingEpochEvent;
  [Channels.trainingGrid]: TrainingGridEvent;
  [Channels.trainingStatus]: TrainingStatusEvent;
  [Channels.trainingQuality]: TrainingQualityEvent;
  [Channels.trainingWarning]: TrainingWarningEvent;
  [Channels.datasetsProgress]: DatasetProgressEvent;
}

export type PayloadOf<E extends EventChannel> = EventTypes[E];

/** One pushed event as hosts pass it around. */
export type AnyEvent = { [E in EventChannel]: { event: E; payload: PayloadOf<E> } }[EventChannel];

// ---------------------------------------------------------------------------------------------
// Envelopes: every reply is either `{ result }` or `{ error }`, never a thrown IPC error (Electron
// mangles those into "Error invoking remote method …" strings and drops every other field).

export const ErrorCodes = {
  /** The request did not come from our own window's main frame. */
  forbidden: 'FORBIDDEN',
  /** The request failed validation. */
  invalidRequest: 'INVALID_REQUEST',
  /** No such channel. */
  unknownChannel: 'UNKNOWN_CHANNEL',
  /** The channel exists, but not in this host (native dialogs in the browser). */
  unsupported: 'UNSUPPORTED',
  /** Something the request names does not exist. */
  notFound: 'NOT_FOUND',
  /** The request is valid but the state does not allow it (a run already training, a name taken). */
  conflict: 'CONFLICT',
  /** The data cannot be used (no images, unreadable files, wrong shape). */
  data: 'DATA_ERROR',
  /** Anything else; the message says what. */
  internal: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface ContractError {
  message: string;
  /** One of `ErrorCodes`. */
  code: string;
}

export type Envelope<T> = { result: T } | { error: ContractError };

/** What `api` methods reject with. `code` is one of `ErrorCodes` (in Electron it may be lost). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string = ErrorCodes.internal,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Unwraps a reply envelope: the result, or an `ApiError`. */
export function unwrapEnvelope<T>(channel: string, reply: unknown): T {
  if (typeof reply === 'object' && reply !== null) {
    if ('error' in reply) {
      const error = (reply as { error: unknown }).error as { message?: unknown; code?: unknown } | null;
      const message = typeof error?.message === 'string' ? error.message : 'Unknown error';
      const code = typeof error?.code === 'string' ? error.code : ErrorCodes.internal;
      throw new ApiError(message, code);
    }
    if ('result' in reply) return (reply as { result: T }).result;
  }
  throw new ApiError(`Malformed reply on ${channel}`);
}

// ---------------------------------------------------------------------------------------------
// window.api

/** Returned by every `api.onX(cb)`: call it to stop listening. */
export type Unsubscribe = () => void;

/**
 * The one object the renderer talks to (`window.api`). Each request method returns a Promise that
 * rejects with an `Error` whose message says what went wrong in words for users. Each event method
 * `onX(cb)` takes a callback of plain data and returns an `Unsubscribe`.
 */
export interface Api {
  /** `app:info`: version, platform, studio home, host kind, training backend. */
  appInfo(request?: AppInfoRequest): Promise<AppInfo>;

  /** `datasets:list`: imported datasets, by name. */
  listDatasets(): Promise<DatasetInfo[]>;
  /** `datasets:import`: progress arrives through `onDatasetProgress`. */
  importDataset(request: DatasetImportRequest): Promise<DatasetImportResult>;
  /** `datasets:delete`: the dataset's cache and contact sheet go too; runs keep their records. */
  deleteDataset(request: DatasetRef): Promise<null>;

  /** `runs:list`: newest first. */
  listRuns(): Promise<RunRecord[]>;
  /** `runs:get`: a run with its epochs, grids and checkpoints. */
  getRun(request: RunRef): Promise<RunDetails>;
  /** `runs:metrics`: per-step metrics, downsampled to `maxPoints`. */
  runMetrics(request: RunMetricsRequest): Promise<RunMetricsResult>;
  /** `runs:delete`: rows and files (not while it trains). */
  deleteRun(request: RunRef): Promise<null>;
  /** `runs:timelineGif`: the sample timeline as an animated GIF. */
  timelineGif(request: TimelineGifRequest): Promise<TimelineGifResult>;

  /** `training:start`: resolves once the data is loaded and the run recorded. */
  startTraining(request: TrainingStartRequest): Promise<TrainingStarted>;
  pauseTraining(request: RunRef): Promise<null>;
  resumeTraining(request: RunRef): Promise<null>;
  /** Stops after the current step and writes a checkpoint; `onTrainingStatus` says when it is done. */
  stopTraining(request: RunRef): Promise<null>;
  /** `training:plan`: what a new run with these settings would do (the Train page's preview). */
  planTraining(request: TrainingPlanRequest): Promise<TrainingPlanPreview>;

  /** `fs:list`: the server-side folder browser (the browser host's folder picker). */
  listFolder(request?: FolderListRequest): Promise<FolderListing>;
  /** `dialog:openFolder`: the native folder picker (Electron only; rejects with UNSUPPORTED elsewhere). */
  openFolderDialog(request?: OpenFolderRequest): Promise<string | null>;
  /** `dialog:saveFile`: the native save dialog (Electron only; rejects with UNSUPPORTED elsewhere). */
  saveFileDialog(request: SaveFileRequest): Promise<string | null>;

  /** `galleries:create`: draws a gallery from seeded latents at a run's latest checkpoint, or by an imported model. */
  createGallery(request: GalleryCreateRequest): Promise<GalleryInfo>;
  /** `galleries:list`: newest first; one run's (`runId`) or one model's (`modelId`) when given. */
  listGalleries(request?: GalleryListRequest): Promise<GallerySummary[]>;
  /** `galleries:get`: a gallery with its images. */
  getGallery(request: GalleryRef): Promise<GalleryInfo>;
  /** `galleries:pick`: marks images picked (or not); returns the gallery. */
  pickGalleryImages(request: GalleryPickRequest): Promise<GalleryInfo>;
  /** `galleries:save`: writes PNGs (or one grid) into a folder, never replacing a file. */
  saveGallery(request: GallerySaveRequest): Promise<GallerySaveResult>;
  /** `galleries:delete`: the gallery's rows and files, and its latent-lab folders. */
  deleteGallery(request: GalleryRef): Promise<null>;
  /** `galleries:regenerate`: one image drawn again from its latent at a checkpoint of `galleries:checkpoints`. */
  regenerateGalleryImage(request: GalleryRegenerateRequest): Promise<GalleryRegenerateResult>;
  /** `galleries:checkpoints`: the steps the gallery's images can be drawn again at, oldest first. */
  galleryCheckpoints(request: GalleryRef): Promise<GalleryCheckpoint[]>;

  /** `models:list`: imported generators, by name. */
  listModels(): Promise<ModelInfo[]>;
  /** `models:import`: copies an exported generator folder into the studio home (a taken name is refused). */
  importModel(request: ModelImportRequest): Promise<ModelInfo>;
  /** `models:delete`: the model's folder and its galleries go too. */
  deleteModel(request: ModelRef): Promise<null>;

  /** `latent:arithmetic`: G(a − b + c) in latent space next to the pixel-wise G(a) − G(b) + G(c). */
  latentArithmetic(request: LatentArithmeticRequest): Promise<LatentArithmeticResult>;
  /** `latent:interpolate`: a strip of K frames (lerp or slerp) and an animated GIF. */
  latentInterpolate(request: LatentInterpolateRequest): Promise<LatentInterpolateResult>;

  /** A URL the page can load for a file under the studio home (grids, contact sheets). */
  fileUrl(file: HomeFile): string;

  onTrainingStep(cb: (event: TrainingStepEvent) => void): Unsubscribe;
  onTrainingEpoch(cb: (event: TrainingEpochEvent) => void): Unsubscribe;
  onTrainingGrid(cb: (event: TrainingGridEvent) => void): Unsubscribe;
  onTrainingStatus(cb: (event: TrainingStatusEvent) => void): Unsubscribe;
  onTrainingQuality(cb: (event: TrainingQualityEvent) => void): Unsubscribe;
  onTrainingWarning(cb: (event: TrainingWarningEvent) => void): Unsubscribe;
  onDatasetProgress(cb: (event: DatasetProgressEvent) => void): Unsubscribe;
}

/** What a host transport provides; `createApi` builds the same `Api` over any of them. */
export interface ApiTransport {
  /** Sends one request; resolves with the reply envelope (or rejects on a transport failure). */
  request(channel: Channel, request: unknown): Promise<unknown>;
  /** Listens to one pushed event channel. */
  subscribe(event: EventChannel, cb: (payload: unknown) => void): Unsubscribe;
  /** The URL prefix home files are served under (`gan-studio://files/` or `/files/`). */
  filesBase: string;
}

/** Where home files are served: the Electron app's own protocol, and the browser host's route. */
export const FILES_URL_BASE = {
  electron: 'gan-studio://files/',
  browser: '/files/',
} as const;

/** Encodes a home-relative path for a URL, segment by segment. */
export function encodeHomeFile(file: HomeFile): string {
  return file
    .split('/')
    .filter((s) => s.length > 0)
    .map(encodeURIComponent)
    .join('/');
}

/** The one `Api` implementation, over any transport (Electron IPC, WebSocket). */
export function createApi(transport: ApiTransport): Api {
  const call =
    <C extends Channel>(channel: C) =>
    async (request?: RequestOf<C>): Promise<ResponseOf<C>> =>
      unwrapEnvelope<ResponseOf<C>>(channel, await transport.request(channel, request));
  const on =
    <E extends EventChannel>(event: E) =>
    (cb: (payload: PayloadOf<E>) => void): Unsubscribe =>
      transport.subscribe(event, (payload) => cb(payload as PayloadOf<E>));
  return {
    appInfo: call(Channels.appInfo),
    listDatasets: call(Channels.datasetsList),
    importDataset: call(Channels.datasetsImport),
    deleteDataset: call(Channels.datasetsDelete),
    listRuns: call(Channels.runsList),
    getRun: call(Channels.runsGet),
    runMetrics: call(Channels.runsMetrics),
    deleteRun: call(Channels.runsDelete),
    timelineGif: call(Channels.runsTimelineGif),
    startTraining: call(Channels.trainingStart),
    pauseTraining: call(Channels.trainingPause),
    resumeTraining: call(Channels.trainingResume),
    stopTraining: call(Channels.trainingStop),
    planTraining: call(Channels.trainingPlan),
    listFolder: call(Channels.fsList),
    openFolderDialog: call(Channels.dialogOpenFolder),
    saveFileDialog: call(Channels.dialogSaveFile),
    createGallery: call(Channels.galleriesCreate),
    listGalleries: call(Channels.galleriesList),
    getGallery: call(Channels.galleriesGet),
    pickGalleryImages: call(Channels.galleriesPick),
    saveGallery: call(Channels.galleriesSave),
    deleteGallery: call(Channels.galleriesDelete),
    regenerateGalleryImage: call(Channels.galleriesRegenerate),
    galleryCheckpoints: call(Channels.galleriesCheckpoints),
    listModels: call(Channels.modelsList),
    importModel: call(Channels.modelsImport),
    deleteModel: call(Channels.modelsDelete),
    latentArithmetic: call(Channels.latentArithmetic),
    latentInterpolate: call(Channels.latentInterpolate),
    fileUrl: (file) => transport.filesBase + encodeHomeFile(file),
    onTrainingStep: on(Channels.trainingStep),
    onTrainingEpoch: on(Channels.trainingEpoch),
    onTrainingGrid: on(Channels.trainingGrid),
    onTrainingStatus: on(Channels.trainingStatus),
    onTrainingQuality: on(Channels.trainingQuality),
    onTrainingWarning: on(Channels.trainingWarning),
    onDatasetProgress: on(Channels.datasetsProgress),
  };
}
