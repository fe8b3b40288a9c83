// The training-time quality measure (quality.ts): its score orders uniform noise and a collapsed
// set (one image repeated) below a DCGAN trained a few hundred steps, and that below held-out real
// images; variety, duplicates and near copies mean what they say; every supported shape and a
// 20-image set work; it is deterministic, leaks no tensors, and a diverged generator's NaNs score 0.
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../../../src/main/core/engine/backend/backends';
import {
  buildQualityReference,
  COPY_RATIO,
  measureQuality,
  QUALITY_SAMPLES,
  type QualityMeasure,
  type QualityReference,
} from '../../../../../src/main/core/engine/ml/quality';
import { Prng } from '../../../../../src/main/core/engine/ml/rng';
import { GRID_SAMPLES, Trainer } from '../../../../../src/main/core/engine/ml/trainer';
import type { ImageChannels, ImageDataset } from '../../../../../src/shared/types';
import { testConfig } from '../../../../helpers/train-config';

/**
 * `count` images of one bright disc or square each, of random size, grey level (a colour for 3
 * channels) and place, on a dark background of random level: a set with clear structure that a
 * small DCGAN learns the rough look of in a few hundred steps. Different seeds give different
 * images of the same distribution.
 */
function shapes(count: number, size: number, channels: ImageChannels, seed: number): ImageDataset {
  const rng = new Prng(seed);
  const perImage = size * size * channels;
  const pixels = new Uint8Array(count * perImage);
  for (let n = 0; n < count; n++) {
    const disc = rng.next() < 0.5;
    const radius = size * (0.12 + 0.18 * rng.next());
    const cx = radius + rng.next() * (size - 2 * radius);
    const cy = radius + rng.next() * (size - 2 * radius);
    const colour = Array.from({ length: channels }, () => 150 + rng.int(106));
    const background = rng.int(40);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const dx = x + 0.5 - cx;
        const dy = y + 0.5 - cy;
        const inside = disc ? dx * dx + dy * dy <= radius * radius : Math.abs(dx) <= radius && Math.abs(dy) <= radius;
        for (let c = 0; c < channels; c++) pixels[n * perImage + (y * size + x) * channels + c] = inside ? colour[c]! : background;
      }
    }
  }
  return { count, height: size, width: size, channels, pixels, labels: null, classNames: [], source: `shapes seed ${seed}` };
}

/** The first `count` images of a set, scaled as the trainer scales real images. */
function realSamples(set: ImageDataset, count: number): Float32Array {
  const perImage = set.height * set.width * set.channels;
  return Float32Array.from(set.pixels.subarray(0, count * perImage), (v) => v / 127.5 - 1);
}

function uniformNoise(count: number, perImage: number, seed: number): Float32Array {
  const rng = new Prng(seed);
  return Float32Array.from({ length: count * perImage }, () => rng.next() * 2 - 1);
}

/** Image `index` of `values` repeated `count` times. */
function repeated(values: Float32Array, perImage: number, index: number, count: number): Float32Array {
  const out = new Float32Array(count * perImage);
  for (let i = 0; i < count; i++) out.set(values.subarray(index * perImage, (index + 1) * perImage), i * perImage);
  return out;
}

/** Real images with a little uniform noise added (at most ±`amount`), kept in [-1, 1]. */
function jittered(values: Float32Array, amount: number, seed: number): Float32Array {
  const rng = new Prng(seed);
  return values.map((v) => Math.min(1, Math.max(-1, v + (rng.next() * 2 - 1) * amount)));
}

function describeMeasure(m: QualityMeasure): string {
  return `score ${m.score.toFixed(1)}, KID ${m.distance.toFixed(4)}, variety ${m.variety.toFixed(2)}, duplicates ${m.duplicates.toFixed(3)}, copied ${m.copied.toFixed(3)}` +
    (m.nearest ? `, nearest ratio ${m.nearest.ratio.toFixed(2)}` : '');
}

const SIZE = 28;
const PER_IMAGE = SIZE * SIZE;
const train = shapes(512, SIZE, 1, 1);
const heldOut = shapes(QUALITY_SAMPLES, SIZE, 1, 2);
let reference: QualityReference;

beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
  reference = buildQualityReference(train, 1);
});

afterAll(() => {
  reference.dispose();
});

