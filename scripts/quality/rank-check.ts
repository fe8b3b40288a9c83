/**
 * `npm run bench:quality-rank [-- flags]`: does the training-time quality score
 * (src/main/core/engine/ml/quality.ts: a fixed random network's features, no download) order a real
 * run's checkpoints as the quality benchmark's classifier FID does?
 *
 *  1. Trains one DCGAN-28 (the papers' recipe: batch 64, Adam 2e-4 / 0.5, no remedies) with the
 *     real Trainer on a fixed class-balanced slice of Fashion-MNIST's training images, in segments
 *     (each resumed exactly from the last one's checkpoint), so that it leaves a checkpoint at each
 *     of CHECKPOINT_FRACTIONS of the run: log-spaced, since a run changes most early.
 *  2. For each checkpoint: classifier FID (and KID) of --samples generated images against the
 *     10,000 test images, as bench:quality computes them (scripts/quality/evaluate.ts), and our
 *     measure of QUALITY_SAMPLES samples from a fixed latent against the training slice.
 *  3. Prints a table, the Spearman rank correlation of our score with -FID (1: the same order,
 *     higher score where FID is lower), and our measure of four fixed sets: uniform noise, one
 *     held-out image repeated, held-out test images (the slice's distribution, not in it) and the
 *     slice's own images with a little noise (copies).
 *
 * The classifier comes from the bench's cache (--cache, as bench:quality's), trained there first
 * if missing (a few minutes). --run DIR keeps the run's folder (and reuses its checkpoints when it
 * already holds them), to look at the scores again without training.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { describeBackend } from '../../src/shared/backend';
import { selectBackend } from '../../src/main/core/engine/backend/backends';
import { LoadedGenerator } from '../../src/main/core/engine/ml/generator';
import { toBytes } from '../../src/main/core/images/image-grid';
import { buildQualityReference, measureQuality, QUALITY_SAMPLES, type QualityMeasure } from '../../src/main/core/engine/ml/quality';
import { mixSeed, permutation, Prng } from '../../src/main/core/engine/ml/rng';
import { checkpointName, Trainer, type TrainerHooks } from '../../src/main/core/engine/ml/trainer';
import { TRAIN_DEFAULTS, type ImageDataset, type TrainConfig } from '../../src/shared/types';
import { accuracy, buildClassifier, cacheKey, classify, CLASSIFIER_VERSION, FULL_RECIPE, loadCachedClassifier, saveClassifier, trainClassifier } from './classifier';
import { reference, scoreImages, type Reference } from './evaluate';
import { classBalancedIndices, FASHION_MNIST_DIR, loadFashionMnist, PIXELS, SIDE, subset, toUnitRange, type ImageSet } from './fashion-mnist';

/** Where in the run (as fractions of its steps) checkpoints are taken: roughly log-spaced. */
const CHECKPOINT_FRACTIONS = [0.01, 0.02, 0.04, 0.07, 0.12, 0.2, 0.3, 0.45, 0.65, 0.85, 1];
const BATCH = 64;
/** Seed of the latents our score's samples come from (the trainer keeps one fixed latent too). */
const SCORE_LATENT_SEED = 0x5c0e;

const USAGE = `usage: npm run bench:quality-rank -- [--images N] [--steps N] [--samples N] [--seed N]
                                       [--cache DIR] [--data DIR] [--run DIR]

Trains a DCGAN on a class-balanced Fashion-MNIST slice, and at ${CHECKPOINT_FRACTIONS.length} checkpoints compares the
training-time quality score (${QUALITY_SAMPLES} samples, no download) with the quality benchmark's
classifier FID (Spearman rank correlation).

options:
  --images N    training images (default 2000)
  --steps N     generator steps of the run (default 2000)
  --samples N   samples per checkpoint for the classifier FID (default 2000)
  --seed N      seed of the slice, the run and the reference (default 1)
  --cache DIR   the bench's classifier cache (default: $XDG_CACHE_HOME or ~/.cache, /gan-studio-bench)
  --data DIR    Fashion-MNIST's IDX files (default ${FASHION_MNIST_DIR})
  --run DIR     keep the run here; reuse its checkpoints when it has them
  -h, --help    this text
`;

interface Options {
  images: number;
  steps: number;
  samples: number;
  seed: number;
  cache: string;
  data: string;
  run: string | null;
}

const log = (line: string) => process.stderr.write(line + '\n');

function parseOptions(argv: string[]): Options | null {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      images: { type: 'string' },
      steps: { type: 'string' },
      samples: { type: 'string' },
      seed: { type: 'string' },
      cache: { type: 'string' },
      data: { type: 'string' },
      run: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (v.help) return null;
  const int = (name: string, text: string | undefined, fallback: number, min: number, max: number) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) throw new Error(`--${name} must be a whole number from ${min} to ${max} (got "${text}")`);
    return n;
  };
  const xdg = process.env.XDG_CACHE_HOME?.trim();
  return {
    images: int('images', v.images, 2000, 100, 60_000),
    steps: int('steps', v.steps, 2000, CHECKPOINT_FRACTIONS.length, 1_000_000),
    samples: int('samples', v.samples, 2000, 10, 10_000),
    seed: int('seed', v.seed, 1, 1, 2 ** 31 - 1),
    cache: resolve(v.cache ?? join(xdg ? xdg : join(homedir(), '.cache'), 'gan-studio-bench')),
    data: resolve(v.data ?? FASHION_MNIST_DIR),
    run: v.run ? resolve(v.run) : null,
  };
}

