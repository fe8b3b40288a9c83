// Imports a dataset once into the studio's home: an image folder (recursive, through sharp), an
// IDX images file or a folder holding an IDX training set, or a CIFAR-10 batches folder. The
// images are decoded, resized to size x size, converted to 1 or 3 channels, optionally doubled
// with horizontal flips, and streamed into one cache file (dataset-cache.ts) beside a contact
// sheet of the first 64. A row in the store records the source, the options, the counts, what
// was skipped and a content hash of the source.
//
// The content hash is cheap: it covers the list of files with their sizes and modification times
// (plus anything the walk could not use, with its reason), never their bytes. Importing the same
// source again under the same name with the same options, while the hash still matches and the
// cache file is sound, does no decoding at all ("unchanged, using the cached import"); any change
// (a file added, removed, replaced or touched, other options) re-imports and replaces the cache,
// keeping the dataset's id. A name already used for a different source is refused.
//
// Nothing is ever written into the source: every file goes to <home>/datasets, under a temporary
// name first.

import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';

import {
  DATASET_SIZES,
  FIT_MODES,
  type DatasetSize,
  type FitMode,
  type ImageChannels,
  type SkippedFile,
} from '../../../shared/types';
import { datasetsDir, ensureHome } from '../home';
import type { AddDatasetInput, DatasetStore, StoredDataset } from '../store/dataset-store';
import { cifar10ClassNames, cifar10RecordCount, findCifar10, readCifar10Chunks, type Cifar10Source } from './cifar10-reader';
import { ContactSheet } from './contact-sheet';
import { DataError } from './data-error';
import { CACHE_EXTENSION, DatasetCacheWriter, readDatasetCacheInfo, type DatasetCacheMeta } from './dataset-cache';
import { findIdxTrainingSet, idxClassNames, transposeBatch } from './dataset-loader';
import { resizeBatch, resizeRgbBatch } from '../images/resize';
import { describeMagic, findLabelsFile, IDX_IMAGES_MAGIC, readIdxHeader, readIdxSet } from './idx-reader';
import { openImageFolder, noUsableImages, sortClassNames, streamImageFolder, type FolderEntry } from './image-folder';

export interface ImportRequest {
  /** An image folder, an IDX images file (or a folder with train-images-idx3-ubyte[.gz]), or CIFAR-10 batches. */
  path: string;
  name: string;
  /** Default: 28 for IDX, 32 for CIFAR-10, 64 for image folders. */
  size?: DatasetSize;
  /** Default: 1 for IDX, 3 otherwise. */
  channels?: ImageChannels;
  /** Image folders: first-level subfolders are classes. IDX and CIFAR-10 always keep their labels. */
  labels?: boolean;
  /** Image folders: how non-square images become square (default crop). */
  fit?: FitMode;
  /** Add a horizontal flip of every image (the dataset holds twice the images imported). */
  mirror?: boolean;
}

export interface ImportProgressEvent {
  /** Files (image folders) or images (IDX, CIFAR-10) handled. */
  done: number;
  total: number;
  imported: number;
  skipped: number;
  /** Images imported per second so far. */
  imagesPerSec: number;
  seconds: number;
}

export interface ImportSummary {
  dataset: StoredDataset;
  /** Source images used (files for a folder, records for IDX / CIFAR-10). */
  imported: number;
  skipped: number;
  skippedFiles: SkippedFile[];
  /** imported + skipped. */
  seen: number;
  /** Images in the dataset: imported, or twice that with mirror. */
  count: number;
  mirrored: boolean;
  /** True when the source had not changed and the cached import was reused. */
  unchanged: boolean;
  seconds: number;
  imagesPerSec: number;
  /** One line for people. */
  message: string;
}

/** A name taken by a dataset from another source. */
export class DatasetConflictError extends DataError {
  readonly conflict = true;
}

type Source =
  | { kind: 'idx'; path: string; imagesFile: string; labelsFile: string | null }
  | { kind: 'cifar10'; path: string; cifar: Cifar10Source }
  | { kind: 'folder'; path: string; entries: FolderEntry[] };

const DEFAULTS: Record<Source['kind'], { size: DatasetSize; channels: ImageChannels }> = {
  idx: { size: 28, channels: 1 },
  cifar10: { size: 32, channels: 3 },
  folder: { size: 64, channels: 3 },
};

