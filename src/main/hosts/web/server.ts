// `gan-studio serve`: the browser host. One node:http server that serves the built renderer
// (out/renderer), images under the studio home at /files/<path> (through resolveHomeFile), and the
// contract over a WebSocket at /api: `{ id, channel, request }` in, `{ id, result | error }` out,
// and `{ event, payload }` pushed to every client.
//
// Defences: binds 127.0.0.1 unless told otherwise; on loopback the Host header must name loopback
// (DNS rebinding) and a WebSocket's Origin must be this server (cross-site WebSocket hijacking);
// any other bind needs the access token (32 random bytes, hex) on every request: `?token=` once
// (then an HttpOnly SameSite=Strict cookie), or an `Authorization: Bearer` / `X-GAN-Studio-Token`
// header. The HTML carries a strict Content-Security-Policy.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { Channels, ErrorCodes, type AnyEvent } from '../../../shared/contract';
import type { Studio } from '../../core/studio';
import { createDispatcher, type Dispatcher } from '../dispatch';
import { resolveHomeFile } from '../home-files';

export interface WebServerOptions {
  studio: Studio;
  /** The application's version (app:info). */
  version: string;
  /** The built renderer: a folder holding index.html (out/renderer). */
  rendererDir: string;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: a free one). */
  port?: number;
  /** Require the access token even on loopback (default: only for non-loopback binds). */
  requireToken?: boolean;
  /** The token to require (default: 32 random bytes, hex). */
  token?: string;
  /** Largest WebSocket message accepted, in bytes (default 1 MiB). */
  maxMessageBytes?: number;
}

export interface WebServer {
  /** `http://host:port/` (without the token). */
  url: string;
  host: string;
  port: number;
  /** The access token every request must carry, or null when none is needed. */
  token: string | null;
  /** Closes every connection and the server. Active runs are the caller's (Studio.stopAll). */
  close(): Promise<void>;
}

export class RendererNotBuiltError extends Error {
  override name = 'RendererNotBuiltError';
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The Content-Security-Policy of the HTML: our own scripts, styles and images, our own WebSocket. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

const COMMON_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const rendererDir = path.resolve(options.rendererDir);
  const indexFile = path.join(rendererDir, 'index.html');
  if (!existsSync(indexFile)) {
    throw new RendererNotBuiltError(
      `The UI is not built: ${indexFile} is missing. Run \`npm run build\` in the repository first.`,
    );
  }
  const realRendererDir = realpathSync(rendererDir);
  const bindHost = options.host ?? '127.0.0.1';
  const loopback = isLoopbackHost(bindHost);
  const token = options.requireToken || !loopback ? (options.token ?? randomBytes(32).toString('hex')) : null;
  const home = options.studio.home;
  const dispatcher: Dispatcher = createDispatcher(options.studio, { version: options.version, host: 'browser' });
  let port = 0;
  const cookieName = () => `gan_studio_token_${port}`;

  // ---- checks shared by HTTP and WebSocket requests ----

  /** On loopback binds, the Host header must be loopback at our port (DNS-rebinding defence). */
  const hostAllowed = (req: IncomingMessage): boolean => {
    if (!loopback) return true;
    const hostHeader = req.headers.host;
    if (!hostHeader) return false;
    const allowed = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
    if (bindHost !== '127.0.0.1' && bindHost !== 'localhost' && bindHost !== '::1') allowed.push(`${bindHost}:${port}`);
    return allowed.includes(hostHeader.toLowerCase());
  };

  const tokenMatches = (candidate: string | undefined | null): boolean => {
    if (!token || !candidate) return false;
    const a = Buffer.from(candidate);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };

