// Which file a `gan-studio://files/<path>` (Electron) or `/files/<path>` (browser host) request
// names, if any: an image under the studio's home, by its real path. Shared by both hosts so that
// the same refusals hold everywhere: `..` and `.` segments, encoded separators and dots
// (%2e, %2f, %5c), backslashes, NUL, absolute paths and drive letters, and symlinks whose real
// path leaves the home. Only image files are served (the home also holds the database and
// checkpoints, which the page never needs).

import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';

export const HOME_FILE_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
};

export type HomeFileResolution =
  | { ok: true; path: string; contentType: string; size: number }
  | { ok: false; status: 400 | 403 | 404; reason: string };

const MAX_REQUEST_PATH = 4096;

/**
 * Resolves `requestPath` (the URL path after the `files/` prefix, still percent-encoded, no query)
 * to a real image file inside `home`. Never throws.
 */
export function resolveHomeFile(home: string, requestPath: string): HomeFileResolution {
  const refuse = (status: 400 | 403 | 404, reason: string): HomeFileResolution => ({ ok: false, status, reason });
  if (typeof requestPath !== 'string' || requestPath.length === 0) return refuse(404, 'no file named');
  if (requestPath.length > MAX_REQUEST_PATH) return refuse(400, 'path too long');
  // Encoded dots, slashes and backslashes have no business in our own URLs: refuse them outright
  // rather than decode and hope.
  if (/%(2e|2f|5c|00)/i.test(requestPath)) return refuse(403, 'encoded path characters');
  let decoded: string;
  try {
    decoded = decodeURIComponent(requestPath);
  } catch {
    return refuse(400, 'malformed percent-encoding');
  }
  if (decoded.includes('\0')) return refuse(400, 'NUL in path');
  if (decoded.includes('\\')) return refuse(403, 'backslash in path');
  if (decoded.startsWith('/') || /^[A-Za-z]:/.test(decoded)) return refuse(403, 'absolute path');
  const segments = decoded.split('/');
  if (segments.some((s) => s === '..' || s === '.' || s === '')) return refuse(403, 'relative or empty path segment');
  const contentType = HOME_FILE_TYPES[path.extname(decoded).toLowerCase()];
  if (!contentType) return refuse(404, 'not an image');

  let realHome: string;
  try {
    realHome = realpathSync(home);
  } catch {
    return refuse(404, 'no studio home');
  }
  const candidate = path.join(realHome, ...segments);
  if (!isInside(realHome, candidate)) return refuse(403, 'outside the studio home');
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch {
    return refuse(404, 'no such file');
  }
  // A symlink (anywhere along the path) that leads out of the home is refused.
  if (!isInside(realHome, real)) return refuse(403, 'outside the studio home');
  try {
    const stat = statSync(real);
    if (!stat.isFile()) return refuse(404, 'not a file');
    return { ok: true, path: real, contentType, size: stat.size };
  } catch {
    return refuse(404, 'no such file');
  }
}

function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel.length > 0 && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
