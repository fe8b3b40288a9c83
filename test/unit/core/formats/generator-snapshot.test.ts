// Generator snapshots: G's weights (batchnorm statistics included) taken out of a training
// checkpoint into a small file that LoadedGenerator draws the same pixels from, written atomically,
// listed by step, and never taken for a training checkpoint.
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../../src/main/core/engine/backend/backends';
import { readCheckpoint, writeCheckpoint, type StoredTensor } from '../../../../src/main/core/formats/checkpoint';
import { LoadedGenerator } from '../../../../src/main/core/engine/ml/generator';
import { listSnapshots, snapshotName, snapshotsDir, SNAPSHOT_KIND, writeGeneratorSnapshot } from '../../../../src/main/core/formats/generator-snapshot';
import { buildGan } from '../../../../src/main/core/engine/ml/models';
import type { CheckpointMeta } from '../../../../src/main/core/engine/ml/trainer';
import type { TrainConfig } from '../../../../src/shared/types';
import { testConfig } from '../../../helpers/train-config';

beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
});

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const config: TrainConfig = testConfig({ model: { kind: 'dcgan', latent: 12 }, data: 'x', epochs: 3, seed: 4, name: 'snap' });

/** A training-checkpoint-shaped file: G and D weights (G's batchnorm statistics moved off their defaults) and optimizer slots. */
async function fakeCheckpoint(dir: string, step: number, epoch: number): Promise<string> {
  const models = buildGan(config.model, config.seed);
  const tensors: StoredTensor[] = [];
  const add = async (prefix: string, list: tf.Tensor[]) => {
    for (const [i, t] of list.entries()) {
      const shifted = tf.tidy(() => t.add(tf.randomUniform(t.shape, 0.01, 0.2, 'float32', step * 100 + i)));
      tensors.push({ name: `${prefix}/${i}`, shape: t.shape, dtype: 'float32', values: (await shifted.data()) as Float32Array });
      shifted.dispose();
    }
  };
  await add('G', models.generator.getWeights());
  await add('D', models.discriminator.getWeights());
  await add('optG', models.generator.getWeights().slice(0, 2));
  models.generator.dispose();
  models.discriminator.dispose();
  const meta: CheckpointMeta = { kind: 'gan-studio-checkpoint', step, epoch, seed: config.seed, config, backend: 'wasm', createdAt: 'now' };
  const path = join(dir, `step-${step}.ckpt`);
  await writeCheckpoint(path, meta, tensors);
  return path;
}

describe('generator snapshots', () => {
  it('hold only G, are smaller than the checkpoint, and draw the same pixels', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gan-snap-'));
    dirs.push(dir);
    const checkpoint = await fakeCheckpoint(dir, 6, 3);
    const snap = await writeGeneratorSnapshot(checkpoint, snapshotsDir(dir));
    expect(snap).toEqual({ step: 6, epoch: 3, path: join(dir, 'snapshots', snapshotName(6, 3)) });
    expect(snapshotName(6, 3)).toBe('step-00000006-epoch-0003.gsnap');
    expect((await readdir(join(dir, 'snapshots'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const file = await readCheckpoint<{ kind: string; step: number; epoch: number }>(snap.path);
    expect(file.meta).toMatchObject({ kind: SNAPSHOT_KIND, step: 6, epoch: 3 });
    expect(file.tensors.length).toBeGreaterThan(0);
    expect(file.tensors.every((t) => t.name.startsWith('G/'))).toBe(true);
    // Every weight of G, the batchnorm moving statistics (not trainable) included.
    const probe = buildGan(config.model, config.seed);
    const [all, trainable] = [probe.generator.getWeights().length, probe.generator.trainableWeights.length];
    probe.generator.dispose();
    probe.discriminator.dispose();
    expect(trainable).toBeLessThan(all);
    expect(file.tensors).toHaveLength(all);
    expect((await stat(snap.path)).size).toBeLessThan((await stat(checkpoint)).size);

    const [a, b] = [await LoadedGenerator.fromCheckpoint(checkpoint), await LoadedGenerator.fromCheckpoint(snap.path)];
    try {
      expect(b.step).toBe(6);
      const [x, y] = [await a.sample(4, 9, null), await b.sample(4, 9, null)];
      expect(Buffer.from(y.values.buffer).equals(Buffer.from(x.values.buffer))).toBe(true);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('are listed by step, skipping other files, and none when there is no folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gan-snap-'));
    dirs.push(dir);
    expect(listSnapshots(dir)).toEqual([]);
    for (const [step, epoch] of [[4, 2], [2, 1], [6, 3]] as const) await writeGeneratorSnapshot(await fakeCheckpoint(dir, step, epoch), snapshotsDir(dir));
    writeFileSync(join(dir, 'snapshots', 'notes.txt'), 'x');
    writeFileSync(join(dir, 'snapshots', '.step-00000008-epoch-0004.gsnap.123.tmp'), 'half');
    expect(listSnapshots(dir).map((s) => [s.step, s.epoch])).toEqual([[2, 1], [4, 2], [6, 3]]);
  });

  it('refuses a file that is neither a checkpoint nor a snapshot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gan-snap-'));
    dirs.push(dir);
    const path = join(dir, 'other.ckpt');
    await writeCheckpoint(path, { kind: 'something-else', config, seed: 1, step: 1 }, []);
    await expect(LoadedGenerator.fromCheckpoint(path)).rejects.toThrow(/neither a GAN Studio checkpoint nor a generator snapshot/);
    await expect(writeGeneratorSnapshot(path, dir)).rejects.toThrow(/no generator weights/);
  });
});
