// App-level state: whether we are connected to a GAN Studio host, what it told us about itself,
// and which page is shown. Only stores touch window.api; components read these and stay
// presentational.

import type { AppInfo, HomeFile } from '../../../../shared/contract';
import { errorMessage } from '../errors';

export type Connection =
  | { status: 'connecting' }
  | { status: 'ready'; info: AppInfo }
  | { status: 'error'; message: string };

export type Page = 'datasets' | 'train' | 'live' | 'runs' | 'gallery';
export const PAGES: readonly Page[] = ['datasets', 'train', 'live', 'runs', 'gallery'];

/** Whether window.api exists (the preload, or the browser host's client, installed it). */
export function hasApi(): boolean {
  return typeof window !== 'undefined' && 'api' in window && !!window.api;
}

/** A URL the page can load for a file under the studio home (sample grids, contact sheets). */
export function fileUrl(file: HomeFile): string {
  return hasApi() ? window.api.fileUrl(file) : '';
}

/** Where a file under the studio home lies on the machine running GAN Studio (for "saved to …"). */
export function homePath(file: HomeFile, home: string | null | undefined = appStore.info?.home): string {
  if (!home) return file;
  const windows = home.includes('\\') && !home.includes('/');
  const sep = windows ? '\\' : '/';
  return `${home.replace(/[\\/]+$/, '')}${sep}${windows ? file.replace(/\//g, sep) : file}`;
}

function pageFromHash(hash: string): Page | null {
  const name = hash.replace(/^#\/?/, '');
  return (PAGES as readonly string[]).includes(name) ? (name as Page) : null;
}

class AppStore {
  connection = $state<Connection>({ status: 'connecting' });
  /** The live link to the host (browser host: the WebSocket); 'closed' shows a reconnecting banner. */
  link = $state<'open' | 'connecting' | 'closed'>('open');
  page = $state<Page>('datasets');

  readonly info = $derived(this.connection.status === 'ready' ? this.connection.info : null);
  readonly isElectron = $derived(this.info?.host === 'electron');

  private hashListener: (() => void) | null = null;

  /** Follows location.hash (#/runs …) so pages can be linked and reloaded. */
  startRouting(): () => void {
    const fromHash = pageFromHash(window.location.hash);
    if (fromHash) this.page = fromHash;
    const onHash = () => {
      const p = pageFromHash(window.location.hash);
      if (p) this.page = p;
    };
    window.addEventListener('hashchange', onHash);
    this.hashListener = onHash;
    return () => {
      window.removeEventListener('hashchange', onHash);
      this.hashListener = null;
    };
  }

  navigate(page: Page): void {
    this.page = page;
    const hash = `#/${page}`;
    if (window.location.hash !== hash) window.history.replaceState(null, '', hash);
  }

  /** Told by the browser host's client when its socket opens or drops. */
  setLink(state: 'open' | 'connecting' | 'closed'): void {
    this.link = state;
    if (state === 'open' && this.connection.status === 'error' && hasApi()) void this.load();
  }

  async load(): Promise<void> {
    if (!hasApi()) {
      this.connection = {
        status: 'error',
        message:
          'This page is not connected to GAN Studio. Open it from the desktop app, or run ' +
          '“gan-studio serve” and open the address it prints.',
      };
      return;
    }
    if (this.connection.status !== 'ready') this.connection = { status: 'connecting' };
    try {
      this.connection = { status: 'ready', info: await window.api.appInfo() };
    } catch (err) {
      this.connection = { status: 'error', message: `GAN Studio did not answer: ${errorMessage(err)}` };
    }
  }

  /** Asks the host again (the backend becomes known once training starts). */
  async refresh(probeBackend = false): Promise<void> {
    if (!hasApi()) return;
    try {
      const info = await window.api.appInfo(probeBackend ? { probeBackend: true } : undefined);
      this.connection = { status: 'ready', info };
    } catch {
      // Keep what we had; the next call will say what is wrong.
    }
  }
}

export const appStore = new AppStore();
