// App-level state: whether we are connected to a GAN Studio host, and what it told us about itself.
// Only stores touch window.api; components read these and stay presentational.

import type { AppInfo } from '../../../../shared/contract';

export type Connection =
  | { status: 'connecting' }
  | { status: 'ready'; info: AppInfo }
  | { status: 'error'; message: string };

class AppStore {
  connection = $state<Connection>({ status: 'connecting' });

  async load(): Promise<void> {
    if (!('api' in window) || !window.api) {
      this.connection = {
        status: 'error',
        message:
          'This page is not connected to GAN Studio. Open it from the desktop app, or run ' +
          '“gan-studio serve” and open the address it prints.',
      };
      return;
    }
    this.connection = { status: 'connecting' };
    try {
      this.connection = { status: 'ready', info: await window.api.appInfo() };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.connection = { status: 'error', message: `GAN Studio did not answer: ${message}` };
    }
  }
}

export const appStore = new AppStore();
