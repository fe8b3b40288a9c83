// Datasets: the imported list, an import in progress (with the host's progress events), its
// summary, deletion, and the folder picker (native dialog in Electron, fs:list in a browser).

import type {
  DatasetImportRequest,
  DatasetImportResult,
  DatasetInfo,
  DatasetProgressEvent,
  FolderListing,
  Unsubscribe,
} from '../../../../shared/contract';
import { errorMessage } from '../errors';
import { appStore, hasApi } from './app.svelte';

export type ImportState =
  | { phase: 'idle' }
  | { phase: 'importing'; name: string; progress: DatasetProgressEvent | null }
  | { phase: 'done'; result: DatasetImportResult }
  | { phase: 'error'; message: string };

export type FolderBrowserState =
  | { open: false }
  | { open: true; loading: boolean; listing: FolderListing | null; error: string | null; showHidden: boolean };

class DatasetsStore {
  list = $state<DatasetInfo[]>([]);
  loaded = $state(false);
  loading = $state(false);
  error = $state<string | null>(null);
  importState = $state<ImportState>({ phase: 'idle' });
  browser = $state<FolderBrowserState>({ open: false });
  /** Set while a delete is in flight (its id). */
  deleting = $state<number | null>(null);

  readonly names = $derived(this.list.map((d) => d.name));

  private unsubscribe: Unsubscribe | null = null;

  /** Listens to import progress; returns the teardown. */
  connect(): () => void {
    if (!hasApi() || this.unsubscribe) return () => this.disconnect();
    this.unsubscribe = window.api.onDatasetProgress((event) => {
      const s = this.importState;
      if (s.phase === 'importing' && s.name === event.name) this.importState = { ...s, progress: event };
    });
    return () => this.disconnect();
  }

  disconnect(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  async refresh(): Promise<void> {
    if (!hasApi()) return;
    this.loading = true;
    try {
      this.list = await window.api.listDatasets();
      this.error = null;
      this.loaded = true;
    } catch (err) {
      this.error = errorMessage(err, 'Could not list the datasets.');
    } finally {
      this.loading = false;
    }
  }

  async importFolder(request: DatasetImportRequest): Promise<void> {
    if (!hasApi() || this.importState.phase === 'importing') return;
    this.importState = { phase: 'importing', name: request.name, progress: null };
    try {
      const result = await window.api.importDataset(request);
      this.importState = { phase: 'done', result };
      await this.refresh();
    } catch (err) {
      this.importState = { phase: 'error', message: errorMessage(err, 'The import failed.') };
    }
  }

  dismissImport(): void {
    if (this.importState.phase !== 'importing') this.importState = { phase: 'idle' };
  }

  async remove(id: number): Promise<boolean> {
    if (!hasApi()) return false;
    this.deleting = id;
    try {
      await window.api.deleteDataset({ id });
      const s = this.importState;
      if (s.phase === 'done' && s.result.dataset.id === id) this.importState = { phase: 'idle' };
      await this.refresh();
      return true;
    } catch (err) {
      this.error = errorMessage(err, 'Could not delete the dataset.');
      return false;
    } finally {
      this.deleting = null;
    }
  }

  /**
   * Asks the user for a folder. In Electron: the native dialog, resolving with the path (or null).
   * In a browser: opens the server-side folder browser and resolves with null; `chooseBrowsed`
   * hands the choice over later.
   */
  async pickFolder(current: string): Promise<string | null> {
    if (!hasApi()) return null;
    if (appStore.isElectron) {
      try {
        return await window.api.openFolderDialog({ title: 'Choose a folder of images' });
      } catch (err) {
        // No native dialog after all: fall back to the folder browser.
        if (!/UNSUPPORTED/.test((err as { code?: string }).code ?? '')) {
          this.error = errorMessage(err);
          return null;
        }
      }
    }
    this.browser = { open: true, loading: true, listing: null, error: null, showHidden: false };
    await this.browse(current.trim() || undefined);
    return null;
  }

  async browse(path?: string): Promise<void> {
    const b = this.browser;
    if (!b.open || !hasApi()) return;
    this.browser = { ...b, loading: true, error: null };
    try {
      const listing = await window.api.listFolder({ path, showHidden: b.showHidden });
      if (this.browser.open) this.browser = { ...this.browser, loading: false, listing };
    } catch (err) {
      if (this.browser.open) this.browser = { ...this.browser, loading: false, error: errorMessage(err, 'Could not open that folder.') };
    }
  }

  async toggleHidden(): Promise<void> {
    const b = this.browser;
    if (!b.open) return;
    this.browser = { ...b, showHidden: !b.showHidden };
    await this.browse(b.listing?.path);
  }

  closeBrowser(): void {
    this.browser = { open: false };
  }
}

export const datasetsStore = new DatasetsStore();
