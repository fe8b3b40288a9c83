// The studio's home: one folder holding the database, run folders (checkpoints, sample grids)
// and cached datasets. The CLI and the Electron app resolve it the same way so that runs started
// in one show up in the other.

import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export const HOME_ENV = 'GAN_STUDIO_HOME';
export const DEFAULT_HOME_DIRNAME = '.gan-studio';
export const RUNS_DIRNAME = 'runs';
export const DATASETS_DIRNAME = 'datasets';
export const MODELS_DIRNAME = 'models';
export const LAB_DIRNAME = 'lab';

export interface ResolveHomeOptions {
  /** The `--home` value, if the user gave one. Wins over everything else. */
  home?: string;
  /** Environment to read GAN_STUDIO_HOME from (defaults to process.env; tests pass their own). */
  env?: Record<string, string | undefined>;
}

/** Expands a leading `~` (shells do this, but not for `--home=~/x` or values in env files). */
function expandTilde(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/') || p.startsWith('~\\')) return path.join(homedir(), p.slice(2));
  return p;
}

/**
 * The studio's home as an absolute path: `--home`, else $GAN_STUDIO_HOME, else ~/.gan-studio.
 * Empty or blank values count as unset. Nothing is created; see ensureHome.
 */
export function resolveHome(opts: ResolveHomeOptions = {}): string {
  const env = opts.env ?? process.env;
  const fromFlag = opts.home?.trim();
  const fromEnv = env[HOME_ENV]?.trim();
  const chosen = fromFlag || fromEnv || path.join(homedir(), DEFAULT_HOME_DIRNAME);
  return path.resolve(expandTilde(chosen));
}

/**
 * Creates the home (mode 0o700: it holds the user's data sets and models) and its `runs/` and
 * `datasets/` folders. Existing folders are left as they are. Returns the home.
 */
export function ensureHome(home: string): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  mkdirSync(path.join(home, RUNS_DIRNAME), { recursive: true });
  mkdirSync(path.join(home, DATASETS_DIRNAME), { recursive: true });
  return home;
}

/** The folder for one run's files: `<home>/runs/<id>`. */
export function runDir(home: string, runId: number): string {
  if (!Number.isSafeInteger(runId) || runId <= 0) {
    throw new Error(`invalid run id: ${String(runId)}`);
  }
  return path.join(home, RUNS_DIRNAME, String(runId));
}

/** The folder for cached (decoded, resized) datasets: `<home>/datasets`. */
export function datasetsDir(home: string): string {
  return path.join(home, DATASETS_DIRNAME);
}

/** Imported models: `<home>/models`. */
export function modelsDir(home: string): string {
  return path.join(home, MODELS_DIRNAME);
}

/** The latent lab's output folders: `<home>/lab`. */
export function labRoot(home: string): string {
  return path.join(home, LAB_DIRNAME);
}

/** One latent-lab output folder: `<home>/lab/<n>`. */
export function labDir(home: string, n: number): string {
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`invalid lab folder number: ${String(n)}`);
  return path.join(labRoot(home), String(n));
}
