// A quality score the trainer can afford to compute while it trains (issue 15): how close a fixed
// set of generated samples is to the training images, with no download and for any dataset the
// importer makes (28, 32, 64 or 128 px, 1 or 3 channels).
//
// Features: a FIXED RANDOM convolutional network. Its weights are drawn He-normal from a constant
// seed (the same network in every run, on every machine) and never trained, so it knows no
// classes and needs no file: it works on any image set. Images are first brought to one working
// size (WORK_SIZE: average pooling from 64 and 128 px, bilinear from 28 px), then pass through
// four levels of 3x3 convolution + ReLU (FEATURE_WIDTHS filters, a 2x2 average pool before each
// level but the first). The features are each level's global averages (what textures and
// strokes are there, at four scales) and the last level's whole 4x4 map (where things are: the
// layout of a garment, a face, a scene). Measured on a Fashion-MNIST DCGAN's checkpoints (see
// scripts/quality/rank-check.ts), global averages alone put its last ones (classifier FID 28
// and 22, where real images score under 1) within KID's sampling spread of real images; with the
// map they stand out, in the order of the classifier's FID. Each feature is standardised by the
// reference images' mean and spread (floored: see FeatureNetwork.standardiseBy), so that no
// group dominates by its scale.
//
// Distance: KID (Bińkowski et al. 2018), the unbiased estimate of MMD² under the cubic polynomial
// kernel k(x, y) = (xᵀy / d + 1)³, between the samples' features and those of a reference: up to
// REFERENCE_IMAGES training images chosen by a seeded permutation. Unlike FID it is unbiased at
// a few hundred samples and needs no matrix square root. What depends on the reference alone is
// computed once, when the reference is built.
//
// Score: 0..100 between anchors fixed when the reference is built: uniform noise (0), a typical
// image of the data repeated (50) and the data itself (100); see scoreOf for the scale and why.
//
// Variety: the mean pairwise feature distance among the samples over the same among the
// reference images (1 = as varied as the data, 0 = one image repeated). Being a mean over all
// pairs, it stays high for a collapse onto a few images (0.66 for two, 0.79 for four); those
// show in `duplicates` (and in the score).
//
// Copies: each sample's nearest reference image in pixel space (at the working size), as a ratio
// to the data's typical nearest-neighbour distance (the median, over reference images, of the
// distance to the nearest other reference image). A sample closer than COPY_RATIO of that to a
// training image is a near copy; one as close to another sample, a duplicate.
import * as tf from '@tensorflow/tfjs';
import type { ImageDataset } from '../../../../shared/types';
import { mixSeed, permutation, Prng } from './rng';

/** Samples per evaluation (the trainer draws them from a fixed latent). */
export const QUALITY_SAMPLES = 256;
/** Training images a reference holds at most: KID's reference and the pool copies are looked for in. */
export const REFERENCE_IMAGES = 2000;
/** A sample nearer to a training image than this fraction of the data's typical nearest-neighbour distance is a near copy. */
export const COPY_RATIO = 1 / 3;

/** The side every image is brought to before the features. */
const WORK_SIZE = 32;
/** Filters of the feature network's levels (at 32, 16, 8 and 4 px). */
const FEATURE_WIDTHS = [16, 32, 64, 128];
/** A feature's spread is floored at this fraction of its group's root-mean-square spread. */
const STD_FLOOR = 0.1;
/** Reference images whose nearest neighbour is looked for, at most, for the typical neighbour distance. */
const NEIGHBOUR_QUERIES = 512;
/** The typical neighbour distance is at least this root-mean-square difference a pixel value (~6 grey levels). */
const MIN_NEIGHBOUR_RMS = 0.05;
/** Images through the feature network at a time (bounds the memory of 128 px inputs). */
const CHUNK = 256;
/** The feature network's seed: a constant, so that scores of different runs share one network. */
const NETWORK_SEED = 0x9a11_5c0e;
/** Random streams of a reference, mixed with the run's seed. */
const REFERENCE_CHOICE = 1;
const NOISE_IMAGES = 2;

export interface QualityReference {
  readonly size: number;
  readonly channels: number;
  /** How many training images the reference holds. */
  readonly images: number;
  /** KID of QUALITY_SAMPLES uniform-noise images against the reference: the score's 0. */
  readonly noiseDistance: number;
  /** KID of a typical image of the data repeated (the median over the reference's images, each against the others): the score's 50. */
  readonly collapseDistance: number;
  dispose(): void;
}

