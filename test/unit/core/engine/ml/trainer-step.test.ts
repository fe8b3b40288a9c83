// The training step's arithmetic: D's loss on the real and the fake batch as one batch (batch
// norm per half) has the values and gradients of a pass per batch; reusing the discriminator
// step's fake batch for the generator update (G runs once a step) gives the same update as
// running G again on the same latent; and the wasm backend (threads, GAN Studio's kernels and
// gradients) gives the cpu backend's losses.
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../../../src/main/core/engine/backend/backends';
import { nativeStatus } from '../../../../../src/main/core/engine/backend/native-kernels';
import { discriminate, generate, type GanModels } from '../../../../../src/main/core/engine/ml/models';
import { mixSeed, Stream } from '../../../../../src/main/core/engine/ml/rng';
import { Trainer } from '../../../../../src/main/core/engine/ml/trainer';
import type { ModelKind, StepMetrics, TrainConfig } from '../../../../../src/shared/types';
import { syntheticDataset } from '../../../../helpers/datasets';
import { testConfig } from '../../../../helpers/train-config';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-step-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function config(kind: ModelKind, batch: number, latent: number): TrainConfig {
  return testConfig({ model: { kind, latent }, batch, seed: 5, name: 'step' });
}

/** The trainer's private parts the reference step needs. */
interface Internals {
  models: GanModels;
  optD: tf.Optimizer;
  optG: tf.Optimizer;
  dVars: tf.Variable[];
  gVars: tf.Variable[];
  ones: tf.Tensor2D;
  zeros: tf.Tensor2D;
  realBatch(index: number): { images: tf.Tensor4D; labels: tf.Tensor2D | null };
  discriminatorLoss(real: tf.Tensor4D, realLabels: tf.Tensor2D | null, fake: tf.Tensor4D,
    fakeLabels: tf.Tensor2D | null): { loss: tf.Scalar; scores: tf.Tensor1D };
}

/**
 * Algorithm 1 for k = 1 written plainly: D update on G(z), then a G update that runs G(z) again.
 * D's loss is the trainer's (its equality with a pass per batch is the next test's subject).
 */
function referenceStep(t: Internals, cfg: TrainConfig): void {
  const { images: real } = t.realBatch(0);
  const z = tf.randomNormal([cfg.batch, cfg.model.latent], 0, 1, 'float32', mixSeed(cfg.seed, Stream.discriminatorLatent, 0, 0)) as tf.Tensor2D;
  const fake = tf.tidy(() => generate(t.models, z, null, true));
  tf.dispose(t.optD.minimize(() => t.discriminatorLoss(real, null, fake, null).loss, true, t.dVars)!);
  tf.dispose(t.optG.minimize(() => tf.losses.sigmoidCrossEntropy(t.ones,
    discriminate(t.models, generate(t.models, z, null, true), null, true)) as tf.Scalar, true, t.gVars)!);
  tf.dispose([real, z, fake]);
}

function maxRelDiff(a: tf.Tensor[], b: tf.Tensor[]): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const av = a[i]!.dataSync();
    const bv = b[i]!.dataSync();
    for (let j = 0; j < av.length; j++) worst = Math.max(worst, Math.abs(av[j]! - bv[j]!) / Math.max(1e-3, Math.abs(bv[j]!)));
  }
  return worst;
}

/** max|a - b| / max|b| (elements near zero by cancellation make elementwise ratios meaningless). */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  }
  return Number.isNaN(worst) ? Number.NaN : worst / Math.max(scale, 1e-30);
}

