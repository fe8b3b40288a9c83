// The one place the Electron host registers IPC handlers. Every request is checked to come from
// our own window's main frame showing our own page, then handed to the host-independent
// dispatcher (which validates it with the contract's schema and makes one call into the core),
// and answered as `{ result }` or `{ error: { message, code } }`. The Electron-only channels, the
// native dialogs `dialog:openFolder` and `dialog:saveFile`, are validated with their schemas here
// and answered by Electron.
// Pushed events go to our window's web contents.

import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import {
  Channels,
  ErrorCodes,
  REQUEST_CHANNELS,
  type Channel,
  type Envelope,
  type RequestOf,
  type OpenFolderRequest,
  type SaveFileRequest,
} from '../../../shared/contract';
import { parseRequest } from '../../../shared/schemas';
import type { Dispatcher } from '../dispatch';

export interface IpcOptions {
  /** The window whose main frame may call us (null while none is open). */
  getWindow: () => BrowserWindow | null;
  /** Whether a URL is our own renderer page. */
  isOwnPage: (url: string) => boolean;
  /** The native folder picker: the chosen folder, or null when cancelled. */
  openFolder: (request: OpenFolderRequest) => Promise<string | null>;
  /** The native save dialog: the chosen path, or null when cancelled. */
  saveFile: (request: SaveFileRequest) => Promise<string | null>;
}

/** True when the event comes from the main frame of our window, showing our page. */
function isTrustedSender(event: IpcMainInvokeEvent, options: IpcOptions): boolean {
  const win = options.getWindow();
  if (!win || win.isDestroyed() || event.sender !== win.webContents) return false;
  const frame = event.senderFrame;
  const main = win.webContents.mainFrame;
  if (!frame) return false;
  const sameFrame =
    frame === main || (frame.processId === main.processId && frame.frameToken === main.frameToken);
  return sameFrame && options.isOwnPage(frame.url);
}

async function nativeDialog<C extends typeof Channels.dialogOpenFolder | typeof Channels.dialogSaveFile>(
  channel: C,
  raw: unknown,
  show: (request: RequestOf<C>) => Promise<string | null>,
): Promise<Envelope<string | null>> {
  const parsed = parseRequest(channel, raw);
  if (!parsed.ok) return { error: { message: parsed.message, code: ErrorCodes.invalidRequest } };
  try {
    return { result: await show(parsed.value) };
  } catch (err) {
    console.error(`[ipc] ${channel} failed:`, err);
    return { error: { message: 'The dialog could not be opened', code: ErrorCodes.internal } };
  }
}

async function handle(
  channel: Channel,
  event: IpcMainInvokeEvent,
  raw: unknown,
  dispatcher: Dispatcher,
  options: IpcOptions,
): Promise<Envelope<unknown>> {
  if (!isTrustedSender(event, options)) {
    console.warn(`[ipc] refused ${channel} from ${event.senderFrame?.url ?? 'an unknown frame'}`);
    return { error: { message: 'Request refused: unknown sender', code: ErrorCodes.forbidden } };
  }
  if (channel === Channels.dialogOpenFolder) return nativeDialog(channel, raw, options.openFolder);
  if (channel === Channels.dialogSaveFile) return nativeDialog(channel, raw, options.saveFile);
  return dispatcher.handle(channel, raw);
}

/** Registers every handler and the event forwarding; returns a function that removes them all. Call once. */
export function registerIpc(dispatcher: Dispatcher, options: IpcOptions): () => void {
  for (const channel of REQUEST_CHANNELS) {
    ipcMain.handle(channel, (event, raw: unknown) => handle(channel, event, raw, dispatcher, options));
  }
  const unsubscribe = dispatcher.subscribe(({ event, payload }) => {
    const win = options.getWindow();
    if (win && !win.isDestroyed()) win.webContents.send(event, payload);
  });
  return () => {
    unsubscribe();
    for (const channel of REQUEST_CHANNELS) ipcMain.removeHandler(channel);
  };
}