export interface QualityMeasure {
  /** 0 = as far from the data as uniform noise, 100 = as close as the data's own images. */
  score: number;
  /** KID behind the score (lower is better, about 0 for the data itself). */
  distance: number;
  /** Mean pairwise feature distance of the samples over the reference's: 1 = as varied as the data, 0 = one image repeated. */
  variety: number;
  /** Fraction of samples that are near copies of a training image (see COPY_RATIO). */
  copied: number;
  /**
   * Fraction of samples that are near copies of another sample (the same test as `copied`, among
   * the samples): about 0 for real images, high where the generator repeats itself. It sees a
   * collapse onto a few images, which `variety` (a mean over all pairs) barely does.
   */
  duplicates: number;
  /**
   * The sample nearest to a training image, relative to the data's typical nearest-neighbour
   * distance: `ratio` < COPY_RATIO makes it a near copy. `image` indexes the dataset. Null only
   * when the samples held non-finite values.
   */
  nearest: { sample: number; image: number; ratio: number } | null;
}

/** The reference's images as the evaluations compare with them. */
interface ReferenceSet {
  /** Dataset index of each reference image. */
  indices: Uint32Array;
  /** n x d standardised features. */
  features: tf.Tensor2D;
  /** n x (WORK_SIZE² · channels) pixels at the working size, and their squared norms. */
  pixels: tf.Tensor2D;
  pixelNorms: tf.Tensor1D;
  /** Mean kernel value over pairs of distinct reference images (KID's reference term). */
  pairKernel: number;
  /** Mean feature distance over pairs of distinct reference images (variety's 1). */
  spread: number;
  /** Median distance from a reference image to its nearest other one, in working-size pixels. */
  typicalNearest: number;
}

/** The KIDs the score is placed between (see scoreOf). */
interface Anchors {
  /** The data's own level: KID's sampling noise at QUALITY_SAMPLES samples (score 100 at or below it). */
  floor: number;
  /** A typical image of the data repeated (score 50). */
  collapse: number;
  /** Uniform noise (score 0 at or beyond it). */
  noise: number;
}

class Reference implements QualityReference {
  constructor(
    readonly size: number,
    readonly channels: number,
    readonly network: FeatureNetwork,
    readonly set: ReferenceSet,
    readonly anchors: Anchors,
  ) {}

  get images(): number {
    return this.set.indices.length;
  }

  get noiseDistance(): number {
    return this.anchors.noise;
  }

  get collapseDistance(): number {
    return this.anchors.collapse;
  }

  dispose(): void {
    this.network.dispose();
    tf.dispose([this.set.features, this.set.pixels, this.set.pixelNorms]);
  }
}

/** The fixed random network and the standardisation of its outputs. */
class FeatureNetwork {
  private shift: tf.Tensor1D | null = null;
  private scale: tf.Tensor1D | null = null;

  private constructor(private readonly kernels: tf.Tensor4D[]) {}

  static create(channels: number): FeatureNetwork {
    const rng = new Prng(mixSeed(NETWORK_SEED, channels));
    let inputs = channels;
    const kernels = FEATURE_WIDTHS.map((filters) => {
      const kernel = tf.tensor4d(heNormal(rng, 3 * 3 * inputs * filters, 3 * 3 * inputs), [3, 3, inputs, filters]);
      inputs = filters;
      return kernel;
    });
    return new FeatureNetwork(kernels);
  }

  /** The sizes of the feature groups: each level's averages, then the last level's map. */
  static get groups(): number[] {
    const last = FEATURE_WIDTHS[FEATURE_WIDTHS.length - 1]!;
    const side = WORK_SIZE >> (FEATURE_WIDTHS.length - 1);
    return [...FEATURE_WIDTHS, side * side * last];
  }

  get dimensions(): number {
    return FeatureNetwork.groups.reduce((a, b) => a + b, 0);
  }

