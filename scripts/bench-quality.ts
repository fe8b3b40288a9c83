/**
 * `npm run bench:quality [-- flags]`: how good are the images GAN Studio's defaults make from a
 * small dataset, and what do its remedies (DiffAugment, an averaged generator) change?
 *
 *  1. An evaluator: a small CNN trained on Fashion-MNIST's 60,000 training images (scaled as the
 *     trainer scales real images), cached under the cache folder and reused; its accuracy on the
 *     10,000 test images is printed. See scripts/quality/classifier.ts.
 *  2. Reference figures, once: FID and KID of 2,000 real test images against the other 8,000 (the
 *     floor: what a perfect generator would score at this sample size) and of 2,000 images of
 *     uniform noise against the 10,000 (the ceiling).
 *  3. Per slice (a fixed, class-balanced selection of N training images, written as a folder of
 *     PNG files), per case (see scripts/quality/cases.ts), as a user would: `gan-studio import
 *     FOLDER`, `gan-studio train --data NAME` (defaults, or one switch), `gan-studio generate`,
 *     each in a temporary studio home; wall time from the import's start to the end of training;
 *     FID, KID and the class histogram of the generated images against the 10,000 test images in
 *     the classifier's penultimate-feature space.
 *
 * Logs go to stderr; the table to stdout (to stderr with --json, which prints one JSON line per
 * classifier, reference figure and case on stdout instead).
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { describeBackend } from '../src/shared/backend';
import { selectBackend } from '../src/main/core/engine/backend/backends';
import { mixSeed, permutation, Prng } from '../src/main/core/engine/ml/rng';
import { caseFlags, CASE_GROUPS, parseGroups, planCases, reportedSwitch, sameSettings, SWITCHES, type CaseGroup, type CaseSpec, type EffectiveSettings, type Switch } from './quality/cases';
import {
  accuracy,
  buildClassifier,
  cacheKey,
  classify,
  CLASSIFIER_VERSION,
  FULL_RECIPE,
  loadCachedClassifier,
  QUICK_RECIPE,
  saveClassifier,
  trainClassifier,
  type ClassifierMeta,
  type ClassifierRecipe,
} from './quality/classifier';
import { checkBuild, hasTrainSwitch, runCli, trainHelp, type CliResult, type JsonEvent } from './quality/cli';
import { scoreFeatures, scoreImages, reference, type Reference, type Scores } from './quality/evaluate';
import { classBalancedIndices, FASHION_MNIST_DIR, loadFashionMnist, PIXELS, readPngFolder, subset, writeSliceFolder, type ImageSet } from './quality/fashion-mnist';
import { selectRows } from './quality/linalg';

const DEFAULT_SLICES = [500, 200];
const DEFAULT_SAMPLES = 2000;
const DEFAULT_REFERENCE_STEPS = 4000;
const QUICK = { slices: [100], steps: 50, referenceSteps: 100, samples: 200 };
/** Real-vs-real floor: this many test images against the rest; the noise ceiling draws as many. */
const FLOOR_SAMPLES = 2000;

const USAGE = `usage: npm run bench:quality -- [--slices N,N] [--cases LIST] [--samples N] [--steps N]
                                  [--reference-steps N] [--seed N] [--cache DIR] [--data DIR]
                                  [--keep] [--quick] [--json]

Trains GANs on small class-balanced slices of Fashion-MNIST through the gan-studio CLI (import,
train with the defaults or one switch, generate) and scores the samples against the 10,000 test
images: FID and KID in a cached Fashion-MNIST classifier's feature space, and the entropy of the
classifier's class histogram. Needs Fashion-MNIST (apt-get install dataset-fashion-mnist) and a
built CLI (npm run build).

options:
  --slices N,N          training-set slices, images each (default: ${DEFAULT_SLICES.join(',')})
  --cases LIST          from ${CASE_GROUPS.join(', ')} (default: all), or none (only the
                        classifier and the reference figures)
  --samples N           images generated per case (default: ${DEFAULT_SAMPLES}, at most 10000)
  --steps N             --steps for every case but the reference (default: the trainer's own)
  --reference-steps N   length of the reference run (default: ${DEFAULT_REFERENCE_STEPS})
  --seed N              seed of the slices' selection (default: 1)
  --cache DIR           classifier and slice folders (default: $XDG_CACHE_HOME/gan-studio-bench,
                        else ~/.cache/gan-studio-bench)
  --data DIR            Fashion-MNIST's IDX files (default: ${FASHION_MNIST_DIR})
  --keep                keep each case's temporary studio home (and print where it is)
  --quick               a smoke test: slice ${QUICK.slices.join(',')}, --steps ${QUICK.steps} (reference ${QUICK.referenceSteps}), ${QUICK.samples} samples,
                        a classifier trained ${QUICK_RECIPE.epochs} epoch on ${QUICK_RECIPE.trainImages} images (cached separately)
  --json                one JSON line per classifier, reference figure and case on stdout
  -h, --help            this text
`;

