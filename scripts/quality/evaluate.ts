/**
 * Scores a set of images against the reference (Fashion-MNIST's test images) in the classifier's
 * feature space: FID, KID and the class histogram of its predictions.
 */
import * as tf from '@tensorflow/tfjs';

import { classify } from './classifier';
import { CLASSES, type ImageSet } from './fashion-mnist';
import type { FeatureMatrix } from './linalg';
import { classHistogram, frechetDistance, gaussianStats, histogramEntropy, kid, type GaussianStats, type GramFn } from './metrics';

/** KID's subsets as Bińkowski et al. (100 of 1000, fewer rows when a set is smaller). */
export const KID_SUBSETS = 100;
export const KID_SUBSET_SIZE = 1000;

/** Inner products on the TensorFlow.js backend (sgemm where the native kernels are built), summed in float64 by the caller. */
export const tfGram: GramFn = (x, y, m, mPrime, d) => {
  // Not through tf.tidy: tidy walks a returned typed array element by element (seconds for 1M).
  const a = tf.tensor2d(Float32Array.from(x), [m, d]);
  const b = tf.tensor2d(Float32Array.from(y), [mPrime, d]);
  const product = tf.matMul(a, b, false, true);
  try {
    return product.dataSync() as Float32Array;
  } finally {
    tf.dispose([a, b, product]);
  }
};

export interface Reference {
  features: FeatureMatrix;
  stats: GaussianStats;
}

export function reference(features: FeatureMatrix): Reference {
  return { features, stats: gaussianStats(features) };
}

export interface Scores {
  n: number;
  fid: number;
  kid: number;
  kidStd: number;
  kidSubsetSize: number;
  histogram: number[];
  /** Entropy of the histogram in bits (log2(10) ≈ 3.32 at most). */
  entropy: number;
}

export function scoreFeatures(features: FeatureMatrix, predictions: Uint8Array, ref: Reference, seed = 1): Scores {
  const k = kid(features, ref.features, { subsets: KID_SUBSETS, subsetSize: KID_SUBSET_SIZE, seed, gram: tfGram });
  const histogram = classHistogram(predictions, CLASSES);
  return {
    n: features.n,
    fid: frechetDistance(gaussianStats(features), ref.stats),
    kid: k.kid,
    kidStd: k.std,
    kidSubsetSize: k.subsetSize,
    histogram,
    entropy: histogramEntropy(histogram),
  };
}

export function scoreImages(model: tf.LayersModel, images: ImageSet, ref: Reference, seed = 1): Scores {
  const { features, predictions } = classify(model, images);
  return scoreFeatures(features, predictions, ref, seed);
}
