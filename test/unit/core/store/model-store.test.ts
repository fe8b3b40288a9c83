// Migration 4 (imported models, galleries from a run or a model, latent-lab outputs) and the stores
// over it: a version-3 database with galleries keeps every gallery and image row (nothing cascades
// away while the tables are rebuilt, and gallery ids are still never reused); model rows; galleries
// of a model; lab outputs going with their gallery, run or model.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate, openDatabase, userVersion, type Database } from '../../../../src/main/core/store/database';
import { GalleryStore } from '../../../../src/main/core/store/gallery-store';
import { ModelStore, type AddModelInput } from '../../../../src/main/core/store/model-store';
import { RunStore } from '../../../../src/main/core/store/run-store';
import type { TrainConfig } from '../../../../src/shared/types';
import { testConfig } from '../../../helpers/train-config';

const config = (): TrainConfig => testConfig({ data: 'mnist', name: 'r' });

const model = (name: string): AddModelInput => ({
  name,
  dir: `/home/x/models/${name}`,
  sourcePath: `/exports/${name}`,
  kind: 'cgan',
  latent: 16,
  size: 28,
  channels: 1,
  numClasses: 2,
  classNames: ['circle', 'square'],
  step: 40,
  fromRunId: 3,
  fromRunName: 'shapes',
});

const images = [
  { seed: 5, latentIndex: 0, classLabel: null },
  { seed: 5, latentIndex: 1, classLabel: null },
];

let home: string;
const open: Database[] = [];
beforeEach(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'gan-store-v4-'));
});
afterEach(async () => {
  for (const db of open.splice(0)) if (db.open) db.close();
  await rm(home, { recursive: true, force: true });
});
const openAt = (migrations = MIGRATIONS) => {
  const db = openDatabase(home, { migrations });
  open.push(db);
  return db;
};

describe('migration 4', () => {
  it('keeps every gallery and image of a version-3 database, and never reuses a deleted gallery id', () => {
    const v3 = openAt(MIGRATIONS.slice(0, 3));
    // Rows as a version-3 studio wrote them (today's RunStore speaks the newest schema).
    const runId = Number(
      v3.prepare(`INSERT INTO runs (name, status, config, created_at, updated_at) VALUES ('old', 'completed', ?, 'then', 'then')`).run(JSON.stringify(config())).lastInsertRowid,
    );
    const run = { id: runId };
    const insert = v3.prepare(`INSERT INTO galleries (run_id, name, seed, step, epoch, per_class, created_at) VALUES (?, ?, 5, 2, 1, NULL, 'then')`);
    const image = v3.prepare(`INSERT INTO gallery_images (gallery_id, idx, seed, latent_index, class_label, picked, saved_path) VALUES (?, ?, 5, ?, NULL, ?, ?)`);
    const ids = ['a', 'b', 'c'].map((name) => Number(insert.run(run.id, name).lastInsertRowid));
    for (const id of ids) for (let i = 0; i < 3; i++) image.run(id, i, i, i === 1 ? 1 : 0, i === 2 ? '/saved/x.png' : null);
    v3.prepare(`DELETE FROM galleries WHERE id = ?`).run(ids[2]);
    v3.close();

    // Through migration 4 and every later one.
    const db = openAt();
    expect(userVersion(db)).toBe(MIGRATIONS.length);
    const store = new GalleryStore(db);
    expect(store.list().map((g) => [g.id, g.runId, g.modelId, g.name, g.count, g.picked])).toEqual([
      [ids[1], run.id, null, 'b', 3, 1],
      [ids[0], run.id, null, 'a', 3, 1],
    ]);
    expect(store.images(ids[0]!).map((i) => [i.index, i.latentIndex, i.picked, i.savedPath])).toEqual([
      [0, 0, false, null],
      [1, 1, true, null],
      [2, 2, false, '/saved/x.png'],
    ]);
    // The foreign keys still hold after the rebuild: a run's deletion takes its galleries and images.
    expect(db.pragma('foreign_key_check')).toEqual([]);
    const next = store.create({ source: { runId: run.id }, name: 'new', seed: 1, step: 2, epoch: 1, perClass: null, images });
    expect(next.id).toBe(ids[2]! + 1);
    new RunStore(db).deleteRun(run.id);
    expect(store.list()).toEqual([]);
    expect(db.prepare(`SELECT COUNT(*) AS n FROM gallery_images`).get()).toEqual({ n: 0 });
    expect(migrate(db)).toEqual([]);
  });
});

describe('ModelStore and galleries of a model', () => {
  it('records models by unique name and lists them by name', () => {
    const models = new ModelStore(openAt());
    const b = models.add(model('beta'));
    const a = models.add(model('Alpha'));
    expect(models.list().map((m) => m.name)).toEqual(['Alpha', 'beta']);
    expect(models.findByName('beta')).toEqual(b);
    expect(models.get(a.id)).toMatchObject({ kind: 'cgan', classNames: ['circle', 'square'], numClasses: 2, step: 40, fromRunId: 3, fromRunName: 'shapes', dir: '/home/x/models/Alpha' });
    expect(() => models.add(model('beta'))).toThrow(/UNIQUE/);
    expect(models.remove(b.id)).toBe(true);
    expect(models.findByName('beta')).toBeNull();
    // A deleted model's id is not handed out again.
    expect(models.add(model('gamma')).id).toBe(a.id + 1);
  });

  it('keeps galleries of a run and of a model apart, refuses both or neither, and cascades a model’s deletion', () => {
    const db = openAt();
    const models = new ModelStore(db);
    const store = new GalleryStore(db);
    const run = new RunStore(db).createRun({ name: 'r', config: config(), pid: null });
    const m = models.add(model('faces'));
    const ofRun = store.create({ source: { runId: run.id }, name: 'run', seed: 1, step: 2, epoch: 1, perClass: null, images });
    const ofModel = store.create({ source: { modelId: m.id }, name: 'model', seed: 1, step: 40, epoch: 0, perClass: null, images });
    expect([ofModel.runId, ofModel.modelId]).toEqual([null, m.id]);
    expect(store.list({ modelId: m.id }).map((g) => g.id)).toEqual([ofModel.id]);
    expect(store.list({ runId: run.id }).map((g) => g.id)).toEqual([ofRun.id]);
    expect(store.idsOfModel(m.id)).toEqual([ofModel.id]);
    const both = { runId: run.id, modelId: m.id } as unknown as { runId: number };
    expect(() => store.create({ source: both, name: 'x', seed: 1, step: 1, epoch: 0, perClass: null, images })).toThrow(/not both/);
    expect(() => db.prepare(`INSERT INTO galleries (run_id, model_id, name, seed, step, epoch, created_at) VALUES (NULL, NULL, 'x', 1, 1, 0, 'now')`).run()).toThrow(/CHECK/);

    store.addLabOutput(7, ofModel.id, 'arithmetic');
    store.addLabOutput(3, ofModel.id, 'interpolation');
    store.addLabOutput(9, ofRun.id, 'arithmetic');
    expect(store.labOutputs(ofModel.id)).toEqual([3, 7]);
    models.remove(m.id);
    expect(store.get(ofModel.id)).toBeNull();
    expect(store.labOutputs(ofModel.id)).toEqual([]);
    expect(store.labOutputs(ofRun.id)).toEqual([9]);
    store.removeLabOutput(9);
    expect(store.labOutputs(ofRun.id)).toEqual([]);
  });
});
