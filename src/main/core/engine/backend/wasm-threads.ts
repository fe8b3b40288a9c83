/**
 * Multi-threaded XNNPACK for the wasm backend under Node.
 *
 * `@tensorflow/tfjs-backend-wasm` ships a threaded SIMD build (Emscripten pthreads), but reports
 * `WASM_HAS_MULTITHREAD_SUPPORT = false` whenever it runs in Node, so convolutions use one core.
 * The build itself works in Node's worker_threads; three things stand in its way:
 *
 *  1. The loader hands the pthread worker script and the module factory to Emscripten as Blobs
 *     (`URL.createObjectURL`), which Node's `Worker` and `importScripts` cannot open. We write
 *     both to files instead, content-addressed in the temporary folder, so every process that
 *     needs them finds (or atomically creates) the same two files and nothing piles up.
 *  2. The factory's source, evaluated again inside each pthread worker, refers to the bundle's
 *     module-scope names (`require$$0` for fs, …); the worker file defines them first.
 *  3. The backend sizes its thread pool as "logical cores / 2" (it assumes two hardware threads
 *     per core) and clamps later requests to that. While the module starts, `os.cpus()` is made
 *     to report the wanted thread count twice over, so the pool gets exactly that many threads.
 *
 * Everything is restored once the backend has started; if it fails to start, the caller falls
 * back to the single-threaded build and says why. Threads change only how the work of a
 * convolution is split, not the arithmetic: results are identical (checked by the tests).
 */
import * as tf from '@tensorflow/tfjs';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/** Marks the factory script among the Blobs the loader creates. */
const FACTORY_PREFIX = 'var WasmBackendModuleThreadedSimd';

/** Names the bundled factory expects to find in its scope (see tf-backend-wasm.node.js). */
const WORKER_PRELUDE = [
  "globalThis.require$$0 = require('fs');",
  "globalThis.require$$1 = require('path');",
  "globalThis.require$$3 = require('perf_hooks');",
  "globalThis.require$$4 = require('os');",
  'globalThis.commonjsGlobal = globalThis;',
];

export interface WasmThreadsPatch {
  /** Undoes every global change; safe to call twice. */
  restore(): void;
  /** The first error met while preparing the scripts, if any. */
  readonly error: Error | null;
}

function scriptFolder(): string {
  const dir = join(os.tmpdir(), `gan-studio-wasm-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Writes `text` to `<dir>/<hash><ext>` unless that file exists; returns its path. */
function contentFile(dir: string, text: string, ext: string): string {
  const name = `${createHash('sha256').update(text).digest('hex').slice(0, 24)}${ext}`;
  const path = join(dir, name);
  if (!existsSync(path)) {
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, path);
  }
  return path;
}

/**
 * Prepares the globals for one start of the threaded wasm module with `threads` threads. Call
 * before `tf.setBackend('wasm')` and `restore()` after it settles.
 */
export function patchForWasmThreads(threads: number): WasmThreadsPatch {
  // The scripts' folder must be writable; find out before touching any global.
  const dir = scriptFolder();
  contentFile(dir, '// gan-studio: this folder holds the wasm backend\'s thread scripts\n', '.txt');
  const RealBlob = globalThis.Blob;
  const realCreateObjectURL = URL.createObjectURL;
  const realCpus = os.cpus;
  const texts = new WeakMap<Blob, string>();
  let factoryPath: string | null = null;
  let error: Error | null = null;
  const folder = () => dir;

  class RecordingBlob extends RealBlob {
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      super(parts, options);
      if (parts && parts.every((p) => typeof p === 'string')) {
        const text = (parts as string[]).join('');
        texts.set(this, text);
        if (text.startsWith(FACTORY_PREFIX)) {
          try {
            factoryPath = contentFile(folder(), text, '.js');
          } catch (err) {
            error ??= err as Error;
          }
        }
      }
    }
  }

  globalThis.Blob = RecordingBlob;
  URL.createObjectURL = (obj: Blob) => {
    const text = texts.get(obj);
    if (text == null) return realCreateObjectURL(obj);
    if (text.startsWith(FACTORY_PREFIX) && factoryPath) return factoryPath;
    // The pthread worker script.
    try {
      if (!factoryPath) throw new Error('the wasm module factory script was not seen before its worker script');
      const prelude = [
        ...WORKER_PRELUDE,
        `globalThis.__dirname = ${JSON.stringify(folder())};`,
        // Inside the worker the factory arrives as a (cloned) Blob: open our file instead.
        `URL.createObjectURL = () => ${JSON.stringify(factoryPath)};`,
        'URL.revokeObjectURL = () => {};',
      ].join('\n');
      return contentFile(folder(), `${prelude}\n${text}`, '.cjs');
    } catch (err) {
      error ??= err as Error;
      return realCreateObjectURL(obj);
    }
  };
  os.cpus = () => {
    const cpus = realCpus();
    const one = cpus[0] ?? ({ model: 'cpu', speed: 0, times: { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 } } as os.CpuInfo);
    return Array.from({ length: 2 * threads }, (_, i) => cpus[i % Math.max(cpus.length, 1)] ?? one);
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);

  let restored = false;
  return {
    get error() {
      return error;
    },
    restore() {
      if (restored) return;
      restored = true;
      globalThis.Blob = RealBlob;
      URL.createObjectURL = realCreateObjectURL;
      os.cpus = realCpus;
    },
  };
}

/** Threads wanted for the wasm backend: GAN_STUDIO_WASM_THREADS, else one per core (≤ 8). */
export function wantedWasmThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['GAN_STUDIO_WASM_THREADS']?.trim();
  if (raw) {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 64) {
      throw new Error(`GAN_STUDIO_WASM_THREADS=${raw} is not a thread count (1 to 64)`);
    }
    return n;
  }
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, cores));
}

interface PThreadWorker {
  unref?: () => void;
  terminate?: () => unknown;
}

interface PThreadPool {
  runningWorkers?: PThreadWorker[];
  unusedWorkers?: PThreadWorker[];
}

/**
 * After the threaded module started:
 *  - Emscripten keeps a reference on every worker running a pthread, and XNNPACK's pool threads
 *    run for the life of the module: left alone, they keep the process (or the training worker)
 *    alive after its work is done. They only ever work while this thread is inside a wasm call,
 *    so they need no event loop of their own: drop the references.
 *  - Emscripten pre-starts 8 workers whatever the pool size; each idle one holds a JavaScript
 *    heap of its own (tens of MB). The pool's threads are all started by now, so the idle
 *    workers are ended (Emscripten would start a new one should a thread ever be created later).
 * Returns the number of pool threads running besides this one.
 */
export function trimWasmThreads(): number {
  const backend = tf.findBackend('wasm') as unknown as { wasm?: { PThread?: PThreadPool } } | null;
  const pool = backend?.wasm?.PThread;
  if (!pool) return 0;
  for (const w of pool.runningWorkers ?? []) w.unref?.();
  const idle = pool.unusedWorkers ?? [];
  for (const w of idle.splice(0, idle.length)) {
    w.unref?.();
    void Promise.resolve(w.terminate?.()).catch(() => undefined);
  }
  return pool.runningWorkers?.length ?? 0;
}
