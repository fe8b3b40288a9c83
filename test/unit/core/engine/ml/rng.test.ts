import { describe, expect, it } from 'vitest';
import { mixSeed, permutation, Prng } from '../../../../../src/main/core/engine/ml/rng';

describe('rng', () => {
  it('mixSeed is deterministic and separates nearby inputs', () => {
    expect(mixSeed(1, 2, 3)).toBe(mixSeed(1, 2, 3));
    const seen = new Set<number>();
    for (let step = 0; step < 1000; step++) seen.add(mixSeed(7, 2, step));
    expect(seen.size).toBe(1000);
    expect(mixSeed(1, 2)).not.toBe(mixSeed(2, 1));
  });

  it('Prng yields uniform-looking floats in [0, 1)', () => {
    const rng = new Prng(42);
    let sum = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const x = rng.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      sum += x;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
  });

  it('permutation is a permutation, seeded', () => {
    const p = permutation(1000, 5);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect([...permutation(1000, 5)]).toEqual([...p]);
    expect([...permutation(1000, 6)]).not.toEqual([...p]);
  });
});
