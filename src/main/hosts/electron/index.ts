// The Electron main entry (out/main/index.js, an ES module). It owns the window, the menu and the
// IPC registration; all real work is delegated to services (for now only app info; the core's
// `Studio` facade replaces BasicAppInfoProvider when it lands). Nothing imported here may load
// native modules (TensorFlow, SQLite, sharp) at import time.

import path from 'node:path';
import { app, BrowserWindow, Menu, session } from 'electron';
import { resolveHome } from '../../core/home';
import { BasicAppInfoProvider } from './app-info-provider';
import { registerIpc } from './ipc';
import { buildMenu } from './menu';
import { createMainWindow, isOwnPage, type RendererSource } from './main-window';

const here = import.meta.dirname;
const preload = path.join(here, '../preload/index.cjs');

// electron-vite dev sets ELECTRON_RENDERER_URL; a packaged app never honours it, so an environment
// variable cannot point the app's window (and its window.api) at someone else's page.
const devUrl = app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL;
const source: RendererSource = devUrl
  ? { kind: 'url', url: devUrl }
  : { kind: 'file', path: path.join(here, '../renderer/index.html') };

let mainWindow: BrowserWindow | null = null;

function openMainWindow(): void {
  const win = createMainWindow({ preload, source });
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });
  mainWindow = win;
}

function hardenSessions(): void {
  // The UI needs no camera, notifications, geolocation…: refuse every permission.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) =>
    callback(false),
  );
  session.defaultSession.setPermissionCheckHandler(() => false);
  // Any web contents created later (there should be none) gets the same rules as our window.
  app.on('web-contents-created', (_event, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-attach-webview', (e) => e.preventDefault());
    contents.on('will-navigate', (e) => {
      if (!isOwnPage(source, e.url)) e.preventDefault();
    });
  });
}

async function start(): Promise<void> {
  await app.whenReady();
  hardenSessions();
  app.setAboutPanelOptions({ applicationName: 'GAN Studio', applicationVersion: app.getVersion() });
  Menu.setApplicationMenu(buildMenu({ dev: Boolean(devUrl) }));

  registerIpc(
    {
      app: new BasicAppInfoProvider({
        version: app.getVersion(),
        platform: process.platform,
        home: resolveHome(),
      }),
    },
    { getWindow: () => mainWindow, isOwnPage: (url) => isOwnPage(source, url) },
  );

  openMainWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) openMainWindow();
  });
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

start().catch((err: unknown) => {
  console.error('[main] start-up failed:', err);
  app.exit(1);
});
