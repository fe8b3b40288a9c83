// The run's health monitor: every warning fires on a stream built to show it and stays quiet on a
// healthy one, and the verdict follows the run's final state. Streams are synthetic, with seeded
// noise (rng.ts) so that they are the same on every run.
import { describe, expect, it } from 'vitest';
import {
  COLLAPSE_DUPLICATES,
  COLLAPSE_VARIETY,
  HealthMonitor,
  MEMORISED_COPIED,
  NOISE_SCORE,
  scoreRecord,
  warmupSteps,
  windowSteps,
  type HealthContext,
} from '../../../../../src/main/core/engine/ml/health';
import { Prng } from '../../../../../src/main/core/engine/ml/rng';
import type { QualityPoint, RunWarning, StepMetrics, WarningCode } from '../../../../../src/shared/types';

const TOTAL = 4000;
/** The end of a run that completed. */
const DONE = { status: 'completed', step: TOTAL } as const;
/** A quality evaluation every this many steps (40 in a run). */
const EVERY = 100;

function context(overrides: Partial<HealthContext> = {}): HealthContext {
  return { totalSteps: TOTAL, stepsPerEpoch: 15, batch: 32, count: 500, lr: 2e-4, augment: false, ema: false, k: 1, ...overrides };
}

/** A value in [low, high) from the generator. */
function between(rng: Prng, low: number, high: number): number {
  return low + (high - low) * rng.next();
}

/** Step metrics of a balanced game: D(x) 0.6-0.8, D(G(z)) 0.2-0.4, losses 0.7-1.5. */
function healthyStep(step: number, rng: Prng): StepMetrics {
  return { step, epoch: 1, lossD: between(rng, 0.9, 1.5), lossG: between(rng, 0.7, 1.5), dReal: between(rng, 0.6, 0.8), dFake: between(rng, 0.2, 0.4) };
}

/** D winning: D(x) 0.95-0.99, D(G(z)) 0.01-0.05. */
function overpoweredStep(step: number, rng: Prng): StepMetrics {
  return { step, epoch: 1, lossD: between(rng, 0.03, 0.1), lossG: between(rng, 3, 5), dReal: between(rng, 0.95, 0.99), dFake: between(rng, 0.01, 0.05) };
}

/** Exploded losses: loss_G 15-25, D(G(z)) about 0. */
function explodedStep(step: number, rng: Prng): StepMetrics {
  return { step, epoch: 1, lossD: between(rng, 0, 0.01), lossG: between(rng, 15, 25), dReal: between(rng, 0.99, 1), dFake: between(rng, 0, 0.0001) };
}

/** A healthy evaluation: the score rising from about 5 to about 70 over the run, ±3; varied; no copies. */
function healthyQuality(step: number, rng: Prng): QualityPoint {
  const score = Math.max(0, 5 + (65 * step) / TOTAL + between(rng, -3, 3));
  return { step, score, distance: 1 - score / 100, variety: between(rng, 0.8, 1), copied: between(rng, 0, 0.02), duplicates: 0, seconds: 1 };
}

interface Fed {
  monitor: HealthMonitor;
  /** Every warning returned by observe*, in order. */
  returned: RunWarning[];
}

/**
 * Feeds steps from..to (inclusive) and an evaluation every EVERY steps (at `from` too when it is a
 * multiple), as the worker does. `step` and `quality` make each one; `quality` null: none.
 */
function feed(
  fed: Fed,
  from: number,
  to: number,
  step: (s: number) => StepMetrics,
  quality: ((s: number) => QualityPoint) | null,
  pairPath: string | null = null,
): Fed {
  for (let s = from; s <= to; s++) {
    if (s > 0) fed.returned.push(...fed.monitor.observeStep(step(s)));
    if (quality && s % EVERY === 0) fed.returned.push(...fed.monitor.observeQuality(quality(s), pairPath));
  }
  return fed;
}

function start(overrides: Partial<HealthContext> = {}): Fed {
  return { monitor: new HealthMonitor(context(overrides)), returned: [] };
}

function codes(warnings: readonly RunWarning[]): WarningCode[] {
  return [...new Set(warnings.map((w) => w.code))];
}

function point(step: number, score: number, more: Partial<QualityPoint> = {}): QualityPoint {
  return { step, score, distance: 1 - score / 100, variety: 0.9, copied: 0, duplicates: 0, seconds: 1, ...more };
}

