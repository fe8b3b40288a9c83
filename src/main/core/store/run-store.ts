// Runs and everything recorded while they train: per-step metrics, epoch summaries, sample grids
// and checkpoints. Rows only; the files that grids and checkpoints point at belong to the caller.

import type {
  CheckpointRecord,
  EpochSummary,
  GridKind,
  GridRecord,
  QualityPoint,
  RunRecord,
  RunStatus,
  RunVerdict,
  RunWarning,
  StepMetrics,
  TrainConfig,
  WarningCode,
} from '../../../shared/types';
import type { Database } from './database';

/** Statuses that end a run: setting one stamps finished_at and releases the pid. */
export const TERMINAL_STATUSES: readonly RunStatus[] = [
  'completed',
  'stopped',
  'failed',
  'diverged',
  'interrupted',
] as const;

export function isTerminalStatus(status: RunStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export interface CreateRunInput {
  name: string;
  config: TrainConfig;
  datasetId?: number | null;
  /** The process that will train it. */
  pid: number | null;
}

export interface MetricsQuery {
  /** Only steps >= fromStep (for polling: pass the last step seen + 1). */
  fromStep?: number;
  /** Downsample: only steps that are multiples of `every` (values <= 1 keep every step). */
  every?: number;
}

export interface ListRunsOptions {
  status?: RunStatus;
  limit?: number;
}

/**
 * Whether a process with this pid exists. EPERM means it exists but belongs to someone else.
 * Pids <= 0 are never alive here (kill(0) and kill(-n) address process groups).
 */
export function processIsAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPERM') return true;
    if (code === 'ESRCH') return false;
    throw err;
  }
}

function now(): string {
  return new Date().toISOString();
}

// ---- row <-> domain mapping (the one place that knows column names) ----

interface RunRow {
  id: number;
  name: string;
  status: RunStatus;
  config: string;
  backend: string | null;
  backend_reason: string | null;
  dataset_id: number | null;
  step: number;
  epoch: number;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  error: string | null;
  pid: number | null;
  verdict: string | null;
}

interface MetricRow {
  step: number;
  epoch: number;
  loss_d: number | null;
  loss_g: number | null;
  d_real: number | null;
  d_fake: number | null;
}

interface EpochRow {
  epoch: number;
  step: number;
  seconds: number;
  images_per_s: number;
}

interface GridRow {
  run_id: number;
  epoch: number;
  step: number;
  kind: GridKind;
  path: string;
}

interface QualityRow {
  step: number;
  score: number;
  distance: number;
  variety: number;
  copied: number;
  duplicates: number;
  seconds: number;
}

interface WarningRow {
  code: WarningCode;
  step: number;
  last_step: number;
  message: string;
  advice: string;
  pair_path: string | null;
}

interface CheckpointRow {
  run_id: number;
  step: number;
  epoch: number;
  path: string;
  created_at: string;
}

function rowToRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    config: JSON.parse(row.config) as TrainConfig,
    backend: row.backend,
    backendReason: row.backend_reason,
    datasetId: row.dataset_id,
    step: row.step,
    epoch: row.epoch,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    error: row.error,
    pid: row.pid,
    verdict: row.verdict ? (JSON.parse(row.verdict) as RunVerdict) : null,
  };
}

// SQLite stores NaN as NULL; a diverged step's NaN loss comes back as NaN, not null.
const num = (v: number | null): number => (v === null ? Number.NaN : v);

function rowToMetrics(row: MetricRow): StepMetrics {
  return {
    step: row.step,
    epoch: row.epoch,
    lossD: num(row.loss_d),
    lossG: num(row.loss_g),
    dReal: num(row.d_real),
    dFake: num(row.d_fake),
  };
}

function rowToEpoch(row: EpochRow): EpochSummary {
  return { epoch: row.epoch, step: row.step, seconds: row.seconds, imagesPerSec: row.images_per_s };
}

function rowToGrid(row: GridRow): GridRecord {
  return { runId: row.run_id, epoch: row.epoch, step: row.step, kind: row.kind, path: row.path };
}

function rowToWarning(row: WarningRow): RunWarning {
  return { code: row.code, step: row.step, lastStep: row.last_step, message: row.message, advice: row.advice, pairPath: row.pair_path };
}

function rowToCheckpoint(row: CheckpointRow): CheckpointRecord {
  return {
    runId: row.run_id,
    step: row.step,
    epoch: row.epoch,
    path: row.path,
    createdAt: row.created_at,
  };
}

function interruptedMessage(pid: number | null): string {
  return pid === null
    ? 'the process that ran it ended without finishing (no pid was recorded)'
    : `the process that ran it (pid ${pid}) ended without finishing`;
}

