// A training run's health in words (GitHub issue 15): warnings while it trains, each with what to
// try, and a one-line verdict when a session ends. Pure: the training worker feeds it every step's
// metrics and every quality evaluation and passes on what comes back; nothing here touches
// TensorFlow or the disk.
//
// GAN losses and D's scores swing from step to step, so the step-based judgements (D overpowering
// G, exploding losses) use means over a window of steps that grows with the run, never one step.
// The window is kept as a few block sums: a step costs a few additions, a check runs once a block.
// The quality-based judgements need two evaluations in a row (or, for a plateau, the score's record
// over a stretch of the run), since one evaluation of a few hundred samples is noisy too.
// Early in a run everything looks wrong (a fresh G draws the same blur for every latent), so
// nothing is judged before a warm-up.
//
// The verdict is decided from the final state (the last evaluations, the last window), not from
// which warnings fired when: a run that recovered is judged by how it ended.
import type { QualityPoint, RunVerdict, RunWarning, StepMetrics, VerdictCode, WarningCode } from '../../../../shared/types';

/**
 * Nothing is judged before max(WARMUP_STEPS, WARMUP_FRACTION of the run) steps: until then a fresh
 * G's samples are alike and far from the data, and D wins easily, in runs that end up fine. A tenth
 * of the run is the conservative choice: the warnings are for trouble that lasts.
 */
export const WARMUP_STEPS = 200;
export const WARMUP_FRACTION = 0.1;

/**
 * Step-based judgements use means over the last max(WINDOW_STEPS, WINDOW_FRACTION of the run)
 * steps: long enough that the step-to-step swings of GAN losses average out (a hundred steps at
 * least), short enough (a twentieth of the run) to warn while there is still run left to save.
 */
export const WINDOW_STEPS = 100;
export const WINDOW_FRACTION = 0.05;
/** The window is held as this many block sums (its means move on once a block, a tenth of it). */
export const WINDOW_BLOCKS = 10;

/**
 * D overpowers G when, over the window, D scores real images above D_REAL_HIGH and generated ones
 * below D_FAKE_LOW on average: D then tells them apart almost perfectly (its loss is about 0.1
 * where a balanced game sits near BALANCED_LOSS_D) and G's gradient through D is faint. Healthy
 * DCGAN training keeps D(x) around 0.5-0.8 and D(G(z)) around 0.2-0.5. A DCGAN on a small set
 * often runs hotter (D(x) ~0.94, D(G(z)) ~0.06 over a window) and still draws good samples, which
 * is why the bounds are 0.95 / 0.05 rather than 0.9 / 0.1: the warning is for a D that has won.
 */
export const D_REAL_HIGH = 0.95;
export const D_FAKE_LOW = 0.05;
/** loss_D when neither network is ahead (D outputs 0.5): BCE on reals plus BCE on fakes, 2 ln 2. */
export const BALANCED_LOSS_D = 2 * Math.LN2;

/**
 * The losses have exploded when, over the window, loss_G averages above EXPLODED_LOSS_G (D gives
 * generated images a probability of about e^-10, 0.00005) and D's mean score for them is below
 * EXPLODED_D_FAKE. Healthy runs keep loss_G at a few units; a G this far behind does not recover.
 */
export const EXPLODED_LOSS_G = 10;
export const EXPLODED_D_FAKE = 0.01;

/**
 * The score has fallen when the last two evaluations are both more than SCORE_DROP points below
 * the run's best and that best was at least SCORE_GOOD: an evaluation's noise is a few points, so
 * twenty twice in a row is a real loss of quality, and it needs quality to have been reached first.
 */
export const SCORE_DROP = 20;
export const SCORE_GOOD = 30;

/**
 * Mode collapse: variety below COLLAPSE_VARIETY in two evaluations in a row after the warm-up.
 * Variety is 1 for samples as varied as the data and near 0 for one image repeated; under 0.35
 * means the samples spread over about a third of the data's range or less. Chosen low on purpose,
 * so that a run with less variety than the data but no collapse is not warned about.
 */
export const COLLAPSE_VARIETY = 0.35;
/**
 * ...or when at least COLLAPSE_DUPLICATES of the samples are near copies of other samples: a few
 * images drawn again and again. Variety misses that (four images repeated still spread as 0.79 of
 * the data) while every healthy Fashion-MNIST checkpoint and real data give 0 duplicates, and any
 * set of 64 or fewer distinct images among the 256 samples gives 1.
 */
