import { mkdtemp, rm, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureHome, resolveHome, runDir } from '../../../src/main/core/home';

describe('resolveHome', () => {
  it('prefers --home over the environment and the default', () => {
    const env = { GAN_STUDIO_HOME: '/tmp/from-env' };
    expect(resolveHome({ home: '/tmp/from-flag', env })).toBe(path.resolve('/tmp/from-flag'));
  });

  it('uses GAN_STUDIO_HOME when there is no --home', () => {
    expect(resolveHome({ env: { GAN_STUDIO_HOME: '/tmp/from-env' } })).toBe(
      path.resolve('/tmp/from-env'),
    );
    expect(resolveHome({ home: '', env: { GAN_STUDIO_HOME: '/tmp/from-env' } })).toBe(
      path.resolve('/tmp/from-env'),
    );
  });

  it('falls back to ~/.gan-studio', () => {
    expect(resolveHome({ env: {} })).toBe(path.join(homedir(), '.gan-studio'));
    expect(resolveHome({ env: { GAN_STUDIO_HOME: '  ' } })).toBe(
      path.join(homedir(), '.gan-studio'),
    );
  });

  it('reads process.env by default', () => {
    const saved = process.env.GAN_STUDIO_HOME;
    process.env.GAN_STUDIO_HOME = '/tmp/proc-env-home';
    try {
      expect(resolveHome()).toBe(path.resolve('/tmp/proc-env-home'));
    } finally {
      if (saved === undefined) delete process.env.GAN_STUDIO_HOME;
      else process.env.GAN_STUDIO_HOME = saved;
    }
  });

  it('returns absolute paths (relative values resolve against the cwd, ~ expands)', () => {
    expect(resolveHome({ home: 'rel/home', env: {} })).toBe(path.resolve(process.cwd(), 'rel/home'));
    expect(resolveHome({ home: '~/x', env: {} })).toBe(path.join(homedir(), 'x'));
  });
});

describe('ensureHome / runDir', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'gan-home-'));
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('creates the home with runs/ and datasets/, private to the user', async () => {
    const home = path.join(tmp, 'nested', 'home');
    expect(ensureHome(home)).toBe(home);
    expect((await stat(path.join(home, 'runs'))).isDirectory()).toBe(true);
    expect((await stat(path.join(home, 'datasets'))).isDirectory()).toBe(true);
    if (process.platform !== 'win32') {
      expect((await stat(home)).mode & 0o777).toBe(0o700);
    }
    // Idempotent.
    expect(() => ensureHome(home)).not.toThrow();
  });

  it('runDir is <home>/runs/<id>', () => {
    expect(runDir('/h', 7)).toBe(path.join('/h', 'runs', '7'));
    expect(() => runDir('/h', 0)).toThrow();
  });
});
