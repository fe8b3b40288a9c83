// The quality benchmark's metrics (scripts/quality/): FID, KID, the class histogram's entropy and
// the Jacobi eigen-decomposition under FID's trace term.
import { describe, expect, it } from 'vitest';

import { featureMatrix, matMul, meanAndCovariance, sqrtPsd, symmetricEigen, type FeatureMatrix } from '../../../scripts/quality/linalg';
import { classHistogram, fid, frechetDistance, histogramEntropy, kid, mmd2Unbiased, type GaussianStats } from '../../../scripts/quality/metrics';
import { Prng } from '../../../src/main/core/engine/ml/rng';

/** A standard normal draw (Box–Muller). */
function normal(rng: Prng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** n draws of mean + L z (z standard normal): covariance L Lᵀ. */
function gaussianSample(n: number, mean: number[], chol: number[][], seed: number): FeatureMatrix {
  const d = mean.length;
  const rng = new Prng(seed);
  const data = new Float64Array(n * d);
  const z = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < d; k++) z[k] = normal(rng);
    for (let i = 0; i < d; i++) {
      let v = mean[i]!;
      for (let k = 0; k < d; k++) v += chol[i]![k]! * z[k]!;
      data[r * d + i] = v;
    }
  }
  return featureMatrix(n, d, data);
}

function diagonal(values: number[]): Float64Array {
  const d = values.length;
  const m = new Float64Array(d * d);
  values.forEach((v, i) => (m[i * d + i] = v));
  return m;
}

/** A random orthogonal d x d matrix (Gram–Schmidt on Gaussian columns), row-major. */
function randomOrthogonal(d: number, seed: number): Float64Array {
  const rng = new Prng(seed);
  const cols: Float64Array[] = [];
  for (let c = 0; c < d; c++) {
    const v = Float64Array.from({ length: d }, () => normal(rng));
    for (const u of cols) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += u[i]! * v[i]!;
      for (let i = 0; i < d; i++) v[i]! -= dot * u[i]!;
    }
    const norm = Math.hypot(...v);
    cols.push(v.map((x) => x / norm));
  }
  const q = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let c = 0; c < d; c++) q[i * d + c] = cols[c]![i]!;
  return q;
}

function transpose(a: Float64Array, d: number): Float64Array {
  const t = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) t[j * d + i] = a[i * d + j]!;
  return t;
}

describe('symmetric eigen-decomposition (Jacobi)', () => {
  it('finds the eigenpairs of a symmetric matrix: A v = λ v, eigenvalues as built', () => {
    const d = 12;
    const wanted = Array.from({ length: d }, (_, i) => (i - 4) * 1.5); // negative, zero and positive
    const q = randomOrthogonal(d, 3);
    const a = matMul(matMul(q, diagonal(wanted), d, d, d), transpose(q, d), d, d, d);
    const { values, vectors } = symmetricEigen(a, d);
    expect([...values].sort((x, y) => x - y)).toEqual(wanted.map((w) => expect.closeTo(w, 10)));
    for (let k = 0; k < d; k++) {
      for (let i = 0; i < d; i++) {
        let av = 0;
        for (let j = 0; j < d; j++) av += a[i * d + j]! * vectors[j * d + k]!;
        expect(av).toBeCloseTo(values[k]! * vectors[i * d + k]!, 10);
      }
    }
  });

  it('takes the square root of a PSD matrix: R R = S', () => {
    const d = 6;
    const q = randomOrthogonal(d, 5);
    const s = matMul(matMul(q, diagonal([4, 1, 0.25, 9, 0, 2]), d, d, d), transpose(q, d), d, d, d);
    const r = sqrtPsd(s, d);
    const rr = matMul(r, r, d, d, d);
    rr.forEach((v, i) => expect(v).toBeCloseTo(s[i]!, 10));
  });
});