/** Images resized and written per step for IDX sets. */
const IDX_CHUNK = 2000;
const HASH_VERSION = 'gan-studio-source-v1';

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Horizontal flips of `count` NHWC images. */
export function mirrorImages(pixels: Uint8Array, count: number, size: number, channels: number): Uint8Array {
  const out = new Uint8Array(count * size * size * channels);
  const row = size * channels;
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < size; y++) {
      const base = (n * size + y) * row;
      for (let x = 0; x < size; x++) {
        const s = base + x * channels;
        const d = base + (size - 1 - x) * channels;
        for (let c = 0; c < channels; c++) out[d + c] = pixels[s + c]!;
      }
    }
  }
  return out;
}

/** Each image followed by its flip (and each label twice). */
function withMirrors(
  pixels: Uint8Array,
  labels: ArrayLike<number> | undefined,
  count: number,
  size: number,
  channels: number,
): { pixels: Uint8Array; labels: number[] | undefined } {
  const per = size * size * channels;
  const flipped = mirrorImages(pixels, count, size, channels);
  const out = new Uint8Array(2 * count * per);
  for (let n = 0; n < count; n++) {
    out.set(pixels.subarray(n * per, (n + 1) * per), 2 * n * per);
    out.set(flipped.subarray(n * per, (n + 1) * per), (2 * n + 1) * per);
  }
  let twice: number[] | undefined;
  if (labels) {
    twice = new Array<number>(2 * count);
    for (let n = 0; n < count; n++) twice[2 * n] = twice[2 * n + 1] = labels[n]!;
  }
  return { pixels: out, labels: twice };
}

function slug(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '')
    .slice(0, 40);
  return s || 'dataset';
}

export function checkDatasetName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') throw new DataError('a dataset needs a name (--name NAME)');
  const n = name.trim();
  if (n.length > 100) throw new DataError(`a dataset name must be at most 100 characters (got ${n.length})`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(n)) throw new DataError('a dataset name cannot contain control characters');
  return n;
}

export class DatasetImporter {
  constructor(
    private readonly home: string,
    private readonly store: DatasetStore,
  ) {}