  /** Raw (unstandardised) features of working-size images. */
  raw(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const parts: tf.Tensor2D[] = [];
      let x = images;
      this.kernels.forEach((kernel, i) => {
        if (i > 0) x = tf.avgPool(x, 2, 2, 'valid');
        x = tf.relu(tf.conv2d(x, kernel, 1, 'same'));
        parts.push(tf.mean(x, [1, 2]) as tf.Tensor2D);
      });
      parts.push(tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D);
      return tf.concat(parts, 1) as tf.Tensor2D;
    });
  }

  /**
   * Fixes the standardisation from the reference's raw features (n x d): each feature less its
   * mean, over its spread. A spread is floored at STD_FLOOR of its group's typical spread, so
   * that a feature the data hardly moves (a corner of the map that is always background) is not
   * blown up into the one that decides, nor one that a handful of images estimated too small.
   * Where a group does not vary at all (one image, or one image many times), the features' own
   * typical size stands in for the spread.
   */
  standardiseBy(raw: tf.Tensor2D): void {
    [this.shift, this.scale] = tf.tidy(() => {
      const { mean, variance } = tf.moments(raw, 0);
      const means = tf.split(mean, FeatureNetwork.groups);
      const floors = tf.split(variance, FeatureNetwork.groups).map((group, i) => {
        const spread = tf.sqrt(tf.mean(group));
        const size = tf.sqrt(tf.mean(tf.square(means[i]!)));
        const varies = tf.greater(spread, tf.mul(size, 1e-4));
        const typical = tf.where(varies, spread, tf.where(tf.greater(size, 0), size, tf.onesLike(size)));
        return tf.mul(tf.onesLike(group), tf.mul(typical, STD_FLOOR));
      });
      const std = tf.maximum(tf.sqrt(variance), tf.concat(floors));
      return [mean as tf.Tensor1D, tf.div(1, std) as tf.Tensor1D];
    });
  }

  standardised(raw: tf.Tensor2D): tf.Tensor2D {
    if (!this.shift || !this.scale) throw new Error('the feature network has no standardisation yet');
    return tf.mul(tf.sub(raw, this.shift), this.scale);
  }

  dispose(): void {
    tf.dispose([...this.kernels, ...(this.shift ? [this.shift] : []), ...(this.scale ? [this.scale] : [])]);
  }
}

/** `count` He-normal weights (std sqrt(2 / fanIn)) from a Box–Muller transform of the PRNG. */
function heNormal(rng: Prng, count: number, fanIn: number): Float32Array {
  const std = Math.sqrt(2 / fanIn);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - rng.next()));
    const angle = 2 * Math.PI * rng.next();
    out[i] = std * radius * Math.cos(angle);
    if (i + 1 < count) out[i + 1] = std * radius * Math.sin(angle);
  }
  return out;
}

/** Images in [-1, 1] (NHWC, any supported side) at WORK_SIZE: average pooling down, bilinear up. */
function toWorkingSize(images: tf.Tensor4D): tf.Tensor4D {
  const side = images.shape[1];
  if (side === WORK_SIZE) return images;
  if (side % WORK_SIZE === 0) return tf.avgPool(images, side / WORK_SIZE, side / WORK_SIZE, 'valid');
  return tf.image.resizeBilinear(images, [WORK_SIZE, WORK_SIZE], false, true);
}

/** Raw features and flattened working-size pixels of a chunk of images in [-1, 1]. */
function embedChunk(network: FeatureNetwork, values: Float32Array, count: number, size: number, channels: number): { raw: tf.Tensor2D; pixels: tf.Tensor2D } {
  return tf.tidy(() => {
    const images = tf.clipByValue(tf.tensor4d(values, [count, size, size, channels]), -1, 1) as tf.Tensor4D;
    const small = toWorkingSize(images);
    return { raw: network.raw(small), pixels: tf.reshape(small, [count, -1]) as tf.Tensor2D };
  });
}

/** embedChunk over `count` images, CHUNK at a time (`chunk` gives images first .. first + n - 1), joined. */
function embed(network: FeatureNetwork, count: number, size: number, channels: number,
  chunk: (first: number, n: number) => Float32Array): { raw: tf.Tensor2D; pixels: tf.Tensor2D } {
  const raws: tf.Tensor2D[] = [];
  const pixels: tf.Tensor2D[] = [];
  for (let first = 0; first < count; first += CHUNK) {
    const n = Math.min(CHUNK, count - first);
    const part = embedChunk(network, chunk(first, n), n, size, channels);
    raws.push(part.raw);
    pixels.push(part.pixels);
  }
  if (raws.length === 1) return { raw: raws[0]!, pixels: pixels[0]! };
  const joined = tf.tidy(() => ({ raw: tf.concat(raws) as tf.Tensor2D, pixels: tf.concat(pixels) as tf.Tensor2D }));
  tf.dispose([...raws, ...pixels]);
  return joined;
}

