// Debian's Chromium for the e2e specs, driven by Playwright; never a downloaded browser.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright';
import { REPO_ROOT } from './serve';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Why the browser specs cannot run here, or null when they can. */
export function chromiumMissingReason(): string | null {
  return existsSync(CHROMIUM_PATH)
    ? null
    : `${CHROMIUM_PATH} not found (install Debian's chromium: apt-get install -y chromium, as scripts/setup.sh does): browser e2e skipped`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Where screenshots go: test-results/e2e/ (gitignored). */
export const SCREENSHOT_DIR = join(REPO_ROOT, 'test-results/e2e');

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * A screenshot kept as evidence: to test-results/e2e/<name>.png and, when the environment names a
 * folder in GAN_STUDIO_SCREENSHOTS, there too. `fullPage: false` keeps only what the window shows
 * (what is above the fold). Returns the paths written.
 */
export async function evidenceScreenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string[]> {
  const dirs = [SCREENSHOT_DIR, process.env.GAN_STUDIO_SCREENSHOTS].filter((d): d is string => !!d);
  const image = await page.screenshot({ fullPage: options.fullPage ?? true });
  const paths: string[] = [];
  for (const dir of dirs) {
    try {
      await mkdir(dir, { recursive: true });
      const path = join(dir, `${name}.png`);
      await writeFile(path, image);
      paths.push(path);
    } catch (err) {
      console.warn(`screenshot ${name} not saved in ${dir}: ${(err as Error).message}`);
    }
  }
  return paths;
}

export interface PageProblems {
  /** console.error messages and uncaught page errors. */
  errors: string[];
  /** securitypolicyviolation events seen by the page: "directive blocked-uri". */
  cspViolations(): Promise<string[]>;
}

/**
 * Records what a page reports as wrong: console errors, uncaught exceptions, and Content-Security-
 * Policy violations (caught by a listener installed before any of the page's own scripts run).
 * Call before page.goto.
 */
export async function watchProblems(page: Page): Promise<PageProblems> {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console.error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.effectiveDirective} ${e.blockedURI}`));
  });
  return {
    errors,
    cspViolations: () => page.evaluate(() => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? []),
  };
}
