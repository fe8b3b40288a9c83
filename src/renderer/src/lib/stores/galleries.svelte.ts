// Galleries: choose a run or an imported model, draw a gallery from seeded latents, pick favourites,
// save the picked (or all, or one grid) into a folder (the native folder dialog in Electron, the
// server-side folder browser in a browser), and draw one image again at another checkpoint of the run.

import type {
  GalleryCheckpoint,
  GalleryInfo,
  GalleryRegenerateResult,
  GallerySaveResult,
  GallerySummary,
} from '../../../../shared/contract';
import { errorMessage } from '../errors';
import { appStore, hasApi } from './app.svelte';
import { FolderBrowsing } from './folder-browsing.svelte';

export interface SaveChoice {
  which: 'picked' | 'all';
  asGrid: boolean;
}

/** Where galleries are drawn from: a run, or an imported model. */
export type GallerySource = { kind: 'run'; id: number } | { kind: 'model'; id: number };

/** The "Regenerate at checkpoint…" panel: one image, the steps to choose from, and what was drawn. */
export interface RegenerateState {
  galleryId: number;
  index: number;
  checkpoints: GalleryCheckpoint[];
  /** The chosen step (null until the checkpoints are known). */
  step: number | null;
  loading: boolean;
  running: boolean;
  error: string | null;
  /** Drawn so far for this image, newest first. */
  results: GalleryRegenerateResult[];
}

const sourceRequest = (source: GallerySource) => (source.kind === 'run' ? { runId: source.id } : { modelId: source.id });
const sameSource = (a: GallerySource | null, b: GallerySource | null) => a?.kind === b?.kind && a?.id === b?.id;

class GalleriesStore extends FolderBrowsing {
  source = $state<GallerySource | null>(null);
  list = $state<GallerySummary[]>([]);
  gallery = $state<GalleryInfo | null>(null);
  generating = $state(false);
  loading = $state(false);
  saving = $state(false);
  error = $state<string | null>(null);
  saved = $state<GallerySaveResult | null>(null);
  /** Thumbnail edge in CSS pixels (the zoom slider). */
  thumb = $state(96);
  /** What to save once the folder browser hands a folder over. */
  private pendingSave: SaveChoice | null = null;
  regen = $state<RegenerateState | null>(null);

  readonly pickedCount = $derived(this.gallery ? this.gallery.images.filter((i) => i.picked).length : 0);
  /** The run the galleries shown are drawn from, or null (none chosen, or an imported model). */
  readonly runId = $derived(this.source?.kind === 'run' ? this.source.id : null);
  /** The imported model the galleries shown are drawn from, or null. */
  readonly modelId = $derived(this.source?.kind === 'model' ? this.source.id : null);

  /** Shows a run's galleries (the newest one opened). */
  openRun(runId: number | null): Promise<void> {
    return this.openSource(runId === null ? null : { kind: 'run', id: runId });
  }

  /** Shows an imported model's galleries (the newest one opened). */
  openModel(modelId: number | null): Promise<void> {
    return this.openSource(modelId === null ? null : { kind: 'model', id: modelId });
  }

  async openSource(source: GallerySource | null): Promise<void> {
    this.source = source;
    this.gallery = null;
    this.saved = null;
    this.error = null;
    this.regen = null;
    this.list = [];
    if (source === null || !hasApi()) return;
    this.loading = true;
    try {
      const list = await window.api.listGalleries(sourceRequest(source));
      if (!sameSource(this.source, source)) return;
      this.list = list;
      if (list[0]) await this.open(list[0].id);
    } catch (err) {
      if (sameSource(this.source, source)) this.error = errorMessage(err, 'Could not list the galleries.');
    } finally {
      this.loading = false;
    }
  }

  async open(galleryId: number): Promise<void> {
    if (!hasApi()) return;
    this.saved = null;
    if (this.regen?.galleryId !== galleryId) this.regen = null;
    try {
      this.gallery = await window.api.getGallery({ galleryId });
      this.error = null;
    } catch (err) {
      this.error = errorMessage(err, 'Could not open the gallery.');
    }
  }

  async generate(request: { count: number; seed: number; perClass?: number }): Promise<boolean> {
    const source = this.source;
    if (source === null || !hasApi()) return false;
    this.generating = true;
    this.error = null;
    this.saved = null;
    this.regen = null;
    try {
      const gallery = await window.api.createGallery({ ...sourceRequest(source), seed: request.seed, ...(request.perClass ? { perClass: request.perClass } : { count: request.count }) });
      if (!sameSource(this.source, source)) return false;
      this.gallery = gallery;
      this.list = await window.api.listGalleries(sourceRequest(source));
      return true;
    } catch (err) {
      this.error = errorMessage(err, 'Could not generate the gallery.');
      return false;
    } finally {
      this.generating = false;
    }
  }

