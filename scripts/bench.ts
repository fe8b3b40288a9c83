/**
 * `npm run bench [-- flags]`: how fast GAN Studio trains on this machine, with the backend that
 * selectBackend picks (or the one --backend forces).
 *
 *  1. Training-step throughput: the real Trainer's trainStep() (a D update on a real and a fake
 *     batch, then the G update), batch 64 (--batch N), on a synthetic in-memory dataset of random pixels in a
 *     temporary run directory (deleted afterwards). Warm-up steps (at least 2, and at least 2 s:
 *     V8 optimises tfjs's JavaScript over a DCGAN-28 run's first ~10 steps), then N timed steps;
 *     ms/step and images/s (batch / seconds per step); the process's peak RSS (the OS high-water
 *     mark once the model's steps are done: this process does nothing but train, so it bounds a
 *     training worker's memory) and the size of the wasm heap.
 *  2. Conv kernel timings at the convolution shapes the chosen models use (read from the built
 *     models): Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter. On wasm the two backprop
 *     kernels are GAN Studio's own (./src/main/core/engine/backend/wasm-kernels.ts); elsewhere they are
 *     the backend's, and labelled so.
 *  3. --peer: the PyTorch peer (scripts/peer/torch_dcgan.py) on the
 *     same models, batch, thread count and number of timed steps, and the ratio ours/peer. It has
 *     dcgan28 and dcgan64 only: other models are timed without it, and the output says so. With
 *     --repeat N the runs alternate (ours, the peer's, ours, ...), so that both sample the same
 *     spells of a shared machine's speed, which drifts by 20% over minutes on a VM.
 *  4. Event-loop delay of the host thread while a real DCGAN-28 run trains through Studio.train
 *     (in its training Worker) on a temporary studio home and a synthetic IDX file: p50, p99 and
 *     max, from perf_hooks.monitorEventLoopDelay. This is the figure that says whether a host's
 *     window, menus and IPC stay responsive during an epoch.
 *
 * --json prints one JSON line per figure on stdout (everything else goes to stderr).
 */
import { benchImport } from './bench-import';
import { REMEDY_VARIANTS, timeRemedies } from './bench-remedies';
import { timeWatch } from './bench-watch';
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { BACKEND_ORDER, describeBackend } from '../src/shared/backend';
import { selectBackend } from '../src/main/core/engine/backend/backends';
import { buildGan, disposeGan } from '../src/main/core/engine/ml/models';
import { Prng } from '../src/main/core/engine/ml/rng';
import { DEFAULT_WATCH, Trainer } from '../src/main/core/engine/ml/trainer';
import { Studio } from '../src/main/core/studio';
import { nativeKernelsRegistered, nativeStatus, registerNativeKernels, unregisterNativeKernels } from '../src/main/core/engine/backend/native-kernels';
import { timeConvKernels, wasmTrainingKernelsRegistered, type ConvBenchShape } from '../src/main/core/engine/backend/wasm-kernels';
import { TRAIN_DEFAULTS, type BackendInfo, type BackendName, type ImageDataset, type ModelConfig, type TrainConfig } from '../src/shared/types';
import { median } from './stats';

const DEFAULT_BATCH = 64;
/** The batch every figure uses: DEFAULT_BATCH, or --batch N. */
let BATCH = DEFAULT_BATCH;
/** Warm-up before timing: at least this many steps and at least this long (see the top of the file). */
const WARMUP_MIN_STEPS = 2;
const WARMUP_MIN_MS = 2000;
const DATASET_IMAGES = 256;
const DEFAULT_PEER_THREADS = 2;
/** Runs per model (ours and the peer's) whose median is reported when comparing with the peer. */
const PEER_REPEAT = 5;
const DEFAULT_KERNEL_REPS = 3;
const MB = 1024 * 1024;
/** Generator steps of the event-loop run (256 images at batch 64: 4 steps an epoch, so 3 epochs). */
const DEFAULT_LOOP_STEPS = 12;
/** monitorEventLoopDelay's sampling resolution, ms. */
const LOOP_RESOLUTION_MS = 10;

interface BenchModel {
  model: ModelConfig;
  /**
   * Timed steps a run when --steps is not given: runs of about 1 s (ours) and 5 s (the peer's) or
   * more, so that a slow spell of a shared machine (some seconds long) moves one run's figure less.
   * (DCGAN-64 takes ~12 s a step on wasm without gan-studio-native.)
   */
  defaultSteps: number;
  /** False where the PyTorch peer has no such model: --peer then skips it, saying so. */
  peer: boolean;
}

const MODELS: Record<string, BenchModel> = {
  dcgan28: { model: { kind: 'dcgan', size: 28, channels: 1, latent: TRAIN_DEFAULTS.latent, numClasses: 0 }, defaultSteps: 20, peer: true },
  dcgan64: { model: { kind: 'dcgan', size: 64, channels: 3, latent: TRAIN_DEFAULTS.latent, numClasses: 0 }, defaultSteps: 5, peer: true },
  // The 64 px stack with a 32-wide layer more each side (see models.ts); the peer has no such model.
  dcgan128: { model: { kind: 'dcgan', size: 128, channels: 3, latent: TRAIN_DEFAULTS.latent, numClasses: 0 }, defaultSteps: 3, peer: false },
};

/** Wall time of each on/off spell of the watch section. */
const DEFAULT_WATCH_SECONDS = 30;

