/**
 * The little dense linear algebra the quality metrics need, in float64 JavaScript: feature
 * matrices (n rows of d features, row-major), their mean and covariance, and the eigenvalues of a
 * symmetric matrix by the cyclic Jacobi method (fine for d up to a few hundred).
 */

/** n rows of d values, row-major. */
export interface FeatureMatrix {
  n: number;
  d: number;
  data: Float64Array;
}

export function featureMatrix(n: number, d: number, data: ArrayLike<number>): FeatureMatrix {
  if (data.length !== n * d) throw new Error(`a ${n}x${d} feature matrix needs ${n * d} values, got ${data.length}`);
  return { n, d, data: data instanceof Float64Array ? data : Float64Array.from(data) };
}

/** The rows `indices` of m, in that order. */
export function selectRows(m: FeatureMatrix, indices: ArrayLike<number>): FeatureMatrix {
  const out = new Float64Array(indices.length * m.d);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r]!;
    if (i < 0 || i >= m.n) throw new Error(`row ${i} is outside a matrix of ${m.n} rows`);
    out.set(m.data.subarray(i * m.d, (i + 1) * m.d), r * m.d);
  }
  return { n: indices.length, d: m.d, data: out };
}

/** Mean (length d) and unbiased covariance (d x d, divided by n - 1) of the rows. */
export function meanAndCovariance(m: FeatureMatrix): { mean: Float64Array; cov: Float64Array } {
  const { n, d, data } = m;
  if (n < 2) throw new Error(`a covariance needs at least 2 rows, got ${n}`);
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    const off = r * d;
    for (let j = 0; j < d; j++) mean[j]! += data[off + j]!;
  }
  for (let j = 0; j < d; j++) mean[j]! /= n;
  const cov = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    const off = r * d;
    for (let j = 0; j < d; j++) centred[j] = data[off + j]! - mean[j]!;
    // Upper triangle only; mirrored below.
    for (let i = 0; i < d; i++) {
      const ci = centred[i]!;
      if (ci === 0) continue;
      const row = i * d;
      for (let j = i; j < d; j++) cov[row + j]! += ci * centred[j]!;
    }
  }
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const v = cov[i * d + j]! / (n - 1);
      cov[i * d + j] = v;
      cov[j * d + i] = v;
    }
  }
  return { mean, cov };
}

export interface SymmetricEigen {
  /** Eigenvalues, in no particular order. */
  values: Float64Array;
  /** Eigenvectors as the columns of a row-major n x n matrix: column k belongs to values[k]. */
  vectors: Float64Array;
  sweeps: number;
}

/**
 * Eigen-decomposition of a symmetric n x n matrix (row-major; only symmetry is assumed, the
 * input is not modified) by cyclic Jacobi rotations, each zeroing one off-diagonal pair, until
 * the off-diagonal mass is negligible next to the diagonal's.
 */
export function symmetricEigen(matrix: Float64Array, n: number, maxSweeps = 100): SymmetricEigen {
  if (matrix.length !== n * n) throw new Error(`expected ${n * n} values for a ${n}x${n} matrix, got ${matrix.length}`);
  const a = Float64Array.from(matrix);
  // Symmetrise, so that rounding in the caller's product cannot make the rotations disagree.
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (a[i * n + j]! + a[j * n + i]!);
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let sweeps = 0;
  for (; sweeps < maxSweeps; sweeps++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i]! * a[i * n + i]!;
      for (let j = i + 1; j < n; j++) off += a[i * n + j]! * a[i * n + j]!;
    }
    if (off === 0 || off <= 1e-30 * diag) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        // Skip a pair too small to change the diagonal in float64.
        if (Math.abs(apq) < 1e-18 * (Math.abs(app) + Math.abs(aqq))) {
          a[p * n + q] = 0;
          a[q * n + p] = 0;
          continue;
        }
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < n; r++) {
          if (r === p || r === q) continue;
          const arp = a[r * n + p]!;
          const arq = a[r * n + q]!;
          const np = c * arp - s * arq;
          const nq = c * arq + s * arp;
          a[r * n + p] = np;
          a[p * n + r] = np;
          a[r * n + q] = nq;
          a[q * n + r] = nq;
        }
        a[p * n + p] = app - t * apq;
        a[q * n + q] = aqq + t * apq;
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        for (let r = 0; r < n; r++) {
          const vrp = v[r * n + p]!;
          const vrq = v[r * n + q]!;
          v[r * n + p] = c * vrp - s * vrq;
          v[r * n + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i]!;
  return { values, vectors: v, sweeps };
}

/** The principal square root of a symmetric positive semi-definite matrix (negative rounding noise clamped to 0). */
export function sqrtPsd(matrix: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  const root = values.map((x) => Math.sqrt(Math.max(x, 0)));
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += vectors[i * n + k]! * root[k]! * vectors[j * n + k]!;
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

/** a (n x m) times b (m x p), row-major. */
export function matMul(a: Float64Array, b: Float64Array, n: number, m: number, p: number): Float64Array {
  const out = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k]!;
      if (aik === 0) continue;
      const brow = k * p;
      const orow = i * p;
      for (let j = 0; j < p; j++) out[orow + j]! += aik * b[brow + j]!;
    }
  }
  return out;
}