describe('measureQuality', () => {
  it('scores noise and one repeated image below a trained DCGAN, and the DCGAN below held-out images', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gs-quality-'));
    const config = { ...testConfig({ model: { kind: 'dcgan', latent: 32 }, seed: 3 }), batch: 32, steps: 1000 };
    const trainer = await Trainer.create({ config, dataset: train, runDir: dir, resumeFrom: null });
    let trainedSamples: Float32Array;
    try {
      for (let step = 0; step < 300; step++) await trainer.trainStep();
      trainedSamples = await trainer.sampleFixed();
    } finally {
      trainer.dispose();
      await rm(dir, { recursive: true, force: true });
    }
    // All four sets at the trainer's grid size (GRID_SAMPLES), so that they are compared alike.
    const n = GRID_SAMPLES;
    const held = realSamples(heldOut, n);
    const noise = measureQuality(reference, uniformNoise(n, PER_IMAGE, 9), n);
    const collapsed = measureQuality(reference, repeated(held, PER_IMAGE, 0, n), n);
    const trained = measureQuality(reference, trainedSamples, n);
    const real = measureQuality(reference, held, n);
    console.log(
      `quality on ${tf.getBackend()} (anchors: noise KID ${reference.noiseDistance.toFixed(3)}, collapse ${reference.collapseDistance.toFixed(3)}):\n` +
        `  uniform noise    ${describeMeasure(noise)}\n  one image x${n}   ${describeMeasure(collapsed)}\n` +
        `  DCGAN, 300 steps ${describeMeasure(trained)}\n  held-out real    ${describeMeasure(real)}`,
    );
    expect(noise.score).toBeLessThan(10);
    expect(noise.score).toBeLessThan(trained.score);
    expect(collapsed.score).toBeLessThan(trained.score);
    expect(trained.score).toBeLessThan(real.score);
    expect(real.score).toBeGreaterThan(90);
  });

  it('finds variety near 0 in one repeated image and near 1 in held-out images, and duplicates in a few repeated ones', () => {
    const held = realSamples(heldOut, QUALITY_SAMPLES);
    const one = measureQuality(reference, repeated(held, PER_IMAGE, 3, QUALITY_SAMPLES), QUALITY_SAMPLES);
    const real = measureQuality(reference, held, QUALITY_SAMPLES);
    // Four held-out images over and over: a partial collapse, which the mean over pairs hardly sees.
    const fourModes = new Float32Array(QUALITY_SAMPLES * PER_IMAGE);
    for (let i = 0; i < QUALITY_SAMPLES; i++) fourModes.set(held.subarray((i % 4) * PER_IMAGE, (i % 4 + 1) * PER_IMAGE), i * PER_IMAGE);
    const four = measureQuality(reference, jittered(fourModes, 0.02, 4), QUALITY_SAMPLES);
    console.log(`one image: ${describeMeasure(one)}; four: ${describeMeasure(four)}; held-out: ${describeMeasure(real)}`);
    expect(one.variety).toBeLessThan(0.05);
    expect(real.variety).toBeGreaterThan(0.8);
    expect(real.variety).toBeLessThan(1.25);
    expect(one.duplicates).toBe(1);
    expect(four.duplicates).toBe(1);
    expect(real.duplicates).toBeLessThan(0.05);
    expect(four.score).toBeLessThan(real.score);
  });

  it('counts training images with a little noise as copies, and held-out images not', () => {
    const copies = measureQuality(reference, jittered(realSamples(train, QUALITY_SAMPLES), 0.03, 5), QUALITY_SAMPLES);
    const real = measureQuality(reference, realSamples(heldOut, QUALITY_SAMPLES), QUALITY_SAMPLES);
    console.log(`copies: ${describeMeasure(copies)}; held-out: ${describeMeasure(real)}`);
    expect(copies.copied).toBeGreaterThan(0.95);
    expect(real.copied).toBeLessThan(0.1);
    // The pair names the sample and the training image it was made from (the reference is the whole set here).
    const pair = copies.nearest!;
    expect(pair.image).toBe(pair.sample);
    expect(pair.ratio).toBeLessThan(COPY_RATIO);
  });

  it('works at 28/1, 32/3, 64/3 and 128/1', () => {
    for (const [size, channels] of [[28, 1], [32, 3], [64, 3], [128, 1]] as const) {
      const ref = buildQualityReference(shapes(48, size, channels, 11), 1);
      try {
        expect({ size: ref.size, channels: ref.channels, images: ref.images }).toEqual({ size, channels, images: 48 });
        const perImage = size * size * channels;
        const count = 24;
        const real = measureQuality(ref, realSamples(shapes(count, size, channels, 12), count), count);
        const noise = measureQuality(ref, uniformNoise(count, perImage, 13), count);
        for (const m of [real, noise]) {
          expect(Number.isFinite(m.distance) && Number.isFinite(m.variety)).toBe(true);
          expect(m.score).toBeGreaterThanOrEqual(0);
          expect(m.score).toBeLessThanOrEqual(100);
          expect(m.nearest!.image).toBeGreaterThanOrEqual(0);
          expect(m.nearest!.image).toBeLessThan(48);
        }
        expect(noise.score).toBeLessThan(real.score);
      } finally {
        ref.dispose();
      }
    }
  });

  it('handles a 20-image dataset', () => {
    const tiny = shapes(20, SIZE, 1, 21);
    const ref = buildQualityReference(tiny, 1);
    try {
      expect(ref.images).toBe(20);
      expect(ref.collapseDistance).toBeGreaterThan(0);
      const count = 64;
      const noise = measureQuality(ref, uniformNoise(count, PER_IMAGE, 22), count);
      const one = measureQuality(ref, repeated(realSamples(heldOut, 1), PER_IMAGE, 0, count), count);
      const real = measureQuality(ref, realSamples(heldOut, count), count);
      // Its own images, each about three times, with a little noise: all near copies.
      const own = new Float32Array(count * PER_IMAGE);
      const tinyValues = realSamples(tiny, 20);
      for (let i = 0; i < count; i++) own.set(tinyValues.subarray((i % 20) * PER_IMAGE, (i % 20 + 1) * PER_IMAGE), i * PER_IMAGE);
      const copies = measureQuality(ref, jittered(own, 0.03, 23), count);
      console.log(`20 images: noise ${describeMeasure(noise)}; one image ${describeMeasure(one)}; held-out ${describeMeasure(real)}; own ${describeMeasure(copies)}`);
      expect(noise.score).toBeLessThan(one.score);
      expect(one.score).toBeLessThan(real.score);
      expect(copies.copied).toBe(1);
      expect(copies.nearest!.image).toBe(copies.nearest!.sample % 20);
    } finally {
      ref.dispose();
    }
  });

  it('gives finite measures for a dataset of one image', () => {
    const single = shapes(1, SIZE, 1, 31);
    const ref = buildQualityReference(single, 1);
    try {
      const count = 8;
      const itself = measureQuality(ref, repeated(realSamples(single, 1), PER_IMAGE, 0, count), count);
      const others = measureQuality(ref, realSamples(heldOut, count), count);
      for (const m of [itself, others]) expect([m.score, m.distance, m.variety, m.nearest!.ratio].every(Number.isFinite)).toBe(true);
      expect(itself.score).toBe(100);
      expect(itself.copied).toBe(1);
      expect(others.score).toBeLessThan(itself.score);
      expect(others.copied).toBe(0);
    } finally {
      ref.dispose();
    }
  });

  it('is deterministic and leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    const first = buildQualityReference(train, 7);
    const second = buildQualityReference(train, 7);
    const held = realSamples(heldOut, 32);
    const during = tf.memory().numTensors;
    const a = measureQuality(first, held, 32);
    const b = measureQuality(second, held, 32);
    const c = measureQuality(first, held, 32);
    expect(tf.memory().numTensors).toBe(during);
    expect(second.noiseDistance).toBe(first.noiseDistance);
    expect(second.collapseDistance).toBe(first.collapseDistance);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    first.dispose();
    second.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('scores samples with NaN or Infinity 0 without throwing', () => {
    const held = realSamples(heldOut, 16);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const samples = held.slice();
      samples[5 * PER_IMAGE + 100] = bad;
      const m = measureQuality(reference, samples, 16);
      expect(m).toEqual({ score: 0, distance: reference.noiseDistance, variety: 0, copied: 0, duplicates: 0, nearest: null });
    }
  });

  it('clips finite values outside [-1, 1] and rejects malformed input', () => {
    const held = realSamples(heldOut, 16);
    const scaled = held.map((v) => v * 3);
    const clipped = held.map((v) => Math.min(1, Math.max(-1, v * 3)));
    expect(measureQuality(reference, scaled, 16)).toEqual(measureQuality(reference, clipped, 16));
    expect(() => measureQuality(reference, held, 15)).toThrow(/values/);
    expect(() => measureQuality(reference, held.subarray(0, PER_IMAGE), 1)).toThrow(/at least 2/);
    const foreign: QualityReference = { size: SIZE, channels: 1, images: 1, noiseDistance: 1, collapseDistance: 1, dispose: () => undefined };
    expect(() => measureQuality(foreign, held, 16)).toThrow(/buildQualityReference/);
  });
});