/** The cubic polynomial kernel of an inner product of d-dimensional features. */
function kernel(dot: number, d: number): number {
  const k = dot / d + 1;
  return k * k * k;
}

/** Mean kernel value over the off-diagonal entries of an n x n Gram matrix (the diagonal's for n = 1). */
function pairKernelMean(gram: ArrayLike<number>, n: number, d: number): number {
  if (n === 1) return kernel(gram[0]!, d);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (i !== j) sum += kernel(gram[i * n + j]!, d);
  }
  return sum / (n * (n - 1));
}

/**
 * The median over the reference images c of the KID of c repeated (the m x m block of a repeated
 * image is constant): k(c, c) + pairKernel - 2 · mean over the other images y of k(c, y). The
 * median, since the cubic kernel makes the mean follow a few unusual images.
 */
function typicalCollapse(gram: ArrayLike<number>, n: number, d: number, pairKernel: number): number {
  if (n < 2) return 0;
  const each = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let cross = 0;
    for (let j = 0; j < n; j++) if (j !== i) cross += kernel(gram[i * n + j]!, d);
    each[i] = kernel(gram[i * n + i]!, d) + pairKernel - (2 * cross) / (n - 1);
  }
  each.sort();
  return each[Math.floor((n - 1) / 2)]!;
}

/** Mean Euclidean distance over pairs of distinct rows, from their n x n Gram matrix (0 for one row). */
function meanPairDistance(gram: ArrayLike<number>, n: number): number {
  if (n < 2) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) sum += Math.sqrt(Math.max(gram[i * n + i]! + gram[j * n + j]! - 2 * gram[i * n + j]!, 0));
  }
  return sum / ((n * (n - 1)) / 2);
}

/** Squared norms of the rows of a matrix. */
function rowNorms(m: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.square(m), 1) as tf.Tensor1D);
}

/** The rows of a times the rows of b (a · bᵀ), read back. */
function gram(a: tf.Tensor2D, b: tf.Tensor2D): Float32Array {
  const product = tf.matMul(a, b, false, true);
  try {
    return product.dataSync() as Float32Array;
  } finally {
    product.dispose();
  }
}

/**
 * Squared pixel distances from each row of `a` to its nearest row of `ref`, and which row that
 * is. Where `a` holds rows of `ref` itself, `own` gives each one's row in `ref`, which is then
 * left out (an exact duplicate elsewhere still counts).
 */
function nearestRows(a: tf.Tensor2D, ref: tf.Tensor2D, refNorms: tf.Tensor1D, own: Int32Array | null): { distance: Float32Array; index: Int32Array } {
  const n = a.shape[0];
  const distance = new Float32Array(n);
  const index = new Int32Array(n);
  for (let first = 0; first < n; first += CHUNK) {
    const rows = Math.min(CHUNK, n - first);
    const [d, i] = tf.tidy(() => {
      const part = tf.slice(a, [first, 0], [rows, -1]);
      let d2 = tf.add(tf.sub(refNorms.reshape([1, -1]), tf.mul(tf.matMul(part, ref, false, true), 2)), rowNorms(part).reshape([-1, 1]));
      if (own) {
        const self = tf.equal(tf.tensor2d(own.subarray(first, first + rows), [rows, 1], 'int32'), tf.range(0, ref.shape[0], 1, 'int32').reshape([1, -1]));
        d2 = tf.where(self, tf.fill(d2.shape, Infinity), d2);
      }
      return [tf.min(d2, 1), tf.argMin(d2, 1)];
    });
    distance.set(d!.dataSync() as Float32Array, first);
    index.set(i!.dataSync() as Int32Array, first);
    tf.dispose([d!, i!]);
  }
  return { distance, index };
}

/** 0, 1, …, n - 1. */
function allRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/**
 * The median distance from a reference image to its nearest other one. Over at most
 * NEIGHBOUR_QUERIES images, evenly spread over the reference (a median needs no more), each
 * against all the others: the search costs a quarter of an all-pairs one at 2,000 images.
 */
function typicalNearestDistance(pixels: tf.Tensor2D, norms: tf.Tensor1D): number {
  const n = pixels.shape[0];
  const stride = Math.ceil(n / NEIGHBOUR_QUERIES);
  const own = Int32Array.from({ length: Math.ceil(n / stride) }, (_, k) => k * stride);
  const queries = tf.gather(pixels, own);
  const found = nearestRows(queries, pixels, norms, own).distance;
  queries.dispose();
  const distances = Array.from(found).filter(Number.isFinite).map((d2) => Math.sqrt(Math.max(d2, 0)));
  distances.sort((a, b) => a - b);
  return distances.length > 0 ? distances[Math.floor((distances.length - 1) / 2)]! : 0;
}