/** Feeds evaluations only (no steps), `scores[i]` at step (i + 1) * EVERY; returns what they raised. */
function evaluate(monitor: HealthMonitor, scores: number[], more: (i: number) => Partial<QualityPoint> = () => ({})): RunWarning[] {
  return scores.flatMap((score, i) => [...monitor.observeQuality(point((i + 1) * EVERY, score, more(i)), null)]);
}

/** Scores rising from 5 to 70 over `n` evaluations, then flat. */
function rising(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 5 + (65 * i) / Math.max(1, n - 1));
}

describe('HealthMonitor: a healthy run', () => {
  it('raises nothing and is judged still improving', () => {
    const rng = new Prng(1);
    const { monitor, returned } = feed(start(), 0, TOTAL, (s) => healthyStep(s, rng), (s) => healthyQuality(s, rng));
    expect(returned).toEqual([]);
    expect(monitor.warnings()).toEqual([]);
    const verdict = monitor.verdict({ status: 'completed', step: TOTAL });
    expect(verdict.code).toBe('improving');
    expect(verdict.text).toMatch(/^varied samples, still improving \(quality \d+\)$/);
    expect(verdict.step).toBe(TOTAL);
    expect(verdict.score).toBeGreaterThan(60);
  });

  it('stays quiet through a short stretch where D wins (shorter than the window)', () => {
    const rng = new Prng(2);
    const end = 2000 + windowSteps(context()) / 4;
    const fed = feed(start(), 0, 2000, (s) => healthyStep(s, rng), null);
    feed(fed, 2001, end, (s) => overpoweredStep(s, rng), null);
    feed(fed, end + 1, 3000, (s) => healthyStep(s, rng), null);
    expect(fed.returned).toEqual([]);
  });

  it('passes the same empty array back on quiet steps: nothing is allocated a step', () => {
    const rng = new Prng(3);
    const monitor = new HealthMonitor(context({ totalSteps: 200_000 }));
    const first = monitor.observeStep(healthyStep(1, rng));
    let others = 0;
    for (let s = 2; s <= 100_000; s++) if (monitor.observeStep(healthyStep(s, rng)) !== first) others++;
    expect(others).toBe(0);
    expect(first).toEqual([]);
  });

  it('ignores steps with non-finite metrics', () => {
    const rng = new Prng(4);
    const fed = feed(start(), 0, 1000, (s) => healthyStep(s, rng), null);
    feed(fed, 1001, 2000, (s) => ({ ...healthyStep(s, rng), dFake: s % 2 ? Number.NaN : 0.3, lossG: s % 3 ? 1 : Infinity }), null);
    expect(fed.returned).toEqual([]);
    expect(fed.monitor.verdict({ status: 'stopped', step: 2000 }).code).toBe('too-short');
  });
});

describe('HealthMonitor: D overpowering G', () => {
  it('fires once D wins for a window, with the figures and advice to turn augmentation on', () => {
    const rng = new Prng(10);
    const window = windowSteps(context());
    const fed = feed(start(), 0, 1000, (s) => healthyStep(s, rng), null);
    // Half a window of it is not enough (the means still hold half a window of the balanced game).
    feed(fed, 1001, 1000 + window / 2, (s) => overpoweredStep(s, rng), null);
    expect(codes(fed.returned)).toEqual([]);
    feed(fed, 1000 + window / 2 + 1, 1000 + 2 * window, (s) => overpoweredStep(s, rng), null);
    const w = fed.returned.find((x) => x.code === 'd-overpowering')!;
    expect(w).toBeDefined();
    expect(w.step).toBeGreaterThan(1000 + window / 2);
    expect(w.step).toBeLessThanOrEqual(1000 + window);
    expect(w.message).toMatch(/D scores real images 0\.9\d and generated ones 0\.0\d on average over the last 200 steps/);
    expect(w.message).toContain('loss_D');
    expect(w.advice).toMatch(/^Turn augmentation on/);
    expect(w.advice).toContain('learning rate (now 0.0002; try 0.0001)');
    expect(w.advice).toContain('500');
    expect(w.pairPath).toBeNull();
  });

  it('says augmentation is already on when it is, and suggests k=1 when k is more', () => {
    const rng = new Prng(11);
    const fed = feed(start({ augment: true, k: 2 }), 0, 600, (s) => healthyStep(s, rng), null);
    feed(fed, 601, 1400, (s) => overpoweredStep(s, rng), null);
    const w = fed.monitor.warnings().find((x) => x.code === 'd-overpowering')!;
    expect(w.advice).toMatch(/^Augmentation is already on/);
    expect(w.advice).toContain('k is 2; try 1');
  });

  it('is passed on at most once a window while it lasts, and keeps its first step', () => {
    const rng = new Prng(12);
    const window = windowSteps(context());
    const fed = feed(start(), 0, 500, (s) => healthyStep(s, rng), null);
    feed(fed, 501, 2500, (s) => overpoweredStep(s, rng), null);
    const passed = fed.returned.filter((w) => w.code === 'd-overpowering');
    expect(passed.length).toBeGreaterThan(1);
    expect(passed.length).toBeLessThanOrEqual(Math.ceil(2000 / window) + 1);
    for (let i = 1; i < passed.length; i++) expect(passed[i]!.lastStep - passed[i - 1]!.lastStep).toBeGreaterThanOrEqual(window);
    const [only] = fed.monitor.warnings();
    expect(only!.step).toBe(passed[0]!.step);
    expect(only!.lastStep).toBeGreaterThanOrEqual(2500 - window / 10);
  });

  it('judges nothing in the warm-up (D wins easily early in runs that end up fine)', () => {
    const rng = new Prng(13);
    const fed = feed(start(), 0, warmupSteps(context()), (s) => overpoweredStep(s, rng), null);
    expect(fed.returned).toEqual([]);
  });
});