const USAGE = `usage: npm run bench -- [--backend NAME] [--models LIST] [--steps N] [--batch N] [--repeat N] [--no-train] [--no-remedies] [--no-watch] [--watch-seconds N] [--no-kernels] [--no-import] [--no-loop] [--loop-steps N] [--import-count N] [--kernel-reps N] [--peer] [--peer-threads N] [--peer-blas system|reference|both] [--python CMD] [--profile] [--json]

Times GAN Studio's full training step (trainStep: D on a real + fake batch, then G; batch ${DEFAULT_BATCH})
and the conv kernels at the models' shapes, on the active TensorFlow.js backend, the
throughput of importing a folder of generated JPEGs, and the host thread's event-loop delay
while a DCGAN-28 run trains in its worker (Studio.train, as the app and serve run it).

options:
  --backend NAME      force a backend: ${BACKEND_ORDER.join(', ')} or auto (default: auto)
  --models LIST       comma-separated, from ${Object.keys(MODELS).join(', ')} (default: all)
  --steps N           timed training steps per model (default: ${Object.entries(MODELS).map(([k, m]) => `${m.defaultSteps} for ${k}`).join(', ')})
  --batch N           the batch of every training step and kernel timing (default: ${DEFAULT_BATCH})
  --repeat N          time each model N times and report the median (default: ${PEER_REPEAT} with --peer, else 1)
  --no-train          skip the training-step timings (kernels only)
  --no-remedies       skip the cost of DiffAugment and the averaged generator (each model's step
                      plain, with each and with both, side by side; median of 3 alternating rounds)
  --no-watch          skip the cost of watching a run (clock grids and the quality score on their
                      default schedule, on vs off, through the real training loop; 2 rounds)
  --watch-seconds N   wall time of each on/off spell of that section (default: ${DEFAULT_WATCH_SECONDS})
  --no-kernels        skip the conv kernel timings
  --no-import         skip the image-folder import timing
  --import-count N    JPEGs in the generated folder for the import timing (default: 1000)
  --no-loop           skip the event-loop delay during a real training run
  --loop-steps N      generator steps of that run (default: ${DEFAULT_LOOP_STEPS}; batch ${DEFAULT_BATCH}, ${DATASET_IMAGES} images)
  --kernel-reps N     calls per kernel timing, after one warm-up call (default: ${DEFAULT_KERNEL_REPS})
  --peer              also time the PyTorch peer (scripts/peer/torch_dcgan.py) and print ours/peer
                      (${Object.keys(MODELS).filter((k) => MODELS[k]!.peer).join(' and ')} only: the peer has no other model)
  --peer-threads N    torch.set_num_threads for the peer (default: ${DEFAULT_PEER_THREADS}; on a busy machine 1 can be faster)
  --peer-blas WHICH   the BLAS the peer runs on: system (default: whatever libblas.so.3 is, e.g. OpenBLAS where
                      libopenblas is installed), reference (Debian's reference BLAS, libblas3, as a bare
                      'apt-get install python3-torch' gets it), or both (two peer columns)
  --python CMD        Python interpreter for --peer (default: python3, then /usr/bin/python3)
  --profile           per-kernel time of one training step of each model (tf.profile)
  --json              one JSON line per figure on stdout
  -h, --help          this text
`;

class UsageError extends Error {}

interface Options {
  import: boolean;
  importCount: number;
  loop: boolean;
  loopSteps: number;
  backend: BackendName | 'auto';
  models: string[];
  steps: number | null;
  batch: number;
  repeat: number;
  train: boolean;
  remedies: boolean;
  watch: boolean;
  watchSeconds: number;
  kernels: boolean;
  kernelReps: number;
  peer: boolean;
  peerThreads: number;
  peerBlas: PeerBlas[];
  python: string | null;
  profile: boolean;
  json: boolean;
}

function positiveInt(flag: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} needs a positive integer (got '${value}')`);
  return Number(value);
}

function parseOptions(argv: string[]): Options | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        backend: { type: 'string' },
        models: { type: 'string' },
        steps: { type: 'string' },
        batch: { type: 'string' },
        repeat: { type: 'string' },
        'no-train': { type: 'boolean' },
        'no-remedies': { type: 'boolean' },
        'no-watch': { type: 'boolean' },
        'watch-seconds': { type: 'string' },
        'no-kernels': { type: 'boolean' },
        'no-import': { type: 'boolean' },
        'no-loop': { type: 'boolean' },
        'loop-steps': { type: 'string' },
        'import-count': { type: 'string' },
        'kernel-reps': { type: 'string' },
        peer: { type: 'boolean' },
        'peer-threads': { type: 'string' },
        'peer-blas': { type: 'string' },
        python: { type: 'string' },
        profile: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) return 'help';
  if (values['no-train'] && values['no-remedies'] && values['no-watch'] && values['no-kernels'] && values['no-import'] && values['no-loop']) {
    throw new UsageError('--no-train, --no-remedies, --no-watch, --no-kernels, --no-import and --no-loop leave nothing to time');
  }
  const backend = values.backend ?? 'auto';
  if (backend !== 'auto' && !(BACKEND_ORDER as readonly string[]).includes(backend)) {
    throw new UsageError(`unknown backend '${backend}'; use one of ${BACKEND_ORDER.join(', ')} or auto`);
  }
  const models = values.models === undefined ? Object.keys(MODELS) : values.models.split(',').map((m) => m.trim()).filter((m) => m);
  if (models.length === 0) throw new UsageError('--models needs at least one model');
  for (const m of models) {
    if (!(m in MODELS)) throw new UsageError(`unknown model '${m}'; use ${Object.keys(MODELS).join(', ')}`);
  }
  const peerBlasFlag = values['peer-blas'] ?? 'system';
  if (!['system', 'reference', 'both'].includes(peerBlasFlag)) {
    throw new UsageError(`--peer-blas takes system, reference or both (got '${peerBlasFlag}')`);
  }
  if (values['peer-blas'] !== undefined && !values.peer) throw new UsageError('--peer-blas needs --peer');
  const batch = positiveInt('--batch', values.batch) ?? DEFAULT_BATCH;
  if (batch > DATASET_IMAGES) throw new UsageError(`--batch can be at most ${DATASET_IMAGES} (the synthetic dataset's images)`);
  return {
    backend: backend as BackendName | 'auto',
    models: [...new Set(models)],
    steps: positiveInt('--steps', values.steps),
    batch,
    repeat: positiveInt('--repeat', values.repeat) ?? (values.peer ? PEER_REPEAT : 1),
    train: !values['no-train'],
    remedies: !values['no-remedies'],
    watch: !values['no-watch'],
    watchSeconds: positiveInt('--watch-seconds', values['watch-seconds']) ?? DEFAULT_WATCH_SECONDS,
    kernels: !values['no-kernels'],
    import: !values['no-import'],
    importCount: positiveInt('--import-count', values['import-count']) ?? 1000,
    loop: !values['no-loop'],
    loopSteps: positiveInt('--loop-steps', values['loop-steps']) ?? DEFAULT_LOOP_STEPS,
    kernelReps: positiveInt('--kernel-reps', values['kernel-reps']) ?? DEFAULT_KERNEL_REPS,
    peer: values.peer ?? false,
    peerThreads: positiveInt('--peer-threads', values['peer-threads']) ?? DEFAULT_PEER_THREADS,
    peerBlas: peerBlasFlag === 'both' ? ['system', 'reference'] : [peerBlasFlag as PeerBlas],
    python: values.python ?? null,
    profile: values.profile ?? false,
    json: values.json ?? false,
  };
}

// ---------------------------------------------------------------------------------------------
// Output

let jsonMode = false;

