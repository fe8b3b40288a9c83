// resolveHomeFile: the image route both hosts share. Only real image files inside the home.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveHomeFile } from '../../../src/main/hosts/home-files';

let root: string;
let home: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gs-home-files-'));
  home = join(root, 'home');
  mkdirSync(join(home, 'runs', '1'), { recursive: true });
  writeFileSync(join(home, 'runs', '1', 'grid 0.png'), 'png');
  writeFileSync(join(home, 'studio.db'), 'sqlite');
  writeFileSync(join(root, 'secret.png'), 'secret');
  mkdirSync(join(root, 'outside'));
  writeFileSync(join(root, 'outside', 'x.png'), 'x');
  symlinkSync(join(root, 'secret.png'), join(home, 'runs', 'link.png'));
  symlinkSync(join(root, 'outside'), join(home, 'runs', 'outdir'));
  symlinkSync(join(home, 'runs', '1', 'grid 0.png'), join(home, 'inner-link.png'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('resolveHomeFile', () => {
  it('accepts a real image inside the home (percent-encoded names decoded)', () => {
    const r = resolveHomeFile(home, 'runs/1/grid%200.png');
    expect(r).toMatchObject({ ok: true, contentType: 'image/png', size: 3 });
    if (r.ok) expect(r.path.endsWith(join('runs', '1', 'grid 0.png'))).toBe(true);
    expect(resolveHomeFile(home, 'inner-link.png').ok).toBe(true);
  });

  it.each([
    ['../secret.png', 403],
    ['runs/../../secret.png', 403],
    ['runs/./1/grid%200.png', 403],
    ['%2e%2e/secret.png', 403],
    ['%2E%2E%2Fsecret.png', 403],
    ['runs%2f..%2f..%2fsecret.png', 403],
    ['..%5csecret.png', 403],
    ['runs\\..\\..\\secret.png', 403],
    ['/etc/passwd.png', 403],
    ['//tmp/secret.png', 403],
    ['C:/Windows/x.png', 403],
    ['runs//1/grid%200.png', 403],
    ['runs/link.png', 403],
    ['runs/outdir/x.png', 403],
    ['runs/1/grid%00.png', 403],
    ['runs/1/grid\0.png', 400],
    ['%E0%A4%A', 400],
    ['studio.db', 404],
    ['runs/1/missing.png', 404],
    ['', 404],
  ])('refuses %j with %i', (request, status) => {
    const r = resolveHomeFile(home, request);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.status).toBe(status);
  });

  it('refuses very long paths', () => {
    expect(resolveHomeFile(home, `${'a/'.repeat(3000)}x.png`)).toMatchObject({ ok: false, status: 400 });
  });
});