export const COLLAPSE_DUPLICATES = 0.5;

/** Whether an evaluation's samples look collapsed (see COLLAPSE_VARIETY, COLLAPSE_DUPLICATES). */
function collapsed(p: QualityPoint): boolean {
  return p.variety < COLLAPSE_VARIETY || p.duplicates >= COLLAPSE_DUPLICATES;
}

/**
 * Memorisation: more than MEMORISED_COPIED of the samples are near copies of training images in
 * one evaluation after the warm-up. Each evaluation already counts many samples, so one suffices;
 * a generator that makes new images copies a few at most, one in four is a habit.
 */
export const MEMORISED_COPIED = 0.25;

/**
 * The score stopped improving when its record is at least PLATEAU_FRACTION of the run and
 * PLATEAU_EVALUATIONS evaluations old, and the last score is neither noise nor fallen. A record is
 * set where the score, smoothed over the last PLATEAU_SMOOTHING evaluations, beats the record
 * before it by more than PLATEAU_GAIN points: one evaluation wobbles by several points as G moves
 * (72/85/82/74/73 over 200 steps of a healthy run), the mean of three by about a third of that,
 * while a Fashion-MNIST run still gaining gains 5-10 points in its last quarter. A quarter of the
 * run without gain is long enough to tell a plateau from a slow stretch.
 */
export const PLATEAU_GAIN = 2;
export const PLATEAU_SMOOTHING = 3;
export const PLATEAU_FRACTION = 0.25;
export const PLATEAU_EVALUATIONS = 4;
/** A plateau below this score is worth another try with other settings; above it the run is done. */
export const PLATEAU_LOW_SCORE = 50;

/**
 * Still noise: the last two scores below NOISE_SCORE after NOISE_FRACTION of the run and at least
 * NOISE_STEPS steps, in a run that never reached SCORE_GOOD (one that did has fallen instead).
 * A score of 15 is samples much nearer noise than data; by a third of the run a working setup has
 * left it behind.
 */
export const NOISE_SCORE = 15;
export const NOISE_FRACTION = 0.3;
export const NOISE_STEPS = 500;

/** Fewer evaluations than this after the warm-up: too short to judge (no trend in two points). */
export const VERDICT_EVALUATIONS = 3;

/** What the monitor needs to know about the run. */
export interface HealthContext {
  totalSteps: number;
  stepsPerEpoch: number;
  batch: number;
  /** Images in the dataset. */
  count: number;
  lr: number;
  augment: boolean;
  ema: boolean;
  k: number;
}

/** What observe* returns when nothing was raised: one shared, frozen array (no allocation a step). */
const NONE: readonly RunWarning[] = Object.freeze([]);

/** The step from which anything is judged. */
export function warmupSteps(context: HealthContext): number {
  return Math.max(WARMUP_STEPS, Math.round(WARMUP_FRACTION * context.totalSteps));
}

/** The step-based window's length in steps before it is split into blocks. */
export function windowSteps(context: HealthContext): number {
  return Math.max(WINDOW_STEPS, Math.round(WINDOW_FRACTION * context.totalSteps));
}

/** Means of the step metrics over the last WINDOW_BLOCKS blocks of steps, kept as block sums. */
class StepWindow {
  readonly blockSize: number;
  /** Per block: sums of dReal, dFake, lossD, lossG (4 numbers), as a ring. */
  private readonly sums = new Float64Array(WINDOW_BLOCKS * 4);
  private head = 0;
  private full = 0;
  private inBlock = 0;
  private dReal = 0;
  private dFake = 0;
  private lossD = 0;
  private lossG = 0;
  /** The means over the window as of the last completed block (valid once `ready`). */
  readonly mean = { dReal: 0, dFake: 0, lossD: 0, lossG: 0 };

  constructor(steps: number) {
    this.blockSize = Math.ceil(steps / WINDOW_BLOCKS);
  }

  /** The steps the means cover. */
  get span(): number {
    return this.blockSize * WINDOW_BLOCKS;
  }

