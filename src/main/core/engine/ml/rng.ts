// Deterministic randomness for training. Every random draw is keyed by (run seed, step, purpose),
// never by how many draws came before, so a run resumed from a checkpoint at step n draws exactly
// what an uninterrupted run would have drawn from step n on.

/** A 32-bit integer hash of several integers (an avalanche mix per word). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    let k = Math.trunc(part) | 0;
    k = Math.imul(k ^ (k >>> 16), 0x85ebca6b);
    k = Math.imul(k ^ (k >>> 13), 0xc2b2ae35);
    k ^= k >>> 16;
    h = Math.imul(h ^ k, 0x27d4eb2f);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

/** Purposes of random draws, so two draws at the same step never share a stream. */
export const Stream = {
  fixedLatent: 1,
  discriminatorLatent: 2,
  /** Unused since G's update reuses the last D update's fake batch; kept so other streams keep their numbers. */
  generatorLatent: 3,
  shuffle: 4,
  fakeLabels: 5,
  init: 6,
  generate: 7,
  /** DiffAugment's per-image draws for D's inputs (see diff-augment.ts). */
  augment: 8,
  /** Latents of the averaged generator's batch-norm calibration (see trainer.ts). */
  emaCalibration: 9,
  /** The fixed latents of the quality evaluations during training (see trainer.ts, quality.ts). */
  qualityLatent: 10,
} as const;

/** A small, fast PRNG (a 32-bit xorshift-multiply generator) yielding floats in [0, 1). */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = mixSeed(seed) || 0x6d2b79f5;
  }

  nextUint32(): number {
    // xorshift32 step followed by a multiplicative scramble of the output.
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return Math.imul(this.state ^ (this.state >>> 15), 0x2c1b3c6d) >>> 0;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** A Fisher–Yates permutation of 0..n-1 drawn from `seed`. */
export function permutation(n: number, seed: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  const rng = new Prng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}