/** Unbiased MMD² of standardised sample features (m x d, with their m x m Gram matrix) against the reference. */
function kid(set: ReferenceSet, features: tf.Tensor2D, samplesGram: Float32Array): number {
  const [m, d] = features.shape;
  const n = set.indices.length;
  const cross = gram(features, set.features);
  let crossSum = 0;
  for (let i = 0; i < cross.length; i++) crossSum += kernel(cross[i]!, d);
  return pairKernelMean(samplesGram, m, d) + set.pairKernel - (2 * crossSum) / (m * n);
}

/**
 * The score of a KID, on a log scale in two pieces: 100 at or below the data's own level (an
 * estimate below 0 is noise around 0), 50 at a typical image of the data repeated, 0 at uniform
 * noise and beyond.
 *
 * Why this scale: the KIDs a run passes through span orders of magnitude (a DCGAN on
 * Fashion-MNIST goes from ~1.5 to ~0.03 while its classifier FID goes from 130 to 22), and noise
 * lies further out still, at a distance that differs several-fold between datasets (~20 for
 * Fashion-MNIST, 90-170 for flat-shaded shapes, which lack noise's texture). A scale linear in
 * KID, or in its square root, from noise to the data squeezes every useful checkpoint into the
 * top few points. On a log scale equal ratios are equal steps, and anchoring its middle at a
 * collapsed set, which is about as far from the data on every dataset (KID ~3-4), gives 50 one
 * meaning everywhere, "no better than one image over and over", and keeps noise's distance from
 * stretching the part of the scale a run moves through. The top anchor is KID's own sampling
 * spread for the data at QUALITY_SAMPLES samples, about collapse / QUALITY_SAMPLES (the spread of
 * an unbiased estimate over m samples goes as 1/m): closer than that, a sample set cannot be told
 * from the data's own images.
 */
function scoreOf(distance: number, anchors: Anchors): number {
  const { floor, collapse, noise } = anchors;
  if (!(distance > floor)) return 100;
  if (distance <= collapse) return 50 + (50 * Math.log(collapse / distance)) / Math.log(collapse / floor);
  if (distance >= noise) return 0;
  return (50 * Math.log(noise / distance)) / Math.log(noise / collapse);
}

/** The reference's images: features, working-size pixels and their own statistics. */
function referenceSet(network: FeatureNetwork, dataset: ImageDataset, seed: number): { set: ReferenceSet; collapse: number } {
  const { height: size, channels } = dataset;
  const n = Math.min(REFERENCE_IMAGES, dataset.count);
  const indices = permutation(dataset.count, mixSeed(seed, REFERENCE_CHOICE)).slice(0, n).sort();
  const perImage = size * size * channels;
  const buffer = new Float32Array(Math.min(CHUNK, n) * perImage);
  const { raw, pixels } = embed(network, n, size, channels, (first, count) => {
    for (let r = 0; r < count; r++) {
      const src = indices[first + r]! * perImage;
      const dst = r * perImage;
      for (let p = 0; p < perImage; p++) buffer[dst + p] = dataset.pixels[src + p]! / 127.5 - 1;
    }
    return buffer.subarray(0, count * perImage);
  });
  network.standardiseBy(raw);
  const features = tf.tidy(() => network.standardised(raw));
  raw.dispose();
  const selfGram = gram(features, features);
  const d = network.dimensions;
  const pairKernel = pairKernelMean(selfGram, n, d);
  const pixelNorms = rowNorms(pixels);
  const typicalNearest = typicalNearestDistance(pixels, pixelNorms);
  return {
    set: { indices, features, pixels, pixelNorms, pairKernel, spread: meanPairDistance(selfGram, n), typicalNearest },
    collapse: typicalCollapse(selfGram, n, d, pairKernel),
  };
}

