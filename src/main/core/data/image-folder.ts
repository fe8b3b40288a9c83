// Imports a folder of images through sharp: every file is decoded by content (the extension is
// never trusted), EXIF-oriented, flattened on black, converted to grayscale or sRGB, centre-cropped
// and resized to size x size, and kept as raw uint8 NHWC pixels. A file that cannot be used is
// skipped with a short reason; the import never stops for one bad file and never writes into the
// source folder (sharp only reads the files; nothing is created beside them).
//
// Walk rules
// - Recursive. Hidden entries (names starting with '.') are ignored altogether: they are neither
//   imported nor reported as skipped, and do not count as seen.
// - Symbolic links are followed, but a folder whose real path was already walked is not walked
//   again, so link loops (and links back to an ancestor) end the descent.
// - Anything else that is not a regular file (a FIFO, a socket, a device, a broken link) is
//   reported as skipped, and counts as seen.
// - Files are processed in sorted path order (plain code-unit order of the path relative to the
//   folder, '/'-separated), so the result is the same on every run and every platform.
//
// Labels (`labels: true`): the first-level subfolder names become the classes (ImageFolder
// convention); deeper folders belong to their first-level ancestor's class. Images lying directly
// in the root have no class and are skipped with the reason "not in a class folder". The class
// list is the sorted names of the first-level folders that yielded at least one image, so class
// indices are contiguous and no class is empty; a class folder whose files were all unusable shows
// up only in `skipped`.

import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

import sharp from 'sharp';

import type { ImageChannels, ImageDataset, SkippedFile } from '../../../shared/types';
import { DataError } from './data-error';

/** Largest accepted side, checked on the header before any decoding. */
export const MAX_IMAGE_SIDE = 16384;
/** Largest accepted pixel count (sharp's default limitInputPixels, 0x3FFF * 0x3FFF). */
export const MAX_IMAGE_PIXELS = 0x3fff * 0x3fff;
/** Files decoded at the same time (sharp also uses its own worker threads per image). */
export const FOLDER_CONCURRENCY = 4;

export interface ImportProgress {
  /** Files (or IDX images) handled so far. */
  done: number;
  /** Files (or IDX images) to handle; with a limit the import may end before done == total. */
  total: number;
  imported: number;
  skipped: number;
}

export interface ImageFolderOptions {
  size: number;
  channels: ImageChannels;
  /** Use first-level subfolder names as class labels. */
  labels: boolean;
  /** Stop after this many images were imported (the first ones in sorted path order). */
  limit?: number;
  onProgress?: (p: ImportProgress) => void;
}

export interface ImageFolderResult {
  dataset: ImageDataset;
  skipped: SkippedFile[];
  /** Files considered: imported + skipped.length. */
  seen: number;
}

type Entry =
  | { kind: 'file'; abs: string; rel: string }
  | { kind: 'bad'; abs: string; rel: string; reason: string };

type Outcome = { ok: true; pixels: Buffer } | { ok: false; reason: string };

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Walk