/** Human-readable lines: stdout normally, stderr in --json mode (stdout holds only figures). */
function say(line = ''): void {
  (jsonMode ? process.stderr : process.stdout).write(`${line}\n`);
}

function emit(figure: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(figure)}\n`);
}

/** Progress for a person watching a terminal. */
function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
}

function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function fmt(value: number, digits = 1): string {
  return value.toFixed(digits);
}


/** A fixed-width table row: the first column left-aligned, the others right-aligned. */
function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

// ---------------------------------------------------------------------------------------------
// Training-step throughput

function syntheticDataset(model: ModelConfig): ImageDataset {
  const { size, channels } = model;
  const pixels = new Uint8Array(DATASET_IMAGES * size * size * channels);
  const rng = new Prng(12345);
  for (let i = 0; i < pixels.length; i += 4) {
    const v = rng.nextUint32();
    pixels[i] = v & 0xff;
    if (i + 1 < pixels.length) pixels[i + 1] = (v >>> 8) & 0xff;
    if (i + 2 < pixels.length) pixels[i + 2] = (v >>> 16) & 0xff;
    if (i + 3 < pixels.length) pixels[i + 3] = v >>> 24;
  }
  return {
    count: DATASET_IMAGES,
    height: size,
    width: size,
    channels,
    pixels,
    labels: null,
    classNames: [],
    source: `synthetic: ${DATASET_IMAGES} random ${size}x${size}x${channels} images`,
  };
}

function trainConfig(name: string, model: ModelConfig): TrainConfig {
  return {
    model,
    data: 'synthetic',
    epochs: 1,
    steps: null,
    batch: BATCH,
    lr: TRAIN_DEFAULTS.lr,
    beta1: TRAIN_DEFAULTS.beta1,
    beta2: TRAIN_DEFAULTS.beta2,
    k: TRAIN_DEFAULTS.k,
    seed: TRAIN_DEFAULTS.seed,
    name: `bench-${name}`,
  };
}

interface StepTiming {
  model: string;
  batch: number;
  steps: number;
  /** Steps trained before timing. */
  warmupSteps: number;
  /** ms per step of each repeat, in order. */
  runsMs: number[];
  msPerStep: number;
  imagesPerSec: number;
  peakRssMb: number;
  /** The wasm backend's heap (it only grows), or null on other backends. */
  wasmHeapMb: number | null;
  /** Process CPU time / wall time over the timed steps, in percent. */
  cpuPercent: number;
}

/** Bytes of the wasm backend's heap, when wasm is the active backend. */
function wasmHeapBytes(): number | null {
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
  return wasm?.HEAPU8 ? wasm.HEAPU8.buffer.byteLength : null;
}

/** The temporary run directory in use, removed also when the run is interrupted. */
let activeRunDir: string | null = null;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (activeRunDir != null) rmSync(activeRunDir, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

/** Trains until both warm-up minimums are met; returns how many steps that took. */
async function warmUp(trainer: Trainer, label: string): Promise<number> {
  const t0 = performance.now();
  let steps = 0;
  while (steps < WARMUP_MIN_STEPS || performance.now() - t0 < WARMUP_MIN_MS) {
    progress(`${label}: warm-up step ${steps + 1}`);
    await trainer.trainStep();
    steps++;
  }
  return steps;
}

/**
 * Times `repeat` runs of `steps` training steps on one warmed-up trainer; `afterRun(r)` runs
 * after our run r (the peer's run r, so that the two alternate).
 */
async function timeTraining(name: string, spec: BenchModel, steps: number, repeat: number,
  afterRun: (run: number) => void = () => {}): Promise<StepTiming> {
  const runDir = await mkdtemp(join(tmpdir(), 'gan-studio-bench-'));
  activeRunDir = runDir;
  let peakRss = process.memoryUsage().rss;
  const sample = () => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  };
  let trainer: Trainer | null = null;
  try {
    trainer = await Trainer.create({ config: trainConfig(name, spec.model), dataset: syntheticDataset(spec.model), runDir, resumeFrom: null });
    sample();
    const warmupSteps = await warmUp(trainer, name);
    sample();
    const runsMs: number[] = [];
    let cpuMs = 0;
    let wallMs = 0;
    for (let r = 0; r < repeat; r++) {
      const cpu0 = process.cpuUsage();
      let total = 0;
      for (let i = 0; i < steps; i++) {
        progress(`${name}: ${repeat > 1 ? `run ${r + 1}/${repeat}, ` : ''}step ${i + 1}/${steps}`);
        const t0 = performance.now();
        const metrics = await trainer.trainStep();
        total += performance.now() - t0;
        sample();
        if (![metrics.lossD, metrics.lossG].every(Number.isFinite)) {
          throw new Error(`${name}: the training step produced non-finite losses (loss_D=${metrics.lossD}, loss_G=${metrics.lossG})`);
        }
      }
      runsMs.push(total / steps);
      wallMs += total;
      const cpu = process.cpuUsage(cpu0);
      cpuMs += (cpu.user + cpu.system) / 1000;
      endProgress();
      afterRun(r);
    }
    endProgress();
    const msPerStep = median(runsMs);
    return {
      model: name,
      batch: trainer.batch,
      steps,
      warmupSteps,
      runsMs,
      msPerStep,
      imagesPerSec: trainer.batch / (msPerStep / 1000),
      peakRssMb: Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / MB,
      wasmHeapMb: wasmHeapBytes() == null ? null : wasmHeapBytes()! / MB,
      cpuPercent: (cpuMs / Math.max(wallMs, 1e-9)) * 100,
    };
  } finally {
    endProgress();
    trainer?.dispose();
    await rm(runDir, { recursive: true, force: true });
    activeRunDir = null;
  }
}

// ---------------------------------------------------------------------------------------------
// PyTorch peer

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PEER_SCRIPT = resolve(REPO_ROOT, 'scripts', 'peer', 'torch_dcgan.py');

/**
 * Which BLAS the peer runs on. Debian's PyTorch links libblas.so.3, which is whichever BLAS the
 * alternatives system points at: the reference BLAS (libblas3) on a bare install, OpenBLAS once
 * libopenblas is installed (GAN Studio's setup installs it), and that alone moves the peer 3-4x.
 */
type PeerBlas = 'system' | 'reference';

/** Debian's reference BLAS and LAPACK; put first on the library path, the peer loads them instead. */
const REFERENCE_BLAS_DIR = '/usr/lib/x86_64-linux-gnu/blas';
const REFERENCE_LAPACK_DIR = '/usr/lib/x86_64-linux-gnu/lapack';

interface Peer {
  python: string;
  torchVersion: string;
  blas: PeerBlas;
  env: NodeJS.ProcessEnv;
  /** The BLAS library the peer's process loaded, in words (from /proc/self/maps). */
  blasLibrary: string;
}

type PeerProbe = { ok: true; peers: Peer[] } | { ok: false; message: string };

const PEER_PROBE = [
  'import torch',
  'torch.ones(4, 4) @ torch.ones(4, 4)',
  'print(torch.__version__)',
  "print(' '.join(sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.split()[-1].lower()})))",
].join('\n');

/** The libblas.so.3 the peer loaded, in words. */
function describeBlas(paths: string): string {
  const blas = paths.split(' ').filter((p) => /\/libblas\.so/.test(p));
  if (blas.length === 0) return paths === '' ? 'no separate BLAS library loaded' : paths;
  const where = blas.join(' ');
  if (/openblas/i.test(where)) return `OpenBLAS (${where})`;
  if (where.includes(`${REFERENCE_BLAS_DIR}/`)) return `reference BLAS (${where})`;
  return where;
}

function peerEnv(blas: PeerBlas): NodeJS.ProcessEnv {
  if (blas === 'system') return process.env;
  const dirs = [REFERENCE_BLAS_DIR, REFERENCE_LAPACK_DIR].filter((d) => existsSync(d));
  const path = process.env['LD_LIBRARY_PATH'];
  return { ...process.env, LD_LIBRARY_PATH: [...dirs, ...(path ? [path] : [])].join(':') };
}

function probePeer(python: string | null, blasList: PeerBlas[]): PeerProbe {
  if (!existsSync(PEER_SCRIPT)) return { ok: false, message: `peer: ${PEER_SCRIPT} not found — the PyTorch peer cannot run` };
  if (blasList.includes('reference') && !existsSync(`${REFERENCE_BLAS_DIR}/libblas.so.3`)) {
    return { ok: false, message: `peer: ${REFERENCE_BLAS_DIR}/libblas.so.3 not found — apt-get install libblas3 for --peer-blas reference` };
  }
  const candidates = python != null ? [python] : ['python3', '/usr/bin/python3'];
  for (const candidate of candidates) {
    const peers: Peer[] = [];
    for (const blas of blasList) {
      const env = peerEnv(blas);
      const r = spawnSync(candidate, ['-c', PEER_PROBE], { encoding: 'utf8', timeout: 120_000, env });
      if (r.status !== 0) break;
      const [version = '', libs = ''] = r.stdout.trim().split('\n');
      peers.push({ python: candidate, torchVersion: version.trim(), blas, env, blasLibrary: describeBlas(libs.trim()) });
    }
    if (peers.length === blasList.length) return { ok: true, peers };
  }
  const tried = candidates.map((c) => `${c} -c 'import torch'`).join(', ');
  return { ok: false, message: `peer: PyTorch not available (${tried} failed) — install python3-torch to compare` };
}

interface PeerResult {
  imagesPerSec: number;
  msPerStep: number;
  runs: number[];
}

/** One run of the peer (its own process: one warm-up step, then `steps` timed ones). */
function runPeerOnce(peer: Peer, name: string, steps: number, threads: number, label: string): { ips: number; ms: number } {
  progress(`${name}: PyTorch peer${label}`);
  const args = [PEER_SCRIPT, '--model', name, '--batch', String(BATCH), '--threads', String(threads), '--steps', String(steps)];
  const res = spawnSync(peer.python, args, { encoding: 'utf8', timeout: 600_000, env: peer.env });
  endProgress();
  if (res.status !== 0) {
    const why = res.error?.message ?? (res.stderr.trim().split('\n').pop() || `exit status ${res.status}`);
    throw new Error(`the PyTorch peer failed (${peer.python} ${args.join(' ')}): ${why}`);
  }
  const line = res.stdout.trim().split('\n').pop() ?? '';
  let out: { images_per_s?: unknown; ms_per_step?: unknown };
  try {
    out = JSON.parse(line) as typeof out;
  } catch {
    throw new Error(`the PyTorch peer printed no JSON line (got '${line.slice(0, 200)}')`);
  }
  if (typeof out.images_per_s !== 'number' || typeof out.ms_per_step !== 'number') {
    throw new Error(`the PyTorch peer's line has no images_per_s/ms_per_step: ${line.slice(0, 200)}`);
  }
  return { ips: out.images_per_s, ms: out.ms_per_step };
}