  async import(request: ImportRequest, onProgress?: (p: ImportProgressEvent) => void): Promise<ImportSummary> {
    const started = performance.now();
    const elapsed = (): number => (performance.now() - started) / 1000;
    const name = checkDatasetName(request.name);
    if (request.size !== undefined && !DATASET_SIZES.includes(request.size)) {
      throw new DataError(`size must be one of ${DATASET_SIZES.join(', ')} (got ${String(request.size)})`);
    }
    if (request.channels !== undefined && request.channels !== 1 && request.channels !== 3) {
      throw new DataError(`channels must be 1 or 3 (got ${String(request.channels)})`);
    }
    const fit = request.fit ?? 'crop';
    if (!FIT_MODES.includes(fit)) throw new DataError(`fit must be one of ${FIT_MODES.join(', ')} (got ${String(fit)})`);
    const mirror = request.mirror ?? false;

    const source = await this.detect(request.path);
    const size = request.size ?? DEFAULTS[source.kind].size;
    const channels = request.channels ?? DEFAULTS[source.kind].channels;
    const labelled =
      source.kind === 'folder' ? (request.labels ?? false) : source.kind === 'cifar10' ? true : source.labelsFile !== null;
    const hash = await this.fingerprint(source);

    const existing = this.store.findByName(name);
    if (existing && existing.sourcePath !== source.path) {
      throw new DatasetConflictError(
        `a dataset named "${name}" already exists, imported from ${existing.sourcePath}; ` +
          'choose another --name, or delete that dataset first',
      );
    }
    if (
      existing &&
      existing.contentHash === hash &&
      existing.size === size &&
      existing.channels === channels &&
      existing.fit === fit &&
      existing.mirror === mirror &&
      existing.labelled === labelled &&
      (await this.cacheIsSound(existing))
    ) {
      const skippedFiles = this.store.skippedFiles(existing.id);
      const imported = existing.seen - existing.skipped;
      const seconds = elapsed();
      onProgress?.({ done: existing.seen, total: existing.seen, imported, skipped: existing.skipped, imagesPerSec: 0, seconds });
      return {
        dataset: existing,
        imported,
        skipped: existing.skipped,
        skippedFiles,
        seen: existing.seen,
        count: existing.count,
        mirrored: mirror,
        unchanged: true,
        seconds,
        imagesPerSec: 0,
        message: `"${name}" is unchanged, using the cached import (${existing.count} images)`,
      };
    }

    // Build the new cache beside the old one; the row switches over only once it is complete.
    const dir = datasetsDir(ensureHome(this.home));
    const base = path.join(dir, `${slug(name)}-${randomBytes(4).toString('hex')}`);
    const cachePath = base + CACHE_EXTENSION;
    const sheetPath = base + '.png';
    const writer = await DatasetCacheWriter.create(cachePath, { size, channels, labelled });
    const sheet = new ContactSheet(size, channels);
    let result: { imported: number; skippedFiles: SkippedFile[]; seen: number; classNames: string[]; description: string; remap?: (l: number) => number };
    try {
      const progress = (p: { done: number; total: number; imported: number; skipped: number }): void => {
        const seconds = elapsed();
        onProgress?.({ ...p, seconds, imagesPerSec: p.imported / Math.max(seconds, 1e-6) });
      };
      const ctx = { writer, sheet, size, channels, mirror, fit, labelled, progress };
      result =
        source.kind === 'idx'
          ? await this.importIdx(source, ctx)
          : source.kind === 'cifar10'
            ? await this.importCifar(source, ctx)
            : await this.importFolder(source, ctx);
      const meta: DatasetCacheMeta = {
        classNames: result.classNames,
        source: result.description,
        format: source.kind,
        sourcePath: source.path,
        fit,
        mirror,
        imported: result.imported,
        seen: result.seen,
        skipped: result.skippedFiles.length,
        contentHash: hash,
        createdAt: new Date().toISOString(),
      };
      await writer.finish(meta, result.remap);
      await sheet.write(sheetPath);
    } catch (err) {
      await writer.abort();
      await rm(sheetPath, { force: true });
      throw err;
    }

    const input: AddDatasetInput = {
      name,
      sourcePath: source.path,
      format: source.kind,
      size,
      channels,
      count: writer.count,
      classNames: result.classNames,
      cachePath,
      contentHash: hash,
      fit,
      mirror,
      labelled,
      seen: result.seen,
      skipped: result.skippedFiles.length,
      skippedFiles: result.skippedFiles,
      contactSheetPath: sheetPath,
    };
    let dataset: StoredDataset;
    try {
      // Re-read by name: another import may have taken the name meanwhile.
      const now = this.store.findByName(name);
      if (now && now.sourcePath !== source.path) {
        throw new DatasetConflictError(`a dataset named "${name}" was just imported from ${now.sourcePath}; choose another --name`);
      }
      dataset = now ? this.store.update(now.id, input) : this.store.add(input);
      if (now) await this.removeFiles(now, [cachePath, sheetPath]);
    } catch (err) {
      await rm(cachePath, { force: true });
      await rm(sheetPath, { force: true });
      if (err instanceof Error && /UNIQUE constraint/.test(err.message)) {
        throw new DatasetConflictError(`a dataset named "${name}" was just imported by someone else; choose another --name`);
      }
      throw err;
    }

    const seconds = elapsed();
    const skipped = result.skippedFiles.length;
    const what = source.kind === 'folder' ? 'files' : 'images';
    return {
      dataset,
      imported: result.imported,
      skipped,
      skippedFiles: result.skippedFiles,
      seen: result.seen,
      count: writer.count,
      mirrored: mirror,
      unchanged: false,
      seconds,
      imagesPerSec: result.imported / Math.max(seconds, 1e-6),
      message:
        `imported ${result.imported} of ${result.seen} ${what} into "${name}" (${size}x${size}x${channels}` +
        `${result.classNames.length ? `, ${result.classNames.length} classes` : ''})` +
        (skipped ? `, ${skipped} skipped` : '') +
        (mirror ? `; with horizontal flips the dataset holds ${writer.count} images` : ''),
    };
  }

  /** Deletes a dataset's cache file and contact sheet (only files under the home's datasets folder). */
  async removeFiles(dataset: StoredDataset, keep: string[] = []): Promise<void> {
    const dir = path.resolve(datasetsDir(this.home)) + path.sep;
    for (const f of [dataset.cachePath, dataset.contactSheetPath]) {
      if (!f || keep.includes(f)) continue;
      if (!path.resolve(f).startsWith(dir)) continue; // never delete anything outside the home
      await rm(f, { force: true });
    }
  }

