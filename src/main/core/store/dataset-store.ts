// Imported datasets: where they came from, how they were decoded (size, channels, fit, mirror),
// what was skipped, and where the decoded cache and its contact sheet live under the home.

import type { DatasetRecord, FitMode, ImageChannels, SkippedFile } from '../../../shared/types';
import type { Database } from './database';

/** A dataset row with the store-only fields: the decoded cache file and its content hash. */
export interface StoredDataset extends DatasetRecord {
  /** Decoded, resized pixels under `<home>/datasets`, or null when not cached (yet). */
  cachePath: string | null;
  /** Hash of the source content the cache was built from, or null when unknown. */
  contentHash: string | null;
  /** PNG of the first images, beside the cache, or null. */
  contactSheetPath: string | null;
}

export interface AddDatasetInput {
  name: string;
  sourcePath: string;
  format: DatasetRecord['format'];
  size: number;
  channels: ImageChannels;
  count: number;
  classNames: string[];
  cachePath?: string | null;
  contentHash?: string | null;
  fit?: FitMode;
  mirror?: boolean;
  labelled?: boolean;
  seen?: number;
  skipped?: number;
  skippedFiles?: SkippedFile[];
  contactSheetPath?: string | null;
}

interface DatasetRow {
  id: number;
  name: string;
  source_path: string;
  format: DatasetRecord['format'];
  size: number;
  channels: ImageChannels;
  count: number;
  class_names: string;
  cache_path: string | null;
  content_hash: string | null;
  created_at: string;
  updated_at: string | null;
  fit: FitMode;
  mirror: number;
  labelled: number;
  seen: number;
  skipped: number;
  contact_sheet: string | null;
}

function rowToDataset(row: DatasetRow): StoredDataset {
  return {
    id: row.id,
    name: row.name,
    sourcePath: row.source_path,
    format: row.format,
    size: row.size,
    channels: row.channels,
    count: row.count,
    classNames: JSON.parse(row.class_names) as string[],
    createdAt: row.created_at,
    updatedAt: row.updated_at ?? row.created_at,
    fit: row.fit,
    mirror: row.mirror === 1,
    labelled: row.labelled === 1,
    seen: row.seen,
    skipped: row.skipped,
    cachePath: row.cache_path,
    contentHash: row.content_hash,
    contactSheetPath: row.contact_sheet,
  };
}

const COLUMNS = `id, name, source_path, format, size, channels, count, class_names, cache_path,
                 content_hash, created_at, updated_at, fit, mirror, labelled, seen, skipped,
                 contact_sheet`;

type RowValues = [
  string, string, string, number, number, number, string, string | null, string | null,
  string, number, number, number, number, string, string | null, string,
];

function values(input: AddDatasetInput, now: string): RowValues {
  return [
    input.name,
    input.sourcePath,
    input.format,
    input.size,
    input.channels,
    input.count,
    JSON.stringify(input.classNames),
    input.cachePath ?? null,
    input.contentHash ?? null,
    input.fit ?? 'crop',
    input.mirror ? 1 : 0,
    input.labelled ? 1 : 0,
    input.seen ?? input.count,
    input.skipped ?? 0,
    JSON.stringify(input.skippedFiles ?? []),
    input.contactSheetPath ?? null,
    now,
  ];
}

export class DatasetStore {
  private readonly stmt;

  constructor(db: Database) {
    this.stmt = {
      insert: db.prepare<[...RowValues, string]>(
        `INSERT INTO datasets (name, source_path, format, size, channels, count, class_names,
                               cache_path, content_hash, fit, mirror, labelled, seen, skipped,
                               skipped_files, contact_sheet, updated_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      update: db.prepare<[...RowValues, number]>(
        `UPDATE datasets SET name = ?, source_path = ?, format = ?, size = ?, channels = ?, count = ?,
                class_names = ?, cache_path = ?, content_hash = ?, fit = ?, mirror = ?, labelled = ?,
                seen = ?, skipped = ?, skipped_files = ?, contact_sheet = ?, updated_at = ?
         WHERE id = ?`,
      ),
      get: db.prepare<[number], DatasetRow>(`SELECT ${COLUMNS} FROM datasets WHERE id = ?`),
      byName: db.prepare<[string], DatasetRow>(`SELECT ${COLUMNS} FROM datasets WHERE name = ?`),
      bySource: db.prepare<[string, number, number], DatasetRow>(
        `SELECT ${COLUMNS} FROM datasets WHERE source_path = ? AND size = ? AND channels = ?
         ORDER BY id DESC LIMIT 1`,
      ),
      skippedFiles: db.prepare<[number], { skipped_files: string }>(`SELECT skipped_files FROM datasets WHERE id = ?`),
      list: db.prepare<[], DatasetRow>(`SELECT ${COLUMNS} FROM datasets ORDER BY name`),
      setCache: db.prepare<[string | null, string | null, number]>(
        `UPDATE datasets SET cache_path = ?, content_hash = ? WHERE id = ?`,
      ),
      remove: db.prepare<[number]>(`DELETE FROM datasets WHERE id = ?`),
    };
  }

  /** Inserts a dataset. Names are unique: adding a taken name throws (check findByName first). */
  add(input: AddDatasetInput): StoredDataset {
    const now = new Date().toISOString();
    const info = this.stmt.insert.run(...values(input, now), now);
    const added = this.get(Number(info.lastInsertRowid));
    if (!added) throw new Error('dataset insert did not return a row');
    return added;
  }

  /** Replaces every field of dataset `id` (a re-import); its id, and so its runs, stay. */
  update(id: number, input: AddDatasetInput): StoredDataset {
    const info = this.stmt.update.run(...values(input, new Date().toISOString()), id);
    if (info.changes === 0) throw new Error(`there is no dataset ${id}`);
    return this.get(id)!;
  }

  get(id: number): StoredDataset | null {
    const row = this.stmt.get.get(id);
    return row ? rowToDataset(row) : null;
  }

  findByName(name: string): StoredDataset | null {
    const row = this.stmt.byName.get(name);
    return row ? rowToDataset(row) : null;
  }

  /**
   * The (newest) dataset imported from exactly this source path at this size and channel count.
   * Paths are compared as stored: pass the same normalised (absolute) form to add and find.
   */
  findBySource(sourcePath: string, size: number, channels: ImageChannels): StoredDataset | null {
    const row = this.stmt.bySource.get(sourcePath, size, channels);
    return row ? rowToDataset(row) : null;
  }

  /** The files the import of dataset `id` skipped, with their reasons. */
  skippedFiles(id: number): SkippedFile[] {
    const row = this.stmt.skippedFiles.get(id);
    return row ? (JSON.parse(row.skipped_files) as SkippedFile[]) : [];
  }

  /** By name. */
  list(): StoredDataset[] {
    return this.stmt.list.all().map(rowToDataset);
  }

  /** Records (or clears) the decoded cache file and the hash it was built from. */
  setCache(id: number, cachePath: string | null, contentHash: string | null): void {
    this.stmt.setCache.run(cachePath, contentHash, id);
  }

  /** Deletes the row; runs that used it keep their data with dataset_id set to NULL. */
  remove(id: number): boolean {
    return this.stmt.remove.run(id).changes > 0;
  }
}
