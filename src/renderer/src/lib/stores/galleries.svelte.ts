// Galleries: choose a run, draw a gallery from seeded latents, pick favourites, and save the picked
// (or all, or one grid) into a folder: the native folder dialog in Electron, the server-side folder
// browser in a browser.

import type { GalleryInfo, GallerySaveResult, GallerySummary } from '../../../../shared/contract';
import { errorMessage } from '../errors';
import { appStore, hasApi } from './app.svelte';
import { FolderBrowsing } from './folder-browsing.svelte';

export interface SaveChoice {
  which: 'picked' | 'all';
  asGrid: boolean;
}

class GalleriesStore extends FolderBrowsing {
  runId = $state<number | null>(null);
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

  readonly pickedCount = $derived(this.gallery ? this.gallery.images.filter((i) => i.picked).length : 0);

  /** Shows a run's galleries (the newest one opened). */
  async openRun(runId: number | null): Promise<void> {
    this.runId = runId;
    this.gallery = null;
    this.saved = null;
    this.error = null;
    this.list = [];
    if (runId === null || !hasApi()) return;
    this.loading = true;
    try {
      const list = await window.api.listGalleries({ runId });
      if (this.runId !== runId) return;
      this.list = list;
      if (list[0]) await this.open(list[0].id);
    } catch (err) {
      if (this.runId === runId) this.error = errorMessage(err, 'Could not list the galleries.');
    } finally {
      this.loading = false;
    }
  }

  async open(galleryId: number): Promise<void> {
    if (!hasApi()) return;
    this.saved = null;
    try {
      this.gallery = await window.api.getGallery({ galleryId });
      this.error = null;
    } catch (err) {
      this.error = errorMessage(err, 'Could not open the gallery.');
    }
  }

  async generate(request: { count: number; seed: number; perClass?: number }): Promise<boolean> {
    const runId = this.runId;
    if (runId === null || !hasApi()) return false;
    this.generating = true;
    this.error = null;
    this.saved = null;
    try {
      const gallery = await window.api.createGallery({ runId, seed: request.seed, ...(request.perClass ? { perClass: request.perClass } : { count: request.count }) });
      if (this.runId !== runId) return false;
      this.gallery = gallery;
      this.list = await window.api.listGalleries({ runId });
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
      if (this.runId !== null) this.list = await window.api.listGalleries({ runId: this.runId });
    } catch (err) {
      this.error = errorMessage(err, 'Could not delete the gallery.');
    }
  }
}

export const galleriesStore = new GalleriesStore();