function peerResult(runs: { ips: number; ms: number }[]): PeerResult {
  const ms = median(runs.map((r) => r.ms));
  return { msPerStep: ms, imagesPerSec: BATCH / (ms / 1000), runs: runs.map((r) => r.ips) };
}

// ---------------------------------------------------------------------------------------------
// Conv kernels at the models' shapes

interface KernelCase {
  shape: ConvBenchShape;
  /** Forward convolution x -> y, e.g. "14x14x64 -> 7x7x128 k4 s2". */
  label: string;
  /** The layers that run this shape, e.g. "D conv 14->7", "G deconv 7->14". */
  uses: string[];
}

type Dims = (number | null)[];

function dims(shape: Dims | Dims[]): number[] {
  const s = (Array.isArray(shape[0]) ? shape[0] : shape) as Dims;
  return s.slice(1).map((d) => d ?? 0);
}

/**
 * The convolution shapes of the chosen models, read from the built layers, as forward
 * convolutions x -> y: a Conv2D layer is one; a Conv2DTranspose layer x -> y is the input
 * gradient (Conv2DBackpropInput) of the convolution y -> x. Layers with 'valid' padding (the 4x4
 * projections of the 32/64 px stacks, under 1% of the work) are listed in `skipped`:
 * timeConvKernels times 'same' padding only.
 */
