// `gan-studio serve`: its arguments, and the built command end to end (port 0, SIGINT → exit 0).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommand, SERVE_DEFAULT_PORT, UsageError } from '../../../../src/main/hosts/cli/args';

const REPO = resolve(import.meta.dirname, '../../../..');
const BUNDLE = join(REPO, 'out', 'main', 'cli.js');
const BUILT = existsSync(BUNDLE) && existsSync(join(REPO, 'out', 'renderer', 'index.html'));

describe('serve arguments', () => {
  it('defaults to 127.0.0.1 and the default port', () => {
    expect(parseCommand(['serve'])).toEqual({ name: 'serve', home: undefined, json: false, port: SERVE_DEFAULT_PORT, host: '127.0.0.1' });
    expect(parseCommand(['serve', '--port', '0', '--host', '[::1]'])).toMatchObject({ port: 0, host: '::1' });
    expect(parseCommand(['serve', '--host', '0.0.0.0'])).toMatchObject({ host: '0.0.0.0' });
  });

  it('refuses bad ports and hosts', () => {
    expect(() => parseCommand(['serve', '--port', '70000'])).toThrow(UsageError);
    expect(() => parseCommand(['serve', '--port', 'x'])).toThrow(UsageError);
    expect(() => parseCommand(['serve', '--host', 'a b'])).toThrow(UsageError);
    expect(() => parseCommand(['serve', '--nope'])).toThrow(UsageError);
  });
});

describe.skipIf(!BUILT)('gan-studio serve (built)', () => {
  it('prints its address, serves the UI, and exits 0 on SIGINT', async () => {
    const home = mkdtempSync(join(tmpdir(), 'gs-serve-'));
    const child = spawn(process.execPath, [join(REPO, 'bin', 'gan-studio.js'), 'serve', '--port', '0', '--home', home], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const url = await new Promise<string>((resolveUrl, reject) => {
        const timer = setTimeout(() => reject(new Error(`no address printed: ${out}`)), 30_000);
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /GAN Studio at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolveUrl(m[1]!);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(home, { recursive: true, force: true });
    }
  });
});
