// DCGAN at 128 px (photo folders): one real training step of the Trainer on a tiny synthetic
// 128x128 RGB dataset, unconditional and conditional (the label plane at 128x128), with finite
// losses and no tensors left behind. Batch 2, latent 16: a step takes well under a second.
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../../../src/main/core/engine/backend/backends';
import { Trainer } from '../../../../../src/main/core/engine/ml/trainer';
import type { ModelKind } from '../../../../../src/shared/types';
import { syntheticDataset } from '../../../../helpers/datasets';
import { testConfig } from '../../../../helpers/train-config';

let dir: string;
beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-128-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('DCGAN-128 training', () => {
  for (const kind of ['dcgan', 'cdcgan'] as ModelKind[]) {
    it(`${kind}: a training step at 128x128x3 has finite losses and leaves no tensors behind`, async () => {
      const classes = kind === 'cdcgan' ? 2 : 0;
      const config = testConfig({ model: { kind, size: 128, channels: 3, latent: 16, numClasses: classes }, batch: 2, steps: 2, name: '128' });
      const before = tf.memory().numTensors;
      const trainer = await Trainer.create({ config, dataset: syntheticDataset(4, 128, 3, classes), runDir: dir, resumeFrom: null });
      const metrics = [await trainer.trainStep()];
      const afterFirst = tf.memory().numTensors;
      metrics.push(await trainer.trainStep());
      // Adam's moments exist from the first step on; later steps add nothing.
      expect(tf.memory().numTensors).toBe(afterFirst);
      trainer.dispose();
      expect(tf.memory().numTensors).toBe(before);
      for (const m of metrics) {
        expect(Number.isFinite(m.lossD) && Number.isFinite(m.lossG)).toBe(true);
        expect(m.dReal).toBeGreaterThanOrEqual(0);
        expect(m.dReal).toBeLessThanOrEqual(1);
      }
    });
  }
});