  /** 'ok' when no token is needed or one came along; 'query' when it came in the URL (set the cookie). */
  const authorize = (req: IncomingMessage, url: URL): 'ok' | 'query' | 'denied' => {
    if (!token) return 'ok';
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && tokenMatches(auth.slice(7).trim())) return 'ok';
    const header = req.headers['x-gan-studio-token'];
    if (typeof header === 'string' && tokenMatches(header)) return 'ok';
    if (tokenMatches(readCookie(req.headers.cookie, cookieName()))) return 'ok';
    if (tokenMatches(url.searchParams.get('token'))) return 'query';
    return 'denied';
  };

  // ---- HTTP ----

  const send = (res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
    res.end(text + '\n');
  };

  const sendFile = (res: ServerResponse, file: string, contentType: string, size: number, headers: Record<string, string>, head: boolean) => {
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': contentType, 'Content-Length': String(size), ...headers });
    if (head) {
      res.end();
      return;
    }
    const stream = createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  };

  const serveStatic = (res: ServerResponse, pathname: string, head: boolean): void => {
    if (pathname === '/' || pathname === '/index.html') {
      const size = statSync(indexFile).size;
      return sendFile(res, indexFile, STATIC_TYPES['.html']!, size, { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'Cache-Control': 'no-store' }, head);
    }
    const file = resolveStatic(realRendererDir, pathname.slice(1));
    if (!file) return send(res, 404, 'Not found');
    const type = STATIC_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    const headers: Record<string, string> = { 'Cache-Control': 'no-cache' };
    if (type.startsWith('text/html')) headers['Content-Security-Policy'] = CONTENT_SECURITY_POLICY;
    sendFile(res, file, type, statSync(file).size, headers, head);
  };

  const server = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return send(res, 400, 'Bad request');
    }
    if (!hostAllowed(req)) return send(res, 403, 'Forbidden: unexpected Host header');
    const auth = authorize(req, url);
    if (auth === 'denied') {
      return send(res, 401, 'Unauthorized: open the address gan-studio serve printed (it carries the access token).');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed', { Allow: 'GET, HEAD' });
    const head = req.method === 'HEAD';
    const cookie = auth === 'query' ? { 'Set-Cookie': `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/` } : {};
    if (auth === 'query' && (url.pathname === '/' || url.pathname === '/index.html')) {
      // Drop the token from the address bar (and from history); the cookie carries it from now on.
      url.searchParams.delete('token');
      const location = url.pathname + (url.search || '');
      res.writeHead(302, { ...COMMON_HEADERS, ...cookie, Location: location, 'Cache-Control': 'no-store' });
      res.end();
      return;
    }
    for (const [k, v] of Object.entries(cookie)) res.setHeader(k, v);
    // The raw (still percent-encoded) path: resolveHomeFile refuses encoded traversal itself.
    const rawPath = (req.url ?? '/').split('?')[0]!;
    if (rawPath.startsWith('/files/')) {
      const found = resolveHomeFile(home, rawPath.slice('/files/'.length));
      if (!found.ok) return send(res, found.status, found.status === 404 ? 'Not found' : 'Forbidden');
      return sendFile(res, found.path, found.contentType, found.size, { 'Cache-Control': 'no-cache' }, head);
    }
    if (rawPath === '/api') return send(res, 426, 'Upgrade required: /api is a WebSocket', { Upgrade: 'websocket' });
    serveStatic(res, url.pathname, head);
  });

  // ---- WebSocket ----

  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes ?? 1024 * 1024 });

  const refuseUpgrade = (socket: Duplex, status: number, text: string) => {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  server.on('upgrade', (req, socket, head) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return refuseUpgrade(socket, 400, 'Bad Request');
    }
    if (url.pathname !== '/api') return refuseUpgrade(socket, 404, 'Not Found');
    if (!hostAllowed(req)) return refuseUpgrade(socket, 403, 'Forbidden');
    // Browsers always send Origin on WebSockets: it must be this very server.
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) return refuseUpgrade(socket, 403, 'Forbidden');
    if (authorize(req, url) === 'denied') return refuseUpgrade(socket, 401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const reply = (ws: WebSocket, message: unknown) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };

  wss.on('connection', (ws: WebSocket) => {
    let alive = true;
    ws.on('pong', () => (alive = true));
    const ping = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, 30_000);
    ws.on('close', () => clearInterval(ping));
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => {
      const parsed = parseMessage(isBinary ? null : data.toString());
      if ('error' in parsed) return reply(ws, { id: parsed.id, error: { message: parsed.error, code: ErrorCodes.invalidRequest } });
      void dispatcher.handle(parsed.channel, parsed.request).then((envelope) => reply(ws, { id: parsed.id, ...envelope }));
    });
  });

  const unsubscribe = dispatcher.subscribe((event: AnyEvent) => {
    const text = JSON.stringify(event);
    for (const client of wss.clients) {
      // A client that cannot keep up misses step batches rather than growing our memory.
      if (event.event === Channels.trainingStep && client.bufferedAmount > 16 * 1024 * 1024) continue;
      if (client.readyState === client.OPEN) client.send(text);
    }
  });

  // ---- listen ----

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const why = err.code === 'EADDRINUSE' ? `port ${options.port ?? 0} is in use` : err.code === 'EACCES' ? `no permission to bind port ${options.port ?? 0}` : err.message;
      reject(new Error(`Cannot listen on ${bindHost}:${options.port ?? 0}: ${why}`));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(options.port ?? 0, bindHost);
  });
  port = (server.address() as AddressInfo).port;
  const urlHost = bindHost.includes(':') && !bindHost.startsWith('[') ? `[${bindHost}]` : bindHost;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${port}/`,
    host: bindHost,
    port,
    token,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        unsubscribe();
        dispatcher.dispose();
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

type ParsedMessage = { id: string | number; channel: string; request: unknown } | { id: string | number | null; error: string };

/** `{ id, channel, request? }` with an id (number or short string) and a channel string; nothing else. */
export function parseMessage(text: string | null): ParsedMessage {
  if (text === null) return { id: null, error: 'Malformed message: binary frames are not accepted' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { id: null, error: 'Malformed message: not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { id: null, error: 'Malformed message: not an object' };
  const msg = value as Record<string, unknown>;
  const id = msg.id;
  const validId = (typeof id === 'number' && Number.isSafeInteger(id)) || (typeof id === 'string' && id.length > 0 && id.length <= 100);
  if (!validId) return { id: null, error: 'Malformed message: id must be an integer or a short string' };
  const extra = Object.keys(msg).filter((k) => k !== 'id' && k !== 'channel' && k !== 'request');
  if (extra.length) return { id: id as string | number, error: `Malformed message: unexpected field ${JSON.stringify(extra[0]!.slice(0, 40))}` };
  if (typeof msg.channel !== 'string') return { id: id as string | number, error: 'Malformed message: channel must be a string' };
  return { id: id as string | number, channel: msg.channel, request: msg.request };
}

function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** A file inside the renderer folder by URL path (percent-encoded); null for anything else. */
function resolveStatic(root: string, requestPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(requestPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/');
  if (segments.some((s) => s === '..' || s === '.' || s === '')) return null;
  try {
    const real = realpathSync(path.join(root, ...segments));
    const rel = path.relative(root, real);
    if (!rel || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return null;
    return statSync(real).isFile() ? real : null;
  } catch {
    return null;
  }
}
