// Through Studio on real tiny runs: per-epoch generator snapshots (any epoch can be drawn again
// after its full checkpoint is retired), imported models as recorded gallery sources (with the
// latent lab over them), and deletion taking galleries' files and latent-lab folders along.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio, StudioError } from '../../../src/main/core/studio';
import type { TrainConfig } from '../../../src/shared/types';
import { writeSyntheticIdxSet } from '../../integration/helpers/idx-files';
import { testConfig, type TestConfigOverrides } from '../../helpers/train-config';

const scratch: string[] = [];
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
};
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

let home: string;
let studio: Studio;
let runId: number;
let data: string;

const config = (overrides: TestConfigOverrides = {}): TrainConfig => testConfig({ data, epochs: 3, name: 'epochs', ...overrides });

beforeAll(async () => {
  home = temp('gs-models-home-');
  studio = Studio.open(home);
  data = writeSyntheticIdxSet(temp('gs-models-data-'), 16);
  // 16 images, batch 8: 2 steps an epoch, checkpoints at steps 2, 4 and 6; only the newest kept.
  const { run } = await (await studio.train({ config: config(), backend: 'wasm', keepCheckpoints: 1 })).done;
  expect(run.status).toBe('completed');
  runId = run.id;
});
afterAll(() => {
  studio.close();
  scratch.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

describe('per-epoch generator snapshots', () => {
  it('keeps one snapshot per epoch beside the newest full checkpoint, atomically written', () => {
    const dir = join(home, 'runs', String(runId));
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual(['step-00000006.ckpt']);
    expect(readdirSync(join(dir, 'snapshots')).sort()).toEqual([
      'step-00000002-epoch-0001.gsnap',
      'step-00000004-epoch-0002.gsnap',
      'step-00000006-epoch-0003.gsnap',
    ]);
  });

  it('lists every epoch as a checkpoint of a gallery, and regenerates an image at an old epoch', async () => {
    const g = await studio.createGallery({ runId, count: 4, seed: 3 });
    expect([g.step, g.epoch]).toEqual([6, 3]);
    expect(studio.galleryCheckpoints(g.id)).toEqual([
      { step: 2, epoch: 1 },
      { step: 4, epoch: 2 },
      { step: 6, epoch: 3 },
    ]);
    const same = await studio.regenerate(g.id, 2);
    expect(same).toMatchObject({ galleryId: g.id, index: 2, step: 6, epoch: 3 });
    expect(sha(same.path)).toBe(sha(g.images[2]!.path));
    const early = await studio.regenerate(g.id, 2, 2);
    expect(early).toMatchObject({ step: 2, epoch: 1 });
    expect(early.path).toBe(join(home, 'galleries', String(g.id), 'regenerated', '0002-step2.png'));
    expect(sha(early.path)).not.toBe(sha(g.images[2]!.path));
    // Reproducible: the same image at the same old epoch, again.
    const again = await studio.regenerate(g.id, 2, 2);
    expect(sha(again.path)).toBe(sha(early.path));
    await expect(studio.regenerate(g.id, 2, 3)).rejects.toThrow(/no checkpoint at step 3 \(checkpoints: 2, 4, 6\)/);
  });

  it('go with the run', async () => {
    const { run } = await (await studio.train({ config: config({ epochs: 1, name: 'doomed' }), backend: 'wasm' })).done;
    const snapshots = join(home, 'runs', String(run.id), 'snapshots');
    expect(readdirSync(snapshots)).toHaveLength(1);
    studio.deleteRun(run.id);
    expect(existsSync(snapshots)).toBe(false);
  });
});

describe('imported models', () => {
  let exported: string;
  beforeAll(async () => {
    exported = (await studio.exportGenerator({ runId, outDir: join(temp('gs-models-export-'), 'g') })).dir;
  });

  it('records an import, lists it, and refuses a taken name without touching the first', async () => {
    const m = await studio.importModel({ path: exported, name: 'tiny' });
    expect(m).toMatchObject({ name: 'tiny', kind: 'gan', latent: 8, size: 28, channels: 1, numClasses: 0, step: 6, fromRunId: runId, fromRunName: 'epochs', sourcePath: exported, dir: join(home, 'models', 'tiny') });
    expect(studio.listModels().map((x) => x.name)).toEqual(['tiny']);
    const before = sha(join(m.dir, 'weights.bin'));
    await expect(studio.importModel({ path: exported, name: 'tiny' })).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/already a model "tiny"/) });
    await expect(studio.importModel({ path: exported, name: '../evil' })).rejects.toBeInstanceOf(StudioError);
    await expect(studio.importModel({ path: join(exported, 'nope'), name: 'nope' })).rejects.toMatchObject({ code: 'data' });
    expect(studio.listModels().map((x) => x.name)).toEqual(['tiny']);
    expect(sha(join(m.dir, 'weights.bin'))).toBe(before);
    expect(readdirSync(join(home, 'models'))).toEqual(['tiny']);
    expect(studio.getModel('tiny').id).toBe(m.id);
    expect(() => studio.getModel('other')).toThrow(/no imported model "other"/);
  });

  it('draws a gallery the same as the run at the same step and seed, and runs the latent lab over it', async () => {
    const m = studio.getModel('tiny');
    const fromModel = await studio.createGallery({ modelId: m.id, count: 4, seed: 8 });
    const fromRun = await studio.createGallery({ runId, count: 4, seed: 8 });
    expect(fromModel).toMatchObject({ runId: null, modelId: m.id, run: null, step: 6, name: 'tiny · seed 8', sourceName: 'model "tiny"' });
    expect(fromModel.images.map((i) => sha(i.path))).toEqual(fromRun.images.map((i) => sha(i.path)));
    expect(studio.listGalleries({ modelId: m.id }).map((g) => g.id)).toEqual([fromModel.id]);
    expect(studio.listGalleries({ runId }).some((g) => g.id === fromModel.id)).toBe(false);
    expect(studio.galleryCheckpoints(fromModel.id)).toEqual([{ step: 6, epoch: null }]);
    expect(sha((await studio.regenerate(fromModel.id, 1)).path)).toBe(sha(fromModel.images[1]!.path));
    await expect(studio.regenerate(fromModel.id, 1, 2)).rejects.toThrow(/only the weights it was exported with \(step 6\)/);
    await expect(studio.createGallery({ modelId: m.id, perClass: 2 })).rejects.toThrow(/model "tiny" is not a conditional model/);
    await expect(studio.createGallery({ modelId: 999 })).rejects.toMatchObject({ code: 'not-found' });

    const sum = await studio.labArithmetic({ galleryId: fromModel.id, expression: 'a - b + c', operands: [{ name: 'a', indices: [0] }, { name: 'b', indices: [1, 2] }, { name: 'c', indices: [3] }] });
    expect(sum).toMatchObject({ galleryId: fromModel.id, runId: null, modelId: m.id, step: 6, resultClass: null });
    expect(sha(sum.operands[0]!.file)).toBe(sha(fromModel.images[0]!.path));
    const walk = await studio.labInterpolate({ galleryId: fromModel.id, from: 0, to: 3, frames: 4 });
    expect(walk).toMatchObject({ runId: null, modelId: m.id, frames: 4, fromClass: null, toClass: null });
    expect(existsSync(walk.animation)).toBe(true);
  });

  it('generates from a model by name through Studio.generate', async () => {
    const out = temp('gs-models-gen-');
    const r = await studio.generate({ model: 'tiny', count: 2, seed: 8, outDir: out });
    expect(r.step).toBe(6);
    expect(readdirSync(out).sort()).toEqual(['model-tiny-step6-seed8-0000.png', 'model-tiny-step6-seed8-0001.png']);
    await expect(studio.generate({ model: 'tiny', count: 2, outDir: out, classLabel: 1 })).rejects.toThrow(/model "tiny" is not a conditional model/);
  });

  it('deletes a model with its folder, its galleries and their lab folders', async () => {
    const m = await studio.importModel({ path: exported, name: 'doomed' });
    const g = await studio.createGallery({ modelId: m.id, count: 2 });
    const lab = await studio.labInterpolate({ galleryId: g.id, from: 0, to: 1, frames: 2 });
    const kept = await studio.createGallery({ runId, count: 2 });
    const keptLab = await studio.labInterpolate({ galleryId: kept.id, from: 0, to: 1, frames: 2 });
    studio.deleteModel(m.id);
    expect(existsSync(m.dir)).toBe(false);
    expect(existsSync(join(home, 'galleries', String(g.id)))).toBe(false);
    expect(existsSync(lab.dir)).toBe(false);
    expect(() => studio.getGallery(g.id)).toThrow(/no gallery/);
    expect(studio.listModels().map((x) => x.name)).toEqual(['tiny']);
    expect(existsSync(keptLab.dir)).toBe(true);
    expect(() => studio.deleteModel(m.id)).toThrow(StudioError);
  });

  it('records a model folder imported before models were recorded when the studio opens', () => {
    cpSync(exported, join(home, 'models', 'legacy'), { recursive: true });
    // Not a model: left alone.
    cpSync(exported, join(home, 'models', 'broken'), { recursive: true });
    writeFileSync(join(home, 'models', 'broken', 'gan-studio.json'), '{');
    const again = Studio.open(home);
    try {
      expect(again.listModels().map((x) => [x.name, x.step, x.dir])).toEqual([
        ['legacy', 6, join(home, 'models', 'legacy')],
        ['tiny', 6, join(home, 'models', 'tiny')],
      ]);
    } finally {
      again.close();
    }
  });
});

