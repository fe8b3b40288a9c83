// The latent lab in Debian's Chromium against the built `gan-studio serve`: a tiny run trained
// through the API, a gallery generated on the Gallery page, then an arithmetic (a − b + c with b a
// mean of two images) and an interpolation run from the lab panel; the result images load in the
// page and their files exist under the studio home. Then a tiny conditional run: an operand drawn in
// a class picked in the lab, and a walk from one class to another.
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticIdxSet } from '../integration/helpers/idx-files';
import { chromiumMissingReason, launchChromium, screenshot, watchProblems, type PageProblems } from './helpers/browser';
import { startServe, type RunningServe, stopServeCleanly } from './helpers/serve';

const missing = chromiumMissingReason();
if (missing) console.warn(missing);
const SLOW = 60_000;

type Api = {
  appInfo(): Promise<{ home: string }>;
  startTraining(r: object): Promise<{ runId: number }>;
  listRuns(): Promise<{ id: number; name: string; status: string }[]>;
};

describe.skipIf(missing !== null)('latent lab in Chromium: arithmetic and interpolation over a gallery', () => {
  let server: RunningServe;
  let browser: Browser;
  let page: Page;
  let problems: PageProblems;
  let data: string;
  let home: string;
  let idxPath: string;
  let shapes: string;

  const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  const loaded = (selector: string) =>
    page.locator(selector).evaluateAll((imgs) => imgs.length > 0 && imgs.every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0));
  const srcPaths = (selector: string) =>
    page.locator(selector).evaluateAll((imgs) => imgs.map((i) => decodeURIComponent(new URL((i as HTMLImageElement).src).pathname.replace(/^\/files\//, ''))));

  beforeAll(async () => {
    data = await mkdtemp(join(tmpdir(), 'gan-studio-e2e-lab-data-'));
    const idx = writeSyntheticIdxSet(data, 16);
    shapes = join(data, 'shapes');
    for (const [cls, shade] of [['circle', 40], ['square', 220]] as const) {
      mkdirSync(join(shapes, cls), { recursive: true });
      for (let i = 0; i < 8; i++) {
        await sharp(Buffer.alloc(28 * 28, shade + i), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(shapes, cls, `${i}.png`));
      }
    }
    server = await startServe({ env: { GAN_STUDIO_BACKEND: 'wasm' } });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    problems = await watchProblems(page);
    await page.goto(server.url);
    await page.getByRole('navigation', { name: 'Main' }).getByText('Backend:').waitFor({ timeout: SLOW });
    home = await page.evaluate(async () => (await (window as unknown as { api: Api }).api.appInfo()).home);
    idxPath = idx;
  });

  afterAll(async () => {
    await browser?.close();
    if (server) {
      await stopServeCleanly(server);
    }
    if (data) await rm(data, { recursive: true, force: true });
  });

  it('trains a tiny run through the API', async () => {
    await page.evaluate(
      (path) => (window as unknown as { api: Api }).api.startTraining({ data: path, model: 'gan', latent: 8, steps: 2, batch: 8, name: 'tiny-lab', backend: 'wasm' }),
      idxPath,
    );
    await expect
      .poll(() => page.evaluate(async () => (await (window as unknown as { api: Api }).api.listRuns())[0]?.status), { timeout: SLOW })
      .toBe('completed');
  });

  it('generates a gallery on the Gallery page', async () => {
    await nav('Gallery').click();
    await page.getByRole('heading', { name: 'Gallery', level: 1 }).waitFor();
    const run = page.getByLabel('Source');
    await expect.poll(() => run.locator('option').count(), { timeout: SLOW }).toBeGreaterThan(1);
    await run.selectOption({ index: 1 });
    await page.getByLabel('Images', { exact: true }).fill('6');
    await page.getByRole('button', { name: 'Generate' }).click();
    await expect.poll(() => page.getByRole('button', { name: /^Image \d+/ }).count(), { timeout: SLOW }).toBe(6);
    await page.getByRole('heading', { name: 'Latent lab', level: 2 }).waitFor();
  });

  it('runs a − b + c with b a mean of two images (mouse, shift-click and keyboard)', async () => {
    const labImage = (n: number) => page.getByRole('button', { name: new RegExp(`^Lab image ${n}(,|$)`) });
    await labImage(1).click(); // a = image 1, moves on to b
    await labImage(2).click(); // b = image 2, moves on to c
    await page.getByRole('radio', { name: /^b\b/ }).check();
    await labImage(3).click({ modifiers: ['Shift'] }); // b = mean of images 2 and 3
    await page.getByRole('radio', { name: /^c\b/ }).check();
    await labImage(4).focus();
    await page.keyboard.press('Enter'); // c = image 4
    await expect.poll(() => page.getByTestId('operand-a').textContent()).toBe('image 1');
    await expect.poll(() => page.getByTestId('operand-b').textContent()).toBe('mean of images 2, 3');
    await expect.poll(() => page.getByTestId('operand-c').textContent()).toBe('image 4');
    await expect.poll(() => page.getByLabel('Expression').inputValue()).toBe('a - b + c');

    await page.getByRole('button', { name: 'Run arithmetic' }).click();
    const result = page.getByTestId('arithmetic-result');
    await result.waitFor({ timeout: SLOW });
    await expect.poll(() => result.getByText('G(a - b + c) · latent space').count()).toBe(1);
    await expect.poll(() => result.getByText('G(a) - G(b) + G(c) · pixel-wise').count()).toBe(1);
    await expect.poll(() => loaded('[data-testid="arithmetic-result"] img'), { timeout: SLOW }).toBe(true);
    const files = await srcPaths('[data-testid="arithmetic-result"] img');
    expect(files).toHaveLength(5);
    for (const f of files) expect(existsSync(join(home, f)), f).toBe(true);
  });

  it('shows an expression error in words', async () => {
    await page.getByLabel('Expression').fill('a - d');
    await page.getByRole('button', { name: 'Run arithmetic' }).click();
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'operand "d"' }).count(), { timeout: SLOW }).toBe(1);
    await page.getByLabel('Expression').fill('a - b + c');
  });

  it('interpolates between two images: strip and animated GIF', async () => {
    await page.getByLabel('From', { exact: true }).selectOption({ label: 'Image 1' });
    await page.getByLabel('To', { exact: true }).selectOption({ label: 'Image 6' });
    await page.getByLabel('Mode', { exact: true }).selectOption('lerp');
    await page.getByLabel('Frames', { exact: true }).fill('6');
    await page.getByRole('button', { name: 'Interpolate' }).click();
    const result = page.getByTestId('interpolation-result');
    await result.waitFor({ timeout: SLOW });
    await expect.poll(() => result.getByText('Strip · 6 frames · lerp').count()).toBe(1);
    await expect.poll(() => loaded('[data-testid="interpolation-result"] img'), { timeout: SLOW }).toBe(true);
    const files = await srcPaths('[data-testid="interpolation-result"] img');
    expect(files.map((f) => f.split('/').pop())).toEqual(['strip.png', 'animation.gif']);
    for (const f of files) expect(existsSync(join(home, f)), f).toBe(true);
    await screenshot(page, 'latent-lab');
  });

  it('draws an operand and a walk in classes picked for a conditional run', async () => {
    await page.evaluate(
      (path) => (window as unknown as { api: Api }).api.startTraining({ data: path, model: 'cgan', labels: true, latent: 8, steps: 2, batch: 8, name: 'tiny-classes', backend: 'wasm' }),
      shapes,
    );
    await expect
      .poll(() => page.evaluate(async () => (await (window as unknown as { api: Api }).api.listRuns()).find((r) => r.name === 'tiny-classes')?.status), { timeout: SLOW })
      .toBe('completed');
    await nav('Runs').click();
    await nav('Gallery').click();
    const source = page.getByLabel('Source');
    await expect.poll(() => source.locator('option').allTextContents(), { timeout: SLOW }).toContainEqual(expect.stringMatching(/tiny-classes/));
    await source.selectOption({ label: (await source.locator('option').allTextContents()).find((t) => t.includes('tiny-classes'))! });
    await page.getByLabel('Images per class').fill('2');
    await page.getByRole('button', { name: 'Generate' }).click();
    await expect.poll(() => page.getByRole('button', { name: /^Image \d+ \((circle|square)\)$/ }).count(), { timeout: SLOW }).toBe(4);

    // Operand a: image 1 (a circle) drawn as a square.
    await page.getByRole('button', { name: /^Lab image 1 \(circle\)/ }).click();
    await page.getByLabel('Class of operand a').selectOption({ label: 'square' });
    await page.getByLabel('Expression').fill('a');
    await page.getByRole('button', { name: 'Run arithmetic' }).click();
    const sum = page.getByTestId('arithmetic-result');
    await expect.poll(() => sum.getByText('G(a) · image 1 · square').count(), { timeout: SLOW }).toBe(1);
    await expect.poll(() => sum.getByText('G(a) · latent space · square').count()).toBe(1);

    // A walk from image 1 (a circle) to image 2 (a circle) that ends as a square.
    await page.getByLabel('From', { exact: true }).selectOption({ label: 'Image 1' });
    await page.getByLabel('To', { exact: true }).selectOption({ label: 'Image 2' });
    await page.getByLabel('To class').selectOption({ label: 'square' });
    await page.getByLabel('Frames', { exact: true }).fill('4');
    await page.getByRole('button', { name: 'Interpolate' }).click();
    const walk = page.getByTestId('interpolation-result');
    await expect.poll(() => walk.getByText(/^Strip · 4 frames · \w+ · circle → square$/).count(), { timeout: SLOW }).toBe(1);
    await expect.poll(() => loaded('[data-testid="interpolation-result"] img'), { timeout: SLOW }).toBe(true);
    await screenshot(page, 'latent-lab-classes');
  });

  it('logged no console error and no CSP violation', async () => {
    expect(await problems.cspViolations()).toEqual([]);
    expect(problems.errors).toEqual([]);
  });
});