describe('HealthMonitor: divergence', () => {
  it('fires when loss_G explodes over a window, and the verdict is diverged', () => {
    const rng = new Prng(20);
    const fed = feed(start(), 0, 1500, (s) => healthyStep(s, rng), (s) => healthyQuality(s, rng));
    feed(fed, 1501, 2000, (s) => explodedStep(s, rng), null);
    const w = fed.returned.find((x) => x.code === 'divergence')!;
    expect(w).toBeDefined();
    expect(w.message).toMatch(/^loss_G has averaged \d+\.\d over the last 200 steps and D scores generated images under 0\.01/);
    expect(w.advice).toContain('lower learning rate');
    const verdict = fed.monitor.verdict({ status: 'stopped', step: 2000 });
    expect(verdict.code).toBe('diverged');
    expect(verdict.text).toMatch(/^diverged: loss_G averaged/);
  });

  it('does not call a run whose losses exploded a plateau, and writes a huge loss readably', () => {
    const rng = new Prng(21);
    const fed = feed(start(), 0, 1000, (s) => healthyStep(s, rng), (s) => healthyQuality(s, rng));
    // Losses in the millions while the score sits flat (collapsed samples score the same every time).
    const huge = (s: number): StepMetrics => ({ ...explodedStep(s, rng), lossG: 14_841_624.7 });
    feed(fed, 1001, TOTAL, huge, (s) => ({ ...healthyQuality(s, rng), score: 59 }));
    expect(codes(fed.returned)).toContain('divergence');
    expect(codes(fed.returned)).not.toContain('plateau');
    expect(fed.monitor.verdict({ status: 'completed', step: TOTAL }).text).toBe('diverged: loss_G averaged 14,841,624.7 over the last 200 steps');
  });

  it('fires when the score falls far below its best twice in a row, not once', () => {
    const monitor = new HealthMonitor(context());
    const scores = [...rising(20), 70, 45];
    expect(codes(evaluate(monitor, scores))).toEqual([]);
    const raised = [...monitor.observeQuality(point(2300, 42), null)];
    expect(codes(raised)).toEqual(['divergence']);
    expect(raised[0]!.message).toBe(
      'The quality score fell from its best, 70 at step 2,000, to 45 and then 42: training has become unstable and the samples are getting worse.',
    );
    expect(raised[0]!.advice).toContain('stop at about step 2,000');
    expect(monitor.verdict({ status: 'completed', step: TOTAL }).text).toBe('diverged: quality fell from 70 to 42');
  });

  it('does not call a drop from a mediocre best divergence', () => {
    const monitor = new HealthMonitor(context());
    expect(codes(evaluate(monitor, [5, 10, 20, 25, 22, 4, 3]))).not.toContain('divergence');
  });
});