describe('FID', () => {
  const chol = [
    [1.0, 0, 0, 0],
    [0.5, 0.8, 0, 0],
    [-0.3, 0.2, 1.2, 0],
    [0.1, -0.4, 0.3, 0.6],
  ];

  it('is ~0 for a set against itself', () => {
    const x = gaussianSample(2000, [1, -2, 0.5, 3], chol, 1);
    expect(Math.abs(fid(x, x))).toBeLessThan(1e-9);
  });

  it('matches the closed form for diagonal covariances: |mu1-mu2|² + Σ (a_i + b_i - 2 sqrt(a_i b_i))', () => {
    const a = [1, 4, 0.25, 2.5, 9];
    const b = [4, 1, 1, 2.5, 0.36];
    const mu1 = [0, 1, 2, 3, 4];
    const mu2 = [1, 1, 0, 3, 3.5];
    const expected =
      mu1.reduce((s, m, i) => s + (m - mu2[i]!) ** 2, 0) + a.reduce((s, ai, i) => s + ai + b[i]! - 2 * Math.sqrt(ai * b[i]!), 0);
    const p: GaussianStats = { d: 5, mean: Float64Array.from(mu1), cov: diagonal(a) };
    const q: GaussianStats = { d: 5, mean: Float64Array.from(mu2), cov: diagonal(b) };
    expect(frechetDistance(p, q)).toBeCloseTo(expected, 10);
    // Rotating both Gaussians by the same orthogonal map leaves the distance unchanged, and
    // makes the covariances full (the trace term then goes through the eigen-decomposition).
    const d = 5;
    const rot = randomOrthogonal(d, 11);
    const rotate = (g: GaussianStats): GaussianStats => ({
      d,
      mean: matMul(rot, g.mean, d, d, 1),
      cov: matMul(matMul(rot, g.cov, d, d, d), transpose(rot, d), d, d, d),
    });
    expect(frechetDistance(rotate(p), rotate(q))).toBeCloseTo(expected, 9);
  });

  it('is symmetric and agrees with a non-commuting 2x2 case worked by hand', () => {
    // S1 = diag(4, 1), S2 = [[2, 1], [1, 2]]: S1^{1/2} S2 S1^{1/2} = [[8, 2], [2, 2]] with
    // eigenvalues 5 ± sqrt(13), so Tr sqrt = sqrt(5 + sqrt 13) + sqrt(5 - sqrt 13).
    const p: GaussianStats = { d: 2, mean: Float64Array.from([0, 0]), cov: Float64Array.from([4, 0, 0, 1]) };
    const q: GaussianStats = { d: 2, mean: Float64Array.from([1, 2]), cov: Float64Array.from([2, 1, 1, 2]) };
    const traceSqrt = Math.sqrt(5 + Math.sqrt(13)) + Math.sqrt(5 - Math.sqrt(13));
    const expected = 5 + 5 + 4 - 2 * traceSqrt;
    expect(frechetDistance(p, q)).toBeCloseTo(expected, 10);
    expect(frechetDistance(q, p)).toBeCloseTo(expected, 10);
  });

  it('of two samples approaches the closed form of their Gaussians', () => {
    const a = [1, 4, 0.25];
    const b = [2, 1, 1];
    const x = gaussianSample(40_000, [0, 0, 0], a.map((v, i) => a.map((_, j) => (i === j ? Math.sqrt(v) : 0))), 7);
    const y = gaussianSample(40_000, [1, 0, 0], b.map((v, i) => b.map((_, j) => (i === j ? Math.sqrt(v) : 0))), 8);
    const expected = 1 + a.reduce((s, ai, i) => s + (Math.sqrt(ai) - Math.sqrt(b[i]!)) ** 2, 0);
    expect(fid(x, y)).toBeCloseTo(expected, 1);
  });

  it('computes the mean and the unbiased covariance', () => {
    const m = featureMatrix(3, 2, [1, 2, 3, 4, 5, 9]);
    const { mean, cov } = meanAndCovariance(m);
    expect([...mean]).toEqual([3, 5]);
    expect([...cov]).toEqual([4, 7, 7, 13]);
  });
});

describe('KID', () => {
  it('computes the unbiased MMD² of a small case worked by hand', () => {
    // d = 1, k(a, b) = (ab + 1)³: Kxx off-diagonal 2·1, Kyy 2·343, Kxy 1 + 1 + 27 + 64 = 93.
    expect(mmd2Unbiased(Float64Array.from([0, 1]), Float64Array.from([2, 3]), 2, 1)).toBeCloseTo((2 + 686) / 2 - (2 * 93) / 4, 10);
  });

  const chol = [
    [1, 0, 0, 0, 0, 0],
    [0.3, 1, 0, 0, 0, 0],
    [0, 0.2, 0.9, 0, 0, 0],
    [0, 0, 0.1, 1.1, 0, 0],
    [0.2, 0, 0, 0, 0.7, 0],
    [0, 0, 0, 0.4, 0, 1],
  ];
  const x = gaussianSample(1500, [0, 0, 0, 0, 0, 0], chol, 21);
  const same = gaussianSample(1500, [0, 0, 0, 0, 0, 0], chol, 22);
  const shifted = gaussianSample(1500, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], chol, 23);

  it('is ~0 for two samples of one distribution and clearly positive for shifted ones', () => {
    const a = kid(x, same, { subsets: 20, subsetSize: 300, seed: 1 });
    const b = kid(x, shifted, { subsets: 20, subsetSize: 300, seed: 1 });
    expect(a.subsetSize).toBe(300);
    expect(Math.abs(a.kid)).toBeLessThan(0.01);
    expect(b.kid).toBeGreaterThan(0.2);
    expect(b.kid).toBeGreaterThan(10 * Math.abs(a.kid) + 5 * b.std / Math.sqrt(b.subsets));
  });

  it('caps the subset size at the smaller set and takes a custom Gram function', () => {
    const small = featureMatrix(50, 6, same.data.subarray(0, 300));
    let calls = 0;
    const r = kid(x, small, {
      subsets: 3,
      gram: (p, q, m, mPrime, d) => {
        calls++;
        const out = new Float32Array(m * mPrime);
        for (let i = 0; i < m; i++) for (let j = 0; j < mPrime; j++) {
          let s = 0;
          for (let k = 0; k < d; k++) s += p[i * d + k]! * q[j * d + k]!;
          out[i * mPrime + j] = s;
        }
        return out;
      },
    });
    expect(r.subsetSize).toBe(50);
    expect(calls).toBe(9);
    expect(Number.isFinite(r.kid)).toBe(true);
  });
});

describe('class histogram', () => {
  it('counts predictions per class', () => {
    expect(classHistogram([0, 3, 3, 9, 0, 0], 10)).toEqual([3, 0, 0, 2, 0, 0, 0, 0, 0, 1]);
    expect(() => classHistogram([10], 10)).toThrow(/outside/);
  });

  it('has entropy 0 for one class, log2(10) for ten equal classes, 1 bit for two', () => {
    expect(histogramEntropy(classHistogram([4, 4, 4, 4], 10))).toBe(0);
    expect(histogramEntropy(new Array(10).fill(7))).toBeCloseTo(Math.log2(10), 12);
    expect(histogramEntropy([5, 0, 5, 0, 0, 0, 0, 0, 0, 0])).toBeCloseTo(1, 12);
    expect(histogramEntropy([0, 0])).toBe(0);
  });
});