function kernelCases(models: string[]): { cases: KernelCase[]; skipped: string[] } {
  const byKey = new Map<string, KernelCase>();
  const skipped: string[] = [];
  for (const name of models) {
    const gan = buildGan(MODELS[name]!.model, 1);
    try {
      for (const [net, model] of [['G', gan.generator], ['D', gan.discriminator]] as const) {
        for (const layer of model.layers) {
          const cls = layer.getClassName();
          if (cls !== 'Conv2D' && cls !== 'Conv2DTranspose') continue;
          const cfg = layer.getConfig() as { kernelSize: number[]; strides: number[]; padding: string };
          const inTensor = layer.input;
          const input = dims((Array.isArray(inTensor) ? inTensor[0]! : inTensor).shape);
          const output = dims(layer.outputShape as Dims | Dims[]);
          const [x, y] = cls === 'Conv2D' ? [input, output] : [output, input];
          const k = cfg.kernelSize[0]!;
          const stride = cfg.strides[0]!;
          const use = `${name} ${net} ${cls === 'Conv2D' ? 'conv' : 'deconv'} ${input[0]}->${output[0]}`;
          const square = x[0] === x[1] && cfg.kernelSize[1] === k && cfg.strides[1] === stride;
          if (cfg.padding !== 'same' || !square || y[0] !== Math.ceil(x[0]! / stride)) {
            skipped.push(`${use} (${input.join('x')} -> ${output.join('x')}, k${k} s${stride} ${cfg.padding})`);
            continue;
          }
          const label = `${x.join('x')} -> ${y.join('x')} k${k} s${stride}`;
          const entry = byKey.get(label) ?? { shape: { batch: BATCH, inSize: x[0]!, inCh: x[2]!, outCh: y[2]!, k, stride }, label, uses: [] };
          entry.uses.push(use);
          byKey.set(label, entry);
        }
      }
    } finally {
      disposeGan(gan);
    }
  }
  return { cases: [...byKey.values()], skipped };
}

// ---------------------------------------------------------------------------------------------

function cpuSummary(): string {
  const list = cpus();
  const model = list[0]?.model?.trim() ?? 'unknown CPU';
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  return `${list.length} CPU${list.length === 1 ? '' : 's'} (${model}), load average ${load}`;
}

function backendThreads(info: BackendInfo): string {
  const t = info.details['threads'];
  return typeof t === 'number' ? `${t} thread${t === 1 ? '' : 's'}` : 'native threads';
}

