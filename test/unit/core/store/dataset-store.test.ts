import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../../../src/main/core/store/database';
import { DatasetStore, type AddDatasetInput } from '../../../../src/main/core/store/dataset-store';
import { RunStore } from '../../../../src/main/core/store/run-store';
import { TRAIN_DEFAULTS } from '../../../../src/shared/types';

const mnist: AddDatasetInput = {
  name: 'mnist',
  sourcePath: '/data/mnist',
  format: 'idx',
  size: 28,
  channels: 1,
  count: 60000,
  classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
};

describe('DatasetStore', () => {
  let home: string;
  let db: Database;
  let store: DatasetStore;

  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'gan-datasets-'));
    db = openDatabase(home);
    store = new DatasetStore(db);
  });
  afterEach(async () => {
    if (db.open) db.close();
    await rm(home, { recursive: true, force: true });
  });

  it('adds and reads back a dataset', () => {
    const added = store.add(mnist);
    expect(added).toMatchObject({ ...mnist, cachePath: null, contentHash: null });
    expect(added.id).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(added.createdAt))).toBe(false);
    expect(store.get(added.id)).toEqual(added);
    expect(store.get(999)).toBeNull();
    expect(store.findByName('mnist')).toEqual(added);
    expect(store.findByName('nope')).toBeNull();
  });

  it('keeps cache path and content hash', () => {
    const added = store.add({
      ...mnist,
      name: 'faces',
      format: 'folder',
      channels: 3,
      size: 64,
      classNames: [],
      cachePath: path.join(home, 'datasets', '1.bin'),
      contentHash: 'abc123',
    });
    expect(added.cachePath).toBe(path.join(home, 'datasets', '1.bin'));
    expect(added.contentHash).toBe('abc123');
    expect(added.classNames).toEqual([]);
    store.setCache(added.id, null, null);
    expect(store.get(added.id)!.cachePath).toBeNull();
  });

  it('names are unique', () => {
    store.add(mnist);
    expect(() => store.add(mnist)).toThrow(/UNIQUE/);
  });

  it('finds a dataset by source, size and channels', () => {
    const a = store.add(mnist);
    const b = store.add({ ...mnist, name: 'mnist-32', size: 32 });
    expect(store.findBySource('/data/mnist', 28, 1)?.id).toBe(a.id);
    expect(store.findBySource('/data/mnist', 32, 1)?.id).toBe(b.id);
    expect(store.findBySource('/data/mnist', 32, 3)).toBeNull();
    expect(store.findBySource('/data/other', 28, 1)).toBeNull();
  });

  it('lists by name and removes', () => {
    const z = store.add({ ...mnist, name: 'zeta' });
    store.add({ ...mnist, name: 'alpha' });
    expect(store.list().map((d) => d.name)).toEqual(['alpha', 'zeta']);
    expect(store.remove(z.id)).toBe(true);
    expect(store.remove(z.id)).toBe(false);
    expect(store.list().map((d) => d.name)).toEqual(['alpha']);
  });

  it('removing a dataset keeps the runs that used it (dataset_id becomes null)', () => {
    const ds = store.add(mnist);
    const runs = new RunStore(db);
    const run = runs.createRun({
      name: 'r',
      datasetId: ds.id,
      pid: null,
      config: {
        model: { kind: 'gan', size: 28, channels: 1, latent: 100, numClasses: 0 },
        data: 'mnist',
        epochs: 1,
        steps: null,
        batch: 32,
        lr: TRAIN_DEFAULTS.lr,
        beta1: TRAIN_DEFAULTS.beta1,
        beta2: TRAIN_DEFAULTS.beta2,
        k: 1,
        seed: 1,
        name: 'r',
      },
    });
    expect(runs.getRun(run.id)!.datasetId).toBe(ds.id);
    store.remove(ds.id);
    expect(runs.getRun(run.id)!.datasetId).toBeNull();
  });
});