async function walk(root: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const visited = new Set<string>([await realpath(root)]);

  async function visit(dirAbs: string, dirRel: string, isRoot: boolean): Promise<void> {
    let dirents: Dirent[];
    try {
      dirents = await readdir(dirAbs, { withFileTypes: true });
    } catch (err) {
      if (isRoot) throw err;
      out.push({ kind: 'bad', abs: dirAbs, rel: dirRel, reason: `cannot read folder (${errCode(err) ?? 'error'})` });
      return;
    }
    dirents.sort((a, b) => byCodeUnits(a.name, b.name));
    for (const d of dirents) {
      if (d.name.startsWith('.')) continue;
      const abs = path.join(dirAbs, d.name);
      const rel = dirRel ? `${dirRel}/${d.name}` : d.name;
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      if (d.isSymbolicLink()) {
        try {
          const st = await stat(abs);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch (err) {
          const reason = errCode(err) === 'ELOOP' ? 'symbolic link loop' : 'broken symbolic link';
          out.push({ kind: 'bad', abs, rel, reason });
          continue;
        }
      }
      if (isDir) {
        let real: string;
        try {
          real = await realpath(abs);
        } catch (err) {
          out.push({ kind: 'bad', abs, rel, reason: `cannot read folder (${errCode(err) ?? 'error'})` });
          continue;
        }
        if (visited.has(real)) continue; // a loop, or a second link to a folder already walked
        visited.add(real);
        await visit(abs, rel, false);
      } else if (isFile) {
        out.push({ kind: 'file', abs, rel });
      } else {
        out.push({ kind: 'bad', abs, rel, reason: 'not a regular file' });
      }
    }
  }

  await visit(root, '', true);
  out.sort((a, b) => byCodeUnits(a.rel, b.rel));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decode

// libvips keeps one process-wide error buffer, so when several images fail at the same time their
// messages can mix ("Warning treated as error…" for one file, the JPEG error of another). Decodes
// therefore run under a gate: any number at once normally, and a decode that failed is redone
// alone so that its reason is its own and the same on every run. Failures are rare, so this
// costs nothing in the common case.

type Waiter = { exclusive: boolean; go: () => void };
const gate = { shared: 0, exclusive: false, queue: [] as Waiter[] };

function pumpGate(): void {
  while (gate.queue.length > 0) {
    const head = gate.queue[0]!;
    if (head.exclusive) {
      if (gate.shared > 0 || gate.exclusive) return;
      gate.exclusive = true;
    } else {
      if (gate.exclusive) return;
      gate.shared++;
    }
    gate.queue.shift();
    head.go();
  }
}

async function throughGate<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
  await new Promise<void>((go) => {
    gate.queue.push({ exclusive, go });
    pumpGate();
  });
  try {
    return await fn();
  } finally {
    if (exclusive) gate.exclusive = false;
    else gate.shared--;
    pumpGate();
  }
}

/** The most telling line of a libvips error (it may hold several, some of them generic). */
function telling(msg: string, max = 120): string {
  const lines = [...new Set(msg.split('\n').map((l) => l.trim()).filter(Boolean))];
  const specific = lines.filter((l) => !/failOn setting|^error in tile/i.test(l));
  const line = specific[0] ?? lines[0] ?? 'unknown decoder error';
  return line.length > max ? line.slice(0, max - 1) + '…' : line;
}

function sharpReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(msg)) return 'not an image';
  if (/pixel limit/i.test(msg)) return 'image too large (over the pixel limit)';
  const code = errCode(err);
  if (code === 'EACCES' || code === 'EPERM') return 'cannot read file: permission denied';
  return `corrupt or truncated image: ${telling(msg)}`;
}

/** Decoder failures are worth a second, solitary try (for a clean message); our own checks not. */
type Attempt = Outcome | { ok: false; reason: string; decoderError: true };

async function decodeOnce(file: string, size: number, channels: ImageChannels): Promise<Attempt> {
  // Header first (metadata reads no pixels): reject absurd dimensions before any decoding.
  let width: number | undefined;
  let height: number | undefined;
  try {
    const meta = await sharp(file, { failOn: 'warning', limitInputPixels: false }).metadata();
    width = meta.width;
    height = meta.pageHeight ?? meta.height;
  } catch (err) {
    return { ok: false, reason: sharpReason(err), decoderError: true };
  }
  if (!width || !height) return { ok: false, reason: 'not an image (no dimensions)' };
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || width * height > MAX_IMAGE_PIXELS) {
    return { ok: false, reason: `image too large: ${width}x${height} px (limit ${MAX_IMAGE_SIDE} a side)` };
  }
  try {
    let img = sharp(file, { failOn: 'warning', limitInputPixels: MAX_IMAGE_PIXELS })
      .rotate() // apply EXIF orientation
      .flatten({ background: { r: 0, g: 0, b: 0 } });
    img = channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
    const { data, info } = await img
      .resize(size, size, { fit: 'cover', position: 'centre' })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.width !== size || info.height !== size || info.channels !== channels || data.length !== size * size * channels) {
      return { ok: false, reason: `unexpected decoder output ${info.width}x${info.height}x${info.channels}` };
    }
    return { ok: true, pixels: data };
  } catch (err) {
    return { ok: false, reason: sharpReason(err), decoderError: true };
  }
}

async function decodeFile(file: string, size: number, channels: ImageChannels): Promise<Outcome> {
  try {
    const st = await stat(file);
    if (st.size === 0) return { ok: false, reason: 'empty file' };
  } catch (err) {
    return { ok: false, reason: `cannot read file (${errCode(err) ?? 'error'})` };
  }
  let res = await throughGate(false, () => decodeOnce(file, size, channels));
  if (!res.ok && 'decoderError' in res) res = await throughGate(true, () => decodeOnce(file, size, channels));
  return res.ok ? res : { ok: false, reason: res.reason };
}

// ---------------------------------------------------------------------------------------------
// Import

