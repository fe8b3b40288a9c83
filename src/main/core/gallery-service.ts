// Galleries: N images drawn from seeded latents at a run's latest checkpoint (or by an imported
// model), kept as PNGs under <home>/galleries/<id>/ and as rows holding each image's latent (seed +
// index + class), so any image can be drawn again later, also at another checkpoint of the run
// (a full checkpoint or a generator snapshot: see formats/generator-snapshot.ts). Saving copies them
// (or one grid of them) into a user's folder and never replaces a file that is already there.
// Deleting a gallery (or its run, or its model) removes its files and its latent-lab folders.

import { constants as fsConstants, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { copyFile, link, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { ModelConfig, RunRecord } from '../../shared/types';
import { selectBackend } from './engine/backend/backends';
import { loadGeneratorExport } from './engine/ml/export';
import { LoadedGenerator } from './engine/ml/generator';
import { listSnapshots } from './formats/generator-snapshot';
import { encodePng, tileGrid, writeImagePngs, type ImageBatch } from './images/image-grid';
import { isConditional } from '../../shared/models';
import { labDir, runDir } from './home';
import type { GalleryImageRecord, GalleryRecord, GalleryStore, GallerySummaryRecord } from './store/gallery-store';
import type { ModelStore, StoredModel } from './store/model-store';
import type { RunStore } from './store/run-store';
import { freeName } from './naming';
import { StudioError } from './studio-error';

export const GALLERIES_DIRNAME = 'galleries';
export const MAX_GALLERY_IMAGES = 1024;

export interface CreateGalleryRequest {
  /** The run to draw from (at its latest checkpoint); give this or `modelId`. */
  runId?: number;
  /** The imported model to draw from; give this or `runId`. */
  modelId?: number;
  /** Images in all (unconditional models; conditional ones without perClass cycle through the classes). */
  count?: number;
  /** Default 1. */
  seed?: number;
  /** Conditional models: this many images of each class, one row per class. */
  perClass?: number;
  /** Conditional models with perClass: only these classes (indices), in this order. */
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
  /** The run it was drawn from, or null for an imported model's gallery. */
  run: RunRecord | null;
  /** The imported model it was drawn from, or null for a run's gallery. */
  model: StoredModel | null;
  /** The generator's config; class names from the run record or the model's sidecar. */
  config: ModelConfig;
  /** `run 3` or `model "faces"`, for messages. */
  sourceName: string;
  images: (GalleryImageRecord & { path: string })[];
}

export interface SavedGallery {
  dir: string;
  files: string[];
}

/** A step of a run the generator can be loaded at: a full checkpoint or a generator snapshot. */
export interface GeneratorCheckpoint {
  step: number;
  /** Completed epochs at that step; null for an imported model (its sidecar does not say). */
  epoch: number | null;
}

export interface RegeneratedImage {
  galleryId: number;
  index: number;
  step: number;
  epoch: number | null;
  path: string;
}

/** `<home>/galleries/<id>`. */
export function galleryDir(home: string, galleryId: number): string {
  if (!Number.isSafeInteger(galleryId) || galleryId <= 0) throw new Error(`invalid gallery id: ${String(galleryId)}`);
  return path.join(home, GALLERIES_DIRNAME, String(galleryId));
}

const imageName = (index: number) => `${String(index).padStart(4, '0')}.png`;

/** A generator source, resolved: a run or an imported model, with its config and a name for messages. */
type Source = { run: RunRecord; model: null; config: ModelConfig; name: string } | { run: null; model: StoredModel; config: ModelConfig; name: string };

/** An imported model's config, from its row (the sidecar's fields). */
export function modelConfigOf(model: StoredModel): ModelConfig {
  return {
    kind: model.kind,
    size: model.size as ModelConfig['size'],
    channels: model.channels,
    latent: model.latent,
    numClasses: model.numClasses,
    classNames: model.classNames,
  };
}

export class GalleryService {
  constructor(
    private readonly home: string,
    private readonly runs: RunStore,
    private readonly models: ModelStore,
    private readonly store: GalleryStore,
  ) {}

  async create(request: CreateGalleryRequest): Promise<Gallery> {
    const source = this.source(request);
    const seed = request.seed ?? 1;
    if (!Number.isSafeInteger(seed) || seed < 0) throw new StudioError(`seed must be a non-negative integer (got ${seed})`);
    const conditional = isConditional(source.config.kind);
    const numClasses = source.config.numClasses;
    let labels: number[] | null = null;
    let perClass: number | null = null;
    let count: number;
    if (request.perClass !== undefined || request.classes !== undefined) {
      if (!conditional) throw new StudioError(`${source.name} is not a conditional model: a class-by-class gallery needs a cgan or cdcgan generator`);
      perClass = request.perClass ?? 1;
      const classes = request.classes ?? Array.from({ length: numClasses }, (_, c) => c);
      const bad = classes.find((c) => !Number.isInteger(c) || c < 0 || c >= numClasses);
      if (bad !== undefined) throw new StudioError(`class ${bad} is out of range: ${source.name} has classes 0 to ${numClasses - 1}`);
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

    let at: GeneratorCheckpoint;
    if (source.run) {
      const latest = this.generatorCheckpoints(source.run.id).at(-1);
      if (!latest) throw new StudioError(`run ${source.run.id} has no checkpoint yet`, 'conflict');
      at = latest;
    } else {
      at = { step: source.model.step, epoch: null };
    }
    const generator = await this.load(source, at.step);
    let batch: ImageBatch;
    try {
      batch = await generator.sample(count, seed, labels);
    } finally {
      generator.dispose();
    }
    const gallery = this.store.create({
      source: source.run ? { runId: source.run.id } : { modelId: source.model.id },
      name: request.name?.trim() || `${source.run ? source.run.name : source.model.name} · seed ${seed}`,
      seed,
      step: at.step,
      epoch: at.epoch ?? 0,
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
    const source = gallery.runId !== null ? this.source({ runId: gallery.runId }) : this.source({ modelId: gallery.modelId! });
    return {
      ...gallery,
      run: source.run,
      model: source.model,
      config: source.config,
      sourceName: source.name,
      images: this.store.images(galleryId).map((img) => ({ ...img, path: path.join(dir, imageName(img.index)) })),
    };
  }

  /** Newest first; one run's or one model's when the filter names it. */
  list(filter: { runId?: number; modelId?: number } = {}): GallerySummaryRecord[] {
    if (filter.runId !== undefined && filter.modelId !== undefined) throw new StudioError('list the galleries of a run or of a model (not both)');
    if (filter.runId !== undefined) this.source({ runId: filter.runId });
    if (filter.modelId !== undefined) this.source({ modelId: filter.modelId });
    return this.store.list(filter);
  }

  setPicked(galleryId: number, indices: readonly number[], picked: boolean): Gallery {
    const gallery = this.get(galleryId);
    const bad = indices.find((i) => !Number.isInteger(i) || i < 0 || i >= gallery.images.length);
    if (bad !== undefined) throw new StudioError(`gallery ${galleryId} has images 0 to ${gallery.images.length - 1} (got ${bad})`);
    this.store.setPicked(galleryId, indices, picked);
    return this.get(galleryId);
  }

  /**
   * The steps a run's generator can be loaded at, oldest first: its full checkpoints and its
   * per-epoch generator snapshots (files that exist).
   */
  generatorCheckpoints(runId: number): (GeneratorCheckpoint & { path: string; epoch: number })[] {
    const byStep = new Map<number, { step: number; epoch: number; path: string }>();
    for (const c of this.runs.checkpoints(runId)) if (existsSync(c.path)) byStep.set(c.step, { step: c.step, epoch: c.epoch, path: c.path });
    // A snapshot holds only G: a smaller file to read than the full checkpoint at the same step.
    for (const s of listSnapshots(runDir(this.home, runId))) byStep.set(s.step, s);
    return [...byStep.values()].sort((a, b) => a.step - b.step);
  }

  /** Where a gallery's images can be drawn again: its run's checkpoints, or its model's own step. */
  checkpoints(galleryId: number): GeneratorCheckpoint[] {
    const gallery = this.get(galleryId);
    if (gallery.model) return [{ step: gallery.model.step, epoch: null }];
    return this.generatorCheckpoints(gallery.runId!).map(({ step, epoch }) => ({ step, epoch }));
  }

  /**
   * A gallery's generator at `step` (default: the step its images were drawn at): the run's
   * checkpoint or snapshot at that step, or the imported model. The caller disposes it.
   */
  async openGenerator(gallery: Gallery, step = gallery.step): Promise<LoadedGenerator> {
    const { config, sourceName: name } = gallery;
    return this.load(gallery.run ? { run: gallery.run, model: null, config, name } : { run: null, model: gallery.model!, config, name }, step);
  }

  /**
   * Draws one gallery image again from its latent, at the gallery's checkpoint or another one of
   * the run's (by step). Writes `<gallery>/regenerated/<index>-step<step>.png`; returns its path.
   */
  async regenerate(galleryId: number, index: number, checkpointStep?: number): Promise<RegeneratedImage> {
    const gallery = this.get(galleryId);
    const image = Number.isInteger(index) ? gallery.images[index] : undefined;
    if (!image) throw new StudioError(`gallery ${galleryId} has no image ${index}`, 'not-found');
    const step = checkpointStep ?? gallery.step;
    const at = this.checkpoints(galleryId).find((c) => c.step === step);
    if (!at) {
      if (gallery.model) throw new StudioError(`${gallery.sourceName} has only the weights it was exported with (step ${gallery.model.step}), not step ${step}`, 'not-found');
      const known = this.generatorCheckpoints(gallery.runId!).map((c) => c.step).join(', ') || 'none';
      throw new StudioError(`run ${gallery.runId} has no checkpoint at step ${step} (checkpoints: ${known})`, 'not-found');
    }
    const generator = await this.openGenerator(gallery, step);
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
    const [file] = await writeImagePngs(dir, one, [`${String(index).padStart(4, '0')}-step${step}.png`]);
    return { galleryId, index, step, epoch: at.epoch, path: file! };
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
      const className = image.classLabel === null ? '' : `-${safeName(gallery.config.classNames?.[image.classLabel] ?? `class${image.classLabel}`)}`;
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
    this.removeFiles(galleryId);
    this.store.remove(galleryId);
  }

  /** Removes the files of a run's galleries (their rows go with the run's by cascade). */
  removeRunFiles(runId: number): void {
    for (const id of this.store.idsOfRun(runId)) this.removeFiles(id);
  }

  /** Removes the files of an imported model's galleries (their rows go with the model's by cascade). */
  removeModelFiles(modelId: number): void {
    for (const id of this.store.idsOfModel(modelId)) this.removeFiles(id);
  }

  /** A gallery's own folder and the latent-lab folders drawn from it. */
  private removeFiles(galleryId: number): void {
    for (const n of this.store.labOutputs(galleryId)) rmSync(labDir(this.home, n), { recursive: true, force: true });
    rmSync(galleryDir(this.home, galleryId), { recursive: true, force: true });
  }

  private source(request: { runId?: number; modelId?: number }): Source {
    if ((request.runId === undefined) === (request.modelId === undefined)) throw new StudioError('give a run or an imported model to draw from (not both)');
    if (request.runId !== undefined) {
      const run = this.runs.getRun(request.runId);
      if (!run) throw new StudioError(`there is no run ${request.runId}`, 'not-found');
      return { run, model: null, config: run.config.model, name: `run ${run.id}` };
    }
    const model = this.models.get(request.modelId!);
    if (!model) throw new StudioError(`there is no imported model ${request.modelId}`, 'not-found');
    return { run: null, model, config: modelConfigOf(model), name: `model "${model.name}"` };
  }

  private async load(source: Source, step: number): Promise<LoadedGenerator> {
    if (source.model) {
      if (step !== source.model.step) throw new StudioError(`${source.name} has only the weights it was exported with (step ${source.model.step})`, 'not-found');
      if (!existsSync(source.model.dir)) throw new StudioError(`the folder of ${source.name} (${source.model.dir}) is missing; import it again`, 'conflict');
      await selectBackend({ prefer: 'auto' });
      try {
        return (await loadGeneratorExport(source.model.dir)).generator;
      } catch (err) {
        throw new StudioError((err as Error).message, 'data');
      }
    }
    const checkpoint = this.generatorCheckpoints(source.run.id).find((c) => c.step === step);
    if (!checkpoint) throw new StudioError(`run ${source.run.id} no longer has the checkpoint at step ${step}`, 'conflict');
    await selectBackend({ prefer: 'auto' });
    return LoadedGenerator.fromCheckpoint(checkpoint.path);
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
