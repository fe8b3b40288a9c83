// The studio's SQLite database: one file in the home, WAL mode so the CLI, the Electron app and
// training workers can read while one of them writes. The schema evolves through numbered
// migrations: MIGRATIONS[i] brings `PRAGMA user_version` from i to i + 1, and each is applied in
// one transaction together with its version bump, so a crash never leaves a half-migrated file.

import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { ensureHome } from '../home';

export type Database = BetterSqlite3.Database;

export const DB_FILENAME = 'gan-studio.db';

/** One schema step. `version` is the user_version the database has once it has run. */
export interface Migration {
  version: number;
  description: string;
  up: (db: Database) => void;
}

const RUN_STATUSES_SQL = `'running', 'completed', 'stopped', 'failed', 'diverged', 'interrupted'`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'datasets, runs, metrics, epochs, grids, checkpoints',
    up: (db) => {
      db.exec(`
        CREATE TABLE datasets (
          id           INTEGER PRIMARY KEY AUTOINCREMENT,
          name         TEXT    NOT NULL UNIQUE,
          source_path  TEXT    NOT NULL,
          format       TEXT    NOT NULL CHECK (format IN ('idx', 'folder', 'cifar10')),
          size         INTEGER NOT NULL CHECK (size > 0),
          channels     INTEGER NOT NULL CHECK (channels IN (1, 3)),
          count        INTEGER NOT NULL CHECK (count >= 0),
          class_names  TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(class_names)),
          cache_path   TEXT,
          content_hash TEXT,
          created_at   TEXT    NOT NULL
        );
        CREATE INDEX datasets_by_source ON datasets (source_path, size, channels);

        -- AUTOINCREMENT: a deleted run's id is never handed out again, so a new run can never
        -- pick up files left behind in <home>/runs/<id>.
        CREATE TABLE runs (
          id             INTEGER PRIMARY KEY AUTOINCREMENT,
          name           TEXT    NOT NULL,
          status         TEXT    NOT NULL CHECK (status IN (${RUN_STATUSES_SQL})),
          config         TEXT    NOT NULL CHECK (json_valid(config)),
          backend        TEXT,
          backend_reason TEXT,
          dataset_id     INTEGER REFERENCES datasets (id) ON DELETE SET NULL,
          step           INTEGER NOT NULL DEFAULT 0,
          epoch          INTEGER NOT NULL DEFAULT 0,
          created_at     TEXT    NOT NULL,
          updated_at     TEXT    NOT NULL,
          finished_at    TEXT,
          error          TEXT,
          pid            INTEGER
        );
        CREATE INDEX runs_by_status ON runs (status);
        CREATE INDEX runs_by_dataset ON runs (dataset_id);

        CREATE TABLE metrics (
          run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          step   INTEGER NOT NULL,
          epoch  INTEGER NOT NULL,
          loss_d REAL,
          loss_g REAL,
          d_real REAL,
          d_fake REAL,
          PRIMARY KEY (run_id, step)
        ) WITHOUT ROWID;

        CREATE TABLE epochs (
          run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          epoch        INTEGER NOT NULL,
          step         INTEGER NOT NULL,
          seconds      REAL    NOT NULL,
          images_per_s REAL    NOT NULL,
          PRIMARY KEY (run_id, epoch)
        ) WITHOUT ROWID;

        CREATE TABLE grids (
          run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          epoch  INTEGER NOT NULL,
          step   INTEGER NOT NULL,
          path   TEXT    NOT NULL,
          PRIMARY KEY (run_id, epoch)
        ) WITHOUT ROWID;

        CREATE TABLE checkpoints (
          run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          step       INTEGER NOT NULL,
          epoch      INTEGER NOT NULL,
          path       TEXT    NOT NULL,
          created_at TEXT    NOT NULL,
          PRIMARY KEY (run_id, step)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 2,
    description: 'datasets: import options, counts, skipped files, contact sheet',
    up: (db) => {
      db.exec(`
        ALTER TABLE datasets ADD COLUMN fit TEXT NOT NULL DEFAULT 'crop' CHECK (fit IN ('crop', 'pad', 'stretch'));
        ALTER TABLE datasets ADD COLUMN mirror INTEGER NOT NULL DEFAULT 0 CHECK (mirror IN (0, 1));
        ALTER TABLE datasets ADD COLUMN labelled INTEGER NOT NULL DEFAULT 0 CHECK (labelled IN (0, 1));
        ALTER TABLE datasets ADD COLUMN seen INTEGER NOT NULL DEFAULT 0 CHECK (seen >= 0);
        ALTER TABLE datasets ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0 CHECK (skipped >= 0);
        ALTER TABLE datasets ADD COLUMN skipped_files TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(skipped_files));
        ALTER TABLE datasets ADD COLUMN contact_sheet TEXT;
        ALTER TABLE datasets ADD COLUMN updated_at TEXT;
        UPDATE datasets SET updated_at = created_at WHERE updated_at IS NULL;
      `);
    },
  },
  {
    version: 3,
    description: 'galleries and their images (each image\'s latent: seed, index, class)',
    up: (db) => {
      db.exec(`
        -- AUTOINCREMENT: a deleted gallery's id (and so its <home>/galleries/<id> folder) is never reused.
        CREATE TABLE galleries (
          id         INTEGER PRIMARY KEY AUTOINCREMENT,
          run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          name       TEXT    NOT NULL,
          seed       INTEGER NOT NULL,
          step       INTEGER NOT NULL,
          epoch      INTEGER NOT NULL,
          per_class  INTEGER CHECK (per_class IS NULL OR per_class > 0),
          created_at TEXT    NOT NULL
        );
        CREATE INDEX galleries_by_run ON galleries (run_id);

        CREATE TABLE gallery_images (
          gallery_id   INTEGER NOT NULL REFERENCES galleries (id) ON DELETE CASCADE,
          idx          INTEGER NOT NULL CHECK (idx >= 0),
          seed         INTEGER NOT NULL,
          latent_index INTEGER NOT NULL CHECK (latent_index >= 0),
          class_label  INTEGER,
          picked       INTEGER NOT NULL DEFAULT 0 CHECK (picked IN (0, 1)),
          saved_path   TEXT,
          PRIMARY KEY (gallery_id, idx)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 4,
    description: 'imported models; galleries drawn from a run or a model; latent-lab outputs',
    up: (db) => {
      // galleries.run_id becomes nullable (a gallery comes from a run or from a model), which
      // SQLite can only do by rebuilding the table. Dropping `galleries` while gallery_images
      // still references it would cascade-delete the images (foreign keys are on and cannot be
      // turned off inside a transaction), so both tables are rebuilt: the new images table
      // references the new galleries table, the old ones are dropped children first, and the
      // renames carry the new tables' references along.
      db.exec(`
        -- AUTOINCREMENT: a deleted model's id is never reused.
        CREATE TABLE models (
          id            INTEGER PRIMARY KEY AUTOINCREMENT,
          name          TEXT    NOT NULL UNIQUE,
          dir           TEXT    NOT NULL,
          source_path   TEXT    NOT NULL,
          kind          TEXT    NOT NULL CHECK (kind IN ('dcgan', 'gan', 'cgan', 'cdcgan')),
          latent        INTEGER NOT NULL CHECK (latent > 0),
          size          INTEGER NOT NULL CHECK (size > 0),
          channels      INTEGER NOT NULL CHECK (channels IN (1, 3)),
          num_classes   INTEGER NOT NULL DEFAULT 0 CHECK (num_classes >= 0),
          class_names   TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(class_names)),
          step          INTEGER NOT NULL DEFAULT 0,
          from_run_id   INTEGER,
          from_run_name TEXT,
          created_at    TEXT    NOT NULL
        );

        CREATE TABLE galleries_v4 (
          id         INTEGER PRIMARY KEY AUTOINCREMENT,
          run_id     INTEGER REFERENCES runs (id) ON DELETE CASCADE,
          model_id   INTEGER REFERENCES models (id) ON DELETE CASCADE,
          name       TEXT    NOT NULL,
          seed       INTEGER NOT NULL,
          step       INTEGER NOT NULL,
          epoch      INTEGER NOT NULL,
          per_class  INTEGER CHECK (per_class IS NULL OR per_class > 0),
          created_at TEXT    NOT NULL,
          CHECK ((run_id IS NULL) <> (model_id IS NULL))
        );
        INSERT INTO galleries_v4 (id, run_id, model_id, name, seed, step, epoch, per_class, created_at)
          SELECT id, run_id, NULL, name, seed, step, epoch, per_class, created_at FROM galleries;

        CREATE TABLE gallery_images_v4 (
          gallery_id   INTEGER NOT NULL REFERENCES galleries_v4 (id) ON DELETE CASCADE,
          idx          INTEGER NOT NULL CHECK (idx >= 0),
          seed         INTEGER NOT NULL,
          latent_index INTEGER NOT NULL CHECK (latent_index >= 0),
          class_label  INTEGER,
          picked       INTEGER NOT NULL DEFAULT 0 CHECK (picked IN (0, 1)),
          saved_path   TEXT,
          PRIMARY KEY (gallery_id, idx)
        ) WITHOUT ROWID;
        INSERT INTO gallery_images_v4 SELECT gallery_id, idx, seed, latent_index, class_label, picked, saved_path FROM gallery_images;

        -- Keep the id sequence, so a deleted gallery's id (and folder) is still never reused.
        DELETE FROM sqlite_sequence WHERE name = 'galleries_v4';
        INSERT INTO sqlite_sequence (name, seq) SELECT 'galleries_v4', seq FROM sqlite_sequence WHERE name = 'galleries';

        DROP TABLE gallery_images;
        DROP TABLE galleries;
        ALTER TABLE galleries_v4 RENAME TO galleries;
        ALTER TABLE gallery_images_v4 RENAME TO gallery_images;
        CREATE INDEX galleries_by_run ON galleries (run_id);
        CREATE INDEX galleries_by_model ON galleries (model_id);

        -- The latent lab's output folders <home>/lab/<n>, by the gallery they were drawn from
        -- (so deleting the gallery, its run or its model removes them).
        CREATE TABLE lab_outputs (
          n          INTEGER PRIMARY KEY CHECK (n > 0),
          gallery_id INTEGER NOT NULL REFERENCES galleries (id) ON DELETE CASCADE,
          kind       TEXT    NOT NULL CHECK (kind IN ('arithmetic', 'interpolation')),
          created_at TEXT    NOT NULL
        );
        CREATE INDEX lab_outputs_by_gallery ON lab_outputs (gallery_id);
      `);
    },
  },
  {
    version: 5,
    description: 'the sample timeline keyed by step (clock grids), quality points, warnings, verdicts',
    up: (db) => {
      db.exec(`
        -- Grids were one per epoch; clock-driven grids come between epoch ends, so a step keys them.
        CREATE TABLE grids_v6 (
          run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          step   INTEGER NOT NULL,
          epoch  INTEGER NOT NULL,
          kind   TEXT    NOT NULL CHECK (kind IN ('epoch', 'clock', 'final')),
          path   TEXT    NOT NULL,
          PRIMARY KEY (run_id, step)
        ) WITHOUT ROWID;
        -- An earlier run's grid at a step that is not an epoch's end was drawn where it stopped.
        INSERT OR REPLACE INTO grids_v6 (run_id, step, epoch, kind, path)
          SELECT run_id, step, epoch, 'epoch', path FROM grids ORDER BY epoch;
        DROP TABLE grids;
        ALTER TABLE grids_v6 RENAME TO grids;

        CREATE TABLE quality (
          run_id   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          step     INTEGER NOT NULL,
          score    REAL    NOT NULL,
          distance REAL    NOT NULL,
          variety  REAL    NOT NULL,
          copied   REAL    NOT NULL,
          duplicates REAL  NOT NULL,
          seconds  REAL    NOT NULL,
          PRIMARY KEY (run_id, step)
        ) WITHOUT ROWID;

        -- One row per run and kind of warning: raised at step, last seen at last_step.
        CREATE TABLE warnings (
          run_id    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          code      TEXT    NOT NULL,
          step      INTEGER NOT NULL,
          last_step INTEGER NOT NULL,
          message   TEXT    NOT NULL,
          advice    TEXT    NOT NULL,
          pair_path TEXT,
          PRIMARY KEY (run_id, code)
        ) WITHOUT ROWID;

        ALTER TABLE runs ADD COLUMN verdict TEXT CHECK (verdict IS NULL OR json_valid(verdict));
      `);
    },
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export function databasePath(home: string): string {
  return path.join(home, DB_FILENAME);
}

export function userVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database up to the last of `migrations`. Each step runs in its own IMMEDIATE
 * transaction (so two processes opening a fresh file at once do not both migrate it) and
 * re-reads user_version inside it. Throws if the file is newer than the code. Returns the
 * versions that were applied.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(`migration ${i} has version ${m.version}; expected ${i + 1}`);
    }
  });
  const known = migrations.length;
  const applied: number[] = [];
  const checkNotNewer = (current: number): void => {
    if (current > known) {
      throw new Error(
        `database ${db.name} has schema version ${current}, but this version of GAN Studio ` +
          `only knows up to version ${known}; it was written by a newer GAN Studio. ` +
          `Upgrade GAN Studio, or point --home / GAN_STUDIO_HOME at another folder.`,
      );
    }
  };
  checkNotNewer(userVersion(db));
  for (const m of migrations) {
    const step = db.transaction(() => {
      const current = userVersion(db);
      checkNotNewer(current);
      if (current >= m.version) return false;
      if (current !== m.version - 1) {
        throw new Error(`database at version ${current} cannot take migration ${m.version}`);
      }
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
      return true;
    });
    if (step.immediate()) applied.push(m.version);
  }
  return applied;
}

export interface OpenDatabaseOptions {
  /** Milliseconds to wait for another connection's lock before SQLITE_BUSY (default 5000). */
  busyTimeoutMs?: number;
  /** Migrations to run (tests only; default MIGRATIONS). */
  migrations?: readonly Migration[];
}

/**
 * Opens (creating if needed) `<home>/gan-studio.db`, sets the connection's pragmas and runs any
 * pending migrations. The home folder is created if missing.
 */
export function openDatabase(home: string, opts: OpenDatabaseOptions = {}): Database {
  ensureHome(home);
  const db = new BetterSqlite3(databasePath(home));
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal') {
      throw new Error(`could not switch ${db.name} to WAL mode (journal_mode is ${String(mode)})`);
    }
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, opts.migrations ?? MIGRATIONS);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