  private async cacheIsSound(d: StoredDataset): Promise<boolean> {
    if (!d.cachePath || !existsSync(d.cachePath)) return false;
    try {
      const info = await readDatasetCacheInfo(d.cachePath);
      return info.count === d.count && info.height === d.size && info.channels === d.channels;
    } catch {
      return false;
    }
  }

  // -------------------------------------------------------------------------------------------
  // What the path is

  private async detect(p: string): Promise<Source> {
    if (typeof p !== 'string' || p === '') throw new DataError('import needs a PATH (an image folder, an IDX file or CIFAR-10 batches)');
    const target = path.resolve(p);
    let st;
    try {
      st = await stat(target);
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new DataError(`no such file or folder: ${target}`, { cause: err });
      if (code === 'EACCES' || code === 'EPERM') throw new DataError(`cannot read ${target}: permission denied`, { cause: err });
      throw new DataError(`cannot read ${target}: ${code ?? String(err)}`, { cause: err });
    }
    if (st.isFile()) {
      const cifar = await findCifar10(target);
      if (cifar) return { kind: 'cifar10', path: target, cifar };
      const header = await readIdxHeader(target);
      if (header.magic !== IDX_IMAGES_MAGIC) {
        throw new DataError(
          `${target} is neither an IDX images file (it looks like ${describeMagic(header.magic)}) nor a CIFAR-10 batch; ` +
            'give a folder of images, an IDX images file or a CIFAR-10 batches folder',
        );
      }
      return { kind: 'idx', path: target, imagesFile: target, labelsFile: findLabelsFile(target) };
    }
    if (!st.isDirectory()) throw new DataError(`not a file or folder: ${target}`);
    const idx = await findIdxTrainingSet(target);
    if (idx) return { kind: 'idx', path: target, imagesFile: idx, labelsFile: findLabelsFile(idx) };
    const cifar = await findCifar10(target);
    if (cifar) return { kind: 'cifar10', path: target, cifar };
    const { root, entries } = await openImageFolder(target);
    return { kind: 'folder', path: root, entries };
  }

  /** sha256 over the source's file list, sizes and modification times (no file contents). */
  private async fingerprint(source: Source): Promise<string> {
    const h = createHash('sha256');
    h.update(`${HASH_VERSION}\n${source.kind}\n`);
    const statLine = async (f: string): Promise<string> => {
      try {
        const st = await stat(f);
        return `F\0${f}\0${st.size}\0${st.mtimeMs}\n`;
      } catch (err) {
        return `B\0${f}\0${errCode(err) ?? 'error'}\n`;
      }
    };
    if (source.kind === 'idx') {
      h.update(await statLine(source.imagesFile));
      if (source.labelsFile) h.update(await statLine(source.labelsFile));
    } else if (source.kind === 'cifar10') {
      for (const f of source.cifar.files) h.update(await statLine(f));
      if (source.cifar.metaFile) h.update(await statLine(source.cifar.metaFile));
    } else {
      for (const e of source.entries) {
        h.update(e.kind === 'file' ? `F\0${e.rel}\0${e.size}\0${e.mtimeMs}\n` : `B\0${e.rel}\0${e.reason}\n`);
      }
    }
    return h.digest('hex');
  }

  // -------------------------------------------------------------------------------------------
  // The three kinds of source

  private async importIdx(source: Extract<Source, { kind: 'idx' }>, ctx: ImportContext): Promise<ImportResult> {
    const { size, channels } = ctx;
    const set = await readIdxSet(source.imagesFile, source.labelsFile);
    if (set.count === 0) throw new DataError(`no usable images in ${source.imagesFile}: the IDX file holds no images`);
    const emnist = /^emnist-/i.test(path.basename(source.imagesFile));
    const pixels = emnist ? transposeBatch(set.pixels, set.count, set.rows, set.cols) : set.pixels;
    const [h, w] = emnist ? [set.cols, set.rows] : [set.rows, set.cols];
    let classNames: string[] = [];
    if (set.labels) {
      let max = -1;
      for (const l of set.labels) if (l > max) max = l;
      classNames = idxClassNames(source.imagesFile, max + 1);
    }
    const inPer = h * w;
    for (let at = 0; at < set.count; at += IDX_CHUNK) {
      const n = Math.min(IDX_CHUNK, set.count - at);
      const out = resizeBatch(pixels.subarray(at * inPer, (at + n) * inPer), n, h, w, size, channels);
      await appendImages(ctx, out, set.labels ? set.labels.subarray(at, at + n) : undefined, n);
      ctx.progress({ done: at + n, total: set.count, imported: at + n, skipped: 0 });
    }
    const labelsNote = source.labelsFile ? `with labels ${path.basename(source.labelsFile)}` : 'no labels file';
    return {
      imported: set.count,
      seen: set.count,
      skippedFiles: [],
      classNames,
      description: `${source.imagesFile} (IDX, ${labelsNote})`,
    };
  }