  /** Adds a step; true when it completed a block and the window is full (the means were updated). */
  add(m: StepMetrics): boolean {
    this.dReal += m.dReal;
    this.dFake += m.dFake;
    this.lossD += m.lossD;
    this.lossG += m.lossG;
    if (++this.inBlock < this.blockSize) return false;
    const at = this.head * 4;
    this.sums[at] = this.dReal;
    this.sums[at + 1] = this.dFake;
    this.sums[at + 2] = this.lossD;
    this.sums[at + 3] = this.lossG;
    this.head = (this.head + 1) % WINDOW_BLOCKS;
    this.full = Math.min(this.full + 1, WINDOW_BLOCKS);
    this.inBlock = 0;
    this.dReal = this.dFake = this.lossD = this.lossG = 0;
    if (this.full < WINDOW_BLOCKS) return false;
    // Summed afresh from the blocks each time, so no rounding error builds up over a long run.
    let dReal = 0, dFake = 0, lossD = 0, lossG = 0;
    for (let b = 0; b < WINDOW_BLOCKS; b++) {
      dReal += this.sums[b * 4]!;
      dFake += this.sums[b * 4 + 1]!;
      lossD += this.sums[b * 4 + 2]!;
      lossG += this.sums[b * 4 + 3]!;
    }
    const n = this.span;
    this.mean.dReal = dReal / n;
    this.mean.dFake = dFake / n;
    this.mean.lossD = lossD / n;
    this.mean.lossG = lossG / n;
    return true;
  }
}

/** The score at evaluation i, smoothed: the mean over it and up to PLATEAU_SMOOTHING - 1 before it. */
function smoothedScore(points: readonly QualityPoint[], i: number): number {
  const from = Math.max(0, i - PLATEAU_SMOOTHING + 1);
  let sum = 0;
  for (let j = from; j <= i; j++) sum += points[j]!.score;
  return sum / (i - from + 1);
}

/** The evaluation that set the score's record (see PLATEAU_GAIN), with its index in `points`. */
export function scoreRecord(points: readonly QualityPoint[]): { point: QualityPoint; index: number } | null {
  if (!points.length) return null;
  let index = 0;
  let record = smoothedScore(points, 0);
  for (let i = 1; i < points.length; i++) {
    const smoothed = smoothedScore(points, i);
    if (smoothed > record + PLATEAU_GAIN) {
      index = i;
      record = smoothed;
    }
  }
  return { point: points[index]!, index };
}

/** The evaluation with the highest score. */
function bestPoint(points: readonly QualityPoint[]): QualityPoint | null {
  let best: QualityPoint | null = null;
  for (const p of points) if (!best || p.score > best.score) best = p;
  return best;
}

/** Whether `score` is more than SCORE_DROP below a best of at least SCORE_GOOD. */
function fallenFrom(best: QualityPoint | null, score: number): boolean {
  return best !== null && best.score >= SCORE_GOOD && score < best.score - SCORE_DROP;
}

/** The last two evaluations, when there are two. */
function lastTwo(points: readonly QualityPoint[]): [QualityPoint, QualityPoint] | null {
  return points.length >= 2 ? [points[points.length - 2]!, points[points.length - 1]!] : null;
}

/** Whether the score has stopped improving as of the last evaluation (see PLATEAU_*). */
function plateaued(points: readonly QualityPoint[], context: HealthContext): boolean {
  const record = scoreRecord(points);
  const last = points[points.length - 1];
  if (!record || !last) return false;
  return (
    last.step - record.point.step >= PLATEAU_FRACTION * context.totalSteps &&
    points.length - 1 - record.index >= PLATEAU_EVALUATIONS &&
    last.score >= NOISE_SCORE &&
    !fallenFrom(bestPoint(points), last.score)
  );
}

export class HealthMonitor {
  /** Warnings by code, in the order first raised. */
  private readonly raised = new Map<WarningCode, RunWarning>();
  /** The step each code was last returned from observe* at (or recorded at, for earlier ones). */
  private readonly reportedAt = new Map<WarningCode, number>();
  /** Quality evaluations, ordered by step, earlier sessions' included. */
  private readonly quality: QualityPoint[] = [];
  private readonly window: StepWindow;
  private readonly warmup: number;
  /** Whether the losses had exploded over the last full window (see EXPLODED_*). */
  private exploded = false;

  constructor(
    private readonly context: HealthContext,
    earlier?: { warnings: RunWarning[]; quality: QualityPoint[] },
  ) {
    this.window = new StepWindow(windowSteps(context));
    this.warmup = warmupSteps(context);
    for (const w of earlier?.warnings ?? []) {
      this.raised.set(w.code, { ...w });
      this.reportedAt.set(w.code, w.lastStep);
    }
    this.quality.push(...(earlier?.quality ?? []).filter((q) => Number.isFinite(q.score)).sort((a, b) => a.step - b.step));
  }

