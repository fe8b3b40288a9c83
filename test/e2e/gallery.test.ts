// The gallery in Debian's Chromium against the built `gan-studio serve`: a tiny two-epoch run trained
// through the API, opened from Runs with its "Gallery" button; generate, pick three images (mouse and
// keyboard), save them through the server-side folder browser, and find the three PNGs on disk; draw
// one image again at the first epoch's checkpoint, next to the original; import the run's exported
// generator on the page and draw a gallery from it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticIdxSet } from '../integration/helpers/idx-files';
import { chromiumMissingReason, launchChromium, screenshot, watchProblems, type PageProblems } from './helpers/browser';
import { REPO_ROOT, startServe, type RunningServe, stopServeCleanly } from './helpers/serve';

const missing = chromiumMissingReason();
if (missing) console.warn(missing);
const SLOW = 60_000;

type Api = {
  startTraining(r: object): Promise<{ runId: number }>;
  listRuns(): Promise<{ id: number; name: string; status: string }[]>;
};

describe.skipIf(missing !== null)('gallery in Chromium: generate → pick three → save → regenerate at a checkpoint → imported model', () => {
  let server: RunningServe;
  let browser: Browser;
  let page: Page;
  let problems: PageProblems;
  let data: string;
  let out: string;
  let idxPath: string;

  const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

  beforeAll(async () => {
    data = await mkdtemp(join(tmpdir(), 'gan-studio-e2e-gallery-data-'));
    out = await mkdtemp(join(tmpdir(), 'gan-studio-e2e-gallery-out-'));
    const idx = writeSyntheticIdxSet(data, 16);
    server = await startServe({ env: { GAN_STUDIO_BACKEND: 'wasm' } });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    problems = await watchProblems(page);
    await page.goto(server.url);
    await page.getByRole('navigation', { name: 'Main' }).getByText('Backend:').waitFor({ timeout: SLOW });
    idxPath = idx;
  });

  afterAll(async () => {
    await browser?.close();
    if (server) {
      await stopServeCleanly(server);
    }
    for (const dir of [data, out]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('trains a tiny run through the API', async () => {
    await page.evaluate(
      // 16 images, batch 8: checkpoints (and generator snapshots) at steps 2 and 4.
      (path) => (window as unknown as { api: Api }).api.startTraining({ data: path, model: 'gan', latent: 8, epochs: 2, batch: 8, name: 'tiny-gallery', backend: 'wasm' }),
      idxPath,
    );
    await expect
      .poll(() => page.evaluate(async () => (await (window as unknown as { api: Api }).api.listRuns())[0]?.status), { timeout: SLOW })
      .toBe('completed');
  });

  it('opens the run’s gallery from Runs and generates images', async () => {
    await nav('Runs').click();
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
    await page.getByRole('button', { name: /#\d+ tiny-gallery/ }).click();
    const detail = page.getByRole('region', { name: 'tiny-gallery' });
    const open = detail.getByRole('button', { name: 'Gallery', exact: true });
    await expect.poll(() => open.isEnabled(), { timeout: SLOW }).toBe(true);
    await open.click();
    await page.getByRole('heading', { name: 'Gallery', level: 1 }).waitFor();
    await expect.poll(() => page.getByLabel('Source').inputValue()).toMatch(/^run:\d+$/);

    await page.getByLabel('Images', { exact: true }).fill('6');
    await page.getByLabel('Seed').fill('3');
    await page.getByRole('button', { name: 'Generate' }).click();
    const tiles = page.getByRole('button', { name: /^Image \d+/ });
    await expect.poll(() => tiles.count(), { timeout: SLOW }).toBe(6);
    // The thumbnails load (the studio's file route serves them).
    await expect.poll(() => page.locator('.tile img').evaluateAll((imgs) => imgs.every((i) => (i as HTMLImageElement).naturalWidth === 28))).toBe(true);
    // The size slider zooms the grid.
    await page.getByLabel('Size').fill('160');
    await expect.poll(() => page.locator('.tile img').first().evaluate((i) => (i as HTMLImageElement).width)).toBe(160);
  });

  it('picks three images with the mouse and the keyboard', async () => {
    const tile = (n: number) => page.getByRole('button', { name: `Image ${n}`, exact: true });
    await tile(1).click();
    await tile(3).click();
    await tile(5).focus();
    await page.keyboard.press('Space');
    await expect.poll(() => page.getByTestId('picked-count').textContent()).toBe('3');
    for (const n of [1, 3, 5]) expect(await tile(n).getAttribute('aria-pressed')).toBe('true');
    for (const n of [2, 4, 6]) expect(await tile(n).getAttribute('aria-pressed')).toBe('false');
    await screenshot(page, 'gallery');
  });

  it('saves the picked images into a folder chosen in the folder browser', async () => {
    await page.getByRole('button', { name: 'Save picked…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Choose a folder' });
    await dialog.waitFor();
    await dialog.getByLabel('Folder path').fill(out);
    await dialog.getByRole('button', { name: 'Go' }).click();
    await expect.poll(() => dialog.getByLabel('Folder path').inputValue()).toBe(out);
    await dialog.getByRole('button', { name: 'Choose this folder' }).click();

    const status = page.getByRole('status').filter({ hasText: 'Saved 3 files' });
    await status.waitFor({ timeout: SLOW });
    expect(await status.textContent()).toContain(out);
    const files = readdirSync(out).filter((f) => f.endsWith('.png')).sort();
    expect(files).toHaveLength(3);
    for (const f of files) {
      expect(existsSync(join(out, f))).toBe(true);
      const meta = await sharp(join(out, f)).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', 28, 28]);
    }
    expect(files.map((f) => /-(\d{4})\.png$/.exec(f)?.[1])).toEqual(['0000', '0002', '0004']);
  });

  it('draws an image again at the first epoch’s checkpoint, next to the original', async () => {
    await page.getByRole('button', { name: 'Regenerate image 2 at checkpoint…' }).click();
    const panel = page.getByRole('region', { name: 'Regenerate at checkpoint' });
    await panel.waitFor();
    const step = panel.getByLabel('Checkpoint');
    await expect.poll(() => step.locator('option').allTextContents(), { timeout: SLOW }).toEqual(['step 2 · epoch 1', 'step 4 · epoch 2 (this gallery)']);
    expect(await step.inputValue()).toBe('2');
    await panel.getByRole('button', { name: 'Regenerate', exact: true }).click();
    const drawn = panel.getByTestId('regenerated');
    await expect.poll(() => drawn.count(), { timeout: SLOW }).toBe(1);
    expect(await drawn.locator('figcaption').textContent()).toBe('step 2 · epoch 1');
    expect(await panel.getByText('Original · step 4 · epoch 2').count()).toBe(1);
    await expect
      .poll(() => panel.locator('img').evaluateAll((imgs) => imgs.length === 2 && imgs.every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth === 28)), { timeout: SLOW })
      .toBe(true);
    const src = await drawn.locator('img').getAttribute('src');
    expect(decodeURIComponent(src ?? '')).toMatch(/\/files\/galleries\/\d+\/regenerated\/0001-step2\.png$/);
    await screenshot(page, 'gallery-regenerate');
  });

  it('imports the run’s exported generator on the page and draws a gallery from it', async () => {
    const exported = join(out, 'export');
    const runs = await page.evaluate(async () => (window as unknown as { api: Api }).api.listRuns());
    const cli = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/gan-studio.js'), 'export', '--run', String(runs[0]!.id), '--out', exported, '--home', server.home], {
      env: { ...process.env, GAN_STUDIO_BACKEND: 'wasm' },
      encoding: 'utf8',
      timeout: SLOW,
    });
    expect(cli.status, cli.stderr).toBe(0);

    const models = page.getByRole('region', { name: 'Imported models' });
    await models.getByLabel('Name').fill('tiny-model');
    await models.getByRole('button', { name: 'Import model…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Choose a folder' });
    await dialog.waitFor();
    await dialog.getByLabel('Folder path').fill(exported);
    await dialog.getByRole('button', { name: 'Go' }).click();
    await expect.poll(() => dialog.getByLabel('Folder path').inputValue()).toBe(exported);
    await dialog.getByRole('button', { name: 'Choose this folder' }).click();
    await models.getByRole('status').filter({ hasText: 'Imported “tiny-model”' }).waitFor({ timeout: SLOW });
    expect(await models.getByRole('row', { name: /tiny-model/ }).count()).toBe(1);

    // The model is a source beside the runs.
    const source = page.getByLabel('Source');
    expect(await source.locator('optgroup[label="Imported models"] option').allTextContents()).toEqual(['tiny-model · GAN (MLP) · step 4']);
    await source.selectOption({ label: 'tiny-model · GAN (MLP) · step 4' });
    await page.getByLabel('Images', { exact: true }).fill('4');
    await page.getByRole('button', { name: 'Generate' }).click();
    await expect.poll(() => page.getByRole('button', { name: /^Image \d+/ }).count(), { timeout: SLOW }).toBe(4);
    expect(await page.getByRole('heading', { name: 'tiny-model · seed 3', level: 2 }).count()).toBe(1);
    await expect.poll(() => page.locator('.tile img').evaluateAll((imgs) => imgs.every((i) => (i as HTMLImageElement).naturalWidth === 28))).toBe(true);
  });

  it('logged no console error and no CSP violation', async () => {
    expect(await problems.cspViolations()).toEqual([]);
    expect(problems.errors).toEqual([]);
  });
});
