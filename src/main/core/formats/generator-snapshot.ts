// Generator snapshots: a small file per checkpoint the trainer writes (every epoch, and at a stop or
// the end of a run) holding only G's weights, batchnorm statistics included, so that a gallery image
// can be drawn again at any epoch long after the full checkpoint of that epoch (both networks and
// both optimizers' moments) has been retired. They live in `<run>/snapshots/`, are written to a
// temporary name and renamed into place (see checkpoint.ts), and go when the run's folder goes.
// A snapshot is not a training checkpoint: nothing resumes from one.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrainConfig } from '../../../shared/types';
import { readCheckpoint, writeCheckpoint } from './checkpoint';
import type { CheckpointMeta } from '../engine/ml/trainer';

export const SNAPSHOTS_DIRNAME = 'snapshots';
export const SNAPSHOT_KIND = 'gan-studio-generator-snapshot';

export interface SnapshotMeta {
  kind: typeof SNAPSHOT_KIND;
  step: number;
  epoch: number;
  seed: number;
  config: TrainConfig;
  createdAt: string;
}

export interface SnapshotFile {
  step: number;
  epoch: number;
  path: string;
}

/** `step-00000120-epoch-0003.gsnap`: the step and the completed epochs of the weights. */
export function snapshotName(step: number, epoch: number): string {
  return `step-${String(step).padStart(8, '0')}-epoch-${String(epoch).padStart(4, '0')}.gsnap`;
}

const SNAPSHOT_FILE = /^step-(\d{8,})-epoch-(\d{4,})\.gsnap$/;

/** `<runDir>/snapshots`. */
export function snapshotsDir(runDir: string): string {
  return join(runDir, SNAPSHOTS_DIRNAME);
}

/**
 * Writes the generator part of a training checkpoint as a snapshot in `dir` (created if missing);
 * returns it. Atomic: a crash leaves no half-written file under the final name.
 */
export async function writeGeneratorSnapshot(checkpointPath: string, dir: string): Promise<SnapshotFile> {
  const file = await readCheckpoint<CheckpointMeta>(checkpointPath);
  const { step, epoch, seed, config } = file.meta;
  // The generator grids and galleries draw from: the averaged one (with its own batch-norm
  // statistics) where the run keeps one, else G. Only one, so a run's snapshots stay small.
  const averaged = file.tensors.some((t) => t.name.startsWith('Gema/'));
  const tensors = file.tensors.filter((t) => t.name.startsWith(averaged ? 'Gema/' : 'G/'));
  if (tensors.length === 0) throw new Error(`${checkpointPath} holds no generator weights`);
  const meta: SnapshotMeta = { kind: SNAPSHOT_KIND, step, epoch, seed, config, createdAt: new Date().toISOString() };
  await mkdir(dir, { recursive: true });
  const path = join(dir, snapshotName(step, epoch));
  await writeCheckpoint(path, meta, tensors);
  return { step, epoch, path };
}

/** A run's snapshots, by step (none when the folder is missing). */
export function listSnapshots(runDir: string): SnapshotFile[] {
  const dir = snapshotsDir(runDir);
  if (!existsSync(dir)) return [];
  const found: SnapshotFile[] = [];
  for (const name of readdirSync(dir)) {
    const m = SNAPSHOT_FILE.exec(name);
    if (m) found.push({ step: Number(m[1]), epoch: Number(m[2]), path: join(dir, name) });
  }
  return found.sort((a, b) => a.step - b.step);
}