  /** Every training step. Returns the warnings this step raised or re-confirmed (usually none). */
  observeStep(m: StepMetrics): readonly RunWarning[] {
    if (m.step <= this.warmup) return NONE;
    // The trainer ends a run at non-finite metrics; one that slips through must not poison the sums.
    if (!(Number.isFinite(m.dReal) && Number.isFinite(m.dFake) && Number.isFinite(m.lossD) && Number.isFinite(m.lossG))) return NONE;
    if (!this.window.add(m)) return NONE;
    const { mean, span } = this.window;
    this.exploded = mean.lossG > EXPLODED_LOSS_G && mean.dFake < EXPLODED_D_FAKE;
    let out: RunWarning[] | null = null;
    const keep = (w: RunWarning | null) => {
      if (w) (out ??= []).push(w);
    };
    if (this.exploded) {
      keep(this.raise('divergence', m.step, span, explodedMessage(mean, span), restartAdvice(this.context, null), null));
    }
    if (mean.dReal > D_REAL_HIGH && mean.dFake < D_FAKE_LOW) {
      keep(this.raise('d-overpowering', m.step, span, overpoweringMessage(mean, span), overpoweringAdvice(this.context), null));
    }
    return out ?? NONE;
  }

  /**
   * Every quality evaluation; pairPath: a PNG of the most-copied sample beside its nearest
   * training image, when the trainer wrote one. An evaluation at or before an earlier one's step
   * (a run resumed from an older checkpoint) replaces the history from there on.
   */
  observeQuality(q: QualityPoint, pairPath: string | null): readonly RunWarning[] {
    if (!Number.isFinite(q.score)) return NONE;
    while (this.quality.length && this.quality[this.quality.length - 1]!.step >= q.step) this.quality.pop();
    this.quality.push({ ...q });
    if (q.step < this.warmup) return NONE;
    const out = [this.checkFallen(q), this.checkNoise(q), this.checkCollapse(q), this.checkCopies(q, pairPath), this.checkPlateau(q)]
      .filter((w): w is RunWarning => w !== null);
    return out.length ? out : NONE;
  }

  /** All warnings so far, one per code, in the order first raised. */
  warnings(): RunWarning[] {
    return [...this.raised.values()].map((w) => ({ ...w }));
  }

  /** The verdict when a session ends, from the final state; status is the trainer's outcome. */
  verdict(outcome: { status: 'completed' | 'stopped' | 'diverged' | 'failed'; step: number }): RunVerdict {
    const last = this.quality[this.quality.length - 1] ?? null;
    const make = (code: VerdictCode, text: string): RunVerdict => ({ code, text, step: outcome.step, score: last ? last.score : null });
    const quality = last ? `quality ${score(last.score)}` : null;
    if (outcome.status === 'diverged') return make('diverged', `diverged: the losses became infinite or not a number at step ${steps(outcome.step)}`);
    if (this.exploded) return make('diverged', `diverged: loss_G averaged ${loss(this.window.mean.lossG)} over the last ${steps(this.window.span)} steps`);
    const best = bestPoint(this.quality);
    if (last && fallenFrom(best, last.score)) return make('diverged', `diverged: quality fell from ${score(best!.score)} to ${score(last.score)}`);
    const judged = this.quality.filter((p) => p.step >= this.warmup).length;
    if (!last || judged < VERDICT_EVALUATIONS) return make('too-short', quality ? `too short to judge (${quality})` : 'too short to judge');
    if (last.score < NOISE_SCORE) return make('noise', `noise: the samples do not look like the data yet (${quality})`);
    if (collapsed(last)) {
      const how = last.variety < COLLAPSE_VARIETY ? `variety ${last.variety.toFixed(2)}` : `${percent(last.duplicates)} repeats`;
      return make('collapsed', `collapsed: the samples are nearly all alike (${how}, ${quality})`);
    }
    if (last.copied > MEMORISED_COPIED) {
      return make('memorised', `memorised: ${percent(last.copied)} of the samples are near copies of training images (${quality})`);
    }
    if (plateaued(this.quality, this.context)) return make('converged', `varied samples, no longer improving (${quality})`);
    return make('improving', `varied samples, still improving (${quality})`);
  }

