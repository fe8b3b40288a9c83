import { describe, expect, it } from 'vitest';
import { DownsampledSeries, downsample } from '../../../src/renderer/src/lib/series';

describe('DownsampledSeries', () => {
  it('keeps every point while under the cap', () => {
    const s = new DownsampledSeries(10);
    for (let i = 0; i < 10; i++) s.push(i, i * 2);
    expect(s.points.map((p) => p.x)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.every).toBe(1);
  });

  it('never holds more than the cap (plus the newest point) and samples evenly', () => {
    const s = new DownsampledSeries(100);
    for (let i = 0; i < 10_000; i++) {
      s.push(i, Math.sin(i));
      expect(s.points.length).toBeLessThanOrEqual(101);
    }
    expect(s.count).toBe(10_000);
    expect(s.points[0]!.x).toBe(0);
    // Always shows the newest point.
    expect(s.points[s.points.length - 1]!.x).toBe(9999);
    // Kept points (apart from the newest) are multiples of the stride.
    const kept = s.points.slice(0, -1);
    for (const p of kept) expect(p.x % s.every).toBe(0);
    // Ordered, no duplicates.
    for (let i = 1; i < s.points.length; i++) expect(s.points[i]!.x).toBeGreaterThan(s.points[i - 1]!.x);
    expect(s.points.length).toBeGreaterThan(40);
  });

  it('clears', () => {
    const s = new DownsampledSeries(4);
    for (let i = 0; i < 50; i++) s.push(i, i);
    s.clear();
    expect(s.points).toEqual([]);
    expect(s.every).toBe(1);
    s.push(7, 1);
    expect(s.points).toEqual([{ x: 7, y: 1 }]);
  });

  it('refuses a cap below 2', () => {
    expect(() => new DownsampledSeries(1)).toThrow();
  });
});

describe('downsample', () => {
  it('returns a copy when short enough', () => {
    const a = [1, 2, 3];
    const out = downsample(a, 5);
    expect(out).toEqual(a);
    expect(out).not.toBe(a);
  });

  it('caps the length and keeps the first and last', () => {
    const a = Array.from({ length: 1001 }, (_, i) => i);
    const out = downsample(a, 100);
    expect(out.length).toBeLessThanOrEqual(100);
    expect(out[0]).toBe(0);
    expect(out[out.length - 1]).toBe(1000);
  });
});
