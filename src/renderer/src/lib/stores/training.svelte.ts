// The live run: starting, pausing, resuming and stopping training, and everything the host pushes
// while it trains (steps, epochs, sample grids, quality, warnings, status and the verdict). Chart
// series are plain arrays, capped by downsampling; `version` ticks at most once per animation frame
// so charts redraw smoothly.

import type {
  GridInfo,
  LiveRunStatus,
  RunDetails,
  TrainingGridEvent,
  TrainingStartRequest,
  TrainingStarted,
  TrainingStatusEvent,
  Unsubscribe,
  WarningInfo,
} from '../../../../shared/contract';
import type { EpochSummary, QualityPoint, RunRecord, RunVerdict, StepMetrics } from '../../../../shared/types';
import { errorMessage } from '../errors';
import { etaSeconds, RateMeter } from '../eta';
import { mergeQuality, mergeWarnings } from '../quality';
import { DownsampledSeries } from '../series';
import { mergeGrids } from '../timeline';
import { appStore, hasApi } from './app.svelte';

export const LIVE_MAX_POINTS = 2000;

/** The four curves of a run, as chart points (x = step). */
export class RunSeries {
  readonly lossD = new DownsampledSeries(LIVE_MAX_POINTS);
  readonly lossG = new DownsampledSeries(LIVE_MAX_POINTS);
  readonly dReal = new DownsampledSeries(LIVE_MAX_POINTS);
  readonly dFake = new DownsampledSeries(LIVE_MAX_POINTS);
  lastStep = -1;

  push(m: StepMetrics): void {
    if (m.step <= this.lastStep) return;
    this.lastStep = m.step;
    this.lossD.push(m.step, m.lossD);
    this.lossG.push(m.step, m.lossG);
    this.dReal.push(m.step, m.dReal);
    this.dFake.push(m.step, m.dFake);
  }

  clear(): void {
    this.lossD.clear();
    this.lossG.clear();
    this.dReal.clear();
    this.dFake.clear();
    this.lastStep = -1;
  }
}

const FINISHED: readonly LiveRunStatus[] = ['completed', 'stopped', 'failed', 'diverged'];

function liveStatusOf(run: RunRecord, active: boolean): LiveRunStatus {
  if (run.status === 'interrupted') return 'stopped';
  if (run.status === 'running' && !active) return 'stopped';
  return run.status;
}

class TrainingStore {
  runId = $state<number | null>(null);
  run = $state<RunRecord | null>(null);
  started = $state<TrainingStarted | null>(null);
  status = $state<LiveRunStatus | null>(null);
  /** The status event's error text (failed / diverged). */
  runError = $state<string | null>(null);
  /** The last request that failed (start, pause, stop…), in words. */
  actionError = $state<string | null>(null);
  busy = $state<'starting' | 'pausing' | 'resuming' | 'stopping' | null>(null);
  step = $state(0);
  epoch = $state(0);
  totalSteps = $state(0);
  stepsPerEpoch = $state(0);
  /** The sample timeline, ordered by step. */
  grids = $state<GridInfo[]>([]);
  /** Quality evaluations, ordered by step. */
  quality = $state<QualityPoint[]>([]);
  /** Warnings raised, in the order first raised (a warning seen again is updated in place). */
  warnings = $state<WarningInfo[]>([]);
  /** The run's verdict once its session has ended. */
  verdict = $state<RunVerdict | null>(null);
  lastEpoch = $state<EpochSummary | null>(null);
  stepsPerSec = $state<number | null>(null);
  /** Ticks when the series changed (at most once per animation frame). */
  version = $state(0);

  /** Not reactive on purpose: large arrays, redrawn on `version`. */
  readonly series = new RunSeries();

  readonly isLive = $derived(this.status === 'running' || this.status === 'paused');
  readonly finished = $derived(this.status !== null && FINISHED.includes(this.status));
  readonly etaSeconds = $derived(this.status === 'running' ? etaSeconds(this.step, this.totalSteps, this.stepsPerSec) : null);
  readonly latestQuality = $derived(this.quality[this.quality.length - 1] ?? null);
  readonly imagesPerSec = $derived(
    this.lastEpoch?.imagesPerSec ?? (this.stepsPerSec !== null && this.started ? this.stepsPerSec * this.started.batch : null),
  );

  private readonly meter = new RateMeter();
  /** Steps of clock grids the host retired (a details answer still in flight may list them). */
  private retired = new Set<number>();
  private frame: number | null = null;
  private unsubscribers: Unsubscribe[] = [];