describe('latent-lab folders', () => {
  it('go with their gallery, and with their run', async () => {
    const g = await studio.createGallery({ runId, count: 3 });
    const a = await studio.labArithmetic({ galleryId: g.id, expression: 'a + b', operands: [{ name: 'a', indices: [0] }, { name: 'b', indices: [1] }] });
    const b = await studio.labInterpolate({ galleryId: g.id, from: 0, to: 2, frames: 3 });
    const other = await studio.createGallery({ runId, count: 2 });
    const c = await studio.labInterpolate({ galleryId: other.id, from: 0, to: 1, frames: 2 });
    for (const dir of [a.dir, b.dir, c.dir]) expect(existsSync(dir)).toBe(true);
    studio.deleteGallery(g.id);
    expect([existsSync(a.dir), existsSync(b.dir), existsSync(c.dir)]).toEqual([false, false, true]);

    const { run } = await (await studio.train({ config: config({ epochs: 1, name: 'doomed-lab' }), backend: 'wasm' })).done;
    const d = await studio.createGallery({ runId: run.id, count: 2 });
    const e = await studio.labInterpolate({ galleryId: d.id, from: 0, to: 1, frames: 2 });
    studio.deleteRun(run.id);
    expect(existsSync(e.dir)).toBe(false);
    expect(existsSync(c.dir)).toBe(true);
  });
});
