// `gan-studio://files/<path relative to the studio home>`: how sample grids and contact sheets
// reach the sandboxed renderer (it has no file:// access). Every request goes through
// resolveHomeFile (shared with the browser host): real paths only, inside the home, images only.

import { readFile } from 'node:fs/promises';
import { protocol } from 'electron';
import { FILES_URL_BASE } from '../../../shared/contract';
import { resolveHomeFile } from '../home-files';

const SCHEME = new URL(FILES_URL_BASE.electron).protocol.replace(/:$/, '');
const HOST = new URL(FILES_URL_BASE.electron).host;

/** Must run before the app is ready: a standard, secure scheme (so `img-src gan-studio:` applies). */
export function registerFilesScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: false, corsEnabled: false } },
  ]);
}

/** Serves the scheme from `home`. Call once the app is ready. */
export function handleFilesProtocol(home: string): void {
  protocol.handle(SCHEME, async (request) => {
    const notFound = () => new Response('Not found', { status: 404 });
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return notFound();
    }
    if (url.host !== HOST || request.method !== 'GET') return notFound();
    const found = resolveHomeFile(home, url.pathname.replace(/^\//, ''));
    if (!found.ok) return new Response(found.status === 404 ? 'Not found' : 'Forbidden', { status: found.status });
    try {
      const body = await readFile(found.path);
      return new Response(body, {
        headers: { 'Content-Type': found.contentType, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' },
      });
    } catch {
      return notFound();
    }
  });
}
