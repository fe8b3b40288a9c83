import { describe, expect, it } from 'vitest';
import { errorMessage } from '../../../src/renderer/src/lib/errors';
import { etaSeconds, RateMeter } from '../../../src/renderer/src/lib/eta';
import {
  backendLabel,
  formatDuration,
  formatDurationWords,
  formatMetric,
  formatNumber,
  formatPercent,
  formatRate,
  modelLabel,
  plural,
  secondsBetween,
} from '../../../src/renderer/src/lib/format';

describe('format', () => {
  it('durations', () => {
    expect(formatDuration(9)).toBe('0:09');
    expect(formatDuration(247)).toBe('4:07');
    expect(formatDuration(3909)).toBe('1:05:09');
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(Number.NaN)).toBe('—');
    expect(formatDuration(-1)).toBe('—');
    expect(formatDurationWords(45)).toBe('45 s');
    expect(formatDurationWords(180)).toBe('3 min');
    expect(formatDurationWords(4800)).toBe('1 h 20 min');
  });

  it('numbers, rates, percents', () => {
    expect(formatNumber(1234567)).toBe('1,234,567');
    expect(formatNumber(1.236, 2)).toBe('1.24');
    expect(formatNumber(undefined)).toBe('—');
    expect(formatRate(12.34)).toBe('12.3 images/s');
    expect(formatRate(1234.5)).toBe('1,235 images/s');
    expect(formatRate(null)).toBe('—');
    expect(formatPercent(5, 10)).toBe('50 %');
    expect(formatPercent(11, 10)).toBe('100 %');
    expect(formatPercent(1, 0)).toBe('—');
    expect(formatMetric(0.123456)).toBe('0.1235');
    expect(formatMetric(Number.POSITIVE_INFINITY)).toBe('—');
    expect(plural(1, 'file')).toBe('1 file');
    expect(plural(2000, 'file')).toBe('2,000 files');
  });

  it('labels', () => {
    expect(modelLabel('dcgan')).toBe('DCGAN');
    expect(modelLabel('cdcgan')).toBe('Conditional DCGAN');
    expect(modelLabel('other')).toBe('other');
    expect(backendLabel('tensorflow-gpu')).toBe('GPU (CUDA)');
    expect(backendLabel(null)).toBe('—');
  });

  it('seconds between timestamps', () => {
    expect(secondsBetween('2024-01-01T00:00:00Z', '2024-01-01T00:01:30Z')).toBe(90);
    expect(secondsBetween('2024-01-01T00:00:00Z', null, Date.parse('2024-01-01T00:00:10Z'))).toBe(10);
    expect(secondsBetween('nope', null)).toBeNull();
  });
});

describe('eta', () => {
  it('estimates time left from a steady rate', () => {
    const m = new RateMeter(10, 0.5);
    expect(m.perSecond).toBeNull();
    for (let t = 0; t <= 10; t++) m.observe(t * 20, t * 1000);
    expect(m.perSecond).toBeCloseTo(20, 5);
    expect(etaSeconds(200, 1000, m.perSecond)).toBeCloseTo(40, 5);
  });

  it('merges bursts shorter than the window', () => {
    const m = new RateMeter(10, 1);
    m.observe(0, 0);
    m.observe(5, 100);
    expect(m.perSecond).toBeNull();
    m.observe(10, 1000);
    expect(m.perSecond).toBeCloseTo(10, 5);
    m.reset();
    expect(m.perSecond).toBeNull();
  });

  it('says nothing without a rate or total', () => {
    expect(etaSeconds(1, 10, null)).toBeNull();
    expect(etaSeconds(1, 10, 0)).toBeNull();
    expect(etaSeconds(1, 0, 5)).toBeNull();
    expect(etaSeconds(20, 10, 5)).toBe(0);
  });
});

describe('errorMessage', () => {
  it('keeps the api message and drops stacks and IPC prefixes', () => {
    expect(errorMessage(new Error('there is no dataset "x"'))).toBe('There is no dataset "x"');
    expect(errorMessage(new Error("Error invoking remote method 'runs:get': Error: run 3 not found"))).toBe('Run 3 not found');
    const e = new Error('boom happened');
    e.message = 'boom happened\n    at foo (file.js:1:1)';
    expect(errorMessage(e)).toBe('Boom happened');
    expect(errorMessage('plain text')).toBe('Plain text');
    expect(errorMessage({ message: 'from an object' })).toBe('From an object');
    expect(errorMessage(42)).toBe('Something went wrong.');
    expect(errorMessage(new Error('    at x (y.js:1:1)'), 'fallback')).toBe('fallback');
    expect(errorMessage('x'.repeat(1000)).length).toBeLessThanOrEqual(401);
  });
});