/** Pixels of uniform noise: random bytes, scaled as real images are. */
function uniformNoise(length: number, seed: number): Float32Array {
  const rng = new Prng(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (rng.nextUint32() & 255) / 127.5 - 1;
  return out;
}

/**
 * The reference for a dataset (square images): up to REFERENCE_IMAGES of its images, chosen by a
 * permutation drawn from `seed`, their features and working-size pixels, and the anchors of the
 * score. Holds tensors until `dispose()`. The feature network is the same for every seed.
 */
export function buildQualityReference(dataset: ImageDataset, seed: number): QualityReference {
  const { height: size, width, channels, count } = dataset;
  if (width !== size) throw new Error(`quality needs square images (got ${width}x${size})`);
  if (count < 1) throw new Error('quality needs at least one reference image');
  const network = FeatureNetwork.create(channels);
  const { set, collapse: typical } = referenceSet(network, dataset, seed);
  const noise = uniformNoise(QUALITY_SAMPLES * size * size * channels, mixSeed(seed, NOISE_IMAGES));
  const { features, pixels } = sampleFeatures(network, noise, QUALITY_SAMPLES, size, channels);
  const noiseDistance = kid(set, features, gram(features, features));
  tf.dispose([features, pixels]);
  // Floored for a set of one image, or of one image many times (nothing is then "typical").
  const collapse = Math.max(typical, noiseDistance * 1e-6, 1e-12);
  const anchors: Anchors = { floor: collapse / QUALITY_SAMPLES, collapse, noise: Math.max(noiseDistance, collapse) };
  return new Reference(size, channels, network, set, anchors);
}

/** Standardised features (and working-size pixels) of `count` images in [-1, 1]. */
function sampleFeatures(network: FeatureNetwork, values: Float32Array, count: number, size: number, channels: number): { features: tf.Tensor2D; pixels: tf.Tensor2D } {
  const perImage = size * size * channels;
  const { raw, pixels } = embed(network, count, size, channels, (first, n) => values.subarray(first * perImage, (first + n) * perImage));
  const features = tf.tidy(() => network.standardised(raw));
  raw.dispose();
  return { features, pixels };
}

function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}

/**
 * Scores `count` samples (count · size² · channels values in [-1, 1], NHWC; values beyond are
 * clipped) against the reference. Deterministic for given inputs; leaves no tensors behind.
 *
 * Samples with a non-finite value (a diverged generator) are not fed to the network: they score
 * 0, at the noise anchor's distance, with variety 0, nothing copied and no nearest pair.
 */
export function measureQuality(reference: QualityReference, samples: Float32Array, count: number): QualityMeasure {
  if (!(reference instanceof Reference)) throw new Error('not a reference from buildQualityReference');
  const { size, channels, network, set, anchors } = reference;
  const perImage = size * size * channels;
  if (!Number.isInteger(count) || count < 2) throw new Error(`quality needs at least 2 samples (got ${count})`);
  if (samples.length !== count * perImage) {
    throw new Error(`${count} samples of ${size}x${size}x${channels} are ${count * perImage} values, got ${samples.length}`);
  }
  if (!allFinite(samples)) return { score: 0, distance: anchors.noise, variety: 0, copied: 0, duplicates: 0, nearest: null };
  const { features, pixels } = sampleFeatures(network, samples, count, size, channels);
  try {
    const samplesGram = gram(features, features);
    const distance = kid(set, features, samplesGram);
    const variety = set.spread > 0 ? meanPairDistance(samplesGram, count) / set.spread : 1;
    // Floored, for a set whose images are all alike (no typical neighbour distance to go by).
    const unit = Math.max(set.typicalNearest, MIN_NEIGHBOUR_RMS * Math.sqrt(WORK_SIZE * WORK_SIZE * channels));
    const toRatio = (d2: number) => Math.sqrt(Math.max(d2, 0)) / unit;
    const near = nearestRows(pixels, set.pixels, set.pixelNorms, null);
    const ratios = Array.from(near.distance, toRatio);
    let best = 0;
    ratios.forEach((r, i) => {
      if (r < ratios[best]!) best = i;
    });
    const sampleNorms = rowNorms(pixels);
    const twins = Array.from(nearestRows(pixels, pixels, sampleNorms, allRows(count)).distance, toRatio);
    sampleNorms.dispose();
    const fraction = (xs: number[]) => xs.filter((r) => r < COPY_RATIO).length / count;
    return {
      score: scoreOf(distance, anchors),
      distance,
      variety,
      copied: fraction(ratios),
      duplicates: fraction(twins),
      nearest: { sample: best, image: set.indices[near.index[best]!]!, ratio: ratios[best]! },
    };
  } finally {
    tf.dispose([features, pixels]);
  }
}
