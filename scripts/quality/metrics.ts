/**
 * Sample-quality metrics in a feature space (here: the bench classifier's penultimate layer),
 * computed in float64 JavaScript:
 *  - FID (Heusel et al. 2017): the Fréchet distance between Gaussians fitted to two feature sets,
 *    |mu1 - mu2|² + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^{1/2}). The trace term is taken as
 *    Σ sqrt(λ) over the eigenvalues λ of the symmetric PSD matrix S1^{1/2} S2 S1^{1/2}, which has
 *    the eigenvalues of S1 S2 (Jacobi, see ./linalg), with rounding noise below 0 clamped.
 *  - KID (Bińkowski et al. 2018): the unbiased estimate of MMD² with the cubic polynomial kernel
 *    k(x, y) = (xᵀy / d + 1)³, averaged over random subsets of both sets.
 *  - The class histogram of a classifier's predictions and its entropy in bits (log2(10) for ten
 *    equally frequent classes, 0 when every sample is one class): a one-number diversity summary.
 */
import { meanAndCovariance, matMul, sqrtPsd, symmetricEigen, type FeatureMatrix } from './linalg';
import { Prng } from '../../src/main/core/engine/ml/rng';

export interface GaussianStats {
  d: number;
  mean: Float64Array;
  cov: Float64Array;
}

export function gaussianStats(m: FeatureMatrix): GaussianStats {
  const { mean, cov } = meanAndCovariance(m);
  return { d: m.d, mean, cov };
}

/** The Fréchet distance between two Gaussians given by their means and covariances. */
export function frechetDistance(a: GaussianStats, b: GaussianStats): number {
  const d = a.d;
  if (b.d !== d) throw new Error(`FID of ${a.d}- and ${b.d}-dimensional features`);
  let meanTerm = 0;
  for (let i = 0; i < d; i++) {
    const diff = a.mean[i]! - b.mean[i]!;
    meanTerm += diff * diff;
  }
  let traces = 0;
  for (let i = 0; i < d; i++) traces += a.cov[i * d + i]! + b.cov[i * d + i]!;
  const root = sqrtPsd(a.cov, d);
  const inner = matMul(matMul(root, b.cov, d, d, d), root, d, d, d);
  const { values } = symmetricEigen(inner, d);
  let traceSqrt = 0;
  for (const v of values) traceSqrt += Math.sqrt(Math.max(v, 0));
  // Tiny negative results are rounding: the distance is a squared norm.
  return Math.max(meanTerm + traces - 2 * traceSqrt, 0);
}

export function fid(x: FeatureMatrix, y: FeatureMatrix): number {
  return frechetDistance(gaussianStats(x), gaussianStats(y));
}

/**
 * Inner products of the rows of x (m x d) with the rows of y (m' x d): an m x m' row-major
 * matrix. The bench passes one that runs on the TensorFlow.js backend; the default is plain JS.
 */
export type GramFn = (x: Float64Array, y: Float64Array, m: number, mPrime: number, d: number) => Float64Array | Float32Array;

export const jsGram: GramFn = (x, y, m, mPrime, d) => {
  const out = new Float64Array(m * mPrime);
  for (let i = 0; i < m; i++) {
    const xo = i * d;
    for (let j = 0; j < mPrime; j++) {
      const yo = j * d;
      let s = 0;
      for (let k = 0; k < d; k++) s += x[xo + k]! * y[yo + k]!;
      out[i * mPrime + j] = s;
    }
  }
  return out;
};

export interface KidOptions {
  /** Random subsets averaged over (default 100, as Bińkowski et al.). */
  subsets?: number;
  /** Rows per subset from each set (default 1000, at most the smaller set's size). */
  subsetSize?: number;
  seed?: number;
  gram?: GramFn;
}

export interface KidResult {
  /** Mean over the subsets of the unbiased MMD² estimate. */
  kid: number;
  /** Standard deviation of the subsets' estimates. */
  std: number;
  subsets: number;
  subsetSize: number;
}

/** m distinct indices from [0, n), drawn from rng (a partial Fisher–Yates shuffle). */
function sampleWithoutReplacement(n: number, m: number, rng: Prng): Float64Array {
  const pool = new Uint32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  const out = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
    out[i] = pool[i]!;
  }
  return out;
}

function gatherRows(m: FeatureMatrix, rows: Float64Array): Float64Array {
  const out = new Float64Array(rows.length * m.d);
  for (let r = 0; r < rows.length; r++) out.set(m.data.subarray(rows[r]! * m.d, (rows[r]! + 1) * m.d), r * m.d);
  return out;
}

/** Σ of the cubic kernel over a Gram block, the diagonal left out when `offDiagonal`. */
function kernelSum(gram: Float64Array | Float32Array, m: number, d: number, offDiagonal: boolean): number {
  let s = 0;
  const cols = gram.length / m;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < cols; j++) {
      if (offDiagonal && i === j) continue;
      const k = gram[i * cols + j]! / d + 1;
      s += k * k * k;
    }
  }
  return s;
}

/** Unbiased MMD² of two equal-size samples (m rows each) under the cubic polynomial kernel. */
export function mmd2Unbiased(x: Float64Array, y: Float64Array, m: number, d: number, gram: GramFn = jsGram): number {
  if (m < 2) throw new Error('MMD² needs at least 2 rows per sample');
  const kxx = kernelSum(gram(x, x, m, m, d), m, d, true);
  const kyy = kernelSum(gram(y, y, m, m, d), m, d, true);
  const kxy = kernelSum(gram(x, y, m, m, d), m, d, false);
  return (kxx + kyy) / (m * (m - 1)) - (2 * kxy) / (m * m);
}

export function kid(x: FeatureMatrix, y: FeatureMatrix, opts: KidOptions = {}): KidResult {
  if (x.d !== y.d) throw new Error(`KID of ${x.d}- and ${y.d}-dimensional features`);
  const subsets = opts.subsets ?? 100;
  const subsetSize = Math.min(opts.subsetSize ?? 1000, x.n, y.n);
  if (subsetSize < 2) throw new Error('KID needs at least 2 rows in each set');
  const rng = new Prng(opts.seed ?? 1);
  const estimates: number[] = [];
  for (let s = 0; s < subsets; s++) {
    const xs = gatherRows(x, sampleWithoutReplacement(x.n, subsetSize, rng));
    const ys = gatherRows(y, sampleWithoutReplacement(y.n, subsetSize, rng));
    estimates.push(mmd2Unbiased(xs, ys, subsetSize, x.d, opts.gram));
  }
  const mean = estimates.reduce((a, b) => a + b, 0) / estimates.length;
  const variance = estimates.length > 1 ? estimates.reduce((a, b) => a + (b - mean) ** 2, 0) / (estimates.length - 1) : 0;
  return { kid: mean, std: Math.sqrt(variance), subsets, subsetSize };
}

/** How many of `labels` fall in each of `classes` classes. */
export function classHistogram(labels: ArrayLike<number>, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= classes) throw new Error(`label ${c} is outside 0..${classes - 1}`);
    counts[c]!++;
  }
  return counts;
}

/** Shannon entropy, in bits, of the distribution the counts describe (0 for one class). */
export function histogramEntropy(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  let h = 0;
  for (const c of counts) {
    if (c > 0) {
      const p = c / total;
      h -= p * Math.log2(p);
    }
  }
  return h === 0 ? 0 : h; // no -0
}
