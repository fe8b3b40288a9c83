/**
 * Chooses the TensorFlow.js backend at start-up, best first (see DESIGN.md, "TensorFlow.js
 * backends"), and says why:
 *   1. `@tensorflow/tfjs-node-gpu` ('tensorflow-gpu': CUDA),
 *   2. `@tensorflow/tfjs-node`     ('tensorflow': native CPU),
 *   3. `@tensorflow/tfjs-backend-wasm` ('wasm', with the training kernels of ./wasm-kernels),
 *   4. 'cpu' (pure JavaScript).
 * The two native packages are optionalDependencies, often absent: they are imported with a
 * non-literal specifier, so that neither TypeScript nor a bundler tries to resolve them.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { BACKEND_ENV_VAR, BACKEND_ORDER } from '../../../../shared/backend';
import type { BackendInfo, BackendName } from '../../../../shared/types';
import { registerNativeKernels } from './native-kernels';
import { registerWasmTrainingKernels } from './wasm-kernels';
import { patchForWasmThreads, trimWasmThreads, wantedWasmThreads, type WasmThreadsPatch } from './wasm-threads';

const NATIVE_PACKAGES = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
} as const;

/** Name of the tfjs backend that both native packages register. */
const TF_NATIVE = 'tensorflow';

export interface SelectBackendOptions {
  /** Force one backend; 'auto' (the default) takes the best available. */
  prefer?: BackendName | 'auto';
}

/** Why a backend cannot be used: `notInstalled` marks a package that is simply absent. */
class Unavailable extends Error {
  constructor(message: string, readonly notInstalled = false) {
    super(message);
    this.name = 'Unavailable';
  }
}

interface Attempt {
  details: Record<string, string | number | boolean>;
  /** Short description for the reason line, e.g. "SIMD, 1 thread". */
  summary: string;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? 'unknown error';
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

function isMissingPackage(err: unknown, pkg: string): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  if (!message.includes(pkg)) return false;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' ||
    /cannot find (package|module)|failed to (load|resolve)/i.test(message);
}

/** Runs `fn`, collecting what tfjs warns meanwhile (it reports backend init failures that way). */
async function withWarnings<T>(fn: () => Promise<T>): Promise<{ value: T; warnings: string[] }> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
    original.apply(console, args);
  };
  try {
    return { value: await fn(), warnings };
  } finally {
    console.warn = original;
  }
}

/** Activates a registered tfjs backend, or throws `Unavailable` with tfjs's reason. */
async function activate(tfName: string, label: string): Promise<void> {
  if (tf.findBackendFactory(tfName) == null) {
    throw new Unavailable(`${label}: no '${tfName}' backend is registered`);
  }
  const { value: ok, warnings } = await withWarnings(() => tf.setBackend(tfName));
  if (!ok || tf.getBackend() !== tfName) {
    // Warnings look like "Initialization of backend wasm failed" followed by the error.
    const detail = warnings.find((w) => !/^Initialization of backend/.test(w)) ?? warnings[0];
    throw new Unavailable(`${label} failed to initialise${detail ? `: ${firstLine(detail)}` : ''}`);
  }
}

/** Which package registered the native backend in this process, if one did. */
let nativeLoadedFrom: string | null = null;

async function loadNative(pkg: string): Promise<void> {
  if (nativeLoadedFrom === pkg) return;
  if (nativeLoadedFrom != null) {
    // Both packages register the same 'tensorflow' backend; only one native library can load.
    throw new Unavailable(`${pkg} was not loaded: ${nativeLoadedFrom} is loaded already`);
  }
  const specifier: string = pkg; // non-literal on purpose: an optional, often absent package
  try {
    await import(/* @vite-ignore */ specifier);
  } catch (err) {
    if (isMissingPackage(err, pkg)) throw new Unavailable(`${pkg} is not installed`, true);
    throw new Unavailable(`${pkg} failed to load: ${firstLine(err)}`);
  }
  nativeLoadedFrom = pkg;
  if (tf.findBackendFactory(TF_NATIVE) == null) {
    throw new Unavailable(
      `${pkg} loaded but registered no '${TF_NATIVE}' backend with this copy of @tensorflow/tfjs ` +
        `(are two versions of @tensorflow/tfjs-core installed?)`);
  }
}

interface NativeBackendFacts {
  isGPUPackage?: boolean;
  isUsingGpuDevice?: boolean;
}

async function tryTensorflowGpu(): Promise<Attempt> {
  const pkg = NATIVE_PACKAGES['tensorflow-gpu'];
  await loadNative(pkg);
  await activate(TF_NATIVE, pkg);
  const facts = tf.backend() as unknown as NativeBackendFacts;
  if (facts.isUsingGpuDevice === false) {
    throw new Unavailable(`${pkg} found no usable CUDA GPU (it needs CUDA 11.2 and cuDNN 8.1)`);
  }
  return { details: { package: pkg, gpu: true }, summary: 'CUDA' };
}

async function tryTensorflow(): Promise<Attempt> {
  const pkg = NATIVE_PACKAGES.tensorflow;
  // If the GPU package loaded but found no GPU, its library runs on the CPU just as well.
  const from = nativeLoadedFrom ?? pkg;
  if (nativeLoadedFrom == null) await loadNative(pkg);
  await activate(TF_NATIVE, from);
  const facts = tf.backend() as unknown as NativeBackendFacts;
  return {
    details: { package: from, gpu: facts.isUsingGpuDevice === true },
    summary: from === pkg ? 'native CPU' : `native CPU via ${from}`,
  };
}

