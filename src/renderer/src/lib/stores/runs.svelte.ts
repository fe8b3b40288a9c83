// Runs: every recorded run, one opened with its metrics, quality curve, warnings and grid timeline,
// a second one to overlay, deletion and resuming. Refreshes itself when a live run changes status,
// and keeps the opened run's quality and warnings current while it trains.

import type { RunDetails, Unsubscribe } from '../../../../shared/contract';
import type { RunRecord, StepMetrics } from '../../../../shared/types';
import { errorMessage } from '../errors';
import { mergeQuality, mergeWarnings, qualityCurve } from '../quality';
import type { XY } from '../series';
import { appStore, hasApi } from './app.svelte';
import { trainingStore } from './training.svelte';

export const RUN_MAX_POINTS = 2000;

export interface RunCurves {
  runId: number;
  lossD: XY[];
  lossG: XY[];
  dReal: XY[];
  dFake: XY[];
  /** Every n-th step is shown. */
  every: number;
  total: number;
}

function toCurves(runId: number, points: StepMetrics[], every: number, total: number): RunCurves {
  return {
    runId,
    lossD: points.map((p) => ({ x: p.step, y: p.lossD })),
    lossG: points.map((p) => ({ x: p.step, y: p.lossG })),
    dReal: points.map((p) => ({ x: p.step, y: p.dReal })),
    dFake: points.map((p) => ({ x: p.step, y: p.dFake })),
    every,
    total,
  };
}

class RunsStore {
  list = $state<RunRecord[]>([]);
  loaded = $state(false);
  loading = $state(false);
  error = $state<string | null>(null);

  selectedId = $state<number | null>(null);
  details = $state<RunDetails | null>(null);
  curves = $state.raw<RunCurves | null>(null);
  detailsLoading = $state(false);
  detailsError = $state<string | null>(null);

  compareId = $state<number | null>(null);
  compareCurves = $state.raw<RunCurves | null>(null);
  compareError = $state<string | null>(null);

  deleting = $state<number | null>(null);
  resuming = $state<number | null>(null);
  /** Ticks when curves change (the charts redraw on it). */
  version = $state(0);

  readonly selected = $derived(this.list.find((r) => r.id === this.selectedId) ?? this.details?.run ?? null);
  readonly compareRun = $derived(this.list.find((r) => r.id === this.compareId) ?? null);
  /** The opened run's quality scores as chart points. */
  readonly quality = $derived(qualityCurve(this.details?.quality ?? []));

  private unsubscribers: Unsubscribe[] = [];
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;

  connect(): () => void {
    if (!hasApi() || this.unsubscribers.length > 0) return () => this.disconnect();
    const api = window.api;
    this.unsubscribers.push(
      api.onTrainingStatus(() => this.refreshSoon()),
      api.onTrainingQuality((e) => {
        if (!this.details || this.details.run.id !== e.runId) return;
        const { runId: _runId, ...point } = e;
        this.details = { ...this.details, quality: mergeQuality(this.details.quality, [point]) };
        this.version++;
      }),
      api.onTrainingWarning((e) => {
        if (!this.details || this.details.run.id !== e.runId) return;
        const { runId: _runId, ...warning } = e;
        this.details = { ...this.details, warnings: mergeWarnings(this.details.warnings, [warning]) };
      }),
    );
    return () => this.disconnect();
  }

  disconnect(): void {
    for (const u of this.unsubscribers) u();
    this.unsubscribers = [];
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
  }

  private refreshSoon(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      void this.refresh();
      if (this.selectedId !== null) void this.reloadDetails(this.selectedId);
    }, 400);
  }

  async refresh(): Promise<void> {
    if (!hasApi()) return;
    this.loading = true;
    try {
      this.list = await window.api.listRuns();
      this.error = null;
      this.loaded = true;
    } catch (err) {
      this.error = errorMessage(err, 'Could not list the runs.');
    } finally {
      this.loading = false;
    }
  }

  async open(runId: number): Promise<void> {
    if (!hasApi()) return;
    this.selectedId = runId;
    this.details = null;
    this.curves = null;
    this.detailsError = null;
    if (this.compareId === runId) this.setCompare(null);
    this.detailsLoading = true;
    try {
      await this.reloadDetails(runId);
    } finally {
      if (this.selectedId === runId) this.detailsLoading = false;
    }
  }

  private async reloadDetails(runId: number): Promise<void> {
    try {
      const [details, metrics] = await Promise.all([
        window.api.getRun({ runId }),
        window.api.runMetrics({ runId, maxPoints: RUN_MAX_POINTS }),
      ]);
      if (this.selectedId !== runId) return;
      // Hosts from before quality and warnings existed send neither.
      this.details = { ...details, quality: details.quality ?? [], warnings: details.warnings ?? [] };
      this.curves = toCurves(runId, metrics.points, metrics.every, metrics.total);
      this.detailsError = null;
      this.version++;
    } catch (err) {
      if (this.selectedId === runId) this.detailsError = errorMessage(err, 'Could not load the run.');
    }
  }

  close(): void {
    this.selectedId = null;
    this.details = null;
    this.curves = null;
    this.setCompare(null);
  }

  async setCompare(runId: number | null): Promise<void> {
    this.compareId = runId;
    this.compareCurves = null;
    this.compareError = null;
    this.version++;
    if (runId === null || !hasApi()) return;
    try {
      const metrics = await window.api.runMetrics({ runId, maxPoints: RUN_MAX_POINTS });
      if (this.compareId !== runId) return;
      this.compareCurves = toCurves(runId, metrics.points, metrics.every, metrics.total);
      this.version++;
    } catch (err) {
      if (this.compareId === runId) this.compareError = errorMessage(err, 'Could not load that run.');
    }
  }

  async remove(runId: number): Promise<boolean> {
    if (!hasApi()) return false;
    this.deleting = runId;
    try {
      await window.api.deleteRun({ runId });
      if (this.selectedId === runId) this.close();
      if (this.compareId === runId) void this.setCompare(null);
      await this.refresh();
      return true;
    } catch (err) {
      this.error = errorMessage(err, 'Could not delete the run.');
      return false;
    } finally {
      this.deleting = null;
    }
  }

  /** Continues a stopped / interrupted run and shows it in the live view. */
  async resume(runId: number): Promise<boolean> {
    this.resuming = runId;
    this.error = null;
    try {
      const ok = await trainingStore.start({ resume: runId });
      if (ok) {
        appStore.navigate('live');
        void this.refresh();
      } else {
        this.error = trainingStore.actionError;
      }
      return ok;
    } finally {
      this.resuming = null;
    }
  }

  /** Shows a run that is training now in the live view. */
  watch(runId: number): void {
    void trainingStore.attach(runId);
    appStore.navigate('live');
  }
}

export const runsStore = new RunsStore();
