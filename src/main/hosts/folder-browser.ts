// The server-side folder browser behind `fs:list`: the browser host's folder picker (a web page
// cannot open a native dialog on the machine that trains). Lists one folder's subfolders with how
// many images, subfolders and IDX / CIFAR-10 files each holds. Read-only: it never opens a file.

import type { Dirent } from 'node:fs';
import { opendir, readdir, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { FolderEntryInfo, FolderListing, FolderListRequest } from '../../shared/contract';
import { StudioError } from '../core/studio';

const IMAGE_EXTENSIONS = new Set([
  '.png', '.jpg', '.jpeg', '.webp', '.gif', '.bmp', '.tif', '.tiff', '.avif', '.heic', '.heif',
]);

/** IDX (MNIST family, optionally gzipped) and CIFAR-10 binary batches. */
function isDataFile(name: string): boolean {
  const n = name.toLowerCase();
  return /-idx\d-ubyte(\.gz)?$/.test(n) || /\.idx\d?(\.gz)?$/.test(n) || /^(data|test)_batch(_\d+)?\.bin$/.test(n);
}

function isImage(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

export interface FolderBrowserOptions {
  /** Where listing starts when no path is given (default: the user's home directory). */
  start?: string;
  /** Subfolders listed at most (default 1000). */
  maxEntries?: number;
  /** Directory entries read per subfolder while counting its images (default 5000). */
  maxScan?: number;
}

export class FolderBrowser {
  private readonly start: string;
  private readonly maxEntries: number;
  private readonly maxScan: number;

  constructor(options: FolderBrowserOptions = {}) {
    this.start = options.start ?? homedir();
    this.maxEntries = options.maxEntries ?? 1000;
    this.maxScan = options.maxScan ?? 5000;
  }

  async list(request: FolderListRequest | void): Promise<FolderListing> {
    const requested = request?.path ?? this.start;
    const showHidden = request?.showHidden ?? false;
    let folder: string;
    let entries: Dirent[];
    try {
      folder = await realpath(path.resolve(requested));
      if (!(await stat(folder)).isDirectory()) throw new StudioError(`${requested} is not a folder`, 'invalid');
      entries = await readdir(folder, { withFileTypes: true });
    } catch (err) {
      throw folderError(err, requested);
    }
    const visible = (name: string) => showHidden || !name.startsWith('.');
    const dirs = entries.filter((e) => visible(e.name) && (e.isDirectory() || e.isSymbolicLink()));
    dirs.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: 'base' }));
    const listed: FolderEntryInfo[] = [];
    for (const dir of dirs) {
      if (listed.length >= this.maxEntries) break;
      const full = path.join(folder, dir.name);
      const counts = await this.count(full);
      if (counts) listed.push({ name: dir.name, path: full, ...counts });
    }
    const parent = path.dirname(folder);
    return {
      path: folder,
      parent: parent === folder ? null : parent,
      home: this.start,
      entries: listed,
      images: entries.filter((e) => e.isFile() && isImage(e.name)).length,
      dataFiles: entries.filter((e) => e.isFile() && isDataFile(e.name)).map((e) => path.join(folder, e.name)),
      truncated: dirs.length > listed.length,
    };
  }

  /** Counts a subfolder's direct children; null when it is not a readable folder (broken link…). */
  private async count(folder: string): Promise<Omit<FolderEntryInfo, 'name' | 'path'> | null> {
    let images = 0;
    let folders = 0;
    let dataFiles = 0;
    let seen = 0;
    try {
      const dir = await opendir(folder, { bufferSize: 256 });
      try {
        for await (const e of dir) {
          if (++seen > this.maxScan) return { images, imagesCapped: true, folders, dataFiles };
          if (e.isDirectory()) folders++;
          else if (e.isFile() && isImage(e.name)) images++;
          else if (e.isFile() && isDataFile(e.name)) dataFiles++;
        }
      } finally {
        // for-await closes the handle when the loop completes; closing again would throw.
        await dir.close().catch(() => undefined);
      }
    } catch {
      return null;
    }
    return { images, imagesCapped: false, folders, dataFiles };
  }
}

function folderError(err: unknown, requested: string): Error {
  if (err instanceof StudioError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new StudioError(`there is no folder ${requested}`, 'not-found');
  if (code === 'EACCES' || code === 'EPERM') return new StudioError(`${requested} cannot be read (permission denied)`, 'invalid');
  return new StudioError(`${requested} cannot be listed (${code ?? 'unknown error'})`, 'invalid');
}