  /**
   * Records a warning, or updates one raised before (lastStep, words, pair). Returns a copy to pass
   * on when it is new or was last passed on at least `interval` steps ago, else null.
   */
  private raise(code: WarningCode, step: number, interval: number, message: string, advice: string, pairPath: string | null): RunWarning | null {
    const known = this.raised.get(code);
    if (known) {
      known.lastStep = step;
      known.message = message;
      known.advice = advice;
      known.pairPath = pairPath ?? known.pairPath;
      // A step before the last report: the run went back to an older checkpoint, so it is news.
      const since = step - (this.reportedAt.get(code) ?? -Infinity);
      if (since >= 0 && since < interval) return null;
    } else {
      this.raised.set(code, { code, step, lastStep: step, message, advice, pairPath });
    }
    this.reportedAt.set(code, step);
    return { ...this.raised.get(code)! };
  }

  // Quality-based checks, each against the history that already holds `q`; re-confirmed at every
  // evaluation where they still hold (interval 0).

  private checkFallen(q: QualityPoint): RunWarning | null {
    const pair = lastTwo(this.quality);
    const best = bestPoint(this.quality);
    if (!pair || !pair.every((p) => fallenFrom(best, p.score))) return null;
    return this.raise('divergence', q.step, 0, fallenMessage(best!, pair), restartAdvice(this.context, best!), null);
  }

  private checkNoise(q: QualityPoint): RunWarning | null {
    const pair = lastTwo(this.quality);
    const best = bestPoint(this.quality);
    const late = q.step >= Math.max(NOISE_STEPS, NOISE_FRACTION * this.context.totalSteps);
    if (!late || !pair || !pair.every((p) => p.score < NOISE_SCORE) || best!.score >= SCORE_GOOD) return null;
    return this.raise('noise', q.step, 0, noiseMessage(q.step, this.context.totalSteps, pair), noiseAdvice(this.context), null);
  }

  private checkCollapse(q: QualityPoint): RunWarning | null {
    const pair = lastTwo(this.quality);
    if (!pair || pair[0].step < this.warmup || !pair.every(collapsed)) return null;
    return this.raise('mode-collapse', q.step, 0, collapseMessage(pair), collapseAdvice(this.context), null);
  }

  private checkCopies(q: QualityPoint, pairPath: string | null): RunWarning | null {
    if (!(q.copied > MEMORISED_COPIED)) return null;
    const shown = pairPath ?? this.raised.get('memorisation')?.pairPath ?? null;
    return this.raise('memorisation', q.step, 0, copiesMessage(q, shown !== null), copiesAdvice(this.context), pairPath);
  }

  private checkPlateau(q: QualityPoint): RunWarning | null {
    // A run whose losses exploded is not done, it is broken: the divergence warning says so.
    if (this.exploded || !plateaued(this.quality, this.context)) return null;
    const record = scoreRecord(this.quality)!;
    return this.raise('plateau', q.step, 0, plateauMessage(record, this.quality), plateauAdvice(this.context, q.score), null);
  }
}

// Words. Figures are rounded to what a person reads: scores to whole points, D's scores to two
// places, steps with thousands separators.

/** A loss as a person reads it: one decimal, thousands separated (an exploded loss runs to millions). */
function loss(value: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}