describe('discriminator loss on the real and the fake batch as one batch', () => {
  const native = nativeStatus().available;
  const setups: [string, 'cpu' | 'wasm', ModelKind][] = [
    ['dcgan on wasm', 'wasm', 'dcgan'],
    ['gan on cpu', 'cpu', 'gan'],
    ['cdcgan (labels) on wasm', 'wasm', 'cdcgan'],
  ];
  for (const [label, backend, kind] of setups) {
    it(`equals a pass per batch: loss, D(x), D(G(z)), every gradient and batch-norm statistic (${label}${backend === 'wasm' ? (native ? ', native kernels' : ', no native kernels') : ''})`, async () => {
      await selectBackend({ prefer: backend });
      const conditional = kind === 'cdcgan';
      const cfg = testConfig({ model: { kind, latent: 16, numClasses: conditional ? 3 : 0 }, batch: 8, seed: 9, name: 'dloss' });
      const t = await Trainer.create({ config: cfg, dataset: syntheticDataset(32, 28, 1, conditional ? 3 : 0), runDir: join(dir, 'd'), resumeFrom: null });
      const internals = t as unknown as Internals;
      const d = internals.models.discriminator;
      const { images: real } = internals.realBatch(0);
      const labelsOf = (offset: number) => (conditional ? tf.tensor2d(Array.from({ length: 8 }, (_, i) => (i + offset) % 3), [8, 1]) : null);
      const realLabels = labelsOf(0);
      const fakeLabels = labelsOf(1);
      // A fake batch far from the real one, so that pooled batch statistics would differ.
      const fake = tf.tidy(() => tf.tanh(tf.randomNormal(real.shape, 0.5, 2, 'float32', 3))) as tf.Tensor4D;
      const before = d.getWeights().map((w) => w.clone());
      const run = (loss: () => { loss: tf.Scalar; scores: tf.Tensor }) => {
        d.setWeights(before);
        let scores: Float32Array | null = null;
        const { value, grads } = tf.variableGrads(() => {
          const r = loss();
          scores = r.scores.dataSync() as Float32Array;
          return r.loss;
        }, internals.dVars);
        const out = {
          loss: value.dataSync()[0]!,
          scores: scores!,
          grads: internals.dVars.map((v) => grads[v.name]!.dataSync().slice()),
          weights: d.getWeights().map((w) => w.dataSync().slice()),
        };
        tf.dispose([value, ...Object.values(grads)]);
        return out;
      };
      const passPerBatch = () => {
        const realLogits = discriminate(internals.models, real, realLabels, true);
        const fakeLogits = discriminate(internals.models, fake, fakeLabels, true);
        return {
          loss: tf.losses.sigmoidCrossEntropy(internals.ones, realLogits).add(tf.losses.sigmoidCrossEntropy(internals.zeros, fakeLogits)) as tf.Scalar,
          scores: tf.stack([tf.sigmoid(realLogits).mean(), tf.sigmoid(fakeLogits).mean()]),
        };
      };
      try {
        const ref = run(passPerBatch);
        const got = run(() => internals.discriminatorLoss(real, realLabels, fake, fakeLabels));
        const errors = [
          ['loss', Math.abs(got.loss - ref.loss) / Math.abs(ref.loss)] as const,
          ['scores', relativeError(got.scores, ref.scores)] as const,
          ...got.grads.map((g, i) => [`grad ${internals.dVars[i]!.name}`, relativeError(g, ref.grads[i]!)] as const),
          // D's weights after the passes: the moving mean and variance of its batch norms.
          ...got.weights.map((w, i) => [`weight ${i}`, relativeError(w, ref.weights[i]!)] as const),
        ];
        const [worstName, worst] = errors.reduce((a, b) => (b[1] > a[1] ? b : a));
        console.log(`${label}: worst relative error ${worst.toExponential(2)} (${worstName}) over ${errors.length} figures`);
        for (const [name, e] of errors) expect(e, name).toBeLessThan(1e-4);
        // The batch norms did run (DCGAN's D has them) and moved their statistics.
        if (kind !== 'gan') {
          expect(Math.max(...got.weights.map((w, i) => relativeError(w, before[i]!.dataSync())))).toBeGreaterThan(1e-3);
        }
      } finally {
        tf.dispose([real, fake, ...before, ...(realLabels ? [realLabels] : []), ...(fakeLabels ? [fakeLabels] : [])]);
        t.dispose();
      }
    }, 60_000);
  }
});

describe('training step', () => {
  for (const [kind, backend] of [['gan', 'cpu'], ['dcgan', 'wasm']] as const) {
    it(`reusing the fake batch for G equals running G again (${kind} on ${backend})`, async () => {
      await selectBackend({ prefer: backend });
      const cfg = config(kind, 16, 32);
      const dataset = syntheticDataset(64, 28, 1);
      const ours = await Trainer.create({ config: cfg, dataset, runDir: join(dir, 'a'), resumeFrom: null });
      const ref = await Trainer.create({ config: cfg, dataset, runDir: join(dir, 'b'), resumeFrom: null });
      try {
        await ours.trainStep();
        referenceStep(ref as unknown as Internals, cfg);
        const a = ours as unknown as Internals;
        const b = ref as unknown as Internals;
        const dG = maxRelDiff(a.gVars, b.gVars);
        const dD = maxRelDiff(a.dVars, b.dVars);
        console.log(`${kind}/${backend}: max relative weight difference after one step: G ${dG.toExponential(2)}, D ${dD.toExponential(2)}`);
        expect(dG).toBeLessThan(1e-4);
        expect(dD).toBeLessThan(1e-4);
        // The step really moved the weights (a no-op would also "match").
        const init = await Trainer.create({ config: cfg, dataset, runDir: join(dir, 'c'), resumeFrom: null });
        expect(maxRelDiff(a.gVars, (init as unknown as Internals).gVars)).toBeGreaterThan(1e-3);
        init.dispose();
      } finally {
        ours.dispose();
        ref.dispose();
      }
    });
  }

  it('DCGAN-28 losses on wasm match the cpu backend for 2 steps from the same seed', async () => {
    // Batch 4: the cpu backend's own Conv2DBackpropFilter takes ~20 s a step even so.
    const cfg = config('dcgan', 4, 100);
    const dataset = syntheticDataset(16, 28, 1);
    const run = async (backend: 'cpu' | 'wasm'): Promise<StepMetrics[]> => {
      await selectBackend({ prefer: backend });
      const t = await Trainer.create({ config: cfg, dataset, runDir: join(dir, backend), resumeFrom: null });
      try {
        return [await t.trainStep(), await t.trainStep()];
      } finally {
        t.dispose();
      }
    };
    const wasm = await run('wasm');
    const cpu = await run('cpu');
    const keys = ['lossD', 'lossG', 'dReal', 'dFake'] as const;
    for (let s = 0; s < 2; s++) {
      const diffs = keys.map((k) => Math.abs(wasm[s]![k] - cpu[s]![k]) / Math.max(1e-3, Math.abs(cpu[s]![k])));
      console.log(`step ${s + 1}: wasm ${keys.map((k) => wasm[s]![k].toFixed(6)).join(' ')} | cpu ${keys.map((k) => cpu[s]![k].toFixed(6)).join(' ')} | max rel diff ${Math.max(...diffs).toExponential(2)}`);
      for (const d of diffs) expect(d).toBeLessThan(1e-4);
    }
  }, 180_000);
});
