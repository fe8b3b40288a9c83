// Starts the BUILT `gan-studio serve` (node bin/gan-studio.js serve --port 0 --home <tmp>) as a
// child process for the e2e specs, waits for the address it prints, and stops it with SIGINT the
// way a user's Ctrl-C does.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(REPO_ROOT, 'bin/gan-studio.js');
const BUILT = [join(REPO_ROOT, 'out/main/cli.js'), join(REPO_ROOT, 'out/renderer/index.html')];
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

export interface ServeOptions {
  /** The studio home; default: a new temporary folder, removed by stop(). */
  home?: string;
  /** Extra environment for the server (GAN_STUDIO_BACKEND=wasm is set unless given). */
  env?: Record<string, string>;
}

export interface RunningServe {
  /** The address `serve` printed, e.g. http://127.0.0.1:41234/ */
  url: string;
  home: string;
  /** Everything the server wrote so far (stdout and stderr interleaved). */
  output(): string;
  /** SIGINT, then waits for the exit (SIGKILL after 30 s); resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Why the built app is not there, or null when it is. */
export function notBuiltReason(): string | null {
  const missing = BUILT.filter((f) => !existsSync(f));
  return missing.length ? `not built (${missing.join(', ')} missing): run \`npm run build\` first` : null;
}

export async function startServe(options: ServeOptions = {}): Promise<RunningServe> {
  const notBuilt = notBuiltReason();
  if (notBuilt) throw new Error(`gan-studio serve: ${notBuilt}`);
  const ownHome = options.home === undefined;
  const home = options.home ?? (await mkdtemp(join(tmpdir(), 'gan-studio-e2e-')));
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--home', home], {
    cwd: REPO_ROOT,
    env: { ...process.env, GAN_STUDIO_BACKEND: 'wasm', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  const exited = new Promise<number | null>((done) => child.once('exit', (code, signal) => done(code ?? (signal ? 128 : null))));

  const cleanup = async () => {
    if (ownHome) await rm(home, { recursive: true, force: true });
  };

  let url: string;
  try {
    url = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`gan-studio serve printed no address in ${START_TIMEOUT_MS / 1000} s; output:\n${log}`)), START_TIMEOUT_MS);
      const look = () => {
        const m = /GAN Studio at (http:\/\/\S+)/.exec(log);
        if (m) {
          clearTimeout(timer);
          done(m[1]!);
        }
      };
      child.stdout!.on('data', look);
      void exited.then((code) => {
        clearTimeout(timer);
        fail(new Error(`gan-studio serve exited (code ${code}) before printing its address; output:\n${log}`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await cleanup();
    throw err;
  }

  let stopped: Promise<number | null> | null = null;
  return {
    url,
    home,
    output: () => log,
    stop: () => {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        const code = await exited;
        clearTimeout(killer);
        await cleanup();
        return code;
      })();
      return stopped;
    },
  };
}

/** Stops serve as Ctrl-C would and asserts that it exited 0 (its output in the message otherwise). */
export async function stopServeCleanly(server: RunningServe): Promise<void> {
  const code = await server.stop();
  expect(code, `gan-studio serve should exit 0 on SIGINT; output:\n${server.output()}`).toBe(0);
}