describe('HealthMonitor: mode collapse', () => {
  it('fires on two low-variety evaluations in a row after the warm-up, with advice', () => {
    const monitor = new HealthMonitor(context());
    const low = COLLAPSE_VARIETY - 0.2;
    const warnings = evaluate(monitor, rising(12), (i) => ({ variety: i >= 9 ? low : 0.9 }));
    const w = warnings.find((x) => x.code === 'mode-collapse')!;
    expect(w.step).toBe(1100);
    expect(w.message).toMatch(/^The samples are far less varied than the training images \(variety 0\.15 and then 0\.15/);
    expect(w.advice).toMatch(/^Try turning augmentation on, a lower learning rate .*another seed or more training images \(the set has 500\)\.$/);
  });

  it('fires on samples that repeat each other, though they spread as widely as the data', () => {
    const monitor = new HealthMonitor(context());
    // A few images drawn again and again: variety stays high, but most samples duplicate another.
    const warnings = evaluate(monitor, rising(12), (i) => (i >= 9 ? { variety: 0.79, duplicates: 1 } : {}));
    const w = warnings.find((x) => x.code === 'mode-collapse')!;
    expect(w.step).toBe(1100);
    expect(w.message).toMatch(/\(100% and then 100% of the samples repeat another sample\)/);
    expect(monitor.verdict(DONE)).toMatchObject({ code: 'collapsed', text: 'collapsed: the samples are nearly all alike (100% repeats, quality 70)' });
    // Below the bound, no warning.
    const fine = new HealthMonitor(context());
    expect(codes(evaluate(fine, rising(12), (i) => (i >= 9 ? { duplicates: COLLAPSE_DUPLICATES - 0.1 } : {})))).not.toContain('mode-collapse');
  });

  it('stays quiet on one low evaluation and on low variety in the warm-up', () => {
    const monitor = new HealthMonitor(context());
    const warmup = warmupSteps(context());
    // Low variety up to the warm-up (fresh samples are all alike), then one more low evaluation only.
    const warnings = evaluate(monitor, rising(10), (i) => ({ variety: (i + 1) * EVERY <= warmup ? 0.05 : i === 6 ? 0.1 : 0.9 }));
    expect(codes(warnings)).not.toContain('mode-collapse');
  });
});

describe('HealthMonitor: memorisation', () => {
  it('fires when many samples are near copies and shows the pair', () => {
    const rng = new Prng(30);
    const fed = feed(start(), 0, 1000, (s) => healthyStep(s, rng), (s) => healthyQuality(s, rng));
    feed(fed, 1001, 1200, (s) => healthyStep(s, rng), (s) => ({ ...healthyQuality(s, rng), copied: 0.4 }), '/runs/1/pairs/step-1100.png');
    const w = fed.returned.find((x) => x.code === 'memorisation')!;
    expect(w.step).toBe(1100);
    expect(w.pairPath).toBe('/runs/1/pairs/step-1100.png');
    expect(w.message).toMatch(/^40% of the samples are near copies of training images \(the picture shows one/);
    expect(w.advice).toContain('the set has 500');
    // Re-confirmed at every evaluation; one without a picture keeps the last picture.
    expect(fed.returned.filter((x) => x.code === 'memorisation').map((x) => x.lastStep)).toEqual([1100, 1200]);
    fed.monitor.observeQuality(point(1300, 40, { copied: 0.5 }), null);
    const kept = fed.monitor.warnings().find((x) => x.code === 'memorisation')!;
    expect(kept).toMatchObject({ step: 1100, lastStep: 1300, pairPath: '/runs/1/pairs/step-1100.png' });
    expect(kept.message).toMatch(/^50% of the samples/);
  });

  it('stays quiet at a few copies', () => {
    const monitor = new HealthMonitor(context());
    expect(evaluate(monitor, rising(20), () => ({ copied: MEMORISED_COPIED - 0.05 }))).toEqual([]);
  });
});

describe('HealthMonitor: plateau', () => {
  it('fires on a flat high tail and the verdict is converged', () => {
    const rng = new Prng(40);
    const flat = (s: number) => ({ ...healthyQuality(s, rng), score: 70 + between(rng, -0.5, 0.5) });
    const fed = feed(start(), 0, 2000, (s) => healthyStep(s, rng), (s) => healthyQuality(s, rng));
    feed(fed, 2001, 2900, (s) => healthyStep(s, rng), flat);
    expect(codes(fed.returned)).toEqual([]);
    feed(fed, 2901, TOTAL, (s) => healthyStep(s, rng), flat);
    expect(codes(fed.returned)).toEqual(['plateau']);
    const w = fed.returned[0]!;
    expect(w.message).toMatch(/^The quality score, averaged over its last 3 measurements, has not gained more than 2 points since step 2,\d00 \(7\d then, 7\d now; \d+ measurements and 1,\d00 steps since\)\.$/);
    expect(w.advice).toMatch(/^The run has done what it can/);
    const verdict = fed.monitor.verdict({ status: 'completed', step: TOTAL });
    expect(verdict.code).toBe('converged');
    expect(verdict.text).toMatch(/^varied samples, no longer improving \(quality 7\d\)$/);
  });

  it('suggests other settings when the plateau is low', () => {
    const monitor = new HealthMonitor(context());
    const scores = [...rising(8).map((s) => s / 2), ...Array<number>(20).fill(35)];
    const w = evaluate(monitor, scores).find((x) => x.code === 'plateau')!;
    expect(w.advice).toMatch(/^More steps with these settings will not help much; try turning augmentation on/);
  });

  it('waits for a quarter of the run and several evaluations', () => {
    const monitor = new HealthMonitor(context());
    // Flat from step 500 to 1400: 900 steps, less than a quarter of 4,000.
    expect(evaluate(monitor, [5, 20, 40, 60, 70, 70, 70, 70, 70, 70, 70, 70, 70, 70])).toEqual([]);
  });

  it('counts as a record only a gain of more than two points in the score smoothed over three evaluations', () => {
    // Smoothed: 50, 50, 50, 51, 52.3 (a record: over 50 by more than 2), 53.7 (not over 52.3 by 2).
    const points = [point(100, 50), point(200, 50), point(300, 50), point(400, 53), point(500, 54), point(600, 54)];
    expect(scoreRecord(points)!.point.step).toBe(500);
    // One lucky evaluation is not a record on its own.
    expect(scoreRecord([point(100, 50), point(200, 50), point(300, 55), point(400, 50)])!.point.step).toBe(100);
  });
});

describe('HealthMonitor: still noise', () => {
  it('fires once a third of the run has passed with the score near 0, and the verdict is noise', () => {
    const rng = new Prng(50);
    const noise = (s: number) => ({ ...healthyQuality(s, rng), score: between(rng, 2, 8), variety: between(rng, 0.5, 0.7) });
    const fed = feed(start(), 0, 1100, (s) => healthyStep(s, rng), noise);
    expect(codes(fed.returned)).not.toContain('noise');
    feed(fed, 1101, 2000, (s) => healthyStep(s, rng), noise);
    const w = fed.returned.find((x) => x.code === 'noise')!;
    expect(w.step).toBe(1200);
    expect(w.message).toMatch(/^After 1,200 of 4,000 steps the samples still look like noise \(quality \d and then \d/);
    expect(w.advice).toMatch(/^Check that the training images are what you expect/);
    const verdict = fed.monitor.verdict({ status: 'stopped', step: 2000 });
    expect(verdict.code).toBe('noise');
    expect(verdict.text).toMatch(/^noise: the samples do not look like the data yet \(quality \d\)$/);
  });
});

describe('HealthMonitor: verdict', () => {
  it('is diverged when the trainer stopped at non-finite losses, whatever the scores', () => {
    const monitor = new HealthMonitor(context());
    evaluate(monitor, rising(10));
    expect(monitor.verdict({ status: 'diverged', step: 1234 })).toEqual({
      code: 'diverged',
      text: 'diverged: the losses became infinite or not a number at step 1,234',
      step: 1234,
      score: 70,
    });
  });

  it('is too short to judge with fewer than three evaluations after the warm-up', () => {
    const monitor = new HealthMonitor(context());
    expect(monitor.verdict({ status: 'stopped', step: 0 })).toEqual({ code: 'too-short', text: 'too short to judge', step: 0, score: null });
    monitor.observeQuality(point(0, 3), null);
    monitor.observeQuality(point(400, 12), null);
    monitor.observeQuality(point(500, 14), null);
    expect(monitor.verdict({ status: 'stopped', step: 500 })).toEqual({ code: 'too-short', text: 'too short to judge (quality 14)', step: 500, score: 14 });
  });

  it('is noise, collapsed or memorised from the last evaluation, in that order', () => {
    const last = (more: Partial<QualityPoint>) => {
      const monitor = new HealthMonitor(context());
      evaluate(monitor, rising(10));
      monitor.observeQuality(point(1100, 60, more), null);
      return monitor.verdict(DONE);
    };
    expect(last({ score: NOISE_SCORE - 5, variety: 0.1, copied: 0.9 }).code).toBe('diverged'); // fell from 70
    expect(last({ variety: 0.1, copied: 0.9 })).toMatchObject({ code: 'collapsed', text: 'collapsed: the samples are nearly all alike (variety 0.10, quality 60)' });
    expect(last({ copied: 0.3 })).toMatchObject({ code: 'memorised', text: 'memorised: 30% of the samples are near copies of training images (quality 60)' });
    const noise = new HealthMonitor(context());
    evaluate(noise, [3, 5, 4, 6, 5, 4, 6, 5], () => ({ variety: 0.1 }));
    expect(noise.verdict(DONE).code).toBe('noise');
  });

  it('follows the final state, not the warnings raised on the way', () => {
    const monitor = new HealthMonitor(context());
    // Collapse in the middle of the run, then recovery and a rising score.
    const warnings = evaluate(monitor, rising(30), (i) => ({ variety: i >= 10 && i < 13 ? 0.1 : 0.9 }));
    expect(codes(warnings)).toEqual(['mode-collapse']);
    expect(monitor.verdict(DONE).code).toBe('improving');
  });

  it('treats a failed session like a stopped one', () => {
    const monitor = new HealthMonitor(context());
    evaluate(monitor, rising(10));
    expect(monitor.verdict({ status: 'failed', step: 1000 }).code).toBe('improving');
  });
});

describe('HealthMonitor: a resumed run', () => {
  it('keeps earlier warnings without raising them again, and re-confirms them as updates', () => {
    const first = new HealthMonitor(context());
    const low = (i: number) => ({ variety: i >= 9 ? 0.1 : 0.9 });
    const scores = rising(12);
    evaluate(first, scores, low);
    const earlier = first.warnings();
    expect(codes(earlier)).toEqual(['mode-collapse']);
    const history = scores.map((s, i) => point((i + 1) * EVERY, s, low(i)));

    const resumed = new HealthMonitor(context(), { warnings: earlier, quality: history });
    expect(resumed.warnings()).toEqual(earlier);
    const again = resumed.observeQuality(point(1300, 70, { variety: 0.1 }), null);
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ code: 'mode-collapse', step: earlier[0]!.step, lastStep: 1300 });
    expect(resumed.warnings()).toHaveLength(1);
  });

  it('passes on a re-confirmation at once after going back to an older checkpoint', () => {
    const earlier: RunWarning = { code: 'mode-collapse', step: 2500, lastStep: 3000, message: 'm', advice: 'a', pairPath: null };
    const history = rising(30).map((s, i) => point((i + 1) * EVERY, s, { variety: i >= 24 ? 0.1 : 0.9 }));
    const resumed = new HealthMonitor(context(), { warnings: [earlier], quality: history });
    resumed.observeQuality(point(2100, 60, { variety: 0.1 }), null);
    const again = resumed.observeQuality(point(2200, 60, { variety: 0.1 }), null);
    expect(again).toMatchObject([{ code: 'mode-collapse', step: 2500, lastStep: 2200 }]);
  });

  it('uses the earlier history for the plateau and the verdict', () => {
    const history = [...rising(15), ...Array<number>(8).fill(70)].map((s, i) => point((i + 1) * EVERY, s));
    const resumed = new HealthMonitor(context(), { warnings: [], quality: history });
    // Steps 1,600-2,300 were flat before (the smoothed score's record is at 1,600); three more
    // flat evaluations make a quarter of the run.
    const raised = [2400, 2500, 2600].flatMap((s) => [...resumed.observeQuality(point(s, 70), null)]);
    expect(codes(raised)).toEqual(['plateau']);
    expect(raised[0]!.message).toContain('since step 1,600');
    expect(resumed.verdict(DONE).code).toBe('converged');
  });

  it('drops the history past an evaluation that goes back in time (resumed from an older checkpoint)', () => {
    const monitor = new HealthMonitor(context());
    evaluate(monitor, [...rising(20), 70, 10, 10]); // fell: diverged
    expect(monitor.verdict(DONE).code).toBe('diverged');
    monitor.observeQuality(point(2000, 70), null); // back to step 2,000
    expect(monitor.verdict(DONE).code).toBe('improving');
  });
});
