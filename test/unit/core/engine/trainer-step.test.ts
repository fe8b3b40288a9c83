// The training step's arithmetic: reusing the discriminator step's fake batch for the generator
// update (G runs once a step) gives the same update as running G again on the same latent, and
// the wasm backend (threads, GAN Studio's kernels and gradients) gives the cpu backend's losses.
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../../src/main/core/engine/backends';
import { discriminate, generate, type GanModels } from '../../../../src/main/core/engine/models';
import { mixSeed, Stream } from '../../../../src/main/core/engine/rng';
import { Trainer } from '../../../../src/main/core/engine/trainer';
import type { ModelKind, StepMetrics, TrainConfig } from '../../../../src/shared/types';
import { syntheticDataset } from '../../../helpers/datasets';
import { testConfig } from '../../../helpers/train-config';

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
}

/** Algorithm 1 for k = 1 written plainly: D update on G(z), then a G update that runs G(z) again. */
function referenceStep(t: Internals, cfg: TrainConfig): void {
  const { images: real } = t.realBatch(0);
  const z = tf.randomNormal([cfg.batch, cfg.model.latent], 0, 1, 'float32', mixSeed(cfg.seed, Stream.discriminatorLatent, 0, 0)) as tf.Tensor2D;
  const fake = tf.tidy(() => generate(t.models, z, null, true));
  tf.dispose(t.optD.minimize(() => tf.losses.sigmoidCrossEntropy(t.ones, discriminate(t.models, real, null, true))
    .add(tf.losses.sigmoidCrossEntropy(t.zeros, discriminate(t.models, fake, null, true))) as tf.Scalar, true, t.dVars)!);
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
