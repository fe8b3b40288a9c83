// The galleries:* channels: strict validation before any side effect, and a real round trip through
// the dispatcher on a tiny trained run (create, list, get, pick, save, delete).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Studio } from '../../../src/main/core/studio';
import type { Dispatcher } from '../../../src/main/hosts/dispatch';
import { Channels, ErrorCodes, type GalleryInfo, type GallerySaveResult, type GallerySummary } from '../../../src/shared/contract';
import { parseRequest } from '../../../src/shared/schemas';
import { errorOf, openTinyRun, resultOf, type TinyRun } from './helpers/tiny-run';

let fixture: TinyRun;
let home: string;
let studio: Studio;
let dispatcher: Dispatcher;
let runId: number;
const temp = (prefix: string) => fixture.temp(prefix);

beforeAll(async () => {
  fixture = await openTinyRun('gs-galleries');
  ({ home, studio, dispatcher, runId } = fixture);
});
afterAll(() => fixture.dispose());

describe('galleries schemas', () => {
  it('accepts well-formed requests', () => {
    expect(parseRequest(Channels.galleriesCreate, { runId: 1, count: 8, seed: 0 }).ok).toBe(true);
    expect(parseRequest(Channels.galleriesCreate, { runId: 1, perClass: 4, classes: [0, 2] }).ok).toBe(true);
    expect(parseRequest(Channels.galleriesList, undefined).ok).toBe(true);
    expect(parseRequest(Channels.galleriesList, { runId: 3 }).ok).toBe(true);
    expect(parseRequest(Channels.galleriesPick, { galleryId: 1, indices: [], picked: true }).ok).toBe(true);
    expect(parseRequest(Channels.galleriesSave, { galleryId: 1, which: 'all', outDir: '/tmp/x', asGrid: true }).ok).toBe(true);
  });

  it('refuses bad requests with INVALID_REQUEST and writes nothing', async () => {
    const invalid: [string, unknown][] = [
      [Channels.galleriesCreate, { runId, count: 0 }],
      [Channels.galleriesCreate, { runId, count: 5000 }],
      [Channels.galleriesCreate, { runId, count: 2.5 }],
      [Channels.galleriesCreate, { runId, seed: -1 }],
      [Channels.galleriesCreate, { runId, seed: Number.NaN }],
      [Channels.galleriesCreate, { runId, classes: [] }],
      [Channels.galleriesCreate, { runId, name: 'a\nb' }],
      [Channels.galleriesCreate, { runId, rogue: 1 }],
      [Channels.galleriesCreate, { count: 4 }],
      [Channels.galleriesCreate, { runId, modelId: 1, count: 4 }],
      [Channels.galleriesList, { runId: 'x' }],
      [Channels.galleriesList, { runId, modelId: 1 }],
      [Channels.galleriesGet, { galleryId: 0 }],
      [Channels.galleriesPick, { galleryId: 1, indices: [-1], picked: true }],
      [Channels.galleriesPick, { galleryId: 1, indices: [1] }],
      [Channels.galleriesSave, { galleryId: 1, which: 'some', outDir: '/tmp/x' }],
      [Channels.galleriesSave, { galleryId: 1, which: 'all', outDir: 'relative/dir' }],
      [Channels.galleriesSave, { galleryId: 1, which: 'all', outDir: '/tmp/../etc' }],
      [Channels.galleriesSave, { galleryId: 1, which: 'all', outDir: '/tmp/x\0' }],
      [Channels.galleriesDelete, { galleryId: '1' }],
    ];
    for (const [channel, request] of invalid) {
      const error = errorOf(await dispatcher.handle(channel, request));
      expect(error.code, `${channel} ${JSON.stringify(request)}`).toBe(ErrorCodes.invalidRequest);
    }
    expect(studio.listGalleries()).toEqual([]);
    expect(existsSync(join(home, 'galleries'))).toBe(false);
  });
});

describe('galleries round trip', () => {
  it('creates, lists, picks, saves and deletes a gallery', async () => {
    const created = resultOf<GalleryInfo>(await dispatcher.handle(Channels.galleriesCreate, { runId, count: 5, seed: 4 }));
    expect(created).toMatchObject({ runId, modelId: null, runName: 'tiny', modelName: null, modelKind: 'gan', numClasses: 0, seed: 4, step: 2, count: 5, picked: 0, perClass: null, size: 28, channels: 1, classNames: [] });
    expect(created.images.map((i) => i.file)).toEqual(Array.from({ length: 5 }, (_, i) => `galleries/${created.id}/${String(i).padStart(4, '0')}.png`));
    for (const img of created.images) expect(existsSync(join(home, img.file))).toBe(true);

    const list = resultOf<GallerySummary[]>(await dispatcher.handle(Channels.galleriesList, { runId }));
    expect(list.map((g) => [g.id, g.count])).toEqual([[created.id, 5]]);
    expect(resultOf<GallerySummary[]>(await dispatcher.handle(Channels.galleriesList, undefined))).toHaveLength(1);

    const picked = resultOf<GalleryInfo>(await dispatcher.handle(Channels.galleriesPick, { galleryId: created.id, indices: [0, 3], picked: true }));
    expect(picked.picked).toBe(2);
    expect(picked.images.filter((i) => i.picked).map((i) => i.index)).toEqual([0, 3]);
    expect(errorOf(await dispatcher.handle(Channels.galleriesPick, { galleryId: created.id, indices: [7], picked: true })).code).toBe(ErrorCodes.invalidRequest);

    const out = join(temp('gs-galleries-out-'), 'saved');
    const saved = resultOf<GallerySaveResult>(await dispatcher.handle(Channels.galleriesSave, { galleryId: created.id, which: 'picked', outDir: out }));
    expect(saved.dir).toBe(out);
    expect(saved.files).toHaveLength(2);
    const again = resultOf<GallerySaveResult>(await dispatcher.handle(Channels.galleriesSave, { galleryId: created.id, which: 'picked', outDir: out }));
    expect(again.files.every((f) => !saved.files.includes(f))).toBe(true);
    const grid = resultOf<GallerySaveResult>(await dispatcher.handle(Channels.galleriesSave, { galleryId: created.id, which: 'all', outDir: out, asGrid: true }));
    expect(grid.files).toHaveLength(1);
    expect(readdirSync(out).sort()).toHaveLength(5);

    const got = resultOf<GalleryInfo>(await dispatcher.handle(Channels.galleriesGet, { galleryId: created.id }));
    expect(got.images[0]!.savedPath).toBe(again.files[0]);

    expect(resultOf(await dispatcher.handle(Channels.galleriesDelete, { galleryId: created.id }))).toBeNull();
    expect(errorOf(await dispatcher.handle(Channels.galleriesGet, { galleryId: created.id })).code).toBe(ErrorCodes.notFound);
    expect(errorOf(await dispatcher.handle(Channels.galleriesCreate, { runId: 999 })).code).toBe(ErrorCodes.notFound);
    expect(errorOf(await dispatcher.handle(Channels.galleriesSave, { galleryId: 999, which: 'all', outDir: out })).code).toBe(ErrorCodes.notFound);
  });

  it('refuses to save when nothing is picked', async () => {
    const created = resultOf<GalleryInfo>(await dispatcher.handle(Channels.galleriesCreate, { runId, count: 2 }));
    const out = temp('gs-galleries-none-');
    const error = errorOf(await dispatcher.handle(Channels.galleriesSave, { galleryId: created.id, which: 'picked', outDir: out }));
    expect(error).toEqual({ code: ErrorCodes.invalidRequest, message: 'no images are picked in this gallery' });
    expect(readdirSync(out)).toEqual([]);
  });
});