/** 1 and 3: the training step of each chosen model, and the PyTorch peer's. */
async function trainingSection(opts: Options, info: BackendInfo): Promise<void> {
  const backend = info.name;
  let probe: PeerProbe | null = null;
  if (opts.peer) {
    probe = probePeer(opts.python, opts.peerBlas);
    if (!probe.ok) say(probe.message);
    else {
      for (const p of probe.peers) {
        say(`peer${p.blas === 'reference' ? ' (reference BLAS)' : ''}: PyTorch ${p.torchVersion} (${p.python} ${PEER_SCRIPT}, ` +
          `${opts.peerThreads} thread${opts.peerThreads === 1 ? '' : 's'}), BLAS: ${p.blasLibrary}`);
      }
    }
  }
  const peers = probe?.ok ? probe.peers : [];
  const peer = peers[0] ?? null;
  const refPeer = peers[1] ?? null;
  if (backend === 'cpu') {
    say(`note: the cpu backend's Conv2DBackpropFilter is a plain JavaScript loop (over a minute per call at the DCGAN-28 ` +
      `shapes): a DCGAN-28 step takes minutes, a DCGAN-64 step far longer (try --models dcgan28 --steps 1)`);
  }

  say();
  say(`Training step (trainStep: D on a real + a fake batch, then G), batch ${BATCH}, ${DATASET_IMAGES} synthetic images, ` +
    `warm-up of ${WARMUP_MIN_STEPS}+ steps and ${WARMUP_MIN_MS / 1000}+ s${opts.repeat > 1 ? `, median of ${opts.repeat} runs` : ''}` +
    `${peer && opts.repeat > 1 ? ` (ours and the peer's alternating)` : ''} — ${backend}, ${backendThreads(info)}`);
  const trainCols = ['model', 'batch', 'steps', 'ms/step', 'images/s', 'peak RSS MB', 'wasm heap MB', 'CPU %',
    ...(peer ? ['peer img/s', 'ours/peer'] : []), ...(refPeer ? ['ref-BLAS peer', 'ours/ref'] : [])];
  const trainWidths = [8, 5, 5, 9, 9, 11, 12, 6, 10, 9, 13, 8];
  if (!jsonMode) say(row(trainCols, trainWidths));
  const noPeer: string[] = [];
  for (const name of opts.models) {
    const spec = MODELS[name]!;
    const steps = opts.steps ?? spec.defaultSteps;
    // The peer times only the models it has (torch_dcgan.py --model): the others run without it.
    const withPeer = spec.peer;
    if (peer && !withPeer) noPeer.push(name);
    const peerRuns: { ips: number; ms: number }[] = [];
    const refRuns: { ips: number; ms: number }[] = [];
    const t = await timeTraining(name, spec, steps, opts.repeat, (r) => {
      const label = opts.repeat > 1 ? ` run ${r + 1}/${opts.repeat}` : '';
      if (peer && withPeer) peerRuns.push(runPeerOnce(peer, name, steps, opts.peerThreads, label));
      if (refPeer && withPeer) refRuns.push(runPeerOnce(refPeer, name, steps, opts.peerThreads, ` (reference BLAS)${label}`));
    });
    const p = peer && withPeer ? peerResult(peerRuns) : null;
    const ratio = p ? t.imagesPerSec / p.imagesPerSec : null;
    const rp = refPeer && withPeer ? peerResult(refRuns) : null;
    const refRatio = rp ? t.imagesPerSec / rp.imagesPerSec : null;
    if (jsonMode) {
      const figure: Record<string, unknown> = {
        model: name,
        batch: t.batch,
        backend,
        ...(backend === 'wasm' ? { native_kernels: nativeKernelsRegistered() } : {}),
        images_per_s: round(t.imagesPerSec, 1),
        ms_per_step: round(t.msPerStep, 1),
        peak_rss_mb: round(t.peakRssMb, 1),
        ...(t.wasmHeapMb != null ? { wasm_heap_mb: round(t.wasmHeapMb, 1) } : {}),
      };
      if (p && ratio != null && peer) {
        figure['peer_images_per_s'] = round(p.imagesPerSec, 1);
        figure['ratio'] = round(ratio, 3);
        figure['peer_blas'] = peer.blasLibrary;
      }
      if (peer && !withPeer) figure['peer'] = 'skipped: the PyTorch peer has no such model';
      if (rp && refRatio != null && refPeer) {
        figure['ref_blas_peer_images_per_s'] = round(rp.imagesPerSec, 1);
        figure['ref_blas_ratio'] = round(refRatio, 3);
        figure['ref_peer_blas'] = refPeer.blasLibrary;
      }
      if (opts.repeat > 1) {
        figure['runs_ms_per_step'] = t.runsMs.map((v) => round(v, 1));
        figure['warmup_steps'] = t.warmupSteps;
        if (p) figure['peer_runs_images_per_s'] = p.runs.map((v) => round(v, 1));
        if (rp) figure['ref_blas_peer_runs_images_per_s'] = rp.runs.map((v) => round(v, 1));
      }
      emit(figure);
    } else {
      const cells = [name, String(t.batch), String(t.steps), fmt(t.msPerStep), fmt(t.imagesPerSec), fmt(t.peakRssMb),
        t.wasmHeapMb == null ? '-' : fmt(t.wasmHeapMb), fmt(t.cpuPercent, 0)];
      if (p && ratio != null) cells.push(fmt(p.imagesPerSec), fmt(ratio, 2));
      else if (peer) cells.push('-', '-');
      if (rp && refRatio != null) cells.push(fmt(rp.imagesPerSec), fmt(refRatio, 2));
      else if (refPeer) cells.push('-', '-');
      say(row(cells, trainWidths));
      if (opts.repeat > 1) {
        say(`  runs (ms/step): ${t.runsMs.map((v) => fmt(v)).join(', ')} (after ${t.warmupSteps} warm-up steps)`);
        if (p) say(`  peer runs (images/s): ${p.runs.map((v) => fmt(v)).join(', ')}`);
        if (rp) say(`  reference-BLAS peer runs (images/s): ${rp.runs.map((v) => fmt(v)).join(', ')}`);
      }
    }
  }
  if (!jsonMode) {
    say(`CPU %: this process's CPU time / wall time while timing` +
      (info.details['threads'] === 1 ? ' (wasm runs 1 thread here: well under 100 means other processes took the CPU)' : ''));
  }
  say(`peak RSS MB: this process's OS high-water mark when the model's steps are done (the process only trains, so this ` +
    `bounds a training worker's memory); wasm heap MB: the wasm backend's heap, which never shrinks`);
  if (peer) {
    say(`ours/peer: images/s of the median run over the peer's median run (peer: ${opts.peerThreads} thread${opts.peerThreads === 1 ? '' : 's'}, ` +
      `BLAS: ${peer.blasLibrary})`);
  }
  if (refPeer) say(`ours/ref: the same against the peer on Debian's reference BLAS (${REFERENCE_BLAS_DIR}), as a bare 'apt-get install python3-torch' runs it`);
  if (noPeer.length > 0) {
    say(`peer skipped for ${noPeer.join(', ')}: ${PEER_SCRIPT} has no such model (it has ` +
      `${Object.keys(MODELS).filter((k) => MODELS[k]!.peer).join(', ')})`);
  }
}

/** Rounds of the remedies section (each variant's median over them). */
const REMEDY_ROUNDS = 3;

/** The cost of DiffAugment and the averaged generator per training step (scripts/bench-remedies.ts). */
async function remediesSection(opts: Options): Promise<void> {
  say();
  say(`Small-data remedies: a training step plain, with DiffAugment, with the averaged generator and with both, batch ${BATCH}, ` +
    `median of ${REMEDY_ROUNDS} rounds (the four trainers alternating)`);
  const cols = ['model', 'batch', 'plain ms', 'augment ms', '+%', 'ema ms', '+%', 'both ms', '+%'];
  const widths = [8, 5, 9, 10, 6, 8, 6, 8, 6];
  if (!jsonMode) say(row(cols, widths));
  for (const name of opts.models) {
    const spec = MODELS[name]!;
    const steps = opts.steps ?? spec.defaultSteps;
    const t = await timeRemedies(name, trainConfig(name, spec.model), syntheticDataset(spec.model), steps, REMEDY_ROUNDS, WARMUP_MIN_STEPS + 1, progress);
    endProgress();
    const over = (ms: number) => ((ms / t.msPerStep.plain - 1) * 100);
    if (jsonMode) {
      emit({
        section: 'remedies',
        model: name,
        batch: t.batch,
        ...Object.fromEntries(REMEDY_VARIANTS.map((v) => [`${v.name}_ms_per_step`, round(t.msPerStep[v.name], 1)])),
        augment_overhead_percent: round(over(t.msPerStep.augment), 1),
        ema_overhead_percent: round(over(t.msPerStep.ema), 1),
        both_overhead_percent: round(over(t.msPerStep.both), 1),
        runs_ms_per_step: t.runsMs,
      });
    } else {
      say(row([name, String(t.batch), fmt(t.msPerStep.plain), fmt(t.msPerStep.augment), fmt(over(t.msPerStep.augment), 1),
        fmt(t.msPerStep.ema), fmt(over(t.msPerStep.ema), 1), fmt(t.msPerStep.both), fmt(over(t.msPerStep.both), 1)], widths));
    }
  }
}

/** Rounds of the watch section (each on/off median over them). */
const WATCH_ROUNDS = 2;

/** The cost of clock grids and the quality score during training (scripts/bench-watch.ts). */
async function watchSection(opts: Options): Promise<void> {
  say();
  say(`Watching a run: the training loop (Trainer.run, batch ${BATCH}) with clock grids and the quality score on their default schedule ` +
    `(score budget ${DEFAULT_WATCH.qualityBudget * 100}% of training time) and without, ${opts.watchSeconds} s spells, median of ${WATCH_ROUNDS} alternating rounds`);
  const cols = ['model', 'batch', 'off ms', 'on ms', '+%', 'score ms', 'steps/score', 'score ms/step', 'clock grids'];
  const widths = [8, 5, 8, 8, 6, 9, 11, 13, 11];
  if (!jsonMode) say(row(cols, widths));
  for (const name of opts.models) {
    const spec = MODELS[name]!;
    const config = { ...trainConfig(name, spec.model), steps: 1_000_000 };
    const t = await timeWatch(name, config, syntheticDataset(spec.model), opts.watchSeconds, WATCH_ROUNDS, progress);
    endProgress();
    const grids = t.spells.filter((s) => s.watched).map((s) => s.clockGrids);
    if (jsonMode) {
      emit({
        section: 'watch',
        model: name,
        batch: t.batch,
        off_ms_per_step: round(t.offMsPerStep, 1),
        on_ms_per_step: round(t.onMsPerStep, 1),
        overhead_percent: round(t.overheadPercent, 1),
        score_ms: round(t.evaluationMs, 1),
        steps_between_scores: round(t.stepsBetweenEvaluations, 1),
        score_ms_per_step: round(t.evaluationMsPerStep, 2),
        clock_grids_per_spell: grids,
        spells: t.spells,
      });
    } else {
      say(row([name, String(t.batch), fmt(t.offMsPerStep), fmt(t.onMsPerStep), fmt(t.overheadPercent, 1), fmt(t.evaluationMs),
        fmt(t.stepsBetweenEvaluations, 1), fmt(t.evaluationMsPerStep, 2), grids.join('/')], widths));
    }
  }
}

/** --profile: where one training step's time goes, per kernel (tf.profile). */
async function profileSection(opts: Options, info: BackendInfo): Promise<void> {
  say();
  say(`Profile of one training step per model (batch ${BATCH}, after a warm-up of ${WARMUP_MIN_STEPS}+ steps and ${WARMUP_MIN_MS / 1000}+ s) — ${info.name}, ${backendThreads(info)}: ` +
    `time per kernel summed over its calls. Op-level entries (names ending in __op) wrap a kernel listed on its own and are left out. ` +
    (nativeKernelsRegistered() ? `On wasm the four convolution kernels (Conv2D, FusedConv2D, Conv2DBackpropInput/Filter) are GAN Studio's native ones (${nativeConvBy()}).`
      : `GAN Studio's Conv2DBackpropInput/Filter on wasm include the Conv2D, Transpose and Slice work they run inside.`));
  for (const name of opts.models) {
    const spec = MODELS[name]!;
    const runDir = await mkdtemp(join(tmpdir(), 'gan-studio-bench-'));
    activeRunDir = runDir;
    let trainer: Trainer | null = null;
    try {
      trainer = await Trainer.create({ config: trainConfig(name, spec.model), dataset: syntheticDataset(spec.model), runDir, resumeFrom: null });
      await warmUp(trainer, `profile ${name}`);
      progress(`profile ${name}: profiled step`);
      const t0 = performance.now();
      const t = trainer;
      const profile = await tf.profile(async () => {
        await t.trainStep();
      });
      const wallMs = performance.now() - t0;
      endProgress();
      const byKernel = new Map<string, { ms: number; calls: number }>();
      for (const k of profile.kernels) {
        if (k.name.endsWith('__op')) continue;
        const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
        entry.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
        entry.calls++;
        byKernel.set(k.name, entry);
      }
      const total = [...byKernel.values()].reduce((a, e) => a + e.ms, 0);
      const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
      if (jsonMode) {
        for (const [kernel, e] of rows) emit({ profile: name, backend: info.name, kernel, ms: round(e.ms, 2), calls: e.calls });
        emit({ profile: name, backend: info.name, kernel: 'total', ms: round(total, 1), step_wall_ms: round(wallMs, 1) });
      } else {
        say(`${name}: kernels ${fmt(total)} ms of a ${fmt(wallMs)} ms profiled step (${profile.kernels.length} kernel calls)`);
        const widths = [24, 9, 6, 6];
        say(row(['kernel', 'ms', 'calls', '%'], widths));
        const shown = rows.slice(0, 16);
        for (const [kernel, e] of shown) say(row([kernel, fmt(e.ms), String(e.calls), fmt((100 * e.ms) / Math.max(total, 1e-9))], widths));
        const rest = rows.slice(16).reduce((a, [, e]) => a + e.ms, 0);
        if (rows.length > shown.length) say(row([`(${rows.length - shown.length} others)`, fmt(rest), '', fmt((100 * rest) / Math.max(total, 1e-9))], widths));
      }
    } finally {
      endProgress();
      trainer?.dispose();
      await rm(runDir, { recursive: true, force: true });
      activeRunDir = null;
    }
  }
}

/** How the native convolutions run: oneDNN (where built in and not turned off) or im2col + OpenBLAS sgemm. */
function nativeConvBy(): string {
  const s = nativeStatus();
  return s.available && s.dnnl ? `${s.dnnl}, im2col + OpenBLAS sgemm for shapes it does not take` : 'im2col + OpenBLAS sgemm';
}

/** 2: Conv2D and its two backprop kernels at the chosen models' conv shapes. */
async function kernelSection(opts: Options, info: BackendInfo): Promise<void> {
  const backend = info.name;
  const { cases, skipped } = kernelCases(opts.models);
  say();
  const native = backend === 'wasm' && nativeKernelsRegistered();
  if (native) {
    say(`Conv kernels on wasm (${backendThreads(info)}), batch ${BATCH}, 'same' padding, mean of ${opts.kernelReps} calls after 1 warm-up: ` +
      `all three are GAN Studio's native kernels (${nativeConvBy()}, on the wasm memory); ` +
      `the xnn_ columns time the same kernels without them (XNNPACK Conv2D and GAN Studio's wasm backprop kernels)`);
  } else if (backend === 'wasm') {
    say(`Conv kernels on wasm (${backendThreads(info)}), batch ${BATCH}, 'same' padding, mean of ${opts.kernelReps} calls after 1 warm-up: ` +
      `Conv2D is XNNPACK; Conv2DBackpropInput/Filter are GAN Studio's kernels ` +
      `(${wasmTrainingKernelsRegistered() ? 'registered' : 'NOT registered: these are the stock ones'})`);
  } else {
    say(`Conv kernels on ${backend} — the backend's own Conv2D/Conv2DBackpropInput/Conv2DBackpropFilter, not GAN Studio's ` +
      `wasm kernels (those run on wasm only: --backend wasm); batch ${BATCH}, 'same' padding, mean of ${opts.kernelReps} calls after 1 warm-up`);
  }
  say('shape: the forward conv x -> y (N=64); backprop_input is also the transposed conv y -> x');
  const kernelWidths = native ? [27, 9, 14, 15, 7, 8, 10, 10, 10] : [27, 9, 14, 15, 7, 8];
  const heads = ['shape', 'conv2d', 'backprop_input', 'backprop_filter', 'in/conv', 'filt/conv'];
  if (!jsonMode) say(row(native ? [...heads, 'xnn_conv', 'xnn_input', 'xnn_filter'] : heads, kernelWidths));
  for (const c of cases) {
    progress(`kernels: ${c.label}`);
    const t = await timeConvKernels(c.shape, opts.kernelReps);
    let xnn: Awaited<ReturnType<typeof timeConvKernels>> | null = null;
    if (native) {
      unregisterNativeKernels();
      try {
        xnn = await timeConvKernels(c.shape, opts.kernelReps);
      } finally {
        registerNativeKernels();
      }
    }
    endProgress();
    if (jsonMode) {
      const shape = `${c.label.replace(/ -> /, '->')} n${c.shape.batch}`;
      const impl = native ? { impl: 'native' } : {};
      emit({ kernel: 'conv2d', shape, backend, ...impl, ms: round(t.conv2dMs, 2) });
      emit({ kernel: 'backprop_input', shape, backend, ...impl, ms: round(t.backpropInputMs, 2) });
      emit({ kernel: 'backprop_filter', shape, backend, ...impl, ms: round(t.backpropFilterMs, 2) });
      if (xnn != null) {
        emit({ kernel: 'conv2d', shape, backend, impl: 'xnnpack', ms: round(xnn.conv2dMs, 2) });
        emit({ kernel: 'backprop_input', shape, backend, impl: 'xnnpack', ms: round(xnn.backpropInputMs, 2) });
        emit({ kernel: 'backprop_filter', shape, backend, impl: 'xnnpack', ms: round(xnn.backpropFilterMs, 2) });
      }
    } else {
      say(row([
        c.label,
        fmt(t.conv2dMs, 2),
        fmt(t.backpropInputMs, 2),
        fmt(t.backpropFilterMs, 2),
        fmt(t.backpropInputMs / t.conv2dMs, 2),
        fmt(t.backpropFilterMs / t.conv2dMs, 2),
        ...(xnn != null ? [fmt(xnn.conv2dMs, 2), fmt(xnn.backpropInputMs, 2), fmt(xnn.backpropFilterMs, 2)] : []),
      ], kernelWidths));
      say(`  used by: ${c.uses.join('; ')}`);
    }
  }
  if (skipped.length > 0) say(`not timed ('valid' padding; timeConvKernels times 'same' only): ${skipped.join('; ')}`);
}

/** Import throughput: a generated folder of JPEGs imported at 64 px RGB (see bench-import.ts). */
async function importSection(opts: Options): Promise<void> {
  say();
  say(`Image-folder import: ${opts.importCount} generated JPEGs (200-600 px) to 64x64 RGB, centre crop (generation not timed)`);
  const r = await benchImport({ count: opts.importCount, log: () => undefined });
  say(`imported ${r.images} images in ${r.seconds.toFixed(2)} s: ${r.imagesPerSec.toFixed(1)} images/s`);
  if (jsonMode) emit({ bench: 'import', images: r.images, size: 64, channels: 3, seconds: round(r.seconds, 3), images_per_s: round(r.imagesPerSec, 1) });
}

/** Writes `<dir>/train-images-idx3-ubyte`: the synthetic DCGAN-28 images as an IDX file. */
async function writeSyntheticIdx(dir: string, model: ModelConfig): Promise<void> {
  const { pixels, count, height, width } = syntheticDataset(model);
  const header = Buffer.alloc(16);
  header.writeUInt32BE(0x00000803, 0); // IDX magic: unsigned bytes, 3 dimensions
  header.writeUInt32BE(count, 4);
  header.writeUInt32BE(height, 8);
  header.writeUInt32BE(width, 12);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'train-images-idx3-ubyte'), Buffer.concat([header, pixels]));
}

