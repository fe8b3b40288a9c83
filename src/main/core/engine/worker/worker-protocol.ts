// Messages between a host thread and the training worker. Plain data only.
import type { BackendInfo, BackendName, EpochSummary, QualityPoint, RunVerdict, RunWarning, SkippedFile, StepMetrics, TrainConfig } from '../../../../shared/types';
import type { GridDrawn } from '../ml/trainer';

/** What the worker needs to load data before a run exists. */
export interface TrainingJob {
  config: TrainConfig;
  /** 'auto' picks the best available backend (DESIGN.md's order). */
  backend: BackendName | 'auto';
  /** Read only the first N images of the data (tests, quick looks). */
  limit: number | null;
  /** For an image folder: first-level subfolders are classes. */
  labels: boolean;
  /** An imported dataset's cache file: loaded as is (no decoding) instead of config.data. */
  cachePath?: string | null;
  /**
   * Time this many training steps (after a short warm-up) in a scratch folder instead of training
   * a run: the worker answers 'measured' and ends. Nothing is recorded or kept.
   */
  measureSteps?: number;
}

/** Sent once the host has recorded the run: where to write and what to continue from. */
export interface TrainingBegin {
  runId: number;
  runDir: string;
  /** The config as recorded (numClasses set for conditional models). */
  config: TrainConfig;
  resumeFrom: string | null;
  keepCheckpoints: number;
  /** A resumed run's warnings and quality points so far. */
  earlier?: { warnings: RunWarning[]; quality: QualityPoint[] };
}

export type HostToWorker =
  | { type: 'job'; job: TrainingJob }
  | { type: 'begin'; begin: TrainingBegin }
  | { type: 'cancel' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' };

export interface DataReady {
  count: number;
  size: number;
  channels: number;
  classNames: string[];
  labelled: boolean;
  source: string;
  format: string;
  skipped: SkippedFile[];
  stepsPerEpoch: number;
  totalSteps: number;
  batch: number;
}

export type WorkerToHost =
  | { type: 'backend'; info: BackendInfo }
  | { type: 'ready'; data: DataReady }
  | { type: 'setup-failed'; message: string; kind: 'data' | 'config' | 'internal' }
  | { type: 'started'; step: number; totalSteps: number; generatorParams: number; discriminatorParams: number }
  | { type: 'step'; metrics: StepMetrics }
  | { type: 'epoch'; summary: EpochSummary }
  | ({ type: 'grid' } & GridDrawn)
  | { type: 'quality'; point: QualityPoint }
  | { type: 'warning'; warning: RunWarning }
  | { type: 'checkpoint'; step: number; epoch: number; path: string }
  | { type: 'paused' }
  | { type: 'resumed' }
  | { type: 'measured'; msPerStep: number; steps: number }
  | { type: 'done'; status: 'completed' | 'stopped' | 'diverged' | 'failed'; step: number; epoch: number; error: string | null; verdict: RunVerdict | null; memory: { peakRssBytes: number } };
