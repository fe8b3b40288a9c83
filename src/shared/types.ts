// Domain types shared by the core, every host and the renderer. Plain data only: these values
// cross thread and process boundaries (worker_threads, IPC, WebSocket, JSON lines).

export type ModelKind = 'dcgan' | 'gan' | 'cgan' | 'cdcgan';
export const MODEL_KINDS: readonly ModelKind[] = ['dcgan', 'gan', 'cgan', 'cdcgan'] as const;
export type ImageSize = 28 | 32 | 64 | 128;
export const IMAGE_SIZES: readonly ImageSize[] = [28, 32, 64, 128] as const;
export type ImageChannels = 1 | 3;

/** Everything a model builder needs; a model is a pure function of this. */
export interface ModelConfig {
  kind: ModelKind;
  size: ImageSize;
  channels: ImageChannels;
  /** Latent (z) dimension. */
  latent: number;
  /** Number of classes for conditional models (cgan, cdcgan); 0 for unconditional ones. */
  numClasses: number;
  /** Names of those classes (from the training data), when known. */
  classNames?: string[];
}

export interface TrainConfig {
  model: ModelConfig;
  /** What the user passed as --data (a path or a dataset name). */
  data: string;
  /** Total epochs; a run ends after epochs * stepsPerEpoch generator steps unless `steps` is set. */
  epochs: number;
  /** If set, total generator steps (overrides epochs). */
  steps: number | null;
  batch: number;
  lr: number;
  beta1: number;
  beta2: number;
  /** Discriminator updates per generator update (Goodfellow et al., Algorithm 1). */
  k: number;
  seed: number;
  name: string;
  /** Train on the first N images only (quick looks, tests); null or absent: all of them. */
  limit?: number | null;
  /** For image folders: first-level subfolders are classes. */
  labels?: boolean;
  /**
   * Differentiable augmentation (Zhao et al. 2020) of every image D sees, real and fake, in both
   * networks' updates. Absent in runs recorded before it existed: off.
   */
  augment?: boolean;
  /**
   * Keep an exponential moving average of G's weights (with batch-norm statistics of its own) and
   * sample grids, galleries and exports from it. Absent in older runs: off.
   */
  ema?: boolean;
}

/** A new run's defaults live with the bounds of its settings (one module, read by every host). */
export { TRAIN_DEFAULTS } from './training-defaults';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** The tfjs backend now active. */
  name: BackendName;
  /** One line for users: which backend runs, and why the better ones were passed over. */
  reason: string;
  /** For each better backend that was not used, why (e.g. the package is not installed). */
  skipped: { name: BackendName; reason: string }[];
  /** Extra facts about the active backend (SIMD, threads). */
  details: Record<string, string | number | boolean>;
}

export type RunStatus = 'running' | 'completed' | 'stopped' | 'failed' | 'diverged' | 'interrupted';
export const RESUMABLE_STATUSES: readonly RunStatus[] = ['stopped', 'interrupted', 'completed'] as const;

export interface RunRecord {
  id: number;
  name: string;
  status: RunStatus;
  config: TrainConfig;
  /** Backend name, or null before the worker reported it. */
  backend: string | null;
  backendReason: string | null;
  datasetId: number | null;
  /** Generator steps done (the last recorded step). */
  step: number;
  /** Epochs completed. */
  epoch: number;
  /** ISO timestamps. */
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  error: string | null;
  /** Process that owns the run while it is `running`. */
  pid: number | null;
  /** The run's judgement in one line, set when a training session ends (null before). */
  verdict: RunVerdict | null;
}

/** One generator step (after its k discriminator steps). D scores are mean sigmoid outputs. */
export interface StepMetrics {
  step: number;
  epoch: number;
  lossD: number;
  lossG: number;
  dReal: number;
  dFake: number;
}

export interface EpochSummary {
  /** 1-based number of the epoch just completed. */
  epoch: number;
  step: number;
  seconds: number;
  imagesPerSec: number;
}

/**
 * Why a grid was drawn: `epoch` at an epoch's end (epoch 0: before training), `clock` on the
 * training clock between epoch ends (see trainer.ts), `final` where a run stops or ends mid-epoch.
 */
export type GridKind = 'epoch' | 'clock' | 'final';
export const GRID_KINDS: readonly GridKind[] = ['epoch', 'clock', 'final'] as const;

export interface GridRecord {
  runId: number;
  /** `epoch` grids: the epoch just completed (0 = before training); others: the epoch in progress. */
  epoch: number;
  step: number;
  kind: GridKind;
  path: string;
}

/**
 * One quality evaluation during training: a fixed set of generated samples (the same latents every
 * time) against a fixed set of the training images, in the features of a fixed random network.
 */
