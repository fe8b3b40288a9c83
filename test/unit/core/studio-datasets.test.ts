import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { StoredDataset } from '../../../src/main/core/store/dataset-store';
import { fitConfigToDataset, Studio, StudioError } from '../../../src/main/core/studio';
import { TRAIN_DEFAULTS, type ImageSize, type TrainConfig } from '../../../src/shared/types';

let tmp: string;
let studio: Studio;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'gan-studio-ds-'));
  studio = Studio.open(path.join(tmp, 'home'));
});
afterAll(async () => {
  studio?.close();
  await rm(tmp, { recursive: true, force: true });
});

const config = (size: ImageSize, channels: 1 | 3): TrainConfig => ({
  model: { kind: 'dcgan', size, channels, latent: 100, numClasses: 0 },
  data: 'ds',
  epochs: 1,
  steps: null,
  batch: TRAIN_DEFAULTS.batch,
  lr: TRAIN_DEFAULTS.lr,
  beta1: TRAIN_DEFAULTS.beta1,
  beta2: TRAIN_DEFAULTS.beta2,
  k: 1,
  seed: 1,
  name: 'x',
});

describe('Studio datasets', () => {
  it('imports, lists and deletes a dataset with its files; bad input is a StudioError', async () => {
    const src = path.join(tmp, 'src');
    await mkdir(src);
    await sharp({ create: { width: 10, height: 10, channels: 3, background: '#f00' } }).png().toFile(path.join(src, 'a.png'));
    const progress: number[] = [];
    const s = await studio.importDataset({ path: src, name: 'reds', size: 32 }, (p) => progress.push(p.done));
    expect(s.imported).toBe(1);
    expect(progress.at(-1)).toBe(1);
    expect(studio.listDatasets().map((d) => d.name)).toEqual(['reds']);
    expect(studio.getDataset('reds').id).toBe(s.dataset.id);
    await expect(studio.importDataset({ path: tmp, name: 'reds' })).rejects.toMatchObject({ code: 'conflict' });
    await expect(studio.importDataset({ path: path.join(tmp, 'none'), name: 'n' })).rejects.toMatchObject({ code: 'data', name: 'StudioError' });
    await studio.deleteDataset(s.dataset.id);
    expect(studio.listDatasets()).toEqual([]);
    expect(existsSync(s.dataset.cachePath!)).toBe(false);
    expect(existsSync(s.dataset.contactSheetPath!)).toBe(false);
    expect(() => studio.getDataset(s.dataset.id)).toThrow(StudioError);
  });

  it('train --data NAME takes the dataset size/channels unless given, and explains sizes it cannot train', () => {
    const ds = { name: 'ds', size: 64, channels: 3, sourcePath: '/src' } as StoredDataset;
    expect(fitConfigToDataset(config(28, 1), ds, { size: true, channels: true }).model).toMatchObject({ size: 64, channels: 3 });
    expect(() => fitConfigToDataset(config(28, 3), ds, { channels: true })).toThrow(/holds 64 px images; train it with --size 64/);
    expect(() => fitConfigToDataset(config(64, 1), ds, {})).toThrow(/holds RGB images; train it with --channels 3/);
    // 128 px datasets (photo folders) train as they are, at 128 px.
    const big = { ...ds, size: 128 } as StoredDataset;
    expect(fitConfigToDataset(config(28, 3), big, { size: true, channels: true }).model).toMatchObject({ size: 128, channels: 3 });
    expect(() => fitConfigToDataset(config(64, 3), big, { channels: true })).toThrow(/holds 128 px images; train it with --size 128/);
    const odd = { ...ds, size: 96 } as StoredDataset; // no importer makes these; a guard all the same
    expect(() => fitConfigToDataset(config(28, 3), odd, { size: true, channels: true })).toThrow(
      /holds 96 px images, but the models train at 28, 32, 64, 128 px/,
    );
  });
});
