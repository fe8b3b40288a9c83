// Words for how a run is going (src/renderer/src/lib/quality.ts): the score, merged quality points
// and warnings, and how a verdict colours a run.
import { describe, expect, it } from 'vitest';
import type { WarningInfo } from '../../../src/shared/contract';
import type { QualityPoint } from '../../../src/shared/types';
import {
  formatScore,
  mergeQuality,
  mergeWarnings,
  QUALITY_EXPLANATION,
  qualityCurve,
  statusTone,
  verdictFailed,
  verdictTone,
  warningTitle,
} from '../../../src/renderer/src/lib/quality';

const point = (step: number, score: number): QualityPoint => ({ step, score, distance: 0, variety: 1, copied: 0, duplicates: 0, seconds: 1 });
const warning = (code: WarningInfo['code'], step: number, lastStep = step, message = 'm'): WarningInfo => ({ code, step, lastStep, message, advice: 'a', pair: null });

describe('quality', () => {
  it('shows the score as a whole number from 0 to 100', () => {
    expect(formatScore(63.4)).toBe('63');
    expect(formatScore(99.6)).toBe('100');
    expect(formatScore(-3)).toBe('0');
    expect(formatScore(140)).toBe('100');
    expect(formatScore(null)).toBe('—');
    expect(formatScore(Number.NaN)).toBe('—');
  });

  it('merges points by step and charts them in step order', () => {
    const merged = mergeQuality([point(10, 5), point(30, 20)], [point(20, 12), point(30, 22)]);
    expect(merged.map((p) => [p.step, p.score])).toEqual([
      [10, 5],
      [20, 12],
      [30, 22],
    ]);
    expect(qualityCurve([point(30, 2), point(10, 1)])).toEqual([
      { x: 10, y: 1 },
      { x: 30, y: 2 },
    ]);
  });

  it('says what the score is in one sentence', () => {
    expect(QUALITY_EXPLANATION.split(/\.\s/)).toHaveLength(1);
    expect(QUALITY_EXPLANATION).toMatch(/256 samples from fixed latent vectors/);
    expect(QUALITY_EXPLANATION).toMatch(/0 is as far as random noise, 50 as one training image drawn every time, 100 as close as the data’s own images/);
  });
});

describe('warnings', () => {
  it('updates a warning raised again in place and adds new ones at the end', () => {
    const list = [warning('noise', 10, 10), warning('plateau', 20)];
    const merged = mergeWarnings(list, [warning('noise', 10, 40, 'worse'), warning('memorisation', 45)]);
    expect(merged.map((w) => [w.code, w.step, w.lastStep])).toEqual([
      ['noise', 10, 40],
      ['plateau', 20, 20],
      ['memorisation', 45, 45],
    ]);
    expect(merged[0]!.message).toBe('worse');
    expect(list[0]!.lastStep).toBe(10);
  });

  it('has a heading for every code', () => {
    for (const code of ['d-overpowering', 'mode-collapse', 'memorisation', 'plateau', 'divergence', 'noise'] as const) {
      expect(warningTitle(code)).not.toBe(code);
    }
    expect(warningTitle('something-new')).toBe('something-new');
  });
});

describe('verdicts', () => {
  it('colours a run that did not work amber or red, even when it completed', () => {
    expect(verdictTone({ code: 'improving' })).toBe('good');
    expect(verdictTone({ code: 'converged' })).toBe('good');
    expect(verdictTone({ code: 'too-short' })).toBe('neutral');
    expect(verdictTone({ code: 'memorised' })).toBe('warn');
    for (const code of ['collapsed', 'noise', 'diverged'] as const) expect(verdictTone({ code })).toBe('bad');
    expect(verdictTone(null)).toBe('neutral');
    expect(verdictFailed({ code: 'noise' })).toBe(true);
    expect(verdictFailed({ code: 'improving' })).toBe(false);
    expect(verdictFailed({ code: 'too-short' })).toBe(false);

    expect(statusTone('completed', { code: 'noise' })).toBe('bad');
    expect(statusTone('completed', { code: 'memorised' })).toBe('warn');
    expect(statusTone('completed', { code: 'improving' })).toBeNull();
    expect(statusTone('completed', null)).toBeNull();
    expect(statusTone('running', { code: 'collapsed' })).toBeNull();
    // Warnings and no good verdict: amber, not green.
    expect(statusTone('completed', { code: 'too-short' }, 1)).toBe('warn');
    expect(statusTone('stopped', null, 2)).toBe('warn');
    expect(statusTone('completed', { code: 'improving' }, 1)).toBeNull();
    expect(statusTone('completed', { code: 'noise' }, 1)).toBe('bad');
  });
});
