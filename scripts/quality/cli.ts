/**
 * Runs the `gan-studio` command as a user would (`node bin/gan-studio.js … --json`), in a child
 * process, reading its JSON lines as they come.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const BIN = join(REPO, 'bin', 'gan-studio.js');
const BUILT_CLI = join(REPO, 'out', 'main', 'cli.js');

export type JsonEvent = Record<string, unknown>;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Every JSON line it printed, in order (step events included). */
  events: JsonEvent[];
  /** The last lines of its stderr, for error messages. */
  stderrTail: string;
  seconds: number;
  /** Set when onEvent asked to stop it. */
  aborted: boolean;
}

export interface CliOptions {
  /**
   * Called for each JSON line as it arrives; returning 'abort' kills the process (SIGKILL: no
   * checkpoint, no clean-up; used only on throw-away homes).
   */
  onEvent?: (event: JsonEvent) => 'abort' | void;
}

/** `node bin/gan-studio.js ARGS`, resolved when it exits. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const events: JsonEvent[] = [];
    let stdoutRest = '';
    let stderr = '';
    let aborted = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (stdoutRest + chunk).split('\n');
      stdoutRest = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim().startsWith('{')) continue;
        let event: JsonEvent;
        try {
          event = JSON.parse(line) as JsonEvent;
        } catch {
          continue;
        }
        // Step events are many (one per step) and only their count matters afterwards.
        if (event.event !== 'step' || events.length < 10) events.push(event);
        if (!aborted && opts.onEvent?.(event) === 'abort') {
          aborted = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolvePromise({ code, signal, events, stderrTail: stderr.trim(), seconds: (performance.now() - started) / 1000, aborted });
    });
  });
}

/** The help text of `gan-studio train` (the whole usage text, which names every switch). */
export function trainHelp(): string {
  const r = spawnSync(process.execPath, [BIN, 'train', '--help'], { cwd: REPO, encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

/** Whether `gan-studio train` takes `--NAME` (read from its help text). */
export function hasTrainSwitch(help: string, name: string): boolean {
  const trainPart = help.split(/\n\s{2}generate\b/)[0] ?? help;
  return new RegExp(`--${name}\\b`).test(trainPart);
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (/\.(ts|js|json)$/.test(entry.name)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Why the built CLI cannot be used (null: it can), and a warning when it is older than the source. */
export function checkBuild(): { error: string | null; warning: string | null } {
  if (!existsSync(BUILT_CLI)) return { error: 'the CLI is not built (out/main/cli.js is missing): run `npm run build` first', warning: null };
  const built = statSync(BUILT_CLI).mtimeMs;
  const source = Math.max(newestMtime(join(REPO, 'src', 'main')), newestMtime(join(REPO, 'src', 'shared')));
  const warning = source > built ? 'out/main/cli.js is older than src/main or src/shared: the benchmark runs the last build (`npm run build` to refresh it)' : null;
  return { error: null, warning };
}
