// Galleries: N images drawn from seeded latents at a run's latest checkpoint, kept as PNGs under
// <home>/galleries/<id>/ and as rows holding each image's latent (seed + index + class), so any
// image can be drawn again later, also at another checkpoint. Saving copies them (or one grid of
// them) into a user's folder and never replaces a file that is already there.

import { constants as fsConstants, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { copyFile, link, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { RunRecord } from '../../shared/types';
import { selectBackend } from './engine/backends';
import { LoadedGenerator } from './engine/generator';
import { encodePng, tileGrid, writeImagePngs, type ImageBatch } from './engine/image-grid';
import { isConditional } from './engine/models';
import type { GalleryImageRecord, GalleryRecord, GalleryStore, GallerySummaryRecord } from './store/gallery-store';
import type { RunStore } from './store/run-store';
import { freeName, StudioError } from './studio';

export const GALLERIES_DIRNAME = 'galleries';
export const MAX_GALLERY_IMAGES = 1024;

export interface CreateGalleryRequest {
  runId: number;
  /** Images in all (unconditional runs; conditional runs without perClass cycle through the classes). */
  count?: number;
  /** Default 1. */
  seed?: number;
  /** Conditional runs: this many images of each class, one row per class. */
  perClass?: number;
  /** Conditional runs with perClass: only these classes (indices), in this order. */
  classes?: number[];
  name?: string;
}

export interface SaveGalleryRequest {
  galleryId: number;
  which: 'picked' | 'all';
  /** An absolute folder; created if missing. */
  outDir: string;
  /** One grid PNG instead of one file per image. */
  asGrid?: boolean;
}

export interface Gallery extends GalleryRecord {
  run: RunRecord;
  images: (GalleryImageRecord & { path: string })[];
}

export interface SavedGallery {
  dir: string;
  files: string[];
}

/** `<home>/galleries/<id>`. */
export function galleryDir(home: string, galleryId: number): string {
  if (!Number.isSafeInteger(galleryId) || galleryId <= 0) throw new Error(`invalid gallery id: ${String(galleryId)}`);
  return path.join(home, GALLERIES_DIRNAME, String(galleryId));
}

const imageName = (index: number) => `${String(index).padStart(4, '0')}.png`;

export class GalleryService {
  constructor(
    private readonly home: string,
    private readonly runs: RunStore,
    private readonly store: GalleryStore,
  ) {}

  async create(request: CreateGalleryRequest): Promise<Gallery> {
    const run = this.run(request.runId);
    const seed = request.seed ?? 1;
    if (!Number.isSafeInteger(seed) || seed < 0) throw new StudioError(`seed must be a non-negative integer (got ${seed})`);
    const conditional = isConditional(run.config.model.kind);
    const numClasses = run.config.model.numClasses;
    let labels: number[] | null = null;
    let perClass: number | null = null;
    let count: number;
    if (request.perClass !== undefined || request.classes !== undefined) {
      if (!conditional) throw new StudioError(`run ${run.id} is not a conditional model: a class-by-class gallery needs a cgan or cdcgan run`);
      perClass = request.perClass ?? 1;
      const classes = request.classes ?? Array.from({ length: numClasses }, (_, c) => c);
      const bad = classes.find((c) => !Number.isInteger(c) || c < 0 || c >= numClasses);
      if (bad !== undefined) throw new StudioError(`class ${bad} is out of range: run ${run.id} has classes 0 to ${numClasses - 1}`);
      if (classes.length === 0) throw new StudioError('choose at least one class');
      labels = classes.flatMap((c) => Array<number>(perClass!).fill(c));
      count = labels.length;
    } else {
      count = request.count ?? 16;
      if (conditional) labels = Array.from({ length: count }, (_, i) => i % numClasses);
    }
    if (!Number.isInteger(count) || count < 1 || count > MAX_GALLERY_IMAGES) {
      throw new StudioError(`a gallery holds 1 to ${MAX_GALLERY_IMAGES} images (asked for ${count})`);
    }

    const checkpoint = this.runs.latestCheckpoint(run.id);
    if (!checkpoint || !existsSync(checkpoint.path)) throw new StudioError(`run ${run.id} has no checkpoint yet`, 'conflict');
    const generator = await this.load(checkpoint.path);
    let batch: ImageBatch;
    try {
      batch = await generator.sample(count, seed, labels);
    } finally {
      generator.dispose();
    }
    const gallery = this.store.create({
      runId: run.id,
      name: request.name?.trim() || `${run.name} · seed ${seed}`,
      seed,
      step: checkpoint.step,
      epoch: checkpoint.epoch,
      perClass,
      images: Array.from({ length: count }, (_, i) => ({ seed, latentIndex: i, classLabel: labels ? labels[i]! : null })),
    });
    const dir = galleryDir(this.home, gallery.id);
    try {
      mkdirSync(dir, { recursive: true });
      await writeImagePngs(dir, batch, Array.from({ length: count }, (_, i) => imageName(i)));
    } catch (err) {
      this.store.remove(gallery.id);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return this.get(gallery.id);
  }

  get(galleryId: number): Gallery {
    const gallery = this.store.get(galleryId);
    if (!gallery) throw new StudioError(`there is no gallery ${galleryId}`, 'not-found');
    const dir = galleryDir(this.home, galleryId);
    return {
      ...gallery,
      run: this.run(gallery.runId),
      images: this.store.images(galleryId).map((img) => ({ ...img, path: path.join(dir, imageName(img.index)) })),
    };
  }

  list(runId?: number): GallerySummaryRecord[] {
    if (runId !== undefined) this.run(runId);
    return this.store.list(runId);
  }

  setPicked(galleryId: number, indices: readonly number[], picked: boolean): Gallery {
    const gallery = this.get(galleryId);
    const bad = indices.find((i) => !Number.isInteger(i) || i < 0 || i >= gallery.images.length);
    if (bad !== undefined) throw new StudioError(`gallery ${galleryId} has images 0 to ${gallery.images.length - 1} (got ${bad})`);
    this.store.setPicked(galleryId, indices, picked);
    return this.get(galleryId);
  }

  /**
   * Draws one gallery image again from its latent, at the gallery's checkpoint or another one of
   * the run's (by step). Writes `<gallery>/regenerated/<index>-step<step>.png`; returns its path.
   */
  async regenerate(galleryId: number, index: number, checkpointStep?: number): Promise<{ path: string; step: number }> {
    const gallery = this.get(galleryId);
    const image = gallery.images[index];
    if (!Number.isInteger(index) || !image) throw new StudioError(`gallery ${galleryId} has no image ${index}`, 'not-found');
    const checkpoints = this.runs.checkpoints(gallery.runId).filter((c) => existsSync(c.path));
    const step = checkpointStep ?? gallery.step;
    const checkpoint = checkpoints.find((c) => c.step === step);
    if (!checkpoint) {
      const known = checkpoints.map((c) => c.step).join(', ') || 'none';
      throw new StudioError(`run ${gallery.runId} has no checkpoint at step ${step} (checkpoints: ${known})`, 'not-found');
    }
    const generator = await this.load(checkpoint.path);
    let batch: ImageBatch;
    try {
      // A seed's draw is one stream: row i is the same whatever the count, so draw rows 0..i and keep i.
      const n = image.latentIndex + 1;
      const labels = image.classLabel === null ? null : Array<number>(n).fill(image.classLabel);
      batch = await generator.sample(n, image.seed, labels);
    } finally {
      generator.dispose();
    }
    const one = sliceBatch(batch, image.latentIndex);
    const dir = path.join(galleryDir(this.home, galleryId), 'regenerated');
    mkdirSync(dir, { recursive: true });
    const [file] = await writeImagePngs(dir, one, [`${String(index).padStart(4, '0')}-step${checkpoint.step}.png`]);
    return { path: file!, step: checkpoint.step };
  }

  /** Copies the picked (or all) images, or one grid of them, into `outDir`; never replaces a file. */
  async save(request: SaveGalleryRequest): Promise<SavedGallery> {
    const gallery = this.get(request.galleryId);
    const chosen = request.which === 'picked' ? gallery.images.filter((i) => i.picked) : gallery.images;
    if (chosen.length === 0) throw new StudioError(request.which === 'picked' ? 'no images are picked in this gallery' : 'the gallery is empty');
    const missing = chosen.find((i) => !existsSync(i.path));
    if (missing) throw new StudioError(`the image file ${missing.path} is missing; generate the gallery again`, 'conflict');
    const dir = path.resolve(request.outDir);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new StudioError(`cannot create the folder ${dir}: ${(err as Error).message}`, 'data');
    }
    const stem = `gallery${gallery.id}`;
    if (request.asGrid) {
      const batch = await readBatch(chosen.map((i) => i.path));
      const columns = gallery.perClass !== null && chosen.length === gallery.images.length ? gallery.perClass : Math.ceil(Math.sqrt(chosen.length));
      const grid = tileGrid(batch, columns);
      const png = await encodePng(grid.data, grid.width, grid.height, batch.channels);
      const file = await writeNew(dir, `${stem}-grid`, (dest) => writeExclusive(dest, png));
      return { dir, files: [file] };
    }
    const files: string[] = [];
    const saved: { index: number; path: string }[] = [];
    for (const image of chosen) {
      const className = image.classLabel === null ? '' : `-${safeName(gallery.run.config.model.classNames?.[image.classLabel] ?? `class${image.classLabel}`)}`;
      const file = await writeNew(dir, `${stem}-${String(image.index).padStart(4, '0')}${className}`, (dest) =>
        copyFile(image.path, dest, fsConstants.COPYFILE_EXCL),
      );
      files.push(file);
      saved.push({ index: image.index, path: file });
    }
    this.store.setSaved(gallery.id, saved);
    return { dir, files };
  }

  delete(galleryId: number): void {
    this.get(galleryId);
    this.store.remove(galleryId);
    rmSync(galleryDir(this.home, galleryId), { recursive: true, force: true });
  }

  /** Removes the files of a run's galleries (their rows go with the run's by cascade). */
  removeRunFiles(runId: number): void {
    for (const id of this.store.idsOfRun(runId)) rmSync(galleryDir(this.home, id), { recursive: true, force: true });
  }

  private run(runId: number): RunRecord {
    const run = this.runs.getRun(runId);
    if (!run) throw new StudioError(`there is no run ${runId}`, 'not-found');
    return run;
  }

  private async load(checkpointPath: string): Promise<LoadedGenerator> {
    await selectBackend({ prefer: 'auto' });
    return LoadedGenerator.fromCheckpoint(checkpointPath);
  }
}

function sliceBatch(batch: ImageBatch, n: number): ImageBatch {
  const size = batch.height * batch.width * batch.channels;
  return { ...batch, count: 1, values: batch.values.slice(n * size, (n + 1) * size) };
}

/** Reads same-sized PNGs back into a batch (values in [-1, 1], so toBytes gives the same bytes). */
async function readBatch(files: string[]): Promise<ImageBatch> {
  let shape: { width: number; height: number; channels: number } | null = null;
  const parts: Buffer[] = [];
  for (const file of files) {
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    if (!shape) shape = { width: info.width, height: info.height, channels: info.channels };
    else if (info.width !== shape.width || info.height !== shape.height || info.channels !== shape.channels) {
      throw new StudioError(`${file} does not match the gallery's other images`, 'data');
    }
    parts.push(data);
  }
  const bytes = Buffer.concat(parts);
  const values = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) values[i] = bytes[i]! / 127.5 - 1;
  return { count: files.length, height: shape!.height, width: shape!.width, channels: shape!.channels, values };
}

/** A file name part from a class name: letters, digits, `-` and `_` only. */
function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 60) || 'class';
}

/**
 * Writes a new file `stem.png` (else `stem-1.png`, `stem-2.png`, …) in `dir` with `write`, which
 * must fail with EEXIST rather than replace a file; retries with the next free name if another
 * writer took it meanwhile. Returns the path written.
 */
async function writeNew(dir: string, stem: string, write: (dest: string) => Promise<void>): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const name = freeName(new Set(readdirSync(dir)), stem, '.png');
    const dest = path.join(dir, name);
    try {
      await write(dest);
      return dest;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new StudioError(`could not find a free file name for ${stem}.png in ${dir}`, 'conflict');
}

/** Writes a whole file under a temporary name, then links it into place (fails with EEXIST, never replaces). */
async function writeExclusive(dest: string, content: Buffer): Promise<void> {
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.${process.pid}.tmp`);
  await writeFile(tmp, content);
  try {
    await link(tmp, dest);
  } finally {
    await rm(tmp, { force: true });
  }
}