/** The bench's classifier from its cache, or trained and cached now. */
async function getClassifier(opts: Options, train: ImageSet, test: ImageSet, backend: string): Promise<tf.LayersModel> {
  const key = cacheKey(FULL_RECIPE);
  const dir = join(opts.cache, 'classifier', key);
  const cached = await loadCachedClassifier(dir, key);
  if (cached) {
    log(`classifier: ${dir} (${CLASSIFIER_VERSION}, test accuracy ${(cached.meta.testAccuracy * 100).toFixed(2)}%)`);
    return cached.model;
  }
  log(`classifier: not in ${dir}; training it (${FULL_RECIPE.epochs} epochs on ${FULL_RECIPE.trainImages} images)`);
  const model = buildClassifier(FULL_RECIPE.seed);
  const started = performance.now();
  await trainClassifier(model, train, FULL_RECIPE, log);
  const { predictions } = classify(model, test);
  await saveClassifier(dir, model, {
    key, version: CLASSIFIER_VERSION, recipe: FULL_RECIPE, testAccuracy: accuracy(predictions, test.labels!),
    trainSeconds: (performance.now() - started) / 1000, backend, createdAt: new Date().toISOString(),
  });
  return model;
}

function trainConfig(opts: Options, steps: number): TrainConfig {
  return {
    model: { kind: 'dcgan', size: SIDE, channels: 1, latent: TRAIN_DEFAULTS.latent, numClasses: 0 },
    data: 'fashion-mnist-slice',
    epochs: 1,
    steps,
    batch: BATCH,
    lr: TRAIN_DEFAULTS.lr,
    beta1: TRAIN_DEFAULTS.beta1,
    beta2: TRAIN_DEFAULTS.beta2,
    k: 1,
    seed: opts.seed,
    name: 'quality-rank',
    augment: false,
    ema: false,
  };
}

