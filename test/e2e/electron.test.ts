// The desktop app end to end through Playwright's `_electron`: the built Electron entry
// (out/main/index.js) on a temp home opens its window, connects through the preload's window.api
// and shows the studio, with no console error; then the same train flow as the browser spec
// (helpers/train-flow.ts). Runs only where an Electron binary is installed; elsewhere (no network
// to download one) it is skipped, and says so in the test output.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron, type ElectronApplication } from 'playwright';
import { afterAll, describe, expect, it } from 'vitest';
import { screenshot } from './helpers/browser';
import { notBuiltReason, REPO_ROOT } from './helpers/serve';
import { describeTrainFlow } from './helpers/train-flow';

export const ELECTRON_SKIP_MESSAGE = 'Electron binary not installed here (no network to download it): Electron e2e skipped';

/**
 * The Electron executable, when one is installed; else null. This repeats the electron package's
 * own lookup (path.txt names the binary under dist/, or ELECTRON_OVERRIDE_DIST_PATH) without
 * require('electron'), which would try to download a missing binary.
 */
function electronBinary(): string | null {
  const pkg = join(REPO_ROOT, 'node_modules/electron');
  const pathFile = join(pkg, 'path.txt');
  const name = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : '';
  const override = process.env['ELECTRON_OVERRIDE_DIST_PATH'];
  const candidate = override ? join(override, name || 'electron') : name ? join(pkg, 'dist', name) : null;
  return candidate && existsSync(candidate) ? candidate : null;
}

const binary = electronBinary();
if (!binary) console.warn(ELECTRON_SKIP_MESSAGE);

describe('the Electron app', () => {
  let app: ElectronApplication | null = null;
  let home: string | null = null;

  afterAll(async () => {
    await app?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('opens its window, connects and shows the studio', async (ctx) => {
    if (!binary) {
      ctx.skip(ELECTRON_SKIP_MESSAGE);
      return;
    }
    const notBuilt = notBuiltReason();
    if (notBuilt) throw new Error(`the Electron app is ${notBuilt}`);
    home = await mkdtemp(join(tmpdir(), 'gan-studio-e2e-electron-'));
    app = await _electron.launch({
      executablePath: binary,
      // --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
      args: [join(REPO_ROOT, 'out/main/index.js'), '--no-sandbox', '--disable-gpu'],
      cwd: REPO_ROOT,
      env: { ...process.env, GAN_STUDIO_HOME: home, GAN_STUDIO_BACKEND: 'wasm' } as Record<string, string>,
    });
    const page = await app.firstWindow();
    const errors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(msg.text());
    });
    page.on('pageerror', (err) => errors.push(err.message));

    await expect.poll(() => page.title()).toBe('GAN Studio');
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByText('Backend:').waitFor({ timeout: 30_000 });
    expect(await nav.textContent()).toMatch(/desktop/);
    const path = await screenshot(page, 'electron');
    console.log(`screenshot: ${path}`);
    expect(errors).toEqual([]);
  });
});

/** Launches the built app on a fresh temp home (wasm backend) and returns its first window. */
async function launchApp(): Promise<{ app: ElectronApplication; home: string }> {
  const notBuilt = notBuiltReason();
  if (notBuilt) throw new Error(`the Electron app is ${notBuilt}`);
  const home = await mkdtemp(join(tmpdir(), 'gan-studio-e2e-electron-'));
  const app = await _electron.launch({
    executablePath: binary!,
    args: [join(REPO_ROOT, 'out/main/index.js'), '--no-sandbox', '--disable-gpu'],
    cwd: REPO_ROOT,
    env: { ...process.env, GAN_STUDIO_HOME: home, GAN_STUDIO_BACKEND: 'wasm' } as Record<string, string>,
  });
  return { app, home };
}

describeTrainFlow('train flow in the Electron app: import → train → stop → runs → resume', binary ? null : ELECTRON_SKIP_MESSAGE, 'electron-', async () => {
  const { app, home } = await launchApp();
  const page = await app.firstWindow();
  return {
    page,
    close: async () => {
      await app.close();
      await rm(home, { recursive: true, force: true });
    },
  };
});
