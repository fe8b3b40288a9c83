/**
 * The quality benchmark's evaluator: a small CNN trained on Fashion-MNIST with TensorFlow.js on
 * whatever backend the caller selected (the bench uses the studio's selectBackend, so it runs on
 * wasm with the native kernels where they are built). Its penultimate layer (`features`, 128
 * ReLU units) is the feature space of FID and KID; its predictions give the class histogram.
 *
 *   input 28x28x1 in [-1, 1]
 *   conv 3x3, 32, stride 2, ReLU   -> 14x14x32
 *   conv 3x3, 64, stride 2, ReLU   -> 7x7x64
 *   flatten, dense 128, ReLU       -> features
 *   dense 10, softmax
 *
 * The trained model is cached as a plain tfjs-layers folder (model.json, weights.bin, written
 * with the studio's export helpers) plus meta.json, under a key naming the architecture version
 * and the training recipe, so a change to either retrains.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { fileHandler, MODEL_FILE, serializeLayersModel, WEIGHTS_FILE } from '../../src/main/core/engine/ml/export';
import { permutation } from '../../src/main/core/engine/ml/rng';
import { CLASSES, PIXELS, SIDE, toUnitRange, type ImageSet } from './fashion-mnist';
import { featureMatrix, type FeatureMatrix } from './linalg';

/** Bump when the architecture or the input scaling changes: the cache key then differs. */
export const CLASSIFIER_VERSION = 'fmnist-cnn-v1';
export const FEATURE_LAYER = 'features';
export const FEATURES = 128;

export interface ClassifierRecipe {
  /** Passes over the training images. */
  epochs: number;
  /** The first N training images (in a seeded order) are used; 0 or more than there are: all. */
  trainImages: number;
  batch: number;
  lr: number;
  seed: number;
}

export const FULL_RECIPE: ClassifierRecipe = { epochs: 3, trainImages: 60_000, batch: 128, lr: 1e-3, seed: 1 };
/** --quick: a separate cache entry, trained in seconds (its features are good enough to smoke-test). */
export const QUICK_RECIPE: ClassifierRecipe = { epochs: 1, trainImages: 5_000, batch: 128, lr: 1e-3, seed: 1 };

export function cacheKey(recipe: ClassifierRecipe): string {
  return `${CLASSIFIER_VERSION}-e${recipe.epochs}-n${recipe.trainImages}-b${recipe.batch}-lr${recipe.lr}-s${recipe.seed}`;
}

export interface ClassifierMeta {
  key: string;
  version: string;
  recipe: ClassifierRecipe;
  /** Accuracy on Fashion-MNIST's 10,000 test images. */
  testAccuracy: number;
  trainSeconds: number;
  backend: string;
  createdAt: string;
}

export function buildClassifier(seed: number): tf.LayersModel {
  const init = (k: number) => tf.initializers.heNormal({ seed: seed * 100 + k });
  const model = tf.sequential({ name: 'fmnist_classifier' });
  model.add(tf.layers.conv2d({ inputShape: [SIDE, SIDE, 1], filters: 32, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(1), name: 'conv1' }));
  model.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(2), name: 'conv2' }));
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(tf.layers.dense({ units: FEATURES, activation: 'relu', kernelInitializer: init(3), name: FEATURE_LAYER }));
  model.add(tf.layers.dense({ units: CLASSES, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 100 + 4 }), name: 'logits' }));
  return model;
}