/** The run's checkpoints at the checkpoint steps: trained now in resumed segments, or found in runDir. */
async function trainedCheckpoints(opts: Options, dataset: ImageDataset, runDir: string): Promise<{ step: number; path: string }[]> {
  const steps = [...new Set(CHECKPOINT_FRACTIONS.map((f) => Math.max(1, Math.round(f * opts.steps))))];
  const points = steps.map((step) => ({ step, path: join(runDir, 'checkpoints', checkpointName(step)) }));
  if (points.every((p) => existsSync(p.path))) {
    log(`run: reusing the checkpoints in ${runDir}`);
    return points;
  }
  const hooks: TrainerHooks = {
    onStep: () => undefined,
    onEpoch: () => undefined,
    onGrid: () => undefined,
    onQuality: () => undefined,
    onWarning: () => undefined,
    onCheckpoint: () => undefined,
    control: async () => 'continue',
  };
  const started = performance.now();
  let previous: string | null = null;
  for (const point of points) {
    const trainer = await Trainer.create({ config: trainConfig(opts, point.step), dataset, runDir, resumeFrom: previous, keepCheckpoints: 1000 });
    try {
      const outcome = await trainer.run(hooks);
      if (outcome.status !== 'completed') throw new Error(`training stopped at step ${outcome.step}: ${outcome.status} ${outcome.error ?? ''}`);
    } finally {
      trainer.dispose();
    }
    previous = point.path;
    log(`run: step ${point.step}/${opts.steps} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  return points;
}

/** Spearman's rank correlation (average ranks for ties). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  const ranks = (xs: readonly number[]) => {
    const order = xs.map((x, i) => ({ x, i })).sort((p, q) => p.x - q.x);
    const r = new Array<number>(xs.length);
    for (let start = 0; start < order.length;) {
      let end = start;
      while (end + 1 < order.length && order[end + 1]!.x === order[start]!.x) end++;
      for (let k = start; k <= end; k++) r[order[k]!.i] = (start + end) / 2;
      start = end + 1;
    }
    return r;
  };
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < ra.length; i++) {
    num += (ra[i]! - ma) * (rb[i]! - mb);
    da += (ra[i]! - ma) ** 2;
    db += (rb[i]! - mb) ** 2;
  }
  return num / Math.sqrt(da * db);
}

function measureCells(m: QualityMeasure, ms: number): string[] {
  return [m.score.toFixed(1), m.distance.toFixed(3), m.variety.toFixed(2), m.duplicates.toFixed(3), m.copied.toFixed(3), m.nearest ? m.nearest.ratio.toFixed(2) : '-', ms.toFixed(0)];
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  if (!opts) {
    process.stdout.write(USAGE);
    return 0;
  }
  const backend = await selectBackend();
  log(describeBackend(backend));
  const train = await loadFashionMnist(opts.data, 'train');
  const test = await loadFashionMnist(opts.data, 't10k');
  const classifier = await getClassifier(opts, train, test, backend.name);
  const fidReference: Reference = reference(classify(classifier, test).features);

  const slice = subset(train, classBalancedIndices(train.labels!, opts.images, opts.seed));
  const dataset: ImageDataset = {
    count: slice.n, height: SIDE, width: SIDE, channels: 1, pixels: slice.pixels, labels: null, classNames: [], source: `fashion-mnist slice ${opts.images}`,
  };
  const runDir = opts.run ?? (await mkdtemp(join(tmpdir(), 'gan-quality-rank-')));
  try {
    const points = await trainedCheckpoints(opts, dataset, runDir);
    let started = performance.now();
    const quality = buildQualityReference(dataset, opts.seed);
    const buildMs = performance.now() - started;
    log(`reference: ${quality.images} images in ${buildMs.toFixed(0)} ms; noise distance ${quality.noiseDistance.toFixed(3)}, collapse distance ${quality.collapseDistance.toFixed(3)}`);

    const rows: string[][] = [];
    const fids: number[] = [];
    const scores: number[] = [];
    for (const point of points) {
      const generator = await LoadedGenerator.fromCheckpoint(point.path);
      try {
        const many = await generator.sample(opts.samples, mixSeed(opts.seed, point.step), null);
        const fid = scoreImages(classifier, { n: many.count, pixels: toBytes(many.values), labels: null }, fidReference, opts.seed);
        const fixed = await generator.sample(QUALITY_SAMPLES, SCORE_LATENT_SEED, null);
        started = performance.now();
        const m = measureQuality(quality, fixed.values, QUALITY_SAMPLES);
        const ms = performance.now() - started;
        fids.push(fid.fid);
        scores.push(m.score);
        rows.push([String(point.step), fid.fid.toFixed(2), (fid.kid * 1000).toFixed(1), ...measureCells(m, ms)]);
        log(`step ${point.step}: FID ${fid.fid.toFixed(2)}, score ${m.score.toFixed(1)}`);
      } finally {
        generator.dispose();
      }
    }

    // Fixed sets: uniform noise, one held-out image repeated, held-out images, near copies.
    const order = permutation(test.n, mixSeed(opts.seed, 0x4e1d));
    const held = subset(test, order.subarray(0, QUALITY_SAMPLES));
    const heldValues = toUnitRange(held.pixels);
    const repeated = new Float32Array(QUALITY_SAMPLES * PIXELS);
    for (let i = 0; i < QUALITY_SAMPLES; i++) repeated.set(heldValues.subarray(0, PIXELS), i * PIXELS);
    const rng = new Prng(mixSeed(opts.seed, 0x0015e));
    const noise = Float32Array.from({ length: QUALITY_SAMPLES * PIXELS }, () => rng.next() * 2 - 1);
    const copies = toUnitRange(slice.pixels.subarray(0, QUALITY_SAMPLES * PIXELS)).map((v) => Math.min(1, Math.max(-1, v + (rng.next() - 0.5) * 0.1)));
    const fixedRows: string[][] = [];
    for (const [name, values] of [['uniform noise', noise], ['one image x256', repeated], ['held-out real', heldValues], ['train copies', copies]] as const) {
      started = performance.now();
      const m = measureQuality(quality, values, QUALITY_SAMPLES);
      fixedRows.push([name, ...measureCells(m, performance.now() - started)]);
    }
    quality.dispose();

    const out = (text: string) => process.stdout.write(text + '\n');
    out(`DCGAN-28 on ${opts.images} Fashion-MNIST training images (class-balanced, seed ${opts.seed}), ${opts.steps} steps at batch ${BATCH}, backend ${backend.name}.`);
    out(`FID / KIDx1000: ${opts.samples} samples vs the 10,000 test images in the bench classifier's features. SCORE..RATIO: quality.ts on ${QUALITY_SAMPLES} samples of a fixed latent vs ${quality.images} training images.`);
    out('');
    out(table(['STEP', 'FID', 'KIDx1000', 'SCORE', 'DISTANCE', 'VARIETY', 'DUPLICATES', 'COPIED', 'NEAREST', 'MS'], rows));
    out('');
    const rho = spearman(scores, fids.map((f) => -f));
    const half = Math.floor(points.length / 2);
    const rhoLate = spearman(scores.slice(half), fids.slice(half).map((f) => -f));
    out(`Spearman rank correlation of SCORE with -FID: ${rho.toFixed(3)} over all ${points.length} checkpoints; ${rhoLate.toFixed(3)} over the last ${points.length - half}.`);
    out('');
    out(table(['SET', 'SCORE', 'DISTANCE', 'VARIETY', 'DUPLICATES', 'COPIED', 'NEAREST', 'MS'], fixedRows));
    out(`reference built in ${buildMs.toFixed(0)} ms; anchors: noise ${quality.noiseDistance.toFixed(3)} (score 0), one image repeated ${quality.collapseDistance.toFixed(3)} (score 50).`);
    return 0;
  } finally {
    if (opts.run) log(`run kept in ${runDir}`);
    else await rm(runDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      log(`bench:quality-rank: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
