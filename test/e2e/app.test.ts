// The browser UI end to end: the built renderer served by `gan-studio serve` on a temp home, in
// Debian's Chromium. The page loads, connects over the WebSocket, reports the training backend,
// and logs no console error and no Content-Security-Policy violation.
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissingReason, launchChromium, screenshot, watchProblems, type PageProblems } from './helpers/browser';
import { startServe, type RunningServe, stopServeCleanly } from './helpers/serve';

const missing = chromiumMissingReason();
if (missing) console.warn(missing);

describe.skipIf(missing !== null)('gan-studio serve in Chromium', () => {
  let server: RunningServe;
  let browser: Browser;
  let page: Page;
  let problems: PageProblems;

  beforeAll(async () => {
    server = await startServe();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    problems = await watchProblems(page);
  });

  afterAll(async () => {
    await browser?.close();
    if (server) {
      await stopServeCleanly(server);
    }
  });

  it('serves the app, which connects and shows the studio', async () => {
    const response = await page.goto(server.url);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await expect.poll(() => page.title()).toBe('GAN Studio');

    // Connected: App.svelte's navigation footer shows the backend line once appInfo has answered.
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByText('Backend:').waitFor({ timeout: 30_000 });
    await expect.poll(() => page.getByText('Connecting to GAN Studio').count()).toBe(0);
    expect(await nav.textContent()).toMatch(/browser/);
  });

  it('reports the wasm backend once it is detected', async () => {
    // Through the page's own window.api (the WebSocket client), as the Train page's "Detect now" does.
    const info = await page.evaluate(() => (window as unknown as { api: { appInfo(r: { probeBackend: boolean }): Promise<{ backend: { name: string; reason: string } | null }> } }).api.appInfo({ probeBackend: true }));
    expect(info.backend?.name).toBe('wasm');

    // The server now knows its backend: a fresh page load shows it in the navigation.
    const violationsBefore = await problems.cspViolations();
    await page.reload();
    const backendLine = page.getByRole('navigation', { name: 'Main' }).getByText(/^\s*Backend:/);
    await backendLine.waitFor({ timeout: 30_000 });
    await expect.poll(() => backendLine.textContent()).toMatch(/Backend:\s*(WebAssembly|wasm)/);
    expect(await backendLine.getAttribute('title')).toBe(info.backend?.reason);
    expect(violationsBefore).toEqual([]);
  });

  it('logs no console error and no CSP violation, and leaves a screenshot', async () => {
    const path = await screenshot(page, 'app');
    console.log(`screenshot: ${path}`);
    expect(await problems.cspViolations()).toEqual([]);
    expect(problems.errors).toEqual([]);
  });
});
