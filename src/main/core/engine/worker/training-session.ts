// The host side of one training worker: spawns it, relays its messages as events, and forwards
// pause / resume / stop. Runs from TypeScript sources (tests, `tsx`) and from the built bundle.
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BackendInfo, EpochSummary, QualityPoint, RunWarning, StepMetrics } from '../../../../shared/types';
import type { GridDrawn } from '../ml/trainer';
import type { DataReady, HostToWorker, TrainingBegin, TrainingJob, WorkerToHost } from './worker-protocol';

type DoneMessage = Extract<WorkerToHost, { type: 'done' }>;

export interface TrainingSessionEvents {
  backend: [BackendInfo];
  started: [{ step: number; totalSteps: number; generatorParams: number; discriminatorParams: number }];
  step: [StepMetrics];
  epoch: [EpochSummary];
  grid: [GridDrawn];
  quality: [QualityPoint];
  warning: [RunWarning];
  checkpoint: [{ step: number; epoch: number; path: string }];
  paused: [];
  resumed: [];
  measured: [{ msPerStep: number; steps: number }];
}

export class SetupError extends Error {
  override name = 'SetupError';
  constructor(
    message: string,
    readonly kind: 'data' | 'config' | 'internal',
  ) {
    super(message);
  }
}

/** Where the worker's entry is: beside the built bundle, or the TypeScript source through tsx. */
function workerEntry(): { code: string } | { file: string } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const source = pathToFileURL(join(dirname(here), 'training-worker.ts')).href;
    // tsx's ESM register API (its package exports map "./esm/api" to this file for import).
    const tsxRoot = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
    const tsx = pathToFileURL(join(tsxRoot, 'dist', 'esm', 'api', 'index.mjs')).href;
    return {
      code: `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(source)}); });`,
    };
  }
  // Bundled: this module lives in out/main or a chunk folder below it.
  for (let dir = dirname(here), i = 0; i < 3; i++, dir = dirname(dir)) {
    const file = join(dir, 'training-worker.js');
    if (existsSync(file)) return { file };
  }
  throw new Error(`training-worker.js not found near ${here}; rebuild with npm run build`);
}

export class TrainingSession extends EventEmitter<TrainingSessionEvents> {
  private readonly worker: Worker;
  private readyPromise: Promise<DataReady>;
  readonly done: Promise<DoneMessage>;
  private finished = false;

  constructor(job: TrainingJob) {
    super();
    const entry = workerEntry();
    this.worker = 'code' in entry ? new Worker(entry.code, { eval: true }) : new Worker(entry.file);
    let resolveReady!: (d: DataReady) => void;
    let rejectReady!: (e: Error) => void;
    this.readyPromise = new Promise<DataReady>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    // A rejection nobody awaits yet must not crash the process.
    this.readyPromise.catch(() => undefined);
    this.done = new Promise<DoneMessage>((resolve) => {
      // Resolves once the worker thread is gone: a host that exits right after a run (the CLI)
      // must not tear the process down while the worker's native libraries (oneDNN's OpenMP
      // threads) are still shutting down — that crashed the process at exit (SIGSEGV).
      const finish = (message: DoneMessage) => {
        if (this.finished) return;
        this.finished = true;
        void this.worker.terminate().catch(() => undefined).finally(() => resolve(message));
      };
      this.worker.on('message', (message: WorkerToHost) => {
        switch (message.type) {
          case 'backend':
            this.emit('backend', message.info);
            break;
          case 'ready':
            resolveReady(message.data);
            break;
          case 'setup-failed':
            rejectReady(new SetupError(message.message, message.kind));
            finish({ type: 'done', status: 'failed', step: 0, epoch: 0, error: message.message, verdict: null, memory: { peakRssBytes: 0 } });
            break;
          case 'started': {
            const { type: _type, ...started } = message;
            this.emit('started', started);
            break;
          }
          case 'step':
            this.emit('step', message.metrics);
            break;
          case 'epoch':
            this.emit('epoch', message.summary);
            break;
          case 'grid': {
            const { type: _type, ...grid } = message;
            this.emit('grid', grid);
            break;
          }
          case 'quality':
            this.emit('quality', message.point);
            break;
          case 'warning':
            this.emit('warning', message.warning);
            break;
          case 'checkpoint':
            this.emit('checkpoint', { step: message.step, epoch: message.epoch, path: message.path });
            break;
          case 'paused':
            this.emit('paused');
            break;
          case 'resumed':
            this.emit('resumed');
            break;
          case 'measured':
            this.emit('measured', { msPerStep: message.msPerStep, steps: message.steps });
            break;
          case 'done':
            finish(message);
            break;
        }
      });
      const crash = (reason: string) => {
        rejectReady(new SetupError(reason, 'internal'));
        finish({ type: 'done', status: 'failed', step: 0, epoch: 0, error: reason, verdict: null, memory: { peakRssBytes: 0 } });
      };
      this.worker.on('error', (err) => crash(`the training worker crashed: ${err.message}`));
      this.worker.on('exit', (code) => crash(`the training worker exited unexpectedly (code ${code})`));
    });
    this.post({ type: 'job', job });
  }

  /** Resolves when the worker has loaded the data; rejects with a SetupError (bad data, bad config). */
  ready(): Promise<DataReady> {
    return this.readyPromise;
  }

  begin(begin: TrainingBegin): void {
    this.post({ type: 'begin', begin });
  }

  cancel(): void {
    this.post({ type: 'cancel' });
    void this.worker.terminate();
  }

  pause(): void {
    this.post({ type: 'pause' });
  }

  resume(): void {
    this.post({ type: 'resume' });
  }

  stop(): void {
    this.post({ type: 'stop' });
  }

  private post(message: HostToWorker): void {
    if (!this.finished) this.worker.postMessage(message);
  }
}