interface Options {
  slices: number[];
  groups: CaseGroup[];
  samples: number;
  steps: number | null;
  referenceSteps: number;
  seed: number;
  cache: string;
  data: string;
  keep: boolean;
  quick: boolean;
  json: boolean;
}

class UsageError extends Error {}

function positiveInt(name: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max) throw new UsageError(`--${name} must be a whole number from 1 to ${max} (got "${text}")`);
  return n;
}

function defaultCache(): string {
  const xdg = process.env.XDG_CACHE_HOME?.trim();
  return join(xdg ? xdg : join(homedir(), '.cache'), 'gan-studio-bench');
}

function parseOptions(argv: string[]): Options | null {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        slices: { type: 'string' },
        cases: { type: 'string' },
        samples: { type: 'string' },
        steps: { type: 'string' },
        'reference-steps': { type: 'string' },
        seed: { type: 'string' },
        cache: { type: 'string' },
        data: { type: 'string' },
        keep: { type: 'boolean', default: false },
        quick: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (v.help) return null;
  const quick = Boolean(v.quick);
  const slices = v.slices === undefined ? (quick ? QUICK.slices : DEFAULT_SLICES) : v.slices.split(',').map((s) => positiveInt('slices', s, 60_000)!);
  let groups: CaseGroup[] = [...CASE_GROUPS];
  if (v.cases !== undefined) {
    try {
      groups = v.cases.trim() === 'none' ? [] : parseGroups(v.cases);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return {
    slices,
    groups,
    samples: positiveInt('samples', v.samples, 10_000) ?? (quick ? QUICK.samples : DEFAULT_SAMPLES),
    steps: positiveInt('steps', v.steps, 10_000_000) ?? (quick ? QUICK.steps : null),
    referenceSteps: positiveInt('reference-steps', v['reference-steps'], 10_000_000) ?? (quick ? QUICK.referenceSteps : DEFAULT_REFERENCE_STEPS),
    seed: v.seed === undefined ? 1 : (positiveInt('seed', v.seed, 2 ** 31 - 1) ?? 1),
    cache: resolve(v.cache ?? defaultCache()),
    data: resolve(v.data ?? FASHION_MNIST_DIR),
    keep: Boolean(v.keep),
    quick,
    json: Boolean(v.json),
  };
}

const log = (line: string) => process.stderr.write(line + '\n');
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------------------------------------
// The classifier

async function getClassifier(opts: Options, train: ImageSet, test: ImageSet, backendName: string): Promise<{ model: tf.LayersModel; meta: ClassifierMeta; reused: boolean }> {
  const recipe: ClassifierRecipe = opts.quick ? QUICK_RECIPE : FULL_RECIPE;
  const key = cacheKey(recipe);
  const dir = join(opts.cache, 'classifier', key);
  const cached = await loadCachedClassifier(dir, key);
  if (cached) {
    log(`classifier: reused ${dir} (${CLASSIFIER_VERSION}; cached test accuracy ${(cached.meta.testAccuracy * 100).toFixed(2)}%, trained in ${cached.meta.trainSeconds.toFixed(0)} s on ${cached.meta.backend})`);
    return { ...cached, reused: true };
  }
  const images = recipe.trainImages > 0 ? Math.min(recipe.trainImages, train.n) : train.n;
  log(`classifier: training ${key} (${recipe.epochs} epoch${recipe.epochs === 1 ? '' : 's'} on ${images} images, batch ${recipe.batch}) -> ${dir}`);
  const model = buildClassifier(recipe.seed);
  const started = performance.now();
  await trainClassifier(model, train, recipe, log);
  const trainSeconds = (performance.now() - started) / 1000;
  const { predictions } = classify(model, test);
  const meta: ClassifierMeta = {
    key,
    version: CLASSIFIER_VERSION,
    recipe,
    testAccuracy: accuracy(predictions, test.labels!),
    trainSeconds,
    backend: backendName,
    createdAt: new Date().toISOString(),
  };
  await saveClassifier(dir, model, meta);
  log(`classifier: trained in ${trainSeconds.toFixed(0)} s; test accuracy ${(meta.testAccuracy * 100).toFixed(2)}% (10,000 test images); saved`);
  return { model, meta, reused: false };
}

// ---------------------------------------------------------------------------------------------
// Cases

interface CaseResult {
  slice: number;
  case: string;
  group: CaseGroup | 'data';
  flags: string[];
  /** ok, duplicate (same settings as an earlier case), skipped (a switch gan-studio lacks), failed. */
  outcome: 'ok' | 'duplicate' | 'skipped' | 'failed';
  note: string | null;
  runId: number | null;
  status: string | null;
  backend: string | null;
  settings: EffectiveSettings | null;
  importSeconds: number | null;
  trainSeconds: number | null;
  /** From the import's start to the end of training, as seen from outside (process start-ups included). */
  wallSeconds: number | null;
  scores: Scores | null;
}

function lastEvent(result: CliResult, name: string): JsonEvent | undefined {
  return [...result.events].reverse().find((e) => e.event === name);
}

function cliFailure(what: string, result: CliResult): string {
  const error = lastEvent(result, 'error');
  const message = typeof error?.message === 'string' ? error.message : result.stderrTail.split('\n').slice(-3).join(' / ');
  return `${what} exited ${result.code ?? result.signal}: ${message || 'no message'}`;
}

function settingsFrom(start: JsonEvent | undefined, row: JsonEvent | undefined): EffectiveSettings {
  const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  const pick = (s: Switch) => reportedSwitch(start, s) ?? reportedSwitch(row, s);
  return { batch: num(start?.batch), steps: num(start?.totalSteps), augment: pick('augment'), ema: pick('ema') };
}

async function runCase(
  opts: Options,
  slice: { n: number; dir: string },
  spec: CaseSpec,
  done: { spec: CaseSpec; result: CaseResult }[],
  model: tf.LayersModel,
  ref: Reference,
): Promise<CaseResult> {
  const flags = caseFlags(spec);
  const base: CaseResult = {
    slice: slice.n, case: spec.id, group: spec.group, flags, outcome: 'failed', note: null, runId: null, status: null, backend: null,
    settings: null, importSeconds: null, trainSeconds: null, wallSeconds: null, scores: null,
  };
  const home = await mkdtemp(join(tmpdir(), 'gan-studio-quality-'));
  const name = `fmnist-${slice.n}`;
  try {
    log(`[${slice.n} ${spec.id}] gan-studio import ${slice.dir} --name ${name} --size 28 --channels 1; train --data ${name}${flags.length ? ' ' + flags.join(' ') : ''}  (home ${home})`);
    const started = performance.now();
    const imp = await runCli(['import', slice.dir, '--name', name, '--size', '28', '--channels', '1', '--home', home, '--json']);
    const impDone = lastEvent(imp, 'done');
    if (imp.code !== 0 || !impDone) return { ...base, note: cliFailure('import', imp) };
    base.importSeconds = typeof impDone.seconds === 'number' ? impDone.seconds : imp.seconds;

    let settings: EffectiveSettings | null = null;
    let duplicateOf: { spec: CaseSpec; result: CaseResult } | null = null;
    let lastLog = performance.now();
    let totalSteps = 0;
    const tr = await runCli(['train', '--data', name, ...flags, '--home', home, '--json'], {
      onEvent: (e) => {
        if (e.event === 'start') {
          settings = settingsFrom(e, undefined);
          totalSteps = settings.steps ?? 0;
          const mine = { spec, settings };
          duplicateOf = done.find((d) => d.result.outcome === 'ok' && d.result.settings && sameSettings(mine, { spec: d.spec, settings: d.result.settings })) ?? null;
          log(`[${slice.n} ${spec.id}] run ${String(e.runId)} on ${String(e.backend)}: batch ${settings.batch}, ${settings.steps} steps, augment ${show(settings.augment)}, ema ${show(settings.ema)}`);
          const plan = e.plan as { text?: unknown } | null | undefined;
          if (typeof plan?.text === 'string') log(`[${slice.n} ${spec.id}]   plan: ${plan.text}`);
          if (duplicateOf) return 'abort';
        } else if (e.event === 'step' && performance.now() - lastLog > 30_000) {
          lastLog = performance.now();
          log(`[${slice.n} ${spec.id}]   step ${String(e.step)}/${totalSteps}  D ${Number(e.lossD).toFixed(3)}  G ${Number(e.lossG).toFixed(3)}  (${((performance.now() - started) / 1000).toFixed(0)} s)`);
        }
      },
    });
    const wall = (performance.now() - started) / 1000;
    if (duplicateOf) {
      const d = duplicateOf as { spec: CaseSpec; result: CaseResult };
      log(`[${slice.n} ${spec.id}] same settings as ${d.spec.id}: not run again`);
      return { ...d.result, case: spec.id, group: spec.group, flags, outcome: 'duplicate', note: `= ${d.spec.id}` };
    }
    const trDone = lastEvent(tr, 'done');
    if (!trDone || typeof trDone.runId !== 'number') return { ...base, note: cliFailure('train', tr) };
    base.runId = trDone.runId;
    base.status = String(trDone.status);
    base.backend = typeof trDone.backend === 'string' ? trDone.backend : null;
    base.trainSeconds = typeof trDone.seconds === 'number' ? trDone.seconds : tr.seconds;
    base.wallSeconds = wall;
    const runs = await runCli(['runs', '--home', home, '--json']);
    const row = runs.events.find((e) => e.id === trDone.runId);
    base.settings = settingsFrom(lastEvent(tr, 'start'), row);
    if (tr.code !== 0) base.note = `train exited ${tr.code ?? tr.signal} (${base.status})`;
    if (base.status !== 'completed' && base.status !== 'diverged') return { ...base, note: cliFailure('train', tr) };

    const outDir = join(home, 'samples');
    const gen = await runCli(['generate', '--run', String(trDone.runId), '--count', String(opts.samples), '--out', outDir, '--home', home, '--json']);
    if (gen.code !== 0 || !lastEvent(gen, 'done')) return { ...base, note: cliFailure('generate', gen) };
    const images = await readPngFolder(outDir);
    if (images.n !== opts.samples) return { ...base, note: `generate wrote ${images.n} PNGs, ${opts.samples} asked for` };
    const scores = scoreImages(model, images, ref, mixSeed(opts.seed, slice.n));
    return { ...base, outcome: 'ok', scores };
  } catch (err) {
    return { ...base, note: err instanceof Error ? err.message : String(err) };
  } finally {
    if (opts.keep) log(`[${slice.n} ${spec.id}] kept ${home}`);
    else await rm(home, { recursive: true, force: true });
  }
}

function show(v: boolean | null | undefined): string {
  return v === true ? 'on' : v === false ? 'off' : '?';
}

// ---------------------------------------------------------------------------------------------
// Output

function settingCell(r: CaseResult, s: Switch, available: Record<Switch, boolean>): string {
  if (r.outcome === 'skipped') return '-';
  const reported = r.settings?.[s];
  if (reported !== null && reported !== undefined) return reported ? 'on' : 'off';
  if (!available[s]) return 'n/a';
  const given = r.flags.indexOf(`--${s}`);
  return given >= 0 ? `${r.flags[given + 1]}?` : 'default?';
}

function table(results: CaseResult[], available: Record<Switch, boolean>): string {
  const head = ['SLICE', 'CASE', 'BATCH', 'STEPS', 'AUGMENT', 'EMA', 'WALL S', 'FID', 'KIDx1000', 'ENTROPY', 'NOTE'];
  const rows = results.map((r) => {
    const s = r.scores;
    const isData = r.group === 'data';
    return [
      String(r.slice),
      r.case,
      isData ? '' : r.settings?.batch != null ? String(r.settings.batch) : '-',
      isData ? '' : r.settings?.steps != null ? String(r.settings.steps) : '-',
      isData ? '' : settingCell(r, 'augment', available),
      isData ? '' : settingCell(r, 'ema', available),
      r.wallSeconds != null ? r.wallSeconds.toFixed(0) : '-',
      s ? s.fid.toFixed(2) : '-',
      s ? (s.kid * 1000).toFixed(1) : '-',
      s ? s.entropy.toFixed(2) : '-',
      [r.outcome === 'ok' ? null : r.outcome, r.note, r.status && r.status !== 'completed' ? r.status : null].filter(Boolean).join(': '),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const right = new Set([0, 2, 3, 6, 7, 8, 9]);
  return [head, ...rows].map((row) => row.map((cell, i) => (right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

function caseJson(r: CaseResult): Record<string, unknown> {
  return {
    record: 'case',
    slice: r.slice,
    case: r.case,
    group: r.group,
    flags: r.flags,
    outcome: r.outcome,
    note: r.note,
    runId: r.runId,
    status: r.status,
    backend: r.backend,
    batch: r.settings?.batch ?? null,
    steps: r.settings?.steps ?? null,
    augment: r.settings?.augment ?? null,
    ema: r.settings?.ema ?? null,
    importSeconds: r.importSeconds === null ? null : round(r.importSeconds, 2),
    trainSeconds: r.trainSeconds === null ? null : round(r.trainSeconds, 2),
    wallSeconds: r.wallSeconds === null ? null : round(r.wallSeconds, 2),
    samples: r.scores?.n ?? null,
    fid: r.scores ? round(r.scores.fid, 4) : null,
    kid: r.scores ? round(r.scores.kid, 6) : null,
    kidStd: r.scores ? round(r.scores.kidStd, 6) : null,
    kidSubsetSize: r.scores?.kidSubsetSize ?? null,
    histogram: r.scores?.histogram ?? null,
    entropy: r.scores ? round(r.scores.entropy, 4) : null,
  };
}

// ---------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  let opts: Options | null;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench:quality: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (!opts) {
    process.stdout.write(USAGE);
    return 0;
  }
  const o = opts;
  const emit = (value: Record<string, unknown>) => {
    if (o.json) process.stdout.write(JSON.stringify(value) + '\n');
  };
  const printOut = (text: string) => (o.json ? process.stderr : process.stdout).write(text + '\n');

  if (o.groups.length > 0) {
    const build = checkBuild();
    if (build.error) {
      log(`bench:quality: ${build.error}`);
      return 1;
    }
    if (build.warning) log(`warning: ${build.warning}`);
  }
  const backend = await selectBackend();
  log(describeBackend(backend));
  log(`cache: ${o.cache}`);

  const train = await loadFashionMnist(o.data, 'train');
  const test = await loadFashionMnist(o.data, 't10k');
  const { model, meta, reused } = await getClassifier(o, train, test, backend.name);
  const testOut = classify(model, test);
  const testAccuracy = accuracy(testOut.predictions, test.labels!);
  printOut(`classifier ${meta.key}: test accuracy ${(testAccuracy * 100).toFixed(2)}% on 10,000 test images (${reused ? `reused from the cache, which recorded ${(meta.testAccuracy * 100).toFixed(2)}%` : 'trained now'})`);
  emit({ record: 'classifier', key: meta.key, reused, testAccuracy: round(testAccuracy, 4), cachedTestAccuracy: round(meta.testAccuracy, 4), trainSeconds: round(meta.trainSeconds, 1), backend: meta.backend });
  const ref = reference(testOut.features);

  // Floor: real test images against the other test images. Ceiling: uniform noise against all.
  const order = permutation(test.n, mixSeed(o.seed, 0xf100));
  const held = selectRows(testOut.features, order.subarray(0, FLOOR_SAMPLES));
  const rest = selectRows(testOut.features, order.subarray(FLOOR_SAMPLES));
  const heldPredictions = Uint8Array.from(order.subarray(0, FLOOR_SAMPLES), (i) => testOut.predictions[i]!);
  const floor = scoreFeatures(held, heldPredictions, reference(rest), o.seed);
  const rng = new Prng(mixSeed(o.seed, 0x0015e));
  const noise: ImageSet = { n: FLOOR_SAMPLES, pixels: Uint8Array.from({ length: FLOOR_SAMPLES * PIXELS }, () => rng.int(256)), labels: null };
  const ceiling = scoreImages(model, noise, ref, o.seed);
  const kidText = (s: Scores) => `KIDx1000 ${(s.kid * 1000).toFixed(1)} (subsets' sd ${(s.kidStd * 1000).toFixed(1)})`;
  printOut(`floor:   ${FLOOR_SAMPLES} real test images vs the other ${test.n - FLOOR_SAMPLES}: FID ${floor.fid.toFixed(2)}, ${kidText(floor)}, entropy ${floor.entropy.toFixed(2)} bits`);
  printOut(`ceiling: ${FLOOR_SAMPLES} images of uniform noise vs the ${test.n} test images: FID ${ceiling.fid.toFixed(2)}, ${kidText(ceiling)}, entropy ${ceiling.entropy.toFixed(2)} bits`);
  const baselineJson = (name: string, s: Scores, against: number) =>
    ({ record: 'baseline', name, samples: s.n, against, fid: round(s.fid, 4), kid: round(s.kid, 6), kidStd: round(s.kidStd, 6), entropy: round(s.entropy, 4), histogram: s.histogram });
  emit(baselineJson('real-vs-real', floor, test.n - FLOOR_SAMPLES));
  emit(baselineJson('uniform-noise', ceiling, test.n));
  if (o.groups.length === 0) return 0;

  const help = trainHelp();
  const available = Object.fromEntries(SWITCHES.map((s) => [s, hasTrainSwitch(help, s)])) as Record<Switch, boolean>;
  for (const s of SWITCHES) if (!available[s]) log(`note: this gan-studio's train has no --${s} switch yet (not in \`gan-studio train --help\`): its cases are skipped`);
  const plan = planCases(o.groups, { steps: o.steps, referenceSteps: o.referenceSteps });

  const results: CaseResult[] = [];
  let failed = 0;
  for (const n of o.slices) {
    const slice = await writeSliceFolder(join(o.cache, 'slices'), train, n, o.seed);
    log(`slice ${n}: ${slice.dir}${slice.reused ? ' (reused)' : ' (written)'}`);
    // The slice's own images against the test set: what a generator that copied them would score.
    const own = subset(train, classBalancedIndices(train.labels!, n, o.seed));
    const ownScores = scoreImages(model, own, ref, o.seed);
    const dataRow: CaseResult = {
      slice: n, case: '(the slice)', group: 'data', flags: [], outcome: 'ok', note: 'its own images', runId: null, status: null, backend: null,
      settings: null, importSeconds: null, trainSeconds: null, wallSeconds: null, scores: ownScores,
    };
    results.push(dataRow);
    emit(caseJson(dataRow));
    const done: { spec: CaseSpec; result: CaseResult }[] = [];
    for (const spec of plan) {
      const missing = SWITCHES.filter((s) => spec.switches[s] !== undefined && !available[s]);
      let result: CaseResult;
      if (missing.length > 0) {
        const note = `gan-studio train has no ${missing.map((s) => `--${s}`).join(', ')} yet`;
        log(`[${n} ${spec.id}] skipped: ${note}`);
        result = {
          slice: n, case: spec.id, group: spec.group, flags: caseFlags(spec), outcome: 'skipped', note, runId: null, status: null, backend: null,
          settings: null, importSeconds: null, trainSeconds: null, wallSeconds: null, scores: null,
        };
      } else {
        result = await runCase(o, { n, dir: slice.dir }, spec, done, model, ref);
        if (result.outcome === 'ok') done.push({ spec, result });
        if (result.outcome === 'failed') failed++;
        const s = result.scores;
        log(`[${n} ${spec.id}] ${result.outcome}${result.note ? ` (${result.note})` : ''}` + (s ? `: FID ${s.fid.toFixed(2)}, KIDx1000 ${(s.kid * 1000).toFixed(1)}, entropy ${s.entropy.toFixed(2)} bits, histogram ${s.histogram.join(' ')}, wall ${result.wallSeconds?.toFixed(0)} s` : ''));
      }
      results.push(result);
      emit(caseJson(result));
    }
  }
  printOut('');
  printOut(table(results, available));
  printOut(`FID and KID against Fashion-MNIST's 10,000 test images in the features of classifier ${meta.key}; entropy: the classifier's class histogram of the samples, in bits (max ${Math.log2(10).toFixed(2)}).`);
  printOut(`floor ${floor.fid.toFixed(2)} (real vs real), ceiling ${ceiling.fid.toFixed(2)} (uniform noise). WALL S: import + train, from outside, process start-ups included.`);
  return failed > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`bench:quality: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(1);
  },
);
