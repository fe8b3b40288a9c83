// The app's one window, locked down: isolated, sandboxed, no Node, no popups, no navigation away
// from our own page, no webviews, no permissions.

import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { BrowserWindow } from 'electron';

/** Where the renderer comes from: Vite's dev server, or the built out/renderer/index.html. */
export type RendererSource = { kind: 'url'; url: string } | { kind: 'file'; path: string };

/** True when `url` is our renderer page (any hash or query), false for everything else. */
export function isOwnPage(source: RendererSource, url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (source.kind === 'url') return parsed.origin === new URL(source.url).origin;
  if (parsed.protocol !== 'file:') return false;
  try {
    return path.resolve(fileURLToPath(parsed)) === path.resolve(source.path);
  } catch {
    return false;
  }
}

export interface MainWindowOptions {
  /** Absolute path of the CommonJS preload (out/preload/index.cjs). */
  preload: string;
  source: RendererSource;
}

export function createMainWindow({ preload, source }: MainWindowOptions): BrowserWindow {
  // Both electronegativity suppressions below are reviewed (npm run lint:electron):
  // - AUXCLICK: a middle-click can only ask for a new window, and setWindowOpenHandler below denies
  //   every one; navigation away from our page is refused by will-navigate / will-redirect.
  // - PRELOAD: the sandboxed preload exposes exactly one contextBridge object, window.api, built
  //   from the contract's channel list; no ipcRenderer, no Node API, no process.env reach the page.
  const win = new BrowserWindow({ // eng-disable AUXCLICK_JS_CHECK: popups denied, see above
    title: 'GAN Studio',
    width: 1280,
    height: 820,
    minWidth: 720,
    minHeight: 480,
    show: false,
    backgroundColor: '#111418',
    webPreferences: {
      preload, // eng-disable PRELOAD_JS_CHECK: exposes only window.api, see above
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });

  const contents = win.webContents;
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event) => {
    if (!isOwnPage(source, event.url)) event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    if (!isOwnPage(source, event.url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());

  win.once('ready-to-show', () => win.show());

  const loading = source.kind === 'url' ? win.loadURL(source.url) : win.loadFile(source.path);
  loading.catch((err: unknown) => console.error('[window] could not load the renderer:', err));
  return win;
}
