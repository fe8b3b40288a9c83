// Galleries: sets of images generated from one run at one checkpoint, or from one imported model,
// with each image's latent (seed + index into that seed's draw, and class) so any image can be drawn
// again later; and the latent lab's output folders drawn from each gallery. Rows only; the PNG files
// under <home>/galleries/<id>/ and <home>/lab/<n>/ belong to the caller.

import type { Database } from './database';

export interface GalleryImageRecord {
  /** Position in the gallery (0-based). */
  index: number;
  /** The seed of the latent draw. */
  seed: number;
  /** Which row of that seed's draw this image's latent is. */
  latentIndex: number;
  /** The class for conditional models, else null. */
  classLabel: number | null;
  picked: boolean;
  /** Where it was last saved, or null. */
  savedPath: string | null;
}

/** Where a gallery's images come from: a run (at one of its checkpoints) or an imported model. */
export type GallerySource = { runId: number; modelId?: undefined } | { modelId: number; runId?: undefined };

export interface GalleryRecord {
  id: number;
  /** The run it was drawn from, or null for an imported model's gallery. */
  runId: number | null;
  /** The imported model it was drawn from, or null for a run's gallery. */
  modelId: number | null;
  name: string;
  seed: number;
  /** The checkpoint step the images were drawn at. */
  step: number;
  epoch: number;
  /** Conditional class-by-class galleries: images per class (one row each), else null. */
  perClass: number | null;
  createdAt: string;
}

export interface GallerySummaryRecord extends GalleryRecord {
  count: number;
  picked: number;
}

export interface CreateGalleryInput {
  source: GallerySource;
  name: string;
  seed: number;
  step: number;
  epoch: number;
  perClass: number | null;
  images: readonly { seed: number; latentIndex: number; classLabel: number | null }[];
}

export type LabOutputKind = 'arithmetic' | 'interpolation';

interface GalleryRow {
  id: number;
  run_id: number | null;
  model_id: number | null;
  name: string;
  seed: number;
  step: number;
  epoch: number;
  per_class: number | null;
  created_at: string;
}

interface GallerySummaryRow extends GalleryRow {
  count: number;
  picked: number;
}

interface ImageRow {
  idx: number;
  seed: number;
  latent_index: number;
  class_label: number | null;
  picked: number;
  saved_path: string | null;
}

function rowToGallery(row: GalleryRow): GalleryRecord {
  return {
    id: row.id,
    runId: row.run_id,
    modelId: row.model_id,
    name: row.name,
    seed: row.seed,
    step: row.step,
    epoch: row.epoch,
    perClass: row.per_class,
    createdAt: row.created_at,
  };
}

function rowToImage(row: ImageRow): GalleryImageRecord {
  return {
    index: row.idx,
    seed: row.seed,
    latentIndex: row.latent_index,
    classLabel: row.class_label,
    picked: row.picked === 1,
    savedPath: row.saved_path,
  };
}

const SUMMARY_SQL = `
  SELECT g.*, COUNT(i.idx) AS count, COALESCE(SUM(i.picked), 0) AS picked
  FROM galleries g LEFT JOIN gallery_images i ON i.gallery_id = g.id`;

export class GalleryStore {
  private readonly stmt;