  async togglePick(index: number): Promise<void> {
    const g = this.gallery;
    const image = g?.images[index];
    if (!g || !image || !hasApi()) return;
    const picked = !image.picked;
    // Show the change at once; the reply (or a failure) settles it.
    this.gallery = { ...g, images: g.images.map((i) => (i.index === index ? { ...i, picked } : i)) };
    try {
      const updated = await window.api.pickGalleryImages({ galleryId: g.id, indices: [index], picked });
      if (this.gallery?.id === updated.id) this.gallery = updated;
    } catch (err) {
      this.error = errorMessage(err, 'Could not pick that image.');
      if (this.gallery?.id === g.id) await this.open(g.id);
    }
  }

  /** Asks for a folder (native dialog in Electron, else the folder browser), then saves. */
  async save(choice: SaveChoice): Promise<void> {
    if (!this.gallery || !hasApi()) return;
    this.saved = null;
    this.error = null;
    if (appStore.isElectron) {
      try {
        const dir = await window.api.openFolderDialog({ title: 'Choose a folder to save the images in' });
        if (dir) await this.saveTo(dir, choice);
        return;
      } catch (err) {
        if (!/UNSUPPORTED/.test((err as { code?: string }).code ?? '')) {
          this.error = errorMessage(err);
          return;
        }
      }
    }
    this.pendingSave = choice;
    await this.openBrowser();
  }

  /** The folder browser's choice. */
  async chooseFolder(dir: string): Promise<void> {
    const choice = this.pendingSave;
    this.closeBrowser();
    if (choice) await this.saveTo(dir, choice);
  }

  private async saveTo(outDir: string, choice: SaveChoice): Promise<void> {
    const g = this.gallery;
    if (!g) return;
    this.saving = true;
    try {
      this.saved = await window.api.saveGallery({ galleryId: g.id, which: choice.which, outDir, asGrid: choice.asGrid });
      if (this.gallery?.id === g.id) this.gallery = await window.api.getGallery({ galleryId: g.id });
    } catch (err) {
      this.error = errorMessage(err, 'Could not save the images.');
    } finally {
      this.saving = false;
    }
  }

  override closeBrowser(): void {
    this.pendingSave = null;
    super.closeBrowser();
  }

  async remove(galleryId: number): Promise<void> {
    if (!hasApi()) return;
    try {
      await window.api.deleteGallery({ galleryId });
      if (this.gallery?.id === galleryId) this.gallery = null;
      if (this.regen?.galleryId === galleryId) this.regen = null;
      if (this.source !== null) this.list = await window.api.listGalleries(sourceRequest(this.source));
    } catch (err) {
      this.error = errorMessage(err, 'Could not delete the gallery.');
    }
  }

  /** Opens "Regenerate at checkpoint…" for one image: loads the steps it can be drawn at. */
  async openRegenerate(index: number): Promise<void> {
    const g = this.gallery;
    if (!g || !g.images[index] || !hasApi()) return;
    const results = this.regen?.galleryId === g.id && this.regen.index === index ? this.regen.results : [];
    this.regen = { galleryId: g.id, index, checkpoints: [], step: null, loading: true, running: false, error: null, results };
    try {
      const checkpoints = await window.api.galleryCheckpoints({ galleryId: g.id });
      if (this.regen?.galleryId !== g.id || this.regen.index !== index) return;
      // Default: the earliest step other than the gallery's own (the one worth comparing with).
      const other = checkpoints.find((c) => c.step !== g.step) ?? checkpoints[0];
      this.regen = { ...this.regen, checkpoints, step: other?.step ?? null, loading: false };
    } catch (err) {
      if (this.regen?.galleryId === g.id && this.regen.index === index) {
        this.regen = { ...this.regen, loading: false, error: errorMessage(err, 'Could not list the checkpoints.') };
      }
    }
  }

  closeRegenerate(): void {
    this.regen = null;
  }

  setRegenerateStep(step: number): void {
    if (this.regen) this.regen = { ...this.regen, step };
  }

  /** Draws the image again at the chosen step; the result joins the panel's list. */
  async regenerate(): Promise<void> {
    const r = this.regen;
    if (!r || r.step === null || r.running || !hasApi()) return;
    this.regen = { ...r, running: true, error: null };
    try {
      const result = await window.api.regenerateGalleryImage({ galleryId: r.galleryId, index: r.index, checkpointStep: r.step });
      if (this.regen?.galleryId !== r.galleryId || this.regen.index !== r.index) return;
      const results = [result, ...this.regen.results.filter((x) => x.step !== result.step)];
      this.regen = { ...this.regen, running: false, results };
    } catch (err) {
      if (this.regen?.galleryId === r.galleryId && this.regen.index === r.index) {
        this.regen = { ...this.regen, running: false, error: errorMessage(err, 'Could not draw the image again.') };
      }
    }
  }
}

export const galleriesStore = new GalleriesStore();
