// The browser host on port 0 with a temp home and a stand-in renderer: static files with a CSP,
// the /files route's refusals, the WebSocket contract (through the real browser client), the
// Host / Origin checks and the access token.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Studio } from '../../../../src/main/core/studio';
import { parseMessage, RendererNotBuiltError, startWebServer, type WebServer } from '../../../../src/main/hosts/web/server';
import { createWebSocketApi, type SocketLike } from '../../../../src/renderer/src/lib/api-client';
import { Channels } from '../../../../src/shared/contract';

let root: string;
let home: string;
let ui: string;
let studio: Studio;
let server: WebServer;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'gs-web-'));
  home = join(root, 'home');
  ui = join(root, 'ui');
  mkdirSync(join(ui, 'assets'), { recursive: true });
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>GAN Studio</title><div id="app"></div>');
  writeFileSync(join(ui, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(root, 'secret.png'), 'secret');
  studio = Studio.open(home);
  mkdirSync(join(home, 'runs', '1'), { recursive: true });
  writeFileSync(join(home, 'runs', '1', 'grid.png'), 'png!');
  server = await startWebServer({ studio, version: '1.2.3', rendererDir: ui, port: 0 });
});
afterAll(async () => {
  await server?.close();
  studio?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A raw GET (the path is sent exactly as given, no URL normalisation). */
function get(srv: WebServer, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: srv.port, path, headers: { host: `127.0.0.1:${srv.port}`, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a WebSocket; resolves with it once open, or with the HTTP status it was refused with. */
function openSocket(srv: WebServer, options: WebSocket.ClientOptions = {}, query = '') {
  return new Promise<WebSocket | number>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/api${query}`, options);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
}

const nextMessage = (ws: WebSocket) => new Promise<unknown>((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))));

describe('web server', () => {
  it('binds 127.0.0.1 without a token by default', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    expect(server.port).toBeGreaterThan(0);
    expect(server.token).toBeNull();
  });

  it('serves the HTML with a strict CSP, and assets', async () => {
    const page = await get(server, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('GAN Studio');
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const js = await get(server, '/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect((await get(server, '/assets/../../secret.png')).status).toBe(404);
    expect((await get(server, '/nope.js')).status).toBe(404);
  });

  it('serves images under the home at /files and refuses traversal', async () => {
    const ok = await get(server, '/files/runs/1/grid.png');
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('image/png');
    expect(ok.body).toBe('png!');
    for (const path of ['/files/../secret.png', '/files/%2e%2e/secret.png', '/files/runs%2f..%2f..%2fsecret.png', '/files/runs/../../secret.png', '/files//etc/passwd', '/files/studio.db']) {
      const res = await get(server, path);
      expect([403, 404], path).toContain(res.status);
      expect(res.body).not.toContain('secret');
    }
  });

  it('refuses a foreign Host header (DNS rebinding) and non-GET methods', async () => {
    expect((await get(server, '/', { host: `evil.example:${server.port}` })).status).toBe(403);
    const post = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: server.port, path: '/', method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('x');
    });
    expect(post).toBe(405);
  });

  it('answers app:info over the WebSocket through the browser client', async () => {
    const client = createWebSocketApi({ url: `ws://127.0.0.1:${server.port}/api`, socket: (url) => new WebSocket(url) as unknown as SocketLike });
    try {
      const info = await client.api.appInfo();
      expect(info).toMatchObject({ version: '1.2.3', home, host: 'browser', activeRuns: [] });
      await expect(client.api.getRun({ runId: 99 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(client.api.getRun({ runId: -1 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      expect(await client.api.listRuns()).toEqual([]);
      expect(client.api.fileUrl('runs/1/grid 0.png')).toBe('/files/runs/1/grid%200.png');
    } finally {
      client.close();
    }
  });

  it('answers malformed messages with an error and keeps the connection', async () => {
    const ws = await openSocket(server);
    if (typeof ws === 'number') throw new Error(`refused: ${ws}`);
    try {
      for (const bad of ['not json', '[1,2]', '{"id":{},"channel":"app:info"}', '{"id":1}', '{"id":1,"channel":"app:info","x":1}']) {
        const reply = nextMessage(ws);
        ws.send(bad);
        expect(await reply, bad).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
      }
      const reply = nextMessage(ws);
      ws.send(JSON.stringify({ id: 'a', channel: Channels.appInfo }));
      expect(await reply).toMatchObject({ id: 'a', result: { version: '1.2.3' } });
      const unknown = nextMessage(ws);
      ws.send(JSON.stringify({ id: 2, channel: 'nope:nope' }));
      expect(await unknown).toMatchObject({ id: 2, error: { code: 'UNKNOWN_CHANNEL' } });
    } finally {
      ws.close();
    }
  });

  it('refuses a WebSocket from another origin', async () => {
    expect(await openSocket(server, { origin: 'http://evil.example' })).toBe(403);
    const same = await openSocket(server, { origin: `http://127.0.0.1:${server.port}` });
    expect(same).toBeInstanceOf(WebSocket);
    (same as WebSocket).close();
  });

  it('requires the token when asked to (as for a non-loopback bind)', async () => {
    const guarded = await startWebServer({ studio, version: '1', rendererDir: ui, port: 0, requireToken: true });
    try {
      const token = guarded.token!;
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      expect((await get(guarded, '/')).status).toBe(401);
      expect((await get(guarded, '/files/runs/1/grid.png')).status).toBe(401);
      expect((await get(guarded, `/?token=${'0'.repeat(64)}`)).status).toBe(401);
      const first = await get(guarded, `/?token=${token}`);
      expect(first.status).toBe(302);
      expect(first.headers.location).toBe('/');
      const cookie = String(first.headers['set-cookie']).split(';')[0]!;
      expect(String(first.headers['set-cookie'])).toMatch(/HttpOnly/);
      expect((await get(guarded, '/', { cookie })).status).toBe(200);
      expect((await get(guarded, '/files/runs/1/grid.png', { authorization: `Bearer ${token}` })).status).toBe(200);
      expect(await openSocket(guarded)).toBe(401);
      const ws = await openSocket(guarded, { headers: { cookie } });
      expect(ws).toBeInstanceOf(WebSocket);
      (ws as WebSocket).close();
      const viaQuery = await openSocket(guarded, {}, `?token=${token}`);
      expect(viaQuery).toBeInstanceOf(WebSocket);
      (viaQuery as WebSocket).close();
    } finally {
      await guarded.close();
    }
  });

  it('says clearly when the UI is not built', async () => {
    await expect(startWebServer({ studio, version: '1', rendererDir: join(root, 'missing') })).rejects.toBeInstanceOf(RendererNotBuiltError);
  });
});

describe('parseMessage', () => {
  it('takes {id, channel, request} and nothing else', () => {
    expect(parseMessage('{"id":1,"channel":"runs:list"}')).toEqual({ id: 1, channel: 'runs:list', request: undefined });
    expect(parseMessage(null)).toMatchObject({ id: null });
    expect(parseMessage('{"id":"' + 'x'.repeat(200) + '","channel":"a"}')).toMatchObject({ id: null });
  });
});

describe('browser client', () => {
  /** A socket the test drives by hand. */
  class FakeSocket implements SocketLike {
    readyState = 0;
    sent: string[] = [];
    onopen: ((ev: unknown) => void) | null = null;
    onclose: ((ev: unknown) => void) | null = null;
    onerror: ((ev: unknown) => void) | null = null;
    onmessage: ((ev: { data: unknown }) => void) | null = null;
    send(data: string) {
      this.sent.push(data);
    }
    close() {
      this.drop();
    }
    open() {
      this.readyState = 1;
      this.onopen?.({});
    }
    drop() {
      this.readyState = 3;
      this.onclose?.({});
    }
  }

  it('queues requests until open, rejects in-flight ones on disconnect, reconnects, delivers events', async () => {
    const sockets: FakeSocket[] = [];
    const states: string[] = [];
    const client = createWebSocketApi({
      url: 'ws://x/api',
      socket: () => {
        const s = new FakeSocket();
        sockets.push(s);
        return s;
      },
      backoffMs: 5,
      onConnectionChange: (s) => states.push(s),
    });
    const pending = client.api.listRuns();
    expect(sockets[0]!.sent).toEqual([]);
    sockets[0]!.open();
    const sent = JSON.parse(sockets[0]!.sent[0]!);
    expect(sent).toEqual({ id: sent.id, channel: Channels.runsList });
    sockets[0]!.onmessage?.({ data: JSON.stringify({ id: sent.id, result: [] }) });
    expect(await pending).toEqual([]);

    const steps: unknown[] = [];
    const off = client.api.onTrainingStep((e) => steps.push(e));
    sockets[0]!.onmessage?.({ data: JSON.stringify({ event: Channels.trainingStep, payload: { runId: 1, steps: [] } }) });
    off();
    sockets[0]!.onmessage?.({ data: JSON.stringify({ event: Channels.trainingStep, payload: { runId: 2, steps: [] } }) });
    expect(steps).toEqual([{ runId: 1, steps: [] }]);

    const lost = client.api.appInfo();
    sockets[0]!.drop();
    await expect(lost).rejects.toThrow(/Lost the connection to GAN Studio during app:info/);
    await new Promise((r) => setTimeout(r, 50));
    expect(sockets.length).toBe(2);
    sockets[1]!.open();
    expect(states).toEqual(['open', 'closed', 'connecting', 'open']);
    client.close();
    await expect(client.api.listRuns()).rejects.toThrow(/closed/);
  });
});