  constructor(private readonly db: Database) {
    const s = <P extends unknown[] = unknown[], R = unknown>(sql: string) => db.prepare<P, R>(sql);
    this.stmt = {
      insert: s<[number | null, number | null, string, number, number, number, number | null, string]>(
        `INSERT INTO galleries (run_id, model_id, name, seed, step, epoch, per_class, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertImage: s<[number, number, number, number, number | null]>(
        `INSERT INTO gallery_images (gallery_id, idx, seed, latent_index, class_label) VALUES (?, ?, ?, ?, ?)`,
      ),
      get: s<[number], GalleryRow>(`SELECT * FROM galleries WHERE id = ?`),
      list: s<[], GallerySummaryRow>(`${SUMMARY_SQL} GROUP BY g.id ORDER BY g.id DESC`),
      listByRun: s<[number], GallerySummaryRow>(`${SUMMARY_SQL} WHERE g.run_id = ? GROUP BY g.id ORDER BY g.id DESC`),
      listByModel: s<[number], GallerySummaryRow>(`${SUMMARY_SQL} WHERE g.model_id = ? GROUP BY g.id ORDER BY g.id DESC`),
      images: s<[number], ImageRow>(`SELECT * FROM gallery_images WHERE gallery_id = ? ORDER BY idx`),
      setPicked: s<[number, number, number]>(`UPDATE gallery_images SET picked = ? WHERE gallery_id = ? AND idx = ?`),
      setSaved: s<[string, number, number]>(`UPDATE gallery_images SET saved_path = ? WHERE gallery_id = ? AND idx = ?`),
      remove: s<[number]>(`DELETE FROM galleries WHERE id = ?`),
      idsByRun: s<[number], { id: number }>(`SELECT id FROM galleries WHERE run_id = ?`),
      idsByModel: s<[number], { id: number }>(`SELECT id FROM galleries WHERE model_id = ?`),
      addLabOutput: s<[number, number, string, string]>(`INSERT OR REPLACE INTO lab_outputs (n, gallery_id, kind, created_at) VALUES (?, ?, ?, ?)`),
      labOutputs: s<[number], { n: number }>(`SELECT n FROM lab_outputs WHERE gallery_id = ? ORDER BY n`),
      removeLabOutput: s<[number]>(`DELETE FROM lab_outputs WHERE n = ?`),
    };
  }

  /** Records a gallery and its images in one transaction; returns the new gallery. */
  create(input: CreateGalleryInput): GalleryRecord {
    const id = this.db
      .transaction(() => {
        const { runId = null, modelId = null } = input.source;
        if ((runId === null) === (modelId === null)) throw new Error('a gallery comes from a run or from a model (not both)');
        const info = this.stmt.insert.run(runId, modelId, input.name, input.seed, input.step, input.epoch, input.perClass, new Date().toISOString());
        const galleryId = Number(info.lastInsertRowid);
        input.images.forEach((img, idx) => this.stmt.insertImage.run(galleryId, idx, img.seed, img.latentIndex, img.classLabel));
        return galleryId;
      })
      .immediate();
    return this.get(id)!;
  }

  get(id: number): GalleryRecord | null {
    const row = this.stmt.get.get(id);
    return row ? rowToGallery(row) : null;
  }

  /** Newest first; only one run's or one model's when the filter names it. */
  list(filter: { runId?: number; modelId?: number } = {}): GallerySummaryRecord[] {
    const rows =
      filter.runId !== undefined
        ? this.stmt.listByRun.all(filter.runId)
        : filter.modelId !== undefined
          ? this.stmt.listByModel.all(filter.modelId)
          : this.stmt.list.all();
    return rows.map((r) => ({ ...rowToGallery(r), count: r.count, picked: r.picked }));
  }

  /** Ordered by index. */
  images(galleryId: number): GalleryImageRecord[] {
    return this.stmt.images.all(galleryId).map(rowToImage);
  }

  /** Marks images picked (or not); returns how many rows changed. */
  setPicked(galleryId: number, indices: readonly number[], picked: boolean): number {
    return this.db.transaction(() => {
      let changed = 0;
      for (const i of indices) changed += this.stmt.setPicked.run(picked ? 1 : 0, galleryId, i).changes;
      return changed;
    })();
  }

  setSaved(galleryId: number, saved: readonly { index: number; path: string }[]): void {
    this.db.transaction(() => {
      for (const s of saved) this.stmt.setSaved.run(s.path, galleryId, s.index);
    })();
  }

  /** Gallery ids of a run (to remove their files before the run's rows cascade away). */
  idsOfRun(runId: number): number[] {
    return this.stmt.idsByRun.all(runId).map((r) => r.id);
  }

  /** Gallery ids of an imported model (likewise). */
  idsOfModel(modelId: number): number[] {
    return this.stmt.idsByModel.all(modelId).map((r) => r.id);
  }

  /** Records that the latent lab wrote `<home>/lab/<n>` from a gallery. */
  addLabOutput(n: number, galleryId: number, kind: LabOutputKind): void {
    this.stmt.addLabOutput.run(n, galleryId, kind, new Date().toISOString());
  }

  /** The `n` of each `<home>/lab/<n>` drawn from a gallery (they go with it). */
  labOutputs(galleryId: number): number[] {
    return this.stmt.labOutputs.all(galleryId).map((r) => r.n);
  }

  removeLabOutput(n: number): void {
    this.stmt.removeLabOutput.run(n);
  }

  remove(id: number): boolean {
    return this.stmt.remove.run(id).changes > 0;
  }
}
