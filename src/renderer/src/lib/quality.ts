// Words for how well a run is going: the quality score, warnings and the end-of-run verdict. Pure.

import type { WarningInfo } from '../../../shared/contract';
import type { QualityPoint, RunVerdict, VerdictCode, WarningCode } from '../../../shared/types';
import type { XY } from './series';

/** What the quality score is, in one sentence (shown beside its chart). */
export const QUALITY_EXPLANATION =
  'Quality compares 256 samples from fixed latent vectors with the training images in the features of a fixed random network: 0 is as far as random noise, 50 as one training image drawn every time, 100 as close as the data’s own images.';

/** The quality score as shown: a whole number 0..100, or "—". */
export function formatScore(score: number | null | undefined): string {
  if (score === null || score === undefined || !Number.isFinite(score)) return '—';
  return String(Math.round(Math.min(100, Math.max(0, score))));
}

/** Quality points as chart points (x = step), ordered by step. */
export function qualityCurve(points: readonly QualityPoint[]): XY[] {
  return points.map((p) => ({ x: p.step, y: p.score })).sort((a, b) => a.x - b.x);
}

/** Adds a quality point (a later evaluation at the same step replaces it), ordered by step. */
export function mergeQuality(points: readonly QualityPoint[], incoming: readonly QualityPoint[]): QualityPoint[] {
  const byStep = new Map<number, QualityPoint>();
  for (const p of points) byStep.set(p.step, p);
  for (const p of incoming) byStep.set(p.step, p);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/**
 * Adds warnings to a run's list: a code seen before is updated in place (keeping where it first
 * appeared in the list); a new one goes at the end.
 */
export function mergeWarnings(warnings: readonly WarningInfo[], incoming: readonly WarningInfo[]): WarningInfo[] {
  const list = [...warnings];
  for (const w of incoming) {
    const at = list.findIndex((x) => x.code === w.code);
    if (at >= 0) list[at] = { ...w, step: Math.min(list[at]!.step, w.step) };
    else list.push(w);
  }
  return list;
}

const WARNING_TITLES: Record<WarningCode, string> = {
  'd-overpowering': 'The discriminator is winning too easily',
  'mode-collapse': 'The samples look alike (mode collapse)',
  memorisation: 'Samples copy training images',
  plateau: 'Quality has stopped improving',
  divergence: 'Training is diverging',
  noise: 'The samples are still noise',
};

/** A warning's heading. */
export function warningTitle(code: WarningCode | string): string {
  return WARNING_TITLES[code as WarningCode] ?? code;
}

/** How a verdict should look: good (green), neutral, warn (amber) or bad (red). */
export type Tone = 'good' | 'neutral' | 'warn' | 'bad';

const VERDICT_TONES: Record<VerdictCode, Tone> = {
  improving: 'good',
  converged: 'good',
  'too-short': 'neutral',
  memorised: 'warn',
  collapsed: 'bad',
  noise: 'bad',
  diverged: 'bad',
};

export function verdictTone(verdict: Pick<RunVerdict, 'code'> | null | undefined): Tone {
  return verdict ? (VERDICT_TONES[verdict.code] ?? 'neutral') : 'neutral';
}

/** Whether a verdict says the run did not work (a completed run with it is no plain success). */
export function verdictFailed(verdict: Pick<RunVerdict, 'code'> | null | undefined): boolean {
  const tone = verdictTone(verdict);
  return tone === 'bad' || tone === 'warn';
}

/**
 * The colour of a run's status badge when its verdict should change it: a completed (or stopped)
 * run whose samples did not work shows amber or red, not the green of a success; so does one that
 * raised warnings and was not judged good. Null: the status's own.
 */
export function statusTone(status: string | null | undefined, verdict: Pick<RunVerdict, 'code'> | null | undefined, warnings = 0): Tone | null {
  if (status !== 'completed' && status !== 'stopped') return null;
  if (verdictFailed(verdict)) return verdictTone(verdict);
  if (warnings > 0 && verdictTone(verdict) !== 'good') return 'warn';
  return null;
}