export interface QualityPoint {
  step: number;
  /** 0 = as far from the data as random noise, 100 = as close as the data's own images; higher is better. */
  score: number;
  /** The kernel distance (KID) behind the score; lower is better, about 0 for the data itself. */
  distance: number;
  /** How varied the samples are, relative to the data (1 = as varied as the data, near 0 = one image repeated). */
  variety: number;
  /** The fraction of samples that are near copies of a training image (0..1). */
  copied: number;
  /** The fraction of samples that are near copies of another sample (0..1): a few images drawn again and again. */
  duplicates: number;
  /** Seconds the evaluation took. */
  seconds: number;
}

/** What a warning is about. */
export type WarningCode = 'd-overpowering' | 'mode-collapse' | 'memorisation' | 'plateau' | 'divergence' | 'noise';
export const WARNING_CODES: readonly WarningCode[] = ['d-overpowering', 'mode-collapse', 'memorisation', 'plateau', 'divergence', 'noise'] as const;

/** A warning raised while a run trains (or at its end), in words, with what to try. */
export interface RunWarning {
  code: WarningCode;
  /** The step it was first raised at. */
  step: number;
  /** The last step it was seen at (equal to `step` for a one-off). */
  lastStep: number;
  /** What is happening, in one or two plain sentences. */
  message: string;
  /** What to try. */
  advice: string;
  /** Memorisation only: a PNG of a generated sample beside its nearest training image. */
  pairPath: string | null;
}

/** The one-line judgement of a run when its session ends. */
export type VerdictCode = 'improving' | 'converged' | 'collapsed' | 'memorised' | 'noise' | 'diverged' | 'too-short';
export const VERDICT_CODES: readonly VerdictCode[] = ['improving', 'converged', 'collapsed', 'memorised', 'noise', 'diverged', 'too-short'] as const;

export interface RunVerdict {
  code: VerdictCode;
  /** One line for people: "varied samples, still improving", "collapsed: …", "noise: …". */
  text: string;
  /** The step it was made at. */
  step: number;
  /** The last quality score, when one was measured. */
  score: number | null;
}

export interface CheckpointRecord {
  runId: number;
  step: number;
  epoch: number;
  path: string;
  createdAt: string;
}

/** A training set in memory: uint8 pixels in NHWC order, already at the model's size. */
export interface ImageDataset {
  count: number;
  height: number;
  width: number;
  channels: ImageChannels;
  /** count * height * width * channels bytes, 0..255. */
  pixels: Uint8Array;
  /** One class index per image, or null when unlabelled. */
  labels: Int32Array | null;
  /** Class names by index ([] when unlabelled). */
  classNames: string[];
  /** Human-readable origin (path and format). */
  source: string;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

/** Sizes a dataset can be imported at (the same sizes the models train at, IMAGE_SIZES). */
export type DatasetSize = 28 | 32 | 64 | 128;
export const DATASET_SIZES: readonly DatasetSize[] = [28, 32, 64, 128] as const;

/** How a non-square image becomes square: centre crop, letterbox on black, or stretch. */
export type FitMode = 'crop' | 'pad' | 'stretch';
export const FIT_MODES: readonly FitMode[] = ['crop', 'pad', 'stretch'] as const;

export interface DatasetRecord {
  id: number;
  name: string;
  sourcePath: string;
  format: 'idx' | 'folder' | 'cifar10';
  size: number;
  channels: ImageChannels;
  /** Images in the dataset (with --mirror: twice the images imported). */
  count: number;
  classNames: string[];
  createdAt: string;
  /** When the cache was last (re)built. */
  updatedAt: string;
  fit: FitMode;
  /** Horizontal flips were added (count doubles). */
  mirror: boolean;
  /** For image folders: first-level subfolders were used as classes. */
  labelled: boolean;
  /** Source files (or IDX / CIFAR records) considered at import: imported + skipped. */
  seen: number;
  /** Of those, how many could not be used. */
  skipped: number;
}

/** An imported model's name: what `<home>/models/<name>` and `--model NAME` take. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/;

/** An imported generator (an exported TensorFlow.js Layers model with its sidecar). */
export interface ModelRecord {
  id: number;
  /** The name to explore it by (`--model NAME`); its folder is `<home>/models/<name>`. */
  name: string;
  /** The folder it was imported from. */
  sourcePath: string;
  kind: ModelKind;
  latent: number;
  size: number;
  channels: ImageChannels;
  /** Conditional models: the number of classes; else 0. */
  numClasses: number;
  classNames: string[];
  /** The training step of its weights. */
  step: number;
  /** The run it was exported from (in the studio that exported it), when known. */
  fromRunId: number | null;
  fromRunName: string | null;
  createdAt: string;
}