/** 4: event-loop delay of this (the host's) thread while Studio.train runs a DCGAN-28 in its worker. */
async function loopSection(opts: Options): Promise<void> {
  const name = 'dcgan28';
  const model = MODELS[name]!.model;
  const home = await mkdtemp(join(tmpdir(), 'gan-studio-bench-loop-'));
  activeRunDir = home;
  let studio: Studio | null = null;
  try {
    const dataDir = join(home, 'synthetic-idx');
    await writeSyntheticIdx(dataDir, model);
    studio = Studio.open(home);
    say();
    progress(`event loop: starting a ${name} run (${opts.loopSteps} steps)`);
    const handle = await studio.train({
      config: { ...trainConfig(name, model), data: dataDir, steps: opts.loopSteps },
      backend: opts.backend,
    });
    // Measure from the moment the run is handed over until it ends: data loading is done by then,
    // so these are the training steps, grids and checkpoints the worker writes, as a user sees them.
    const histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    let steps = 0;
    handle.on('step', () => {
      steps++;
      progress(`event loop: ${name} step ${steps}/${handle.totalSteps}`);
    });
    const t0 = performance.now();
    histogram.enable();
    const { run } = await handle.done;
    histogram.disable();
    const seconds = (performance.now() - t0) / 1000;
    endProgress();
    if (run.status !== 'completed') throw new Error(`the event-loop run ended ${run.status}${run.error ? `: ${run.error}` : ''}`);
    // The histogram records, in nanoseconds, each interval between two ticks of a timer that is due
    // every LOOP_RESOLUTION_MS; the delay is what exceeds that interval.
    const ms = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
    const p50 = ms(histogram.percentile(50));
    const p99 = ms(histogram.percentile(99));
    const max = ms(histogram.max);
    say(`Event-loop delay of the host thread while a ${name} run trains in its worker (Studio.train, ${handle.backend.name}, ` +
      `batch ${BATCH}, ${DATASET_IMAGES} synthetic IDX images, ${steps} steps in ${fmt(seconds)} s; delay beyond a ${LOOP_RESOLUTION_MS} ms timer)`);
    say(`p50 ${fmt(p50, 2)} ms   p99 ${fmt(p99, 2)} ms   max ${fmt(max, 2)} ms   (${histogram.count} samples)`);
    if (jsonMode) emit({ bench: 'event_loop', model: name, backend: handle.backend.name, p50_ms: round(p50, 2), p99_ms: round(p99, 2), max_ms: round(max, 2), steps });
  } finally {
    endProgress();
    studio?.close();
    await rm(home, { recursive: true, force: true });
    activeRunDir = null;
  }
}