  private async importCifar(source: Extract<Source, { kind: 'cifar10' }>, ctx: ImportContext): Promise<ImportResult> {
    const classNames = await cifar10ClassNames(source.cifar);
    let total = 0;
    for (const f of source.cifar.files) total += await cifar10RecordCount(f);
    let done = 0;
    for await (const chunk of readCifar10Chunks(source.cifar.files, { numClasses: classNames.length })) {
      const out = resizeRgbBatch(chunk.pixels, chunk.count, 32, 32, ctx.size, ctx.channels);
      await appendImages(ctx, out, chunk.labels, chunk.count);
      done += chunk.count;
      ctx.progress({ done, total, imported: done, skipped: 0 });
    }
    if (done === 0) throw new DataError(`no usable images in ${source.path}: the CIFAR-10 batches hold no records`);
    const files = source.cifar.files.map((f) => path.basename(f)).join(', ');
    return { imported: done, seen: done, skippedFiles: [], classNames, description: `${source.cifar.dir} (CIFAR-10: ${files})` };
  }

  private async importFolder(source: Extract<Source, { kind: 'folder' }>, ctx: ImportContext): Promise<ImportResult> {
    // Class indices are provisional (order of first image) until the class list is known.
    const provisional = new Map<string, number>();
    const { skipped, seen, imported } = await streamImageFolder(
      source.entries,
      { size: ctx.size, channels: ctx.channels, labels: ctx.labelled, fit: ctx.fit, onProgress: ctx.progress },
      async (img) => {
        let label: number[] | undefined;
        if (ctx.labelled) {
          let id = provisional.get(img.className!);
          if (id === undefined) provisional.set(img.className!, (id = provisional.size));
          label = [id];
        }
        await appendImages(ctx, img.pixels, label, 1);
      },
    );
    if (imported === 0) throw noUsableImages(source.path, skipped, seen);
    let classNames: string[] = [];
    let remap: ((l: number) => number) | undefined;
    if (ctx.labelled) {
      classNames = sortClassNames(provisional.keys());
      const finalIndex = new Map(classNames.map((c, i) => [c, i]));
      const table = new Int32Array(provisional.size);
      for (const [c, id] of provisional) table[id] = finalIndex.get(c)!;
      remap = (l) => table[l]!;
    }
    const fitNote = ctx.fit === 'crop' ? '' : `, ${ctx.fit}`;
    return {
      imported,
      seen,
      skippedFiles: skipped,
      classNames,
      remap,
      description: `${source.path} (image folder${ctx.labelled ? `, ${classNames.length} classes` : ''}${fitNote})`,
    };
  }
}

interface ImportContext {
  writer: DatasetCacheWriter;
  sheet: ContactSheet;
  size: number;
  channels: ImageChannels;
  mirror: boolean;
  fit: FitMode;
  labelled: boolean;
  progress: (p: { done: number; total: number; imported: number; skipped: number }) => void;
}

interface ImportResult {
  imported: number;
  seen: number;
  skippedFiles: SkippedFile[];
  classNames: string[];
  description: string;
  remap?: (label: number) => number;
}

/** Writes `count` images (and their flips, with mirror) to the cache, and feeds the contact sheet. */
async function appendImages(ctx: ImportContext, pixels: Uint8Array, labels: ArrayLike<number> | undefined, count: number): Promise<void> {
  if (!ctx.sheet.full) ctx.sheet.add(pixels);
  if (!ctx.mirror) return ctx.writer.append(pixels, ctx.labelled ? labels : undefined);
  const both = withMirrors(pixels, labels, count, ctx.size, ctx.channels);
  return ctx.writer.append(both.pixels, ctx.labelled ? both.labels : undefined);
}
