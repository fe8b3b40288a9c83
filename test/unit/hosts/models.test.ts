// The models:* channels and galleries:regenerate / galleries:checkpoints: strict validation before
// any side effect, and a real round trip through the dispatcher on a tiny trained run: export its
// generator, import it, draw a gallery from it, explore it in the lab, regenerate images, delete it.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../../src/main/hosts/dispatch';
import {
  Channels,
  ErrorCodes,
  type GalleryCheckpoint,
  type GalleryInfo,
  type GalleryRegenerateResult,
  type GallerySummary,
  type LatentArithmeticResult,
  type ModelInfo,
} from '../../../src/shared/contract';
import { parseRequest } from '../../../src/shared/schemas';
import { errorOf, openTinyRun, resultOf, type TinyRun } from './helpers/tiny-run';

let fixture: TinyRun;
let home: string;
let dispatcher: Dispatcher;
let runId: number;
let exported: string;

beforeAll(async () => {
  fixture = await openTinyRun('gs-models');
  ({ home, dispatcher, runId } = fixture);
  exported = (await fixture.studio.exportGenerator({ runId, outDir: join(fixture.temp('gs-models-export-'), 'tiny') })).dir;
});
afterAll(() => fixture.dispose());

describe('models and regenerate schemas', () => {
  it('accepts well-formed requests', () => {
    expect(parseRequest(Channels.modelsList, undefined).ok).toBe(true);
    expect(parseRequest(Channels.modelsImport, { path: '/tmp/export' }).ok).toBe(true);
    expect(parseRequest(Channels.modelsImport, { path: '/tmp/export', name: 'faces_v2.1' }).ok).toBe(true);
    expect(parseRequest(Channels.modelsDelete, { modelId: 2 }).ok).toBe(true);
    expect(parseRequest(Channels.galleriesCreate, { modelId: 2, count: 4 }).ok).toBe(true);
    expect(parseRequest(Channels.galleriesList, { modelId: 2 }).ok).toBe(true);
    expect(parseRequest(Channels.galleriesRegenerate, { galleryId: 1, index: 0 }).ok).toBe(true);
    expect(parseRequest(Channels.galleriesRegenerate, { galleryId: 1, index: 3, checkpointStep: 0 }).ok).toBe(true);
    expect(parseRequest(Channels.galleriesCheckpoints, { galleryId: 1 }).ok).toBe(true);
  });

  it('refuses bad requests with INVALID_REQUEST and changes nothing', async () => {
    const invalid: [string, unknown][] = [
      [Channels.modelsList, { all: true }],
      [Channels.modelsImport, { path: 'relative/export' }],
      [Channels.modelsImport, { path: '/tmp/../etc' }],
      [Channels.modelsImport, { path: exported, name: '../up' }],
      [Channels.modelsImport, { path: exported, name: '.hidden' }],
      [Channels.modelsImport, { path: exported, name: 'a b' }],
      [Channels.modelsImport, { path: exported, name: 'x'.repeat(101) }],
      [Channels.modelsImport, { path: exported, rogue: 1 }],
      [Channels.modelsDelete, { modelId: 0 }],
      [Channels.modelsDelete, { name: 'tiny' }],
      [Channels.galleriesCreate, { runId, modelId: 1 }],
      [Channels.galleriesCreate, { count: 2 }],
      [Channels.galleriesCreate, { modelId: '1' }],
      [Channels.galleriesList, { runId, modelId: 1 }],
      [Channels.galleriesRegenerate, { galleryId: 1 }],
      [Channels.galleriesRegenerate, { galleryId: 1, index: -1 }],
      [Channels.galleriesRegenerate, { galleryId: 1, index: 0, checkpointStep: 1.5 }],
      [Channels.galleriesRegenerate, { galleryId: 1, index: 0, step: 2 }],
      [Channels.galleriesCheckpoints, { galleryId: 'x' }],
    ];
    for (const [channel, request] of invalid) {
      const error = errorOf(await dispatcher.handle(channel, request));
      expect(error.code, `${channel} ${JSON.stringify(request)}`).toBe(ErrorCodes.invalidRequest);
    }
    expect(existsSync(join(home, 'models'))).toBe(false);
    expect(fixture.studio.listModels()).toEqual([]);
  });
});

