// The contract between the renderer and whichever host serves it (Electron IPC today, the browser
// host's WebSocket later). Every channel name, request, response and error shape lives here.
// Plain data only, and no `electron` or `node:` imports: the renderer and the preload import this.

import type { BackendInfo } from './types';

/**
 * Every request channel, as `domain:verb`. No channel string literal may appear anywhere else:
 * hosts, the preload and clients all refer to `Channels.X`.
 */
export const Channels = {
  appInfo: 'app:info',
} as const;

export type ChannelKey = keyof typeof Channels;
export type Channel = (typeof Channels)[ChannelKey];

// ---------------------------------------------------------------------------------------------
// Requests and responses

/** What `app:info` returns. */
export interface AppInfo {
  /** The application's version (package.json `version`). */
  version: string;
  /** Node's `process.platform` of the machine running the core (`linux`, `darwin`, `win32`…). */
  platform: string;
  /** The studio's home: `GAN_STUDIO_HOME`, default `~/.gan-studio`. */
  home: string;
  /**
   * The TensorFlow.js backend training uses, and why it was chosen; null until the engine has
   * picked one (backends are chosen lazily, the first time something needs them).
   */
  backend: Pick<BackendInfo, 'name' | 'reason'> | null;
}

/** Request and response types, by channel. A request of `void` means "send nothing". */
export interface ChannelTypes {
  [Channels.appInfo]: { request: void; response: AppInfo };
}

export type RequestOf<C extends Channel> = ChannelTypes[C]['request'];
export type ResponseOf<C extends Channel> = ChannelTypes[C]['response'];

// ---------------------------------------------------------------------------------------------
// Envelopes: every reply is either `{ result }` or `{ error }`, never a thrown IPC error (Electron
// mangles those into "Error invoking remote method …" strings and drops every other field).

export const ErrorCodes = {
  /** The request did not come from our own window's main frame. */
  forbidden: 'FORBIDDEN',
  /** The request failed validation. */
  invalidRequest: 'INVALID_REQUEST',
  /** Something the request names does not exist. */
  notFound: 'NOT_FOUND',
  /** Anything else; the message says what. */
  internal: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface ContractError {
  message: string;
  /** One of `ErrorCodes`, or a more specific code a service attached (e.g. `ENOENT`). */
  code: string;
}

export type Envelope<T> = { result: T } | { error: ContractError };

// ---------------------------------------------------------------------------------------------
// window.api

/** Returned by every `api.onX(cb)`: call it to stop listening. */
export type Unsubscribe = () => void;

/**
 * The one object the renderer talks to (`window.api`). Each request method returns a Promise that
 * rejects with an `Error` whose message says what went wrong. Each event method `onX(cb)` (none yet)
 * takes a callback of plain data and returns an `Unsubscribe`.
 */
export interface Api {
  /** `app:info`: version, platform, studio home, training backend. */
  appInfo(): Promise<AppInfo>;
}
