import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../../../src/main/core/engine/backend/backends';
import { fileHandler, loadGeneratorExport, writeGeneratorExport } from '../../../../../src/main/core/engine/ml/export';
import { LoadedGenerator } from '../../../../../src/main/core/engine/ml/generator';
import { seededLatent } from '../../../../../src/main/core/engine/ml/latent';
import { buildGan } from '../../../../../src/main/core/engine/ml/models';
import type { ModelConfig } from '../../../../../src/shared/types';

beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
});

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function generatorFor(config: ModelConfig, seed: number): LoadedGenerator {
  const models = buildGan(config, seed);
  models.discriminator.dispose();
  // Non-default batchnorm statistics, so a lost non-trainable weight would show.
  const weights = models.generator.getWeights().map((w, i) => tf.tidy(() => w.add(tf.randomUniform(w.shape, 0.01, 0.05, 'float32', i))));
  models.generator.setWeights(weights);
  tf.dispose(weights);
  return LoadedGenerator.fromLayersModel(config, models.generator, 123);
}

describe('generator export', () => {
  const cases: ModelConfig[] = [
    { kind: 'dcgan', size: 28, channels: 1, latent: 16, numClasses: 0 },
    { kind: 'cdcgan', size: 32, channels: 3, latent: 10, numClasses: 3, classNames: ['cat', 'dog', 'owl'] },
  ];
  for (const config of cases) {
    it(`${config.kind} ${config.size}px: export → load gives identical outputs for the same latents`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'gan-export-'));
      dirs.push(dir);
      const original = generatorFor(config, 9);
      const sidecar = await writeGeneratorExport(dir, original, { runId: 4, runName: 'test run' });
      expect(sidecar).toMatchObject({ modelKind: config.kind, latentSize: config.latent, imageSize: config.size, channels: config.channels, runId: 4, step: 123 });
      const onDisk = JSON.parse(await readFile(join(dir, 'gan-studio.json'), 'utf8'));
      expect(onDisk.classNames).toEqual(config.classNames ?? []);
      const modelJson = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
      expect(modelJson.format).toBe('layers-model');
      expect(modelJson.weightsManifest[0].paths).toEqual(['weights.bin']);

      const latents = [1, 2, 3, 4].map((s) => seededLatent(s, config.latent));
      const labels = config.numClasses ? [0, 2, 1] : null;
      const before = await original.render(latents, labels);

      const { generator: imported } = await loadGeneratorExport(dir);
      const after = await imported.render(latents, labels);
      expect(after.values.length).toBe(before.values.length);
      let diff = 0;
      for (let i = 0; i < before.values.length; i++) diff = Math.max(diff, Math.abs(before.values[i]! - after.values[i]!));
      expect(diff).toBe(0);
      expect(imported.step).toBe(123);

      // Plain tf.loadLayersModel, as any Node program would.
      const plain = await tf.loadLayersModel(fileHandler(dir));
      const z = tf.tensor2d(Float32Array.from(latents.flatMap((l) => Array.from(l))), [4, config.latent]);
      const inputs = config.numClasses ? [z, tf.oneHot(tf.tensor1d([0, 2, 1, 0], 'int32'), config.numClasses).toFloat()] : z;
      const y = plain.predict(inputs) as tf.Tensor;
      const values = await y.data();
      let diff2 = 0;
      for (let i = 0; i < values.length; i++) diff2 = Math.max(diff2, Math.abs(values[i]! - before.values[i]!));
      expect(diff2).toBe(0);
      tf.dispose([y, z, inputs]);
      plain.dispose();
      original.dispose();
      imported.dispose();
    });
  }

  it('refuses a folder without a sidecar, and a model that does not match its sidecar', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gan-export-'));
    dirs.push(dir);
    await expect(loadGeneratorExport(dir)).rejects.toThrow(/not an exported GAN Studio generator/);
    const g = generatorFor({ kind: 'gan', size: 28, channels: 1, latent: 8, numClasses: 0 }, 1);
    await writeGeneratorExport(dir, g, { runId: null, runName: null });
    g.dispose();
    const sidecar = JSON.parse(await readFile(join(dir, 'gan-studio.json'), 'utf8'));
    await import('node:fs/promises').then((fs) => fs.writeFile(join(dir, 'gan-studio.json'), JSON.stringify({ ...sidecar, latentSize: 9 })));
    await expect(loadGeneratorExport(dir)).rejects.toThrow(/do not match/);
  });
});