async function main(): Promise<number> {
  let opts: Options | 'help';
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n${USAGE.split('\n')[0]}\n(--help explains them)\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  jsonMode = opts.json;
  BATCH = opts.batch;
  if (jsonMode) {
    // Keep stdout for figures: whatever tfjs or a backend logs goes to stderr.
    console.log = console.error;
    console.info = console.error;
  }

  const info = await selectBackend({ prefer: opts.backend });
  say(`GAN Studio bench — node ${process.version}, tfjs ${tf.version.tfjs}, ${cpuSummary()}`);
  say(describeBackend(info));
  const [load1] = loadavg();
  if (load1 != null && load1 > cpus().length / 2) {
    say(`warning: load average ${load1.toFixed(2)} on ${cpus().length} CPUs before the run: other processes compete for the CPU, ` +
      `so these timings will be low and noisy${jsonMode ? "" : " (see the CPU % column)"}`);
  }

  if (opts.train) await trainingSection(opts, info);
  if (opts.remedies) await remediesSection(opts);
  if (opts.watch) await watchSection(opts);
  if (opts.profile) await profileSection(opts, info);
  if (opts.kernels) await kernelSection(opts, info);
  if (opts.import) await importSection(opts);
  if (opts.loop) await loopSection(opts);
  return 0;
}

// A closed pipe (\`npm run bench | head\`) ends the run quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    endProgress();
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