function checkOptions(opts: ImageFolderOptions): void {
  if (!Number.isInteger(opts.size) || opts.size < 1 || opts.size > 4096) {
    throw new DataError(`image size must be a whole number of pixels from 1 to 4096, got ${opts.size}`);
  }
  if (opts.channels !== 1 && opts.channels !== 3) {
    throw new DataError(`channels must be 1 or 3, got ${String(opts.channels)}`);
  }
  if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 1)) {
    throw new DataError(`limit must be a whole number of images (1 or more), got ${opts.limit}`);
  }
}

/** Summary of the first few skip reasons, for the "no usable images" error. */
function reasonSummary(skipped: SkippedFile[], root: string, max = 3): string {
  if (skipped.length === 0) return '';
  const parts = skipped.slice(0, max).map((s) => `${path.relative(root, s.path) || s.path}: ${s.reason}`);
  const more = skipped.length > max ? `; and ${skipped.length - max} more` : '';
  return ` (${parts.join('; ')}${more})`;
}

export async function readImageFolder(dir: string, opts: ImageFolderOptions): Promise<ImageFolderResult> {
  checkOptions(opts);
  const root = path.resolve(dir);
  try {
    const st = await stat(root);
    if (!st.isDirectory()) throw new DataError(`not a folder: ${root}`);
  } catch (err) {
    if (err instanceof DataError) throw err;
    if (errCode(err) === 'ENOENT') throw new DataError(`no such file or folder: ${root}`, { cause: err });
    throw new DataError(`cannot read folder ${root}: ${errCode(err) ?? String(err)}`, { cause: err });
  }

  let entries: Entry[];
  try {
    entries = await walk(root);
  } catch (err) {
    throw new DataError(`cannot read folder ${root}: ${errCode(err) ?? String(err)}`, { cause: err });
  }

  const { size, channels, labels } = opts;
  const limit = opts.limit ?? Infinity;
  const total = entries.length;
  const outcomes: (Outcome | undefined)[] = new Array(total);
  let next = 0;
  let done = 0;
  let imported = 0;

  const handle = async (entry: Entry): Promise<Outcome> => {
    if (entry.kind === 'bad') return { ok: false, reason: entry.reason };
    if (labels && !entry.rel.includes('/')) return { ok: false, reason: 'not in a class folder' };
    return decodeFile(entry.abs, size, channels);
  };

  const worker = async (): Promise<void> => {
    // Keep taking the next file until enough images are in. Files are taken strictly in order,
    // so the handled files always form a prefix of the sorted list, whatever finishes first.
    while (next < total && imported < limit) {
      const i = next++;
      const outcome = await handle(entries[i]!);
      outcomes[i] = outcome;
      done++;
      if (outcome.ok) imported++;
      opts.onProgress?.({ done, total, imported, skipped: done - imported });
    }
  };
  await Promise.all(Array.from({ length: Math.min(FOLDER_CONCURRENCY, Math.max(total, 1)) }, worker));

  // Assemble in sorted order, up to the limit; files after the cut are not counted as seen.
  const kept: { rel: string; pixels: Buffer }[] = [];
  const skipped: SkippedFile[] = [];
  let seen = 0;
  for (let i = 0; i < total && kept.length < limit; i++) {
    const o = outcomes[i];
    if (o === undefined) break;
    seen++;
    if (o.ok) kept.push({ rel: entries[i]!.rel, pixels: o.pixels });
    else skipped.push({ path: entries[i]!.abs, reason: o.reason });
  }

  if (kept.length === 0) {
    const what =
      seen === 0
        ? 'the folder holds no files (hidden files are ignored)'
        : `${skipped.length} file${skipped.length === 1 ? '' : 's'} skipped${reasonSummary(skipped, root)}`;
    throw new DataError(`no usable images in ${root}: ${what}`);
  }

  const per = size * size * channels;
  const pixels = new Uint8Array(kept.length * per);
  kept.forEach((k, i) => pixels.set(k.pixels, i * per));

  let labelArray: Int32Array | null = null;
  let classNames: string[] = [];
  if (labels) {
    const classOf = kept.map((k) => k.rel.slice(0, k.rel.indexOf('/')));
    classNames = [...new Set(classOf)].sort(byCodeUnits);
    const index = new Map(classNames.map((c, i) => [c, i]));
    labelArray = Int32Array.from(classOf, (c) => index.get(c)!);
  }

  const dataset: ImageDataset = {
    count: kept.length,
    height: size,
    width: size,
    channels,
    pixels,
    labels: labelArray,
    classNames,
    source: `${root} (image folder${labels ? `, ${classNames.length} classes` : ''})`,
  };
  return { dataset, skipped, seen };
}