export class RunStore {
  private readonly stmt;
  private readonly appendMetricsTx: (runId: number, rows: readonly StepMetrics[]) => void;

  constructor(private readonly db: Database) {
    const s = <P extends unknown[] | {} = unknown[], R = unknown>(sql: string) =>
      db.prepare<P, R>(sql);
    this.stmt = {
      insertRun: s<[string, string, number | null, string, string, number | null]>(
        `INSERT INTO runs (name, status, config, dataset_id, created_at, updated_at, pid)
         VALUES (?, 'running', ?, ?, ?, ?, ?)`,
      ),
      getRun: s<[number], RunRow>(`SELECT * FROM runs WHERE id = ?`),
      listRuns: s<[], RunRow>(`SELECT * FROM runs ORDER BY id DESC`),
      listRunsByStatus: s<[RunStatus], RunRow>(
        `SELECT * FROM runs WHERE status = ? ORDER BY id DESC`,
      ),
      setBackend: s<[string, string | null, string, number]>(
        `UPDATE runs SET backend = ?, backend_reason = ?, updated_at = ? WHERE id = ?`,
      ),
      setConfig: s<[string, string, number]>(`UPDATE runs SET config = ?, updated_at = ? WHERE id = ?`),
      setProgress: s<[number, number, string, number]>(
        `UPDATE runs SET step = ?, epoch = ?, updated_at = ? WHERE id = ?`,
      ),
      setTerminal: s<[RunStatus, string | null, string, string, number]>(
        `UPDATE runs SET status = ?, error = ?, finished_at = ?, updated_at = ?, pid = NULL
         WHERE id = ?`,
      ),
      setRunning: s<[string | null, string, number]>(
        `UPDATE runs SET status = 'running', error = ?, finished_at = NULL, updated_at = ?
         WHERE id = ?`,
      ),
      claim: s<[number, string, number]>(
        `UPDATE runs SET status = 'running', pid = ?, error = NULL, finished_at = NULL,
                         updated_at = ?
         WHERE id = ?`,
      ),
      runningRuns: s<[], { id: number; pid: number | null }>(
        `SELECT id, pid FROM runs WHERE status = 'running' ORDER BY id`,
      ),
      interrupt: s<[string, string, string, number, number | null]>(
        `UPDATE runs SET status = 'interrupted', error = ?, finished_at = ?, updated_at = ?,
                         pid = NULL
         WHERE id = ? AND status = 'running' AND pid IS ?`,
      ),
      deleteRun: s<[number]>(`DELETE FROM runs WHERE id = ?`),

      insertMetric: s<[number, number, number, number, number, number, number]>(
        `INSERT OR REPLACE INTO metrics (run_id, step, epoch, loss_d, loss_g, d_real, d_fake)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      metrics: s<[number, number], MetricRow>(
        `SELECT step, epoch, loss_d, loss_g, d_real, d_fake FROM metrics
         WHERE run_id = ? AND step >= ? ORDER BY step`,
      ),
      metricsEvery: s<[number, number, number], MetricRow>(
        `SELECT step, epoch, loss_d, loss_g, d_real, d_fake FROM metrics
         WHERE run_id = ? AND step >= ? AND step % ? = 0 ORDER BY step`,
      ),
      metricCount: s<[number], { n: number }>(
        `SELECT COUNT(*) AS n FROM metrics WHERE run_id = ?`,
      ),

      recordEpoch: s<[number, number, number, number, number]>(
        `INSERT OR REPLACE INTO epochs (run_id, epoch, step, seconds, images_per_s)
         VALUES (?, ?, ?, ?, ?)`,
      ),
      epochs: s<[number], EpochRow>(
        `SELECT epoch, step, seconds, images_per_s FROM epochs WHERE run_id = ? ORDER BY epoch`,
      ),

      addGrid: s<[runId: number, step: number, epoch: number, kind: GridKind, path: string]>(
        `INSERT OR REPLACE INTO grids (run_id, step, epoch, kind, path) VALUES (?, ?, ?, ?, ?)`,
      ),
      grids: s<[number], GridRow>(
        `SELECT run_id, epoch, step, kind, path FROM grids WHERE run_id = ? ORDER BY step`,
      ),
      removeGrid: s<[number, number]>(`DELETE FROM grids WHERE run_id = ? AND step = ?`),

      addQuality: s<[number, number, number, number, number, number, number, number]>(
        `INSERT OR REPLACE INTO quality (run_id, step, score, distance, variety, copied, duplicates, seconds)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      quality: s<[number], QualityRow>(
        `SELECT step, score, distance, variety, copied, duplicates, seconds FROM quality WHERE run_id = ? ORDER BY step`,
      ),
      putWarning: s<[number, string, number, number, string, string, string | null]>(
        `INSERT INTO warnings (run_id, code, step, last_step, message, advice, pair_path) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id, code) DO UPDATE SET last_step = excluded.last_step, message = excluded.message,
           advice = excluded.advice, pair_path = excluded.pair_path`,
      ),
      warnings: s<[number], WarningRow>(
        `SELECT code, step, last_step, message, advice, pair_path FROM warnings WHERE run_id = ? ORDER BY step, code`,
      ),
      setVerdict: s<[string | null, string, number]>(`UPDATE runs SET verdict = ?, updated_at = ? WHERE id = ?`),

      addCheckpoint: s<[number, number, number, string, string]>(
        `INSERT OR REPLACE INTO checkpoints (run_id, step, epoch, path, created_at)
         VALUES (?, ?, ?, ?, ?)`,
      ),
      checkpoints: s<[number], CheckpointRow>(
        `SELECT run_id, step, epoch, path, created_at FROM checkpoints
         WHERE run_id = ? ORDER BY step`,
      ),
      latestCheckpoint: s<[number], CheckpointRow>(
        `SELECT run_id, step, epoch, path, created_at FROM checkpoints
         WHERE run_id = ? ORDER BY step DESC LIMIT 1`,
      ),
      removeCheckpoint: s<[number, number]>(
        `DELETE FROM checkpoints WHERE run_id = ? AND step = ?`,
      ),
    };

    this.appendMetricsTx = db.transaction((runId: number, rows: readonly StepMetrics[]) => {
      for (const m of rows) {
        this.stmt.insertMetric.run(runId, m.step, m.epoch, m.lossD, m.lossG, m.dReal, m.dFake);
      }
    });
  }

  // ---- runs ----

  createRun(input: CreateRunInput): RunRecord {
    const t = now();
    const info = this.stmt.insertRun.run(
      input.name,
      JSON.stringify(input.config),
      input.datasetId ?? null,
      t,
      t,
      input.pid,
    );
    return this.mustGet(Number(info.lastInsertRowid));
  }

  getRun(id: number): RunRecord | null {
    const row = this.stmt.getRun.get(id);
    return row ? rowToRun(row) : null;
  }

  /** Newest first. */
  listRuns(opts: ListRunsOptions = {}): RunRecord[] {
    const rows = opts.status ? this.stmt.listRunsByStatus.all(opts.status) : this.stmt.listRuns.all();
    const runs = rows.map(rowToRun);
    return opts.limit !== undefined ? runs.slice(0, Math.max(0, opts.limit)) : runs;
  }

  setBackend(id: number, backend: string, reason: string | null): void {
    this.stmt.setBackend.run(backend, reason, now(), id);
  }

  /** Replaces a run's config (a resumed run given a new length). */
  updateConfig(id: number, config: TrainConfig): void {
    this.stmt.setConfig.run(JSON.stringify(config), now(), id);
  }

  /** Records the last step done and the epochs completed. */
  setProgress(id: number, step: number, epoch: number): void {
    this.stmt.setProgress.run(step, epoch, now(), id);
  }

  /**
   * Changes a run's status. Terminal statuses stamp finished_at and release the pid; 'running'
   * clears finished_at. The error text is replaced by `opts.error` (or cleared).
   */
  setStatus(id: number, status: RunStatus, opts: { error?: string | null } = {}): void {
    const error = opts.error ?? null;
    const t = now();
    if (status === 'running') this.stmt.setRunning.run(error, t, id);
    else this.stmt.setTerminal.run(status, error, t, t, id);
  }

  /**
   * Takes a run over for `pid` (resuming): status 'running', the new pid, error and finished_at
   * cleared. Refuses (throws) if the run does not exist, or if it is 'running' under another
   * process that `isAlive` says still exists — two trainers must never share a run.
   */
  claim(id: number, pid: number, isAlive: (pid: number) => boolean = processIsAlive): RunRecord {
    return this.db
      .transaction(() => {
        const run = this.getRun(id);
        if (!run) throw new Error(`run ${id} does not exist`);
        if (run.status === 'running' && run.pid !== null && run.pid !== pid && isAlive(run.pid)) {
          throw new Error(`run ${id} is already running in another process (pid ${run.pid})`);
        }
        this.stmt.claim.run(pid, now(), id);
        return this.mustGet(id);
      })
      .immediate();
  }

  /** Deletes the run and (by cascade) its metrics, epochs, grids and checkpoints rows. */
  deleteRun(id: number): boolean {
    return this.stmt.deleteRun.run(id).changes > 0;
  }

  /**
   * Marks every 'running' run whose process is gone (or was never recorded) as 'interrupted'.
   * Returns the ids it changed. Call at startup before listing runs.
   */
  markInterrupted(isAlive: (pid: number) => boolean): number[] {
    return this.db
      .transaction(() => {
        const changed: number[] = [];
        const t = now();
        for (const { id, pid } of this.stmt.runningRuns.all()) {
          if (pid !== null && isAlive(pid)) continue;
          const info = this.stmt.interrupt.run(interruptedMessage(pid), t, t, id, pid);
          if (info.changes > 0) changed.push(id);
        }
        return changed;
      })
      .immediate();
  }

  // ---- metrics ----

  /** Appends (or replaces, for a step a resumed run repeats) rows in one transaction. */
  appendMetrics(runId: number, rows: readonly StepMetrics[]): void {
    if (rows.length === 0) return;
    this.appendMetricsTx(runId, rows);
  }

  /** Metrics ordered by step; see MetricsQuery for paging and downsampling. */
  metrics(runId: number, query: MetricsQuery = {}): StepMetrics[] {
    const from = query.fromStep ?? Number.MIN_SAFE_INTEGER;
    const every = Math.floor(query.every ?? 1);
    const rows =
      every > 1
        ? this.stmt.metricsEvery.all(runId, from, every)
        : this.stmt.metrics.all(runId, from);
    return rows.map(rowToMetrics);
  }

  metricCount(runId: number): number {
    return this.stmt.metricCount.get(runId)?.n ?? 0;
  }

  // ---- epochs ----

  recordEpoch(runId: number, summary: EpochSummary): void {
    this.stmt.recordEpoch.run(
      runId,
      summary.epoch,
      summary.step,
      summary.seconds,
      summary.imagesPerSec,
    );
  }

  epochs(runId: number): EpochSummary[] {
    return this.stmt.epochs.all(runId).map(rowToEpoch);
  }

  // ---- grids ----

  addGrid(grid: GridRecord): void {
    this.stmt.addGrid.run(grid.runId, grid.step, grid.epoch, grid.kind, grid.path);
  }

  /** The run's sample timeline, ordered by step. */
  grids(runId: number): GridRecord[] {
    return this.stmt.grids.all(runId).map(rowToGrid);
  }

  /** Forgets a grid the trainer retired (its file is gone). */
  removeGrid(runId: number, step: number): boolean {
    return this.stmt.removeGrid.run(runId, step).changes > 0;
  }

  // ---- quality, warnings, verdict ----

  addQuality(runId: number, q: QualityPoint): void {
    // The columns are NOT NULL and SQLite keeps NaN as NULL: a non-finite figure is stored as 0.
    const f = (v: number) => (Number.isFinite(v) ? v : 0);
    this.stmt.addQuality.run(runId, q.step, f(q.score), f(q.distance), f(q.variety), f(q.copied), f(q.duplicates), f(q.seconds));
  }

  /** Ordered by step. */
  quality(runId: number): QualityPoint[] {
    return this.stmt.quality.all(runId).map((r) => ({ ...r }));
  }

  /** Records a warning, or updates the one of the same code (its first step is kept). */
  putWarning(runId: number, w: RunWarning): void {
    this.stmt.putWarning.run(runId, w.code, w.step, w.lastStep, w.message, w.advice, w.pairPath);
  }

  /** In the order they were first raised. */
  warnings(runId: number): RunWarning[] {
    return this.stmt.warnings.all(runId).map(rowToWarning);
  }

  setVerdict(runId: number, verdict: RunVerdict | null): void {
    this.stmt.setVerdict.run(verdict ? JSON.stringify(verdict) : null, now(), runId);
  }

  // ---- checkpoints ----

  addCheckpoint(cp: CheckpointRecord): void {
    this.stmt.addCheckpoint.run(cp.runId, cp.step, cp.epoch, cp.path, cp.createdAt);
  }

  /** Ordered by step. */
  checkpoints(runId: number): CheckpointRecord[] {
    return this.stmt.checkpoints.all(runId).map(rowToCheckpoint);
  }

  latestCheckpoint(runId: number): CheckpointRecord | null {
    const row = this.stmt.latestCheckpoint.get(runId);
    return row ? rowToCheckpoint(row) : null;
  }

  removeCheckpoint(runId: number, step: number): boolean {
    return this.stmt.removeCheckpoint.run(runId, step).changes > 0;
  }

  private mustGet(id: number): RunRecord {
    const run = this.getRun(id);
    if (!run) throw new Error(`run ${id} does not exist`);
    return run;
  }
}
