// The browser host's `window.api`: the same contract `Api` the Electron preload exposes, built
// over the WebSocket that `gan-studio serve` offers at /api. Requests are `{ id, channel, request }`,
// replies `{ id, result | error }`, pushes `{ event, payload }`. The socket reconnects with backoff;
// requests in flight when it drops are rejected with a clear message (they may or may not have
// run), requests made while it is down wait for the next connection.

import {
  ApiError,
  createApi,
  EVENT_CHANNELS,
  FILES_URL_BASE,
  type Api,
  type Channel,
  type EventChannel,
  type Unsubscribe,
} from '../../../shared/contract';

/** The parts of the browser's WebSocket this client uses (the `ws` package's client fits too). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

export type SocketFactory = (url: string) => SocketLike;

export type ConnectionState = 'connecting' | 'open' | 'closed';

export interface WebSocketApiOptions {
  /** The WebSocket URL (ws://host:port/api). */
  url: string;
  /** Makes a socket (default: the browser's WebSocket). */
  socket?: SocketFactory;
  /** Prefix of home-file URLs (default `/files/`, same origin). */
  filesBase?: string;
  /** First reconnect delay in ms (doubles up to `maxBackoffMs`, with jitter). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Told when the connection opens or drops (for a "reconnecting…" banner). */
  onConnectionChange?: (state: ConnectionState) => void;
}

export interface WebSocketApi {
  api: Api;
  /** Closes the socket for good: pending and later requests are rejected. */
  close(): void;
  state(): ConnectionState;
}

const OPEN = 1;

interface Pending {
  channel: Channel;
  resolve: (reply: unknown) => void;
  reject: (err: Error) => void;
}

export function createWebSocketApi(options: WebSocketApiOptions): WebSocketApi {
  const makeSocket: SocketFactory = options.socket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
  const baseDelay = options.backoffMs ?? 250;
  const maxDelay = options.maxBackoffMs ?? 5000;
  const listeners = new Map<EventChannel, Set<(payload: unknown) => void>>();
  /** Sent, awaiting a reply. */
  const inFlight = new Map<number, Pending>();
  /** Made while the socket was not open: sent once it opens. */
  let queued: { id: number; text: string; pending: Pending }[] = [];
  let socket: SocketLike | null = null;
  let state: ConnectionState = 'connecting';
  let closedForGood = false;
  let attempt = 0;
  let nextId = 1;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;

  const setState = (next: ConnectionState) => {
    if (state === next) return;
    state = next;
    options.onConnectionChange?.(next);
  };

  const connect = () => {
    retryTimer = null;
    if (closedForGood) return;
    setState('connecting');
    let s: SocketLike;
    try {
      s = makeSocket(options.url);
    } catch {
      scheduleReconnect();
      return;
    }
    socket = s;
    s.onopen = () => {
      attempt = 0;
      setState('open');
      const waiting = queued;
      queued = [];
      for (const q of waiting) {
        inFlight.set(q.id, q.pending);
        s.send(q.text);
      }
    };
    s.onmessage = (ev) => onMessage(ev.data);
    s.onerror = () => {
      // A close event always follows; reconnecting happens there.
    };
    s.onclose = () => {
      if (socket !== s) return;
      socket = null;
      setState('closed');
      const lost = [...inFlight.values()];
      inFlight.clear();
      for (const p of lost) {
        p.reject(new ApiError(`Lost the connection to GAN Studio during ${p.channel}; it may or may not have happened. Reconnecting…`, 'DISCONNECTED'));
      }
      scheduleReconnect();
    };
  };

  const scheduleReconnect = () => {
    if (closedForGood || retryTimer) return;
    const delay = Math.min(maxDelay, baseDelay * 2 ** attempt) * (0.75 + Math.random() * 0.5);
    attempt++;
    retryTimer = setTimeout(connect, delay);
  };

  const onMessage = (data: unknown) => {
    if (typeof data !== 'string') return;
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    const m = msg as { id?: unknown; event?: unknown; payload?: unknown };
    if (typeof m.event === 'string') {
      const set = listeners.get(m.event as EventChannel);
      if (!set) return;
      for (const cb of [...set]) {
        try {
          cb(m.payload);
        } catch (err) {
          console.error(`[api] a ${m.event} listener failed:`, err);
        }
      }
      return;
    }
    if (typeof m.id === 'number') {
      const pending = inFlight.get(m.id);
      if (!pending) return;
      inFlight.delete(m.id);
      pending.resolve(msg);
    } else if (m.id === null && 'error' in m) {
      console.error('[api] the server could not read a message:', (m as { error: unknown }).error);
    }
  };

  const request = (channel: Channel, req: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (closedForGood) {
        reject(new ApiError('The connection to GAN Studio was closed.', 'DISCONNECTED'));
        return;
      }
      const id = nextId++;
      const text = JSON.stringify(req === undefined ? { id, channel } : { id, channel, request: req });
      const pending: Pending = { channel, resolve, reject };
      if (socket && socket.readyState === OPEN) {
        inFlight.set(id, pending);
        socket.send(text);
      } else {
        queued.push({ id, text, pending });
      }
    });

  const subscribe = (event: EventChannel, cb: (payload: unknown) => void): Unsubscribe => {
    if (!(EVENT_CHANNELS as readonly string[]).includes(event)) throw new Error(`Unknown event ${String(event)}`);
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(cb);
    return () => {
      set.delete(cb);
    };
  };

  const api = createApi({ request, subscribe, filesBase: options.filesBase ?? FILES_URL_BASE.browser });
  connect();

  return {
    api,
    state: () => state,
    close: () => {
      closedForGood = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = null;
      const s = socket;
      socket = null;
      s?.close(1000, 'closed by the page');
      const all = [...inFlight.values(), ...queued.map((q) => q.pending)];
      inFlight.clear();
      queued = [];
      for (const p of all) p.reject(new ApiError('The connection to GAN Studio was closed.', 'DISCONNECTED'));
      setState('closed');
    },
  };
}

/** ws://host/api (or wss:// on https) of the page's own origin. */
export function apiSocketUrl(location: Pick<Location, 'protocol' | 'host'>): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api`;
}

/**
 * In a browser (no Electron preload), installs `window.api` over the page's own WebSocket.
 * Does nothing where `window.api` already exists (Electron) or when the page was opened from a
 * file. Returns the client when it installed one.
 */
export function installBrowserApi(options: Partial<WebSocketApiOptions> = {}): WebSocketApi | null {
  if (typeof window === 'undefined') return null;
  if ((window as { api?: Api }).api) return null;
  if (window.location.protocol !== 'http:' && window.location.protocol !== 'https:') return null;
  const client = createWebSocketApi({ url: apiSocketUrl(window.location), ...options });
  Object.defineProperty(window, 'api', { value: client.api, writable: false, configurable: false, enumerable: true });
  return client;
}
