// The Electron main entry (out/main/index.js, an ES module). It owns the window, the menu, the
// image protocol and the IPC registration; all real work is delegated to the core's `Studio`
// through the host-independent dispatcher. Nothing imported statically here may load native
// modules (TensorFlow, SQLite, sharp): the core is imported once the app is ready, so that a
// native module built for the wrong runtime shows an error box instead of a silent crash.

import path from 'node:path';
import { app, BrowserWindow, dialog, Menu, session } from 'electron';
import { resolveHome } from '../../core/home';
import type { Studio } from '../../core/studio';
import { handleFilesProtocol, registerFilesScheme } from './files-protocol';
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
let studio: Studio | null = null;

registerFilesScheme();

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

  const home = resolveHome();
  try {
    const { Studio } = await import('../../core/studio');
    studio = Studio.open(home);
  } catch (err) {
    dialog.showErrorBox('GAN Studio cannot start', `The studio in ${home} could not be opened:\n${(err as Error).message}`);
    app.exit(1);
    return;
  }
  const { createDispatcher } = await import('../dispatch');
  const dispatcher = createDispatcher(studio, { version: app.getVersion(), host: 'electron' });
  handleFilesProtocol(home);
  registerIpc(dispatcher, {
    getWindow: () => mainWindow,
    isOwnPage: (url) => isOwnPage(source, url),
    openFolder: async (request) => {
      const options: Electron.OpenDialogOptions = { title: request?.title ?? 'Choose a folder', properties: ['openDirectory'] };
      const result = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
    saveFile: async (request) => {
      const options: Electron.SaveDialogOptions = { title: request.title ?? 'Save as', defaultPath: request.defaultName, filters: request.filters };
      const result = mainWindow ? await dialog.showSaveDialog(mainWindow, options) : await dialog.showSaveDialog(options);
      return result.canceled ? null : (result.filePath ?? null);
    },
  });

  openMainWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) openMainWindow();
  });
}

// Quitting stops active runs first (each writes a checkpoint, so it can be resumed), then closes
// the store.
let quitting = false;
app.on('before-quit', (event) => {
  const current = studio;
  if (!current) return;
  if (!quitting && current.activeRunIds().length > 0) {
    event.preventDefault();
    quitting = true;
    void current
      .stopAll()
      .catch((err: unknown) => console.error('[main] stopping runs failed:', err))
      .finally(() => app.quit());
    return;
  }
  studio = null;
  current.close();
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

start().catch((err: unknown) => {
  console.error('[main] start-up failed:', err);
  app.exit(1);
});
