// The one place the Electron host registers IPC handlers. Every request is checked to come from
// our own window's main frame showing our own page, validated, delegated to a service in one line,
// and answered as `{ result }` or `{ error: { message, code } }`.

import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import {
  Channels,
  ErrorCodes,
  type Channel,
  type ContractError,
  type Envelope,
  type RequestOf,
  type ResponseOf,
} from '../../../shared/contract';
import type { AppInfoProvider } from './app-info-provider';

/** The services handlers delegate to. The core's `Studio` will provide most of them. */
export interface IpcServices {
  app: AppInfoProvider;
}

export interface IpcOptions {
  /** The window whose main frame may call us (null while none is open). */
  getWindow: () => BrowserWindow | null;
  /** Whether a URL is our own renderer page. */
  isOwnPage: (url: string) => boolean;
}

/** Thrown by validators and services to answer with a specific code. */
export class IpcError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'IpcError';
  }
}

interface Route<C extends Channel> {
  /** Turns the raw request into a typed one, or throws an `IpcError` (INVALID_REQUEST). */
  parse: (raw: unknown) => RequestOf<C>;
  handle: (request: RequestOf<C>) => Promise<ResponseOf<C>>;
}

/** One route per channel: the mapped type makes a missing handler a compile error. */
type Routes = { [C in Channel]: Route<C> };

/** For channels whose request is `void`. */
function noArgs(raw: unknown): void {
  if (raw !== undefined && raw !== null) {
    throw new IpcError('This request takes no arguments', ErrorCodes.invalidRequest);
  }
}

function routes(services: IpcServices): Routes {
  return {
    [Channels.appInfo]: { parse: noArgs, handle: () => services.app.appInfo() },
  };
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

function toContractError(err: unknown): ContractError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { message: err.message, code: typeof code === 'string' ? code : ErrorCodes.internal };
  }
  return { message: String(err), code: ErrorCodes.internal };
}

async function dispatch<C extends Channel>(
  channel: C,
  route: Route<C>,
  event: IpcMainInvokeEvent,
  raw: unknown,
  options: IpcOptions,
): Promise<Envelope<ResponseOf<C>>> {
  if (!isTrustedSender(event, options)) {
    console.warn(`[ipc] refused ${channel} from ${event.senderFrame?.url ?? 'an unknown frame'}`);
    return { error: { message: 'Request refused: unknown sender', code: ErrorCodes.forbidden } };
  }
  try {
    return { result: await route.handle(route.parse(raw)) };
  } catch (err) {
    const error = toContractError(err);
    if (error.code === ErrorCodes.internal) console.error(`[ipc] ${channel} failed:`, err);
    return { error };
  }
}

/** Registers every handler; returns a function that removes them all. Call once. */
export function registerIpc(services: IpcServices, options: IpcOptions): () => void {
  const table = routes(services);
  const channels = Object.values(Channels);
  for (const channel of channels) {
    ipcMain.handle(channel, (event, raw: unknown) =>
      dispatch(channel, table[channel] as Route<typeof channel>, event, raw, options),
    );
  }
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel);
  };
}
