// Imported models: generators exported by `gan-studio export` (here or on another machine), brought
// into the studio to draw galleries from and explore in the latent lab. Importing asks for the
// export folder: the native folder dialog in Electron, the server-side folder browser in a browser.

import type { ModelInfo } from '../../../../shared/contract';
import { errorMessage } from '../errors';
import { appStore, hasApi } from './app.svelte';
import { FolderBrowsing } from './folder-browsing.svelte';

class ModelsStore extends FolderBrowsing {
  list = $state<ModelInfo[]>([]);
  loaded = $state(false);
  importing = $state(false);
  error = $state<string | null>(null);
  /** The last model imported (the page offers to draw a gallery from it). */
  imported = $state<ModelInfo | null>(null);
  /** The name to import the next folder as; blank: the folder's name. */
  name = $state('');

  async refresh(): Promise<void> {
    if (!hasApi()) return;
    try {
      this.list = await window.api.listModels();
      this.loaded = true;
    } catch (err) {
      this.error = errorMessage(err, 'Could not list the imported models.');
    }
  }

  /** Asks for an export folder (native dialog in Electron, else the folder browser), then imports it. */
  async startImport(): Promise<void> {
    if (!hasApi()) return;
    this.error = null;
    this.imported = null;
    if (appStore.isElectron) {
      try {
        const dir = await window.api.openFolderDialog({ title: 'Choose a folder written by gan-studio export' });
        if (dir) await this.importFrom(dir);
        return;
      } catch (err) {
        if (!/UNSUPPORTED/.test((err as { code?: string }).code ?? '')) {
          this.error = errorMessage(err);
          return;
        }
      }
    }
    await this.openBrowser();
  }

  /** The folder browser's choice. */
  async chooseFolder(dir: string): Promise<void> {
    this.closeBrowser();
    await this.importFrom(dir);
  }

  async importFrom(path: string): Promise<ModelInfo | null> {
    if (!hasApi()) return null;
    this.importing = true;
    this.error = null;
    try {
      const name = this.name.trim();
      const model = await window.api.importModel(name ? { path, name } : { path });
      this.imported = model;
      this.name = '';
      await this.refresh();
      return model;
    } catch (err) {
      this.error = errorMessage(err, 'Could not import the model.');
      return null;
    } finally {
      this.importing = false;
    }
  }

  /** Deletes a model with its folder and its galleries. */
  async remove(modelId: number): Promise<boolean> {
    if (!hasApi()) return false;
    try {
      await window.api.deleteModel({ modelId });
      if (this.imported?.id === modelId) this.imported = null;
      await this.refresh();
      return true;
    } catch (err) {
      this.error = errorMessage(err, 'Could not delete the model.');
      return false;
    }
  }
}

export const modelsStore = new ModelsStore();
