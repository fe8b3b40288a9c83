// Imported datasets: where they came from, how they were decoded (size, channels), and where the
// decoded cache lives under the home.

import type { ImageChannels, DatasetRecord } from '../../../shared/types';
import type { Database } from './database';

/** A dataset row with the store-only fields: the decoded cache file and its content hash. */
export interface StoredDataset extends DatasetRecord {
  /** Decoded, resized pixels under `<home>/datasets`, or null when not cached (yet). */
  cachePath: string | null;
  /** Hash of the source content the cache was built from, or null when unknown. */
  contentHash: string | null;
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
    cachePath: row.cache_path,
    contentHash: row.content_hash,
  };
}

const COLUMNS = `id, name, source_path, format, size, channels, count, class_names, cache_path,
                 content_hash, created_at`;

export class DatasetStore {
  private readonly stmt;

  constructor(db: Database) {
    this.stmt = {
      insert: db.prepare<
        [string, string, string, number, number, number, string, string | null, string | null, string]
      >(
        `INSERT INTO datasets (name, source_path, format, size, channels, count, class_names,
                               cache_path, content_hash, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      get: db.prepare<[number], DatasetRow>(`SELECT ${COLUMNS} FROM datasets WHERE id = ?`),
      byName: db.prepare<[string], DatasetRow>(`SELECT ${COLUMNS} FROM datasets WHERE name = ?`),
      bySource: db.prepare<[string, number, number], DatasetRow>(
        `SELECT ${COLUMNS} FROM datasets WHERE source_path = ? AND size = ? AND channels = ?
         ORDER BY id DESC LIMIT 1`,
      ),
      list: db.prepare<[], DatasetRow>(`SELECT ${COLUMNS} FROM datasets ORDER BY name`),
      setCache: db.prepare<[string | null, string | null, number]>(
        `UPDATE datasets SET cache_path = ?, content_hash = ? WHERE id = ?`,
      ),
      remove: db.prepare<[number]>(`DELETE FROM datasets WHERE id = ?`),
    };
  }

  /** Inserts a dataset. Names are unique: adding a taken name throws (check findByName first). */
  add(input: AddDatasetInput): StoredDataset {
    const info = this.stmt.insert.run(
      input.name,
      input.sourcePath,
      input.format,
      input.size,
      input.channels,
      input.count,
      JSON.stringify(input.classNames),
      input.cachePath ?? null,
      input.contentHash ?? null,
      new Date().toISOString(),
    );
    const added = this.get(Number(info.lastInsertRowid));
    if (!added) throw new Error('dataset insert did not return a row');
    return added;
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
