// The server-side folder browser's state (fs:list), shared by every store that asks the user for a
// folder in a browser: the datasets store (import a folder) and the galleries store (save into one).

import type { FolderListing } from '../../../../shared/contract';
import { errorMessage } from '../errors';
import { hasApi } from './app.svelte';

export type FolderBrowserState =
  | { open: false }
  | { open: true; loading: boolean; listing: FolderListing | null; error: string | null; showHidden: boolean };

export class FolderBrowsing {
  browser = $state<FolderBrowserState>({ open: false });

  /** Opens the browser at `path` (the user's home when absent). */
  protected async openBrowser(path?: string): Promise<void> {
    this.browser = { open: true, loading: true, listing: null, error: null, showHidden: false };
    await this.browse(path);
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