  /** Listens to the host's training events; returns the teardown. */
  connect(): () => void {
    if (!hasApi() || this.unsubscribers.length > 0) return () => this.disconnect();
    const api = window.api;
    this.unsubscribers.push(
      api.onTrainingStep((e) => {
        if (!this.follows(e.runId)) return;
        for (const m of e.steps) this.series.push(m);
        const last = e.steps[e.steps.length - 1];
        if (last) {
          this.step = last.step;
          this.epoch = last.epoch;
          this.meter.observe(last.step, performance.now());
          this.stepsPerSec = this.meter.perSecond;
        }
        if (this.status === null) this.status = 'running';
        this.scheduleRedraw();
      }),
      api.onTrainingEpoch((e) => {
        if (!this.follows(e.runId)) return;
        const { runId: _runId, ...summary } = e;
        this.lastEpoch = summary;
        this.epoch = Math.max(this.epoch, e.epoch);
      }),
      api.onTrainingGrid((e) => this.onGrid(e)),
      api.onTrainingQuality((e) => {
        if (!this.follows(e.runId)) return;
        const { runId: _runId, ...point } = e;
        this.quality = mergeQuality(this.quality, [point]);
      }),
      api.onTrainingWarning((e) => {
        if (!this.follows(e.runId)) return;
        const { runId: _runId, ...warning } = e;
        this.warnings = mergeWarnings(this.warnings, [warning]);
      }),
      api.onTrainingStatus((e) => this.onStatus(e)),
    );
    return () => this.disconnect();
  }

  disconnect(): void {
    for (const u of this.unsubscribers) u();
    this.unsubscribers = [];
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.frame = null;
  }

  /** Whether events of `runId` belong to the view: the current run, or a new one when idle. */
  private follows(runId: number): boolean {
    if (this.runId === runId) return true;
    if (this.runId === null || this.finished) {
      void this.attach(runId);
    }
    return false;
  }

  private onGrid(e: TrainingGridEvent): void {
    if (!this.follows(e.runId)) return;
    for (const s of e.removedSteps ?? []) this.retired.add(s);
    const grid: GridInfo = { epoch: e.epoch, step: e.step, kind: e.kind, file: e.file };
    this.retired.delete(grid.step);
    this.grids = mergeGrids(this.grids, [grid], this.retired);
  }

  private onStatus(e: TrainingStatusEvent): void {
    if (!this.follows(e.runId)) return;
    const wasPaused = this.status === 'paused';
    this.status = e.status;
    this.runError = e.error;
    // A new session (resume) clears the old verdict; an ended one brings its own.
    if (e.verdict || e.status === 'running') this.verdict = e.verdict ?? null;
    this.step = Math.max(this.step, e.step);
    this.epoch = Math.max(this.epoch, e.epoch);
    if (e.status === 'paused' || wasPaused) {
      this.meter.reset();
      this.stepsPerSec = null;
    }
    if (FINISHED.includes(e.status)) {
      this.stepsPerSec = null;
      void appStore.refresh();
    }
  }

  private scheduleRedraw(): void {
    if (this.frame !== null) return;
    const tick = () => {
      this.frame = null;
      this.version++;
    };
    if (typeof requestAnimationFrame === 'function') this.frame = requestAnimationFrame(tick);
    else tick();
  }

  private reset(runId: number): void {
    this.runId = runId;
    this.run = null;
    this.started = null;
    this.status = null;
    this.runError = null;
    this.actionError = null;
    this.step = 0;
    this.epoch = 0;
    this.totalSteps = 0;
    this.stepsPerEpoch = 0;
    this.grids = [];
    this.quality = [];
    this.warnings = [];
    this.verdict = null;
    this.retired = new Set();
    this.lastEpoch = null;
    this.stepsPerSec = null;
    this.meter.reset();
    this.series.clear();
    this.version++;
  }