/** Why the threaded wasm build was not used, when it was wanted and could not start. */
let wasmThreadsFailure: string | null = null;

async function tryWasm(): Promise<Attempt> {
  registerWasmTrainingKernels();
  const wanted = wantedWasmThreads();
  if (wanted > 1 && tf.findBackend('wasm') == null) {
    let patch: WasmThreadsPatch | null = null;
    try {
      patch = patchForWasmThreads(wanted);
      await activate('wasm', '@tensorflow/tfjs-backend-wasm (threaded)');
      if (patch.error) throw patch.error;
      trimWasmThreads();
    } catch (err) {
      wasmThreadsFailure = `the threaded build did not start (${firstLine(err)}); using one thread`;
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      setThreadsCount(1);
    } finally {
      patch?.restore();
    }
  }
  if (tf.getBackend() !== 'wasm') await activate('wasm', '@tensorflow/tfjs-backend-wasm');
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  let threads = 1;
  try {
    threads = getThreadsCount();
  } catch {
    // Older builds cannot tell; a single thread is what they run.
  }
  // Convolutions natively by OpenBLAS where gan-studio-native was built (same thread count).
  const native = registerNativeKernels(wanted);
  return {
    details: {
      package: '@tensorflow/tfjs-backend-wasm',
      simd,
      threads,
      multithreadSupport: threads > 1,
      trainingKernels: true,
      ...(wasmThreadsFailure ? { threadsNote: wasmThreadsFailure } : {}),
      nativeConvolutions: native.available,
      ...(native.available ? { openblas: native.config, onednn: native.dnnl ?? `off: ${native.dnnlNote ?? 'not built in'}` } : { nativeNote: native.reason }),
    },
    summary: `${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}` +
      (native.available ? `, convolutions by ${native.dnnl ? `${native.dnnl} and ` : ''}OpenBLAS (${native.core})` : ''),
  };
}

async function tryCpu(): Promise<Attempt> {
  await activate('cpu', 'cpu backend');
  return { details: {}, summary: 'pure JavaScript' };
}

const ATTEMPTS: Record<BackendName, () => Promise<Attempt>> = {
  'tensorflow-gpu': tryTensorflowGpu,
  tensorflow: tryTensorflow,
  wasm: tryWasm,
  cpu: tryCpu,
};

function isBackendName(value: string): value is BackendName {
  return (BACKEND_ORDER as readonly string[]).includes(value);
}

/** Why the better backends were skipped, in one clause. */
function skippedClause(skipped: BackendInfo['skipped']): string {
  const missing = skipped.filter((s) => / is not installed$/.test(s.reason)).map((s) => s.reason.replace(/ is not installed$/, ''));
  const others = skipped.filter((s) => !/ is not installed$/.test(s.reason)).map((s) => s.reason);
  const parts: string[] = [];
  if (missing.length === 1) parts.push(`${missing[0]} is not installed`);
  else if (missing.length > 1) parts.push(`${missing.slice(0, -1).join(', ')} and ${missing[missing.length - 1]} are not installed`);
  parts.push(...others);
  return parts.join('; ');
}

/**
 * Activates the best available backend (or the one `prefer` / GAN_STUDIO_BACKEND forces) and
 * reports it. Throws when a forced backend cannot be had, saying why.
 */
export async function selectBackend(opts: SelectBackendOptions = {}): Promise<BackendInfo> {
  let forced: BackendName | null = null;
  let forcedBy = '';
  if (opts.prefer != null && opts.prefer !== 'auto') {
    if (!isBackendName(opts.prefer)) {
      throw new Error(`unknown backend '${String(opts.prefer)}'; use one of ${BACKEND_ORDER.join(', ')} or auto`);
    }
    forced = opts.prefer;
    forcedBy = `prefer: '${opts.prefer}'`;
  } else {
    const env = (typeof process !== 'undefined' ? process.env[BACKEND_ENV_VAR] : undefined)?.trim();
    if (env && env !== 'auto') {
      if (!isBackendName(env)) {
        throw new Error(`${BACKEND_ENV_VAR}=${env} is not a backend; use one of ${BACKEND_ORDER.join(', ')} or auto`);
      }
      forced = env;
      forcedBy = `${BACKEND_ENV_VAR}=${env}`;
    }
  }

  if (forced != null) {
    try {
      const { details, summary } = await ATTEMPTS[forced]();
      return { name: forced, reason: `${forced} (${summary}): chosen by ${forcedBy}`, skipped: [], details };
    } catch (err) {
      const why = err instanceof Unavailable ? err.message : firstLine(err);
      throw new Error(`Backend '${forced}' (${forcedBy}) cannot be used: ${why}`);
    }
  }

  const skipped: BackendInfo['skipped'] = [];
  for (const name of BACKEND_ORDER) {
    try {
      const { details, summary } = await ATTEMPTS[name]();
      const why = skippedClause(skipped);
      const reason = `${name} (${summary})${why ? `: ${why}` : ': the best backend'}`;
      return { name, reason, skipped, details };
    } catch (err) {
      skipped.push({ name, reason: err instanceof Unavailable ? err.message : `${name}: ${firstLine(err)}` });
    }
  }
  throw new Error(`No TensorFlow.js backend could be started: ${skipped.map((s) => s.reason).join('; ')}`);
}
