import { existsSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MIGRATIONS,
  SCHEMA_VERSION,
  databasePath,
  migrate,
  openDatabase,
  userVersion,
  type Database,
  type Migration,
} from '../../../../src/main/core/store/database';
import { RunStore } from '../../../../src/main/core/store/run-store';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { TRAIN_DEFAULTS, type TrainConfig } from '../../../../src/shared/types';

async function tempHome(): Promise<{ home: string; cleanup: () => Promise<void> }> {
  const home = await mkdtemp(path.join(tmpdir(), 'gan-store-'));
  return { home, cleanup: () => rm(home, { recursive: true, force: true }) };
}

function sampleConfig(): TrainConfig {
  return {
    model: { kind: 'dcgan', size: 28, channels: 1, latent: TRAIN_DEFAULTS.latent, numClasses: 0 },
    data: 'mnist',
    epochs: TRAIN_DEFAULTS.epochs,
    steps: null,
    batch: TRAIN_DEFAULTS.batch,
    lr: TRAIN_DEFAULTS.lr,
    beta1: TRAIN_DEFAULTS.beta1,
    beta2: TRAIN_DEFAULTS.beta2,
    k: TRAIN_DEFAULTS.k,
    seed: TRAIN_DEFAULTS.seed,
    name: 'test-run',
  };
}

describe('openDatabase', () => {
  let home: string;
  let cleanup: () => Promise<void>;
  const open: Database[] = [];
  beforeEach(async () => {
    ({ home, cleanup } = await tempHome());
  });
  afterEach(async () => {
    for (const db of open.splice(0)) if (db.open) db.close();
    await cleanup();
  });
  const openHere = (opts?: Parameters<typeof openDatabase>[1]) => {
    const db = openDatabase(home, opts);
    open.push(db);
    return db;
  };

  it('creates <home>/gan-studio.db with the home folders and the current schema', () => {
    const db = openHere();
    expect(db.name).toBe(path.join(home, 'gan-studio.db'));
    expect(existsSync(databasePath(home))).toBe(true);
    expect(existsSync(path.join(home, 'runs'))).toBe(true);
    expect(existsSync(path.join(home, 'datasets'))).toBe(true);
    expect(userVersion(db)).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    const tables = db
      .prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`)
      .all()
      .map((r) => r.name);
    for (const t of ['datasets', 'runs', 'metrics', 'epochs', 'grids', 'checkpoints']) {
      expect(tables).toContain(t);
    }
  });

  it('sets WAL, foreign keys, busy timeout and synchronous=NORMAL', () => {
    const db = openHere();
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
  });

  it('runs migrations once: reopening keeps the version and the data', () => {
    const db = openHere();
    const run = new RunStore(db).createRun({ name: 'kept', config: sampleConfig(), pid: null });
    db.close();

    const again = openHere();
    expect(userVersion(again)).toBe(SCHEMA_VERSION);
    expect(migrate(again)).toEqual([]);
    expect(new RunStore(again).getRun(run.id)?.name).toBe('kept');
  });

  it('applies each pending migration once, in order, and only the new ones later', () => {
    const calls: number[] = [];
    const mk = (version: number, sql: string): Migration => ({
      version,
      description: `m${version}`,
      up: (db) => {
        calls.push(version);
        db.exec(sql);
      },
    });
    const first = [mk(1, 'CREATE TABLE a (x)'), mk(2, 'CREATE TABLE b (y)')];
    const db1 = openHere({ migrations: first });
    expect(calls).toEqual([1, 2]);
    expect(userVersion(db1)).toBe(2);
    db1.close();

    const db2 = openHere({ migrations: first });
    expect(calls).toEqual([1, 2]);
    db2.close();

    const db3 = openHere({ migrations: [...first, mk(3, 'CREATE TABLE c (z)')] });
    expect(calls).toEqual([1, 2, 3]);
    expect(userVersion(db3)).toBe(3);
  });

  it('rolls a failing migration back together with its version bump', () => {
    const ok: Migration = { version: 1, description: 'ok', up: (db) => db.exec('CREATE TABLE a (x)') };
    const bad: Migration = {
      version: 2,
      description: 'bad',
      up: (db) => {
        db.exec('CREATE TABLE half (x)');
        throw new Error('boom');
      },
    };
    expect(() => openHere({ migrations: [ok, bad] })).toThrow('boom');
    const raw = new BetterSqlite3(databasePath(home));
    try {
      expect(raw.pragma('user_version', { simple: true })).toBe(1);
      const half = raw.prepare(`SELECT name FROM sqlite_master WHERE name = 'half'`).get();
      expect(half).toBeUndefined();
    } finally {
      raw.close();
    }
  });

  it('migration 5 keys grids by step and keeps an older database\'s epoch grids', () => {
    openHere({ migrations: MIGRATIONS.slice(0, 4) }).close();
    const raw = new BetterSqlite3(databasePath(home));
    raw.pragma('foreign_keys = ON');
    raw.prepare(`INSERT INTO runs (name, status, config, created_at, updated_at) VALUES ('old', 'completed', '{}', 'x', 'x')`).run();
    const runId = (raw.prepare('SELECT id FROM runs').get() as { id: number }).id;
    const addGrid = raw.prepare('INSERT INTO grids (run_id, epoch, step, path) VALUES (?, ?, ?, ?)');
    addGrid.run(runId, 0, 0, 'g0.png');
    addGrid.run(runId, 1, 100, 'g1.png');
    raw.close();
    const db = openHere();
    try {
      const runs = new RunStore(db);
      expect(runs.grids(runId)).toEqual([
        { runId, epoch: 0, step: 0, kind: 'epoch', path: 'g0.png' },
        { runId, epoch: 1, step: 100, kind: 'epoch', path: 'g1.png' },
      ]);
      expect(runs.getRun(runId)!.verdict).toBeNull();
      // A clock grid at a step of its own sits between them.
      runs.addGrid({ runId, epoch: 1, step: 50, kind: 'clock', path: 'c50.png' });
      expect(runs.grids(runId).map((g) => g.step)).toEqual([0, 50, 100]);
    } finally {
      db.close();
    }
  });

  it('refuses a database newer than the code with a clear error', () => {
    openHere().close();
    const raw = new BetterSqlite3(databasePath(home));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    raw.close();
    expect(() => openHere()).toThrow(/schema version \d+.*newer GAN Studio/s);
  });

  it('two connections to the same file see each other’s writes', () => {
    const a = openHere();
    const b = openHere();
    const storeA = new RunStore(a);
    const storeB = new RunStore(b);
    const run = storeA.createRun({ name: 'shared', config: sampleConfig(), pid: process.pid });
    expect(storeB.getRun(run.id)?.name).toBe('shared');
    storeB.appendMetrics(run.id, [
      { step: 1, epoch: 0, lossD: 1, lossG: 2, dReal: 0.6, dFake: 0.4 },
    ]);
    storeB.setProgress(run.id, 1, 0);
    expect(storeA.metrics(run.id)).toHaveLength(1);
    expect(storeA.getRun(run.id)?.step).toBe(1);
    // A reader holding an open read transaction does not block the writer (WAL).
    const read = a.prepare('SELECT id FROM runs');
    const it = read.iterate();
    it.next();
    storeB.setStatus(run.id, 'completed');
    it.return?.();
    expect(storeA.getRun(run.id)?.status).toBe('completed');
  });
});