  /**
   * Shows a run that is already training (or has trained): its record, grids and metrics so far.
   * Events that arrive meanwhile are kept.
   */
  async attach(runId: number): Promise<void> {
    if (!hasApi()) return;
    if (this.runId !== runId) this.reset(runId);
    try {
      const [details, metrics] = await Promise.all([
        window.api.getRun({ runId }),
        window.api.runMetrics({ runId, maxPoints: LIVE_MAX_POINTS }),
      ]);
      if (this.runId !== runId) return;
      this.run = details.run;
      if (this.status === null) this.status = liveStatusOf(details.run, details.active);
      if (this.runError === null) this.runError = details.run.error;
      this.step = Math.max(this.step, details.run.step);
      this.epoch = Math.max(this.epoch, details.run.epoch);
      this.takeDetails(details);
      this.lastEpoch ??= details.epochs[details.epochs.length - 1] ?? null;
      if (this.totalSteps === 0) {
        const cfg = details.run.config;
        if (cfg.steps) this.totalSteps = cfg.steps;
        else if (details.epochs.length > 0 && details.epochs[0]!.epoch > 0) {
          this.stepsPerEpoch = Math.round(details.epochs[0]!.step / details.epochs[0]!.epoch);
          this.totalSteps = this.stepsPerEpoch * cfg.epochs;
        }
      }
      // Older points go first: rebuild the series from the history, then what events brought.
      const live = this.series.lastStep;
      const history = metrics.points.filter((p) => live < 0 || p.step < live);
      if (history.length > 0 && (live < 0 || history[0]!.step < live)) {
        const kept = {
          lossD: [...this.series.lossD.points],
          lossG: [...this.series.lossG.points],
          dReal: [...this.series.dReal.points],
          dFake: [...this.series.dFake.points],
        };
        this.series.clear();
        for (const p of history) this.series.push(p);
        for (let i = 0; i < kept.lossD.length; i++) {
          this.series.push({
            step: kept.lossD[i]!.x,
            epoch: 0,
            lossD: kept.lossD[i]!.y,
            lossG: kept.lossG[i]!.y,
            dReal: kept.dReal[i]!.y,
            dFake: kept.dFake[i]!.y,
          });
        }
      }
      this.scheduleRedraw();
    } catch (err) {
      if (this.runId === runId) this.actionError = errorMessage(err, 'Could not load the run.');
    }
  }

  /** Starts a new run or resumes one; resolves true when the host accepted it. */
  async start(request: TrainingStartRequest): Promise<boolean> {
    if (!hasApi() || this.busy) return false;
    this.busy = 'starting';
    this.actionError = null;
    try {
      const started = await window.api.startTraining(request);
      const resumedSame = this.runId === started.runId;
      if (!resumedSame) this.reset(started.runId);
      this.started = started;
      this.run = started.run;
      this.status = 'running';
      this.runError = null;
      this.verdict = null;
      this.totalSteps = started.totalSteps;
      this.stepsPerEpoch = started.stepsPerEpoch;
      this.step = Math.max(this.step, started.startStep);
      this.meter.reset();
      void appStore.refresh();
      if (started.startStep > 0 && !resumedSame) void this.attach(started.runId);
      else if (!resumedSame) void this.loadGrids(started.runId);
      return true;
    } catch (err) {
      this.actionError = errorMessage(err, 'Training could not start.');
      return false;
    } finally {
      this.busy = null;
    }
  }

  private async loadGrids(runId: number): Promise<void> {
    try {
      const details = await window.api.getRun({ runId });
      if (this.runId !== runId) return;
      this.takeDetails(details);
    } catch {
      // Grids will arrive as events.
    }
  }

  /** Adds what `runs:get` recorded to what events brought (events are newer: they win). */
  private takeDetails(details: RunDetails): void {
    this.grids = mergeGrids(details.grids, this.grids, this.retired);
    this.quality = mergeQuality(details.quality ?? [], this.quality);
    this.warnings = mergeWarnings(details.warnings ?? [], this.warnings);
    if (this.verdict === null && !this.isLive) this.verdict = details.run.verdict ?? null;
  }

  async pause(): Promise<void> {
    await this.act('pausing', (runId) => window.api.pauseTraining({ runId }), 'paused');
  }

  async resume(): Promise<void> {
    await this.act('resuming', (runId) => window.api.resumeTraining({ runId }), 'running');
  }

  async stop(): Promise<void> {
    await this.act('stopping', (runId) => window.api.stopTraining({ runId }), null);
  }

  /** Continues the current (stopped) run from its latest checkpoint. */
  async continueRun(): Promise<boolean> {
    if (this.runId === null) return false;
    return this.start({ resume: this.runId });
  }

  private async act(
    what: 'pausing' | 'resuming' | 'stopping',
    call: (runId: number) => Promise<null>,
    optimistic: LiveRunStatus | null,
  ): Promise<void> {
    const runId = this.runId;
    if (!hasApi() || runId === null || this.busy) return;
    this.busy = what;
    this.actionError = null;
    try {
      await call(runId);
      if (optimistic && this.runId === runId && this.isLive) {
        this.status = optimistic;
        this.meter.reset();
        this.stepsPerSec = null;
      }
    } catch (err) {
      this.actionError = errorMessage(err);
    } finally {
      this.busy = null;
    }
  }

  dismissError(): void {
    this.actionError = null;
  }
}

export const trainingStore = new TrainingStore();
