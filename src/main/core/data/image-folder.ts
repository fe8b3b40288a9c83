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
//   again, so link loops (and links back to an ancestor) end the descent. Such a link is
//   reported as skipped ("symbolic link loop …" / "folder already walked …") and counts as seen.
// - File names are read as bytes: a name that is not valid UTF-8 is still opened (through a
//   Buffer path) and shown with its odd bytes as \xNN.
// - Unreadable files and folders are reported with the reason (permission denied, …).
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

import { constants } from 'node:fs';
import type { Dirent } from 'node:fs';
import { access, readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

import sharp from 'sharp';

import type { FitMode, ImageChannels, ImageDataset, SkippedFile } from '../../../shared/types';
import { DataError } from './data-error';

/** Largest accepted side, checked on the header before any decoding. */
export const MAX_IMAGE_SIDE = 16384;
/** Largest accepted pixel count (sharp's default limitInputPixels, 0x3FFF * 0x3FFF). */
export const MAX_IMAGE_PIXELS = 0x3fff * 0x3fff;
/** Files decoded at the same time (sharp also uses its own worker threads per image). */
export const FOLDER_CONCURRENCY = 4;
/** Decoded images waiting for an earlier, slower file before they can be handed on in order. */
const REORDER_WINDOW = 64;

export interface ImportProgress {
  /** Files (or IDX images) handled so far. */
  done: number;
  /** Files (or IDX images) to handle; with a limit the import may end before done == total. */
  total: number;
  imported: number;
  skipped: number;
}

export interface DecodeOptions {
  size: number;
  channels: ImageChannels;
  /** How a non-square image becomes square (default 'crop': centre crop). */
  fit?: FitMode;
}

export interface ImageFolderOptions extends DecodeOptions {
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

/** A path for fs calls: a string, or the raw bytes when the name is not valid UTF-8. */
type FsPath = string | Buffer;

export type FolderEntry =
  | { kind: 'file'; abs: string; fsPath: FsPath; rel: string; size: number; mtimeMs: number }
  | { kind: 'bad'; abs: string; rel: string; reason: string };

type Outcome = { ok: true; pixels: Buffer } | { ok: false; reason: string };

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function fsReason(what: 'file' | 'folder', err: unknown): string {
  const code = errCode(err);
  if (code === 'EACCES' || code === 'EPERM') return `cannot read ${what}: permission denied`;
  return `cannot read ${what} (${code ?? 'error'})`;
}

// ---------------------------------------------------------------------------------------------
// Names

const utf8 = new TextDecoder('utf-8', { fatal: true });

function validUtf8(bytes: Uint8Array): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** A file name for people: UTF-8 where it is valid, each stray byte as \xNN. */
export function displayName(bytes: Uint8Array): string {
  if (validUtf8(bytes)) return utf8.decode(bytes);
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (len > 0 && i + len <= bytes.length && validUtf8(bytes.subarray(i, i + len))) {
      out += utf8.decode(bytes.subarray(i, i + len));
      i += len;
    } else {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i += 1;
    }
  }
  return out;
}

function childPath(dir: FsPath, name: Buffer): FsPath {
  if (typeof dir === 'string' && validUtf8(name)) return path.join(dir, utf8.decode(name));
  const d = typeof dir === 'string' ? Buffer.from(dir) : dir;
  return Buffer.concat([d, Buffer.from(path.sep), name]);
}

// ---------------------------------------------------------------------------------------------
// Walk

/** Every entry under root in sorted order (see the walk rules above). Throws if root is unreadable. */
export async function walkImageFolder(root: string): Promise<FolderEntry[]> {
  const out: FolderEntry[] = [];
  const realKey = async (p: FsPath): Promise<string> => (await realpath(p, { encoding: 'buffer' })).toString('latin1');
  const rootKey = await realKey(root);
  /** Real path (bytes as latin1) -> where it was walked ('' for the root). */
  const visited = new Map<string, string>([[rootKey, '']]);

  async function visit(dirFs: FsPath, dirAbs: string, dirRel: string, dirKey: string, isRoot: boolean): Promise<void> {
    let dirents: Dirent<Buffer>[];
    try {
      dirents = (await readdir(dirFs, { withFileTypes: true, encoding: 'buffer' })) as unknown as Dirent<Buffer>[];
    } catch (err) {
      if (isRoot) throw err;
      out.push({ kind: 'bad', abs: dirAbs, rel: dirRel, reason: fsReason('folder', err) });
      return;
    }
    const named = dirents.map((d) => ({ d, shown: displayName(d.name) }));
    named.sort((a, b) => byCodeUnits(a.shown, b.shown) || Buffer.compare(a.d.name, b.d.name));
    for (const { d, shown } of named) {
      if (d.name[0] === 0x2e) continue; // hidden
      const fsPath = childPath(dirFs, d.name);
      const abs = path.join(dirAbs, shown);
      const rel = dirRel ? `${dirRel}/${shown}` : shown;
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      const isLink = d.isSymbolicLink();
      if (isLink) {
        try {
          const st = await stat(fsPath);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch (err) {
          const code = errCode(err);
          const reason = code === 'ELOOP' ? 'symbolic link loop' : code === 'ENOENT' ? 'broken symbolic link' : fsReason('file', err);
          out.push({ kind: 'bad', abs, rel, reason });
          continue;
        }
      }
      if (isDir) {
        let key: string;
        try {
          key = await realKey(fsPath);
        } catch (err) {
          out.push({ kind: 'bad', abs, rel, reason: fsReason('folder', err) });
          continue;
        }
        const seenAs = visited.get(key);
        if (seenAs !== undefined) {
          // Walked once already: a loop back to an ancestor, or a second way into one folder.
          const ancestor = dirKey === key || dirKey.startsWith(key + path.sep);
          const where = seenAs === '' ? 'the top folder' : seenAs;
          out.push({
            kind: 'bad',
            abs,
            rel,
            reason: ancestor ? `symbolic link loop (back to ${where}), not walked again` : `folder already walked as ${where}`,
          });
          continue;
        }
        visited.set(key, rel);
        await visit(fsPath, abs, rel, key, false);
      } else if (isFile) {
        try {
          const st = await stat(fsPath);
          out.push({ kind: 'file', abs, fsPath, rel, size: st.size, mtimeMs: st.mtimeMs });
        } catch (err) {
          out.push({ kind: 'bad', abs, rel, reason: fsReason('file', err) });
        }
      } else {
        out.push({ kind: 'bad', abs, rel, reason: 'not a regular file' });
      }
    }
  }

  await visit(root, root, '', rootKey, true);
  out.sort((a, b) => byCodeUnits(a.rel, b.rel));
  return out;
}

/** Resolves `dir`, checks it is a readable folder and walks it; every failure is a DataError. */
export async function openImageFolder(dir: string): Promise<{ root: string; entries: FolderEntry[] }> {
  const root = path.resolve(dir);
  try {
    const st = await stat(root);
    if (!st.isDirectory()) throw new DataError(`not a folder: ${root}`);
  } catch (err) {
    if (err instanceof DataError) throw err;
    if (errCode(err) === 'ENOENT') throw new DataError(`no such file or folder: ${root}`, { cause: err });
    throw new DataError(`cannot read folder ${root}: ${errCode(err) ?? String(err)}`, { cause: err });
  }
  try {
    return { root, entries: await walkImageFolder(root) };
  } catch (err) {
    throw new DataError(`cannot read folder ${root}: ${errCode(err) ?? String(err)}`, { cause: err });
  }
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

const RESIZE: Record<FitMode, sharp.ResizeOptions> = {
  crop: { fit: 'cover', position: 'centre' },
  pad: { fit: 'contain', position: 'centre', background: { r: 0, g: 0, b: 0, alpha: 1 } },
  stretch: { fit: 'fill' },
};

async function decodeOnce(input: string | Buffer, opts: DecodeOptions): Promise<Attempt> {
  const { size, channels } = opts;
  // Header first (metadata reads no pixels): reject absurd dimensions before any decoding.
  let width: number | undefined;
  let height: number | undefined;
  try {
    const meta = await sharp(input, { failOn: 'warning', limitInputPixels: false }).metadata();
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
    // Only the first page/frame is read (sharp's default), so an animated GIF gives its first frame.
    let img = sharp(input, { failOn: 'warning', limitInputPixels: MAX_IMAGE_PIXELS })
      .rotate() // apply EXIF orientation
      .flatten({ background: { r: 0, g: 0, b: 0 } });
    img = channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
    const { data, info } = await img
      .resize(size, size, { ...RESIZE[opts.fit ?? 'crop'], kernel: 'lanczos3' })
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

/**
 * One file to size x size x channels uint8 pixels, or the reason it cannot be used. `fsPath` may
 * be raw bytes (a non-UTF-8 name): the file is then read here and handed to sharp as data.
 */
export async function decodeImageFile(fsPath: FsPath, opts: DecodeOptions, knownSize?: number): Promise<Outcome> {
  try {
    const bytes = knownSize ?? (await stat(fsPath)).size;
    if (bytes === 0) return { ok: false, reason: 'empty file' };
    await access(fsPath, constants.R_OK);
  } catch (err) {
    return { ok: false, reason: fsReason('file', err) };
  }
  let input: string | Buffer;
  if (typeof fsPath === 'string') input = fsPath;
  else {
    try {
      input = await readFile(fsPath);
    } catch (err) {
      return { ok: false, reason: fsReason('file', err) };
    }
    if (input.length === 0) return { ok: false, reason: 'empty file' };
  }
  let res = await throughGate(false, () => decodeOnce(input, opts));
  if (!res.ok && 'decoderError' in res) res = await throughGate(true, () => decodeOnce(input, opts));
  return res.ok ? res : { ok: false, reason: res.reason };
}

// ---------------------------------------------------------------------------------------------
// Streaming import

function checkOptions(opts: ImageFolderOptions): void {
  if (!Number.isInteger(opts.size) || opts.size < 1 || opts.size > 4096) {
    throw new DataError(`image size must be a whole number of pixels from 1 to 4096, got ${opts.size}`);
  }
  if (opts.channels !== 1 && opts.channels !== 3) {
    throw new DataError(`channels must be 1 or 3, got ${String(opts.channels)}`);
  }
  if (opts.fit !== undefined && !(opts.fit in RESIZE)) {
    throw new DataError(`fit must be crop, pad or stretch, got ${String(opts.fit)}`);
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

/** The one error for a folder that gave no image. */
export function noUsableImages(root: string, skipped: SkippedFile[], seen: number): DataError {
  const what =
    seen === 0
      ? 'the folder holds no files (hidden files are ignored)'
      : `${skipped.length} file${skipped.length === 1 ? '' : 's'} skipped${reasonSummary(skipped, root)}`;
  return new DataError(`no usable images in ${root}: ${what}`);
}

/** An image handed on by streamImageFolder, in sorted path order. */
export interface FolderImage {
  /** Position in the walk's entry list. */
  index: number;
  rel: string;
  abs: string;
  /** First-level folder name (labels: true), else null. */
  className: string | null;
  /** size * size * channels bytes, NHWC. */
  pixels: Buffer;
}

export interface StreamFolderResult {
  skipped: SkippedFile[];
  /** Files considered: imported + skipped.length. */
  seen: number;
  imported: number;
}

/**
 * Decodes the files of a walked folder a few at a time and hands each usable image to `onImage`
 * in sorted path order (awaited: it can write the image out before more are decoded). At most a
 * small window of decoded images waits in memory, however large the folder.
 */
export async function streamImageFolder(
  entries: FolderEntry[],
  opts: ImageFolderOptions,
  onImage: (image: FolderImage) => void | Promise<void>,
): Promise<StreamFolderResult> {
  checkOptions(opts);
  const { labels } = opts;
  const limit = opts.limit ?? Infinity;
  const total = entries.length;
  const outcomes = new Map<number, Outcome>();
  const skipped: SkippedFile[] = [];
  let next = 0;
  let emitted = 0;
  let okAny = 0;
  let kept = 0;
  let seen = 0;
  let failure: { err: unknown } | null = null;
  let waiters: (() => void)[] = [];
  let draining = false;
  const wake = (): void => {
    const w = waiters;
    waiters = [];
    w.forEach((go) => go());
  };

  const handle = async (entry: FolderEntry): Promise<Outcome> => {
    if (entry.kind === 'bad') return { ok: false, reason: entry.reason };
    if (labels && !entry.rel.includes('/')) return { ok: false, reason: 'not in a class folder' };
    return decodeImageFile(entry.fsPath, opts, entry.size);
  };

  // Hands on finished outcomes in order. Only one drain runs at a time; the flag is cleared in
  // the same tick as the loop's last check, so an outcome stored later always starts a new one.
  const drain = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    try {
      while (!failure && outcomes.has(emitted)) {
        const i = emitted;
        const o = outcomes.get(i)!;
        outcomes.delete(i);
        emitted++;
        if (kept < limit) {
          const e = entries[i]!;
          seen++;
          if (o.ok) {
            kept++;
            const className = labels ? e.rel.slice(0, e.rel.indexOf('/')) : null;
            await onImage({ index: i, rel: e.rel, abs: e.abs, className, pixels: o.pixels });
          } else {
            skipped.push({ path: e.abs, reason: o.reason });
          }
          opts.onProgress?.({ done: seen, total, imported: kept, skipped: skipped.length });
        }
        wake();
      }
    } finally {
      draining = false;
    }
  };

  const worker = async (): Promise<void> => {
    // Files are taken strictly in order, so the handled files always form a prefix of the sorted
    // list; with a limit, no new file is started once enough images are in.
    while (!failure && next < total && okAny < limit) {
      if (next - emitted >= REORDER_WINDOW) {
        await new Promise<void>((go) => waiters.push(go));
        continue;
      }
      const i = next++;
      const outcome = await handle(entries[i]!);
      if (outcome.ok) okAny++;
      outcomes.set(i, outcome);
      try {
        await drain();
      } catch (err) {
        failure ??= { err };
        wake();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FOLDER_CONCURRENCY, Math.max(total, 1)) }, worker));
  if (!failure) await drain();
  if (failure) throw (failure as { err: unknown }).err;
  return { skipped, seen, imported: kept };
}

// ---------------------------------------------------------------------------------------------
// In-memory import (training straight from a folder)

export async function readImageFolder(dir: string, opts: ImageFolderOptions): Promise<ImageFolderResult> {
  checkOptions(opts);
  const { root, entries } = await openImageFolder(dir);
  const { size, channels, labels } = opts;

  const kept: { className: string | null; pixels: Buffer }[] = [];
  const { skipped, seen } = await streamImageFolder(entries, opts, (img) => {
    kept.push({ className: img.className, pixels: img.pixels });
  });
  if (kept.length === 0) throw noUsableImages(root, skipped, seen);

  const per = size * size * channels;
  const pixels = new Uint8Array(kept.length * per);
  kept.forEach((k, i) => pixels.set(k.pixels, i * per));

  let labelArray: Int32Array | null = null;
  let classNames: string[] = [];
  if (labels) {
    const classOf = kept.map((k) => k.className!);
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

/** Sorts class names the way the folder import does (code-unit order). */
export function sortClassNames(names: Iterable<string>): string[] {
  return [...new Set(names)].sort(byCodeUnits);
}