function steps(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function score(s: number): string {
  return String(Math.round(s));
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

/** A mean sigmoid output in words: two places, or "under 0.01" / "over 0.99" at the ends. */
function probability(p: number): string {
  if (p < 0.01) return 'under 0.01';
  if (p > 0.99) return 'over 0.99';
  return p.toFixed(2);
}

/** A learning rate as people write it (0.0002, 1e-7), two significant digits. */
function rate(lr: number): string {
  return String(Number(lr.toPrecision(2)));
}

/** "a lower learning rate (now 0.0002; try 0.0001)". */
function lowerRate(context: HealthContext): string {
  return `a lower learning rate (now ${rate(context.lr)}; try ${rate(context.lr / 2)})`;
}

function moreImages(context: HealthContext): string {
  return `more training images (the set has ${context.count.toLocaleString('en-US')})`;
}

/** "a, b or c". */
function either(options: string[]): string {
  return options.length <= 1 ? (options[0] ?? '') : `${options.slice(0, -1).join(', ')} or ${options[options.length - 1]}`;
}

function upperFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

type Means = StepWindow['mean'];

function overpoweringMessage(mean: Means, span: number): string {
  return (
    `D scores real images ${probability(mean.dReal)} and generated ones ${probability(mean.dFake)} on average over the last ` +
    `${steps(span)} steps (loss_D ${mean.lossD.toFixed(2)}, where about ${BALANCED_LOSS_D.toFixed(2)} means neither network is ahead): ` +
    'the discriminator is winning and G gets little gradient to learn from.'
  );
}

function overpoweringAdvice(context: HealthContext): string {
  const options = [lowerRate(context), moreImages(context)];
  if (context.k > 1) options.push(`fewer D updates per step (k is ${context.k}; try 1)`);
  if (context.augment) return `Augmentation is already on; try ${either(options)}.`;
  return `Turn augmentation on, so that D cannot learn the training images by heart; or try ${either(options)}.`;
}

function explodedMessage(mean: Means, span: number): string {
  return (
    `loss_G has averaged ${loss(mean.lossG)} over the last ${steps(span)} steps and D scores generated images ` +
    `${probability(mean.dFake)}: training has diverged, and G's updates no longer improve its samples.`
  );
}

function fallenMessage(best: QualityPoint, [before, last]: [QualityPoint, QualityPoint]): string {
  return (
    `The quality score fell from its best, ${score(best.score)} at step ${steps(best.step)}, to ${score(before.score)} and ` +
    `then ${score(last.score)}: training has become unstable and the samples are getting worse.`
  );
}

/** Divergence: more of this run will not bring it back; `best`: where the score was best, if known. */
function restartAdvice(context: HealthContext, best: QualityPoint | null): string {
  const where = best ? `, or stop at about step ${steps(best.step)}, where the samples were best` : '';
  return `Stop this run: it rarely recovers. Start again with ${lowerRate(context)}${where}.`;
}

function collapseMessage([before, last]: [QualityPoint, QualityPoint]): string {
  const figures = last.variety < COLLAPSE_VARIETY
    ? `variety ${before.variety.toFixed(2)} and then ${last.variety.toFixed(2)}, where 1 is as varied as the data`
    : `${percent(before.duplicates)} and then ${percent(last.duplicates)} of the samples repeat another sample`;
  return `The samples are far less varied than the training images (${figures}): G draws nearly the same few images whatever its input (mode collapse).`;
}

function collapseAdvice(context: HealthContext): string {
  const options = [lowerRate(context), 'another seed', moreImages(context)];
  if (!context.augment) options.unshift('turning augmentation on');
  return `Try ${either(options)}.`;
}

function copiesMessage(q: QualityPoint, withPair: boolean): string {
  const pair = withPair ? ' (the picture shows one beside the training image it copies)' : '';
  return `${percent(q.copied)} of the samples are near copies of training images${pair}: G is memorising the data instead of learning to make new images.`;
}

function copiesAdvice(context: HealthContext): string {
  const augment = context.augment ? '' : '; turning augmentation on helps too';
  return `${upperFirst(moreImages(context))} help most${augment}. Or train for fewer steps: the longer a small set is trained on, the more is copied.`;
}

function plateauMessage(record: { point: QualityPoint; index: number }, points: readonly QualityPoint[]): string {
  const last = points[points.length - 1]!;
  const evaluations = points.length - 1 - record.index;
  return (
    `The quality score, averaged over its last ${PLATEAU_SMOOTHING} measurements, has not gained more than ${PLATEAU_GAIN} points ` +
    `since step ${steps(record.point.step)} (${score(smoothedScore(points, record.index))} then, ` +
    `${score(smoothedScore(points, points.length - 1))} now; ${evaluations} measurements and ${steps(last.step - record.point.step)} steps since).`
  );
}

function plateauAdvice(context: HealthContext, now: number): string {
  if (now >= PLATEAU_LOW_SCORE) {
    return 'The run has done what it can with these settings: stop it and use or export the generator; training longer will not make the samples much better.';
  }
  const options = [lowerRate(context), moreImages(context)];
  if (!context.augment) options.unshift('turning augmentation on');
  return `More steps with these settings will not help much; try ${either(options)}.`;
}

function noiseMessage(step: number, total: number, [before, last]: [QualityPoint, QualityPoint]): string {
  return (
    `After ${steps(step)} of ${steps(total)} steps the samples still look like noise (quality ${score(before.score)} and ` +
    `then ${score(last.score)}, where 0 is noise and 100 is like the data).`
  );
}

function noiseAdvice(context: HealthContext): string {
  return `Check that the training images are what you expect (size, colour, content); if they are, train longer or try ${lowerRate(context)}.`;
}
