// Datasets: the imported list, an import in progress (with the host's progress events), its
// summary, deletion, and the folder picker (native dialog in Electron, fs:list in a browser).

import type {
  DatasetImportRequest,
  DatasetImportResult,
  DatasetInfo,
  DatasetProgressEvent,
  Unsubscribe,
} from '../../../../shared/contract';
import { errorMessage } from '../errors';
import { appStore, hasApi } from './app.svelte';
import { FolderBrowsing } from './folder-browsing.svelte';

export type ImportState =
  | { phase: 'idle' }
  | { phase: 'importing'; name: string; progress: DatasetProgressEvent | null }
  | { phase: 'done'; result: DatasetImportResult }
  | { phase: 'error'; message: string };

class DatasetsStore extends FolderBrowsing {
  list = $state<DatasetInfo[]>([]);
  loaded = $state(false);
  loading = $state(false);
  error = $state<string | null>(null);
  importState = $state<ImportState>({ phase: 'idle' });
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
    await this.openBrowser(current.trim() || undefined);
    return null;
  }

}

export const datasetsStore = new DatasetsStore();
