// Imported models: generators exported by `gan-studio export` (a TensorFlow.js Layers model and
// its gan-studio.json sidecar) and copied into <home>/models/<name>. Rows only; the folder belongs
// to the caller.

import type { ImageChannels, ModelKind, ModelRecord } from '../../../shared/types';
import type { Database } from './database';

/** A model row with the store-only field: its folder under the home. */
export interface StoredModel extends ModelRecord {
  dir: string;
}

export type AddModelInput = Omit<StoredModel, 'id' | 'createdAt'>;

interface ModelRow {
  id: number;
  name: string;
  dir: string;
  source_path: string;
  kind: ModelKind;
  latent: number;
  size: number;
  channels: ImageChannels;
  num_classes: number;
  class_names: string;
  step: number;
  from_run_id: number | null;
  from_run_name: string | null;
  created_at: string;
}

function rowToModel(row: ModelRow): StoredModel {
  return {
    id: row.id,
    name: row.name,
    dir: row.dir,
    sourcePath: row.source_path,
    kind: row.kind,
    latent: row.latent,
    size: row.size,
    channels: row.channels,
    numClasses: row.num_classes,
    classNames: JSON.parse(row.class_names) as string[],
    step: row.step,
    fromRunId: row.from_run_id,
    fromRunName: row.from_run_name,
    createdAt: row.created_at,
  };
}

export class ModelStore {
  private readonly stmt;

  constructor(db: Database) {
    const s = <P extends unknown[] = unknown[], R = unknown>(sql: string) => db.prepare<P, R>(sql);
    this.stmt = {
      insert: s<[string, string, string, string, number, number, number, number, string, number, number | null, string | null, string]>(
        `INSERT INTO models (name, dir, source_path, kind, latent, size, channels, num_classes, class_names, step, from_run_id, from_run_name, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      get: s<[number], ModelRow>(`SELECT * FROM models WHERE id = ?`),
      byName: s<[string], ModelRow>(`SELECT * FROM models WHERE name = ?`),
      list: s<[], ModelRow>(`SELECT * FROM models ORDER BY name COLLATE NOCASE, id`),
      remove: s<[number]>(`DELETE FROM models WHERE id = ?`),
    };
  }

  /** Records a model; a taken name is a SQLite UNIQUE error (the caller checks first). */
  add(input: AddModelInput): StoredModel {
    const info = this.stmt.insert.run(
      input.name,
      input.dir,
      input.sourcePath,
      input.kind,
      input.latent,
      input.size,
      input.channels,
      input.numClasses,
      JSON.stringify(input.classNames),
      input.step,
      input.fromRunId,
      input.fromRunName,
      new Date().toISOString(),
    );
    return this.get(Number(info.lastInsertRowid))!;
  }

  get(id: number): StoredModel | null {
    const row = this.stmt.get.get(id);
    return row ? rowToModel(row) : null;
  }

  findByName(name: string): StoredModel | null {
    const row = this.stmt.byName.get(name);
    return row ? rowToModel(row) : null;
  }

  /** By name. */
  list(): StoredModel[] {
    return this.stmt.list.all().map(rowToModel);
  }

  /** Deletes the row (its galleries' rows go by cascade). */
  remove(id: number): boolean {
    return this.stmt.remove.run(id).changes > 0;
  }
}