describe('models round trip', () => {
  it('imports, lists, draws a gallery, explores it and deletes it', async () => {
    const model = resultOf<ModelInfo>(await dispatcher.handle(Channels.modelsImport, { path: exported }));
    expect(model).toMatchObject({ name: 'tiny', kind: 'gan', latent: 8, size: 28, channels: 1, numClasses: 0, step: 2, fromRunId: runId, fromRunName: 'tiny', sourcePath: exported });
    expect(model).not.toHaveProperty('dir');
    expect(resultOf<ModelInfo[]>(await dispatcher.handle(Channels.modelsList, undefined)).map((m) => m.id)).toEqual([model.id]);

    const taken = errorOf(await dispatcher.handle(Channels.modelsImport, { path: exported, name: 'tiny' }));
    expect(taken.code).toBe(ErrorCodes.conflict);
    expect(taken.message).toMatch(/already a model "tiny"/);
    const missing = errorOf(await dispatcher.handle(Channels.modelsImport, { path: join(exported, 'nowhere'), name: 'other' }));
    expect(missing.code).toBe(ErrorCodes.data);
    expect(missing.message).not.toMatch(/\n\s+at /);

    const gallery = resultOf<GalleryInfo>(await dispatcher.handle(Channels.galleriesCreate, { modelId: model.id, count: 4, seed: 2 }));
    expect(gallery).toMatchObject({ runId: null, modelId: model.id, runName: null, modelName: 'tiny', modelKind: 'gan', numClasses: 0, step: 2, count: 4, size: 28, channels: 1 });
    const listed = resultOf<GallerySummary[]>(await dispatcher.handle(Channels.galleriesList, { modelId: model.id }));
    expect(listed.map((g) => [g.id, g.runId, g.modelId])).toEqual([[gallery.id, null, model.id]]);
    expect(resultOf<GallerySummary[]>(await dispatcher.handle(Channels.galleriesList, { runId }))).toEqual([]);
    expect(resultOf<GalleryCheckpoint[]>(await dispatcher.handle(Channels.galleriesCheckpoints, { galleryId: gallery.id }))).toEqual([{ step: 2, epoch: null }]);

    const lab = resultOf<LatentArithmeticResult>(
      await dispatcher.handle(Channels.latentArithmetic, { galleryId: gallery.id, expression: 'a - b', operands: [{ name: 'a', indices: [0] }, { name: 'b', indices: [1, 2] }] }),
    );
    expect(lab).toMatchObject({ galleryId: gallery.id, runId: null, modelId: model.id, resultClass: null });
    expect(lab.operands.map((o) => o.classLabel)).toEqual([null, null]);
    expect(existsSync(join(home, lab.dir))).toBe(true);

    expect(resultOf(await dispatcher.handle(Channels.modelsDelete, { modelId: model.id }))).toBeNull();
    expect(existsSync(join(home, 'models', 'tiny'))).toBe(false);
    expect(existsSync(join(home, lab.dir))).toBe(false);
    expect(errorOf(await dispatcher.handle(Channels.galleriesGet, { galleryId: gallery.id })).code).toBe(ErrorCodes.notFound);
    expect(errorOf(await dispatcher.handle(Channels.modelsDelete, { modelId: model.id })).code).toBe(ErrorCodes.notFound);
    expect(errorOf(await dispatcher.handle(Channels.galleriesCreate, { modelId: model.id })).code).toBe(ErrorCodes.notFound);
  });

  it('lists a run gallery’s checkpoints and regenerates an image at one of them', async () => {
    const gallery = resultOf<GalleryInfo>(await dispatcher.handle(Channels.galleriesCreate, { runId, count: 3, seed: 6 }));
    const steps = resultOf<GalleryCheckpoint[]>(await dispatcher.handle(Channels.galleriesCheckpoints, { galleryId: gallery.id }));
    expect(steps).toEqual([{ step: 2, epoch: 1 }]);
    const again = resultOf<GalleryRegenerateResult>(await dispatcher.handle(Channels.galleriesRegenerate, { galleryId: gallery.id, index: 1, checkpointStep: 2 }));
    expect(again).toEqual({ galleryId: gallery.id, index: 1, step: 2, epoch: 1, file: `galleries/${gallery.id}/regenerated/0001-step2.png` });
    expect(readdirSync(join(home, 'galleries', String(gallery.id), 'regenerated'))).toEqual(['0001-step2.png']);
    const none = errorOf(await dispatcher.handle(Channels.galleriesRegenerate, { galleryId: gallery.id, index: 1, checkpointStep: 7 }));
    expect(none).toEqual({ code: ErrorCodes.notFound, message: `run ${runId} has no checkpoint at step 7 (checkpoints: 2)` });
    expect(errorOf(await dispatcher.handle(Channels.galleriesRegenerate, { galleryId: gallery.id, index: 3 })).code).toBe(ErrorCodes.notFound);
    expect(errorOf(await dispatcher.handle(Channels.galleriesCheckpoints, { galleryId: 999 })).code).toBe(ErrorCodes.notFound);
  });
});
