// Test harness for the `gan-studio` command: spawns `node bin/gan-studio.js …` as a real child
// process against a throw-away home, and gives the tests its exit, its stdout as JSON events, and
// read access to the home's SQLite database.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = join(REPO, 'bin', 'gan-studio.js');
export const BUNDLE = join(REPO, 'out', 'main', 'cli.js');

/** Debian's dataset-fashion-mnist package. */
export const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
/** Set GAN_STUDIO_IT_SYNTHETIC_DATA=1 to run the tests as on a machine without the package. */
export const HAVE_FASHION_MNIST =
  !process.env.GAN_STUDIO_IT_SYNTHETIC_DATA && existsSync(join(FASHION_MNIST, 'train-images-idx3-ubyte.gz'));

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The environment the children run in: nothing from the caller that picks a home or a backend. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.GAN_STUDIO_HOME;
  delete env.GAN_STUDIO_BACKEND;
  return env;
}

// ---- temporary folders ----

const made: string[] = [];

/** A fresh empty folder under the system temp dir; removed by `removeTempDirs`. */
export async function tempDir(prefix = 'gan-studio-it-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  const dirs = made.splice(0);
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
}

// ---- running the CLI ----

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export type CliEvent = Record<string, unknown> & { event?: string };

/** A running `gan-studio` process whose stdout lines are parsed as they arrive. */
export class CliProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly events: CliEvent[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<Finished>;
  private partial = '';
  private waiters: { test: (e: CliEvent) => boolean; resolve: (e: CliEvent) => void }[] = [];
  private finished = false;

  constructor(args: string[], home: string | null, timeoutMs: number) {
    const full = home === null ? args : [...args, '--home', home];
    this.child = spawn(process.execPath, [BIN, ...full], { cwd: REPO, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8');
    this.child.stderr!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      this.stdout += chunk;
      this.partial += chunk;
      let nl: number;
      while ((nl = this.partial.indexOf('\n')) >= 0) {
        const line = this.partial.slice(0, nl);
        this.partial = this.partial.slice(nl + 1);
        this.onLine(line);
      }
    });
    this.child.stderr!.on('data', (chunk: string) => (this.stderr += chunk));
    const timer = setTimeout(() => {
      if (!this.finished) this.child.kill('SIGKILL');
    }, timeoutMs);
    this.exited = new Promise<Finished>((resolveExit, reject) => {
      this.child.on('error', reject);
      // 'close' (not 'exit'): stdout and stderr are fully read by then, and the child is reaped.
      this.child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.finished = true;
        if (this.partial) this.onLine(this.partial);
        this.partial = '';
        resolveExit({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  private onLine(line: string): void {
    this.lines.push(line);
    let event: CliEvent;
    try {
      event = JSON.parse(line) as CliEvent;
    } catch {
      return; // not JSON: the tests that care check `lines` themselves
    }
    this.events.push(event);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(event)) return true;
      w.resolve(event);
      return false;
    });
  }

  /** Resolves with the first event (already seen or still to come) that passes `test`; rejects if the process ends first. */
  waitFor(test: (e: CliEvent) => boolean, what: string): Promise<CliEvent> {
    const seen = this.events.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise<CliEvent>((resolveEvent, reject) => {
      this.waiters.push({ test, resolve: resolveEvent });
      void this.exited.then((f) => {
        if (!this.events.some(test)) {
          reject(new Error(`gan-studio ended (code ${f.code}, signal ${f.signal}) before ${what}\nstdout:\n${f.stdout}\nstderr:\n${f.stderr}`));
        }
      });
    });
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.finished) this.child.kill(signal);
  }
}

/** Starts `gan-studio ARGS --home HOME` (no --home when home is null). */
export function startCli(args: string[], home: string | null, timeoutMs = 110_000): CliProcess {
  return new CliProcess(args, home, timeoutMs);
}

/** Runs `gan-studio ARGS --home HOME` to the end. */
export async function runCli(args: string[], home: string | null, timeoutMs = 110_000): Promise<Finished & { events: CliEvent[]; lines: string[] }> {
  const p = startCli(args, home, timeoutMs);
  const f = await p.exited;
  return { ...f, events: p.events, lines: p.lines };
}

/** A readable description of a finished process, for assertion messages. */
export function show(f: Finished): string {
  return `exit ${f.code} signal ${f.signal}\n--- stdout ---\n${f.stdout}\n--- stderr ---\n${f.stderr}`;
}

// ---- the home's database ----

export interface RunRow {
  id: number;
  name: string;
  status: string;
  config: string;
  backend: string | null;
  backend_reason: string | null;
  step: number;
  epoch: number;
  error: string | null;
  pid: number | null;
  finished_at: string | null;
}
export interface MetricRow {
  step: number;
  epoch: number;
  loss_d: number | null;
  loss_g: number | null;
  d_real: number | null;
  d_fake: number | null;
}
export interface EpochRow {
  epoch: number;
  step: number;
  seconds: number;
  images_per_s: number;
}
export interface FileRow {
  epoch: number;
  step: number;
  path: string;
  /** Grids only: epoch, clock or final. */
  kind?: string;
}

export interface HomeSnapshot {
  runs: RunRow[];
  metrics: (runId: number) => MetricRow[];
  epochs: (runId: number) => EpochRow[];
  grids: (runId: number) => FileRow[];
  checkpoints: (runId: number) => FileRow[];
}

export const dbPath = (home: string) => join(home, 'gan-studio.db');

/** Reads everything the tests look at from `<home>/gan-studio.db` (empty when the file does not exist). */
export function readHome(home: string): HomeSnapshot {
  if (!existsSync(dbPath(home))) {
    return { runs: [], metrics: () => [], epochs: () => [], grids: () => [], checkpoints: () => [] };
  }
  const db = new Database(dbPath(home), { readonly: true, fileMustExist: true });
  try {
    const byRun = <R>(sql: string) => {
      const rows = new Map<number, R[]>();
      for (const row of db.prepare(sql).all() as (R & { run_id: number })[]) {
        const list = rows.get(row.run_id) ?? [];
        list.push(row);
        rows.set(row.run_id, list);
      }
      return (runId: number) => rows.get(runId) ?? [];
    };
    return {
      runs: db.prepare('SELECT * FROM runs ORDER BY id').all() as RunRow[],
      metrics: byRun<MetricRow>('SELECT * FROM metrics ORDER BY run_id, step'),
      epochs: byRun<EpochRow>('SELECT * FROM epochs ORDER BY run_id, epoch'),
      grids: byRun<FileRow>('SELECT * FROM grids ORDER BY run_id, step'),
      checkpoints: byRun<FileRow>('SELECT * FROM checkpoints ORDER BY run_id, step'),
    };
  } finally {
    db.close();
  }
}

/** Runs a statement against the home's database (for tests that set up a state the CLI cannot reach). */
export function writeHome(home: string, sql: string, ...params: unknown[]): number {
  const db = new Database(dbPath(home), { fileMustExist: true });
  try {
    return db.prepare(sql).run(...params).changes;
  } finally {
    db.close();
  }
}

/** Files and folders under `<home>/runs` (recursively, relative). */
export function runFiles(home: string): string[] {
  const root = join(home, 'runs');
  if (!existsSync(root)) return [];
  return (readdirSync(root, { recursive: true }) as string[]).sort();
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