/** Trains in place with Adam on mini-batches built from the bytes (the whole set never becomes one tensor). */
export async function trainClassifier(
  model: tf.LayersModel,
  train: ImageSet,
  recipe: ClassifierRecipe,
  log: (line: string) => void,
): Promise<void> {
  if (!train.labels) throw new Error('training the classifier needs labels');
  model.compile({ optimizer: tf.train.adam(recipe.lr), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const pool = permutation(train.n, recipe.seed);
  const count = recipe.trainImages > 0 ? Math.min(recipe.trainImages, train.n) : train.n;
  const x = new Float32Array(recipe.batch * PIXELS);
  const y = new Float32Array(recipe.batch * CLASSES);
  for (let epoch = 1; epoch <= recipe.epochs; epoch++) {
    const order = permutation(count, recipe.seed * 1000 + epoch);
    const steps = Math.floor(count / recipe.batch);
    let lossSum = 0;
    let accSum = 0;
    const started = performance.now();
    let lastLog = started;
    for (let step = 0; step < steps; step++) {
      y.fill(0);
      for (let b = 0; b < recipe.batch; b++) {
        const i = pool[order[step * recipe.batch + b]!]!;
        toUnitRange(train.pixels.subarray(i * PIXELS, (i + 1) * PIXELS), x.subarray(b * PIXELS, (b + 1) * PIXELS));
        y[b * CLASSES + train.labels[i]!] = 1;
      }
      const xs = tf.tensor4d(x, [recipe.batch, SIDE, SIDE, 1]);
      const ys = tf.tensor2d(y, [recipe.batch, CLASSES]);
      const [loss, acc] = (await model.trainOnBatch(xs, ys)) as number[];
      xs.dispose();
      ys.dispose();
      lossSum += loss!;
      accSum += acc!;
      const now = performance.now();
      if (now - lastLog > 10_000 || step === steps - 1) {
        lastLog = now;
        const rate = ((step + 1) * recipe.batch) / ((now - started) / 1000);
        log(`  classifier epoch ${epoch}/${recipe.epochs} step ${step + 1}/${steps}: loss ${(lossSum / (step + 1)).toFixed(4)}, accuracy ${(accSum / (step + 1)).toFixed(4)}, ${rate.toFixed(0)} images/s`);
      }
    }
  }
}

export interface ClassifierOutputs {
  /** Penultimate-layer activations, n x 128. */
  features: FeatureMatrix;
  /** The predicted class of each image. */
  predictions: Uint8Array;
}

/** Runs images (bytes) through the classifier in batches: features and predicted classes. */
export function classify(model: tf.LayersModel, images: ImageSet, batch = 500): ClassifierOutputs {
  const featureLayer = model.getLayer(FEATURE_LAYER);
  const probe = tf.model({ inputs: model.inputs, outputs: [featureLayer.output as tf.SymbolicTensor, model.outputs[0]!] });
  const d = (featureLayer.outputShape as number[])[1]!;
  const features = new Float64Array(images.n * d);
  const predictions = new Uint8Array(images.n);
  const x = new Float32Array(batch * PIXELS);
  for (let start = 0; start < images.n; start += batch) {
    const m = Math.min(batch, images.n - start);
    const view = x.subarray(0, m * PIXELS);
    toUnitRange(images.pixels.subarray(start * PIXELS, (start + m) * PIXELS), view);
    // Tensors disposed by hand: tf.tidy would walk returned typed arrays element by element.
    const input = tf.tensor4d(view, [m, SIDE, SIDE, 1]);
    const [feat, probs] = probe.predict(input, { batchSize: m }) as tf.Tensor[];
    const classes = probs!.argMax(-1);
    const f = feat!.dataSync() as Float32Array;
    const p = classes.dataSync() as Int32Array;
    tf.dispose([input, feat!, probs!, classes]);
    features.set(f, start * d);
    for (let i = 0; i < m; i++) predictions[start + i] = p[i]!;
  }
  return { features: featureMatrix(images.n, d, features), predictions };
}

export function accuracy(predictions: Uint8Array, labels: Uint8Array): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) right++;
  return right / labels.length;
}

/** The cached classifier in `dir`, or null when there is none (or it cannot be read). */
export async function loadCachedClassifier(dir: string, key: string): Promise<{ model: tf.LayersModel; meta: ClassifierMeta } | null> {
  const metaFile = join(dir, 'meta.json');
  if (!existsSync(metaFile) || !existsSync(join(dir, MODEL_FILE))) return null;
  try {
    const meta = JSON.parse(await readFile(metaFile, 'utf8')) as ClassifierMeta;
    if (meta.key !== key) return null;
    const model = await tf.loadLayersModel(fileHandler(dir));
    return { model, meta };
  } catch {
    return null;
  }
}

/** Writes model.json, weights.bin and meta.json into `dir` (via a temporary folder renamed into place). */
export async function saveClassifier(dir: string, model: tf.LayersModel, meta: ClassifierMeta): Promise<void> {
  const { modelJson, weights } = await serializeLayersModel(model);
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await writeFile(join(tmp, WEIGHTS_FILE), weights);
  await writeFile(join(tmp, MODEL_FILE), modelJson);
  await writeFile(join(tmp, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}
