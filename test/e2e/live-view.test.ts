// The live view, judged by what a person sees (GitHub issue 15), in Debian's Chromium against the
// built `gan-studio serve` (wasm backend) on a temp home, at a laptop-sized 1024×700:
//  - a grid drawn on the training clock shows within seconds of Start, the whole grid above the
//    fold, each sample at least at its own pixel size, and larger in a larger window;
//  - a click enlarges it (every sample at a whole zoom of 2× or more), ← / → / Home / End step
//    through the timeline, Play animates it, Esc closes; "Save as GIF" links a GIF file;
//  - a quality curve beside the losses, its score among the stats, and a verdict when the run ends;
//  - a run set up to fail (300 copies of one image, no augmentation) is warned about in words, with
//    what to try, ends with a verdict that is no green success, and Runs shows both verdicts.
// Screenshots: test-results/e2e/live-view-*.png, and in $GAN_STUDIO_SCREENSHOTS when set.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissingReason, evidenceScreenshot, launchChromium, watchProblems, type PageProblems } from './helpers/browser';
import { startServe, stopServeCleanly, type RunningServe } from './helpers/serve';
import { importFolderThroughUi, makeShapeFolder, shape, statValue } from './helpers/train-flow';

const missing = chromiumMissingReason();
if (missing) console.warn(missing);

const PER_CLASS = 150; // 300 images of 28 px
const WIDTH = 1024;
const HEIGHT = 700;
const SLOW = 60_000;
/** The issue asks for the first clock grid within about 10 s of Start; a busy 2-core machine gets a little more. */
const FIRST_GRID_MS = 15_000;

type Api = {
  listDatasets(): Promise<{ name: string; count: number; sourcePath: string }[]>;
  listRuns(): Promise<{ id: number; name: string; status: string; step: number; verdict: { code: string; text: string } | null }[]>;
  stopTraining(r: { runId: number }): Promise<null>;
};

interface RunForm {
  /** The dataset's source folder. */
  folder: string;
  model: 'dcgan' | 'gan';
  batch: number;
  steps: number;
  lr?: number;
  remedies?: 'auto' | 'off';
  name: string;
}

describe.skipIf(missing !== null)('the live view shows samples early and large, a quality curve and warnings in words', () => {
  let server: RunningServe;
  let browser: Browser;
  let page: Page;
  let problems: PageProblems;
  let data: string;
  /** What each run ended with (for the Runs page). */
  const verdicts: Record<string, string> = {};

  const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  const timeline = () => page.getByRole('region', { name: 'Samples from fixed latent vectors' });
  const gridImage = () => timeline().locator('img');
  const caption = async () => ((await timeline().locator('label').textContent()) ?? '').replace(/\s+/g, ' ').trim();
  const badge = async () => ((await page.locator('.head .badge').textContent()) ?? '').trim();
  const listRuns = () => page.evaluate(() => (window as unknown as { api: Api }).api.listRuns());
  const listDatasets = () => page.evaluate(() => (window as unknown as { api: Api }).api.listDatasets());
  const shapes = () => join(data, 'shapes');
  const same = () => join(data, 'same');

  /** Fills the Train page and starts; resolves at the click (Date.now()). */
  async function startRun(form: RunForm): Promise<number> {
    await nav('Train').click();
    await page.getByRole('heading', { name: 'Train', level: 1 }).waitFor();
    const name = (await listDatasets()).find((d) => d.sourcePath === form.folder)!.name;
    const dataset = page.getByLabel('Dataset');
    await expect.poll(() => dataset.locator(`option[value="${name}"]`).count()).toBe(1);
    await dataset.selectOption(name);
    await page.getByLabel('Model').selectOption(form.model);
    await page.getByLabel('Image size').selectOption('28');
    await page.getByLabel('Colour').selectOption('1');
    await page.getByLabel('Epochs', { exact: true }).fill('');
    await page.getByLabel('Steps', { exact: true }).fill(String(form.steps));
    await page.getByLabel('Batch size').fill(String(form.batch));
    await page.getByLabel('Learning rate (Adam)').fill(String(form.lr ?? 0.0002));
    await page.getByLabel('Augmentation').selectOption(form.remedies ?? 'auto');
    await page.getByLabel('Averaged generator').selectOption(form.remedies ?? 'auto');
    await page.getByLabel(/Run name/).fill(form.name);
    const start = page.getByRole('button', { name: 'Start training' });
    await expect.poll(() => start.isDisabled()).toBe(false);
    const clicked = Date.now();
    await start.click();
    await page.getByRole('heading', { name: 'Live run', level: 1 }).waitFor({ timeout: SLOW });
    await expect.poll(() => page.locator('.head h2').textContent(), { timeout: SLOW }).toBe(form.name);
    return clicked;
  }

  /**
   * The rest of the page: the app scrolls inside <main>, so a full-page screenshot is the window;
   * this scrolls <main> to its end for a second picture, then back to the top.
   */
  async function screenshotBelow(name: string): Promise<void> {
    await page.evaluate(() => document.querySelector('main')!.scrollTo(0, 1e6));
    await evidenceScreenshot(page, name, { fullPage: false });
    await page.evaluate(() => document.querySelector('main')!.scrollTo(0, 0));
  }

  /** The rendered size of an image against its own pixels. */
  async function scale(img: Locator): Promise<{ natural: number; shown: number; ratio: number }> {
    await expect.poll(() => img.evaluate((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth), { timeout: SLOW }).toBeGreaterThan(0);
    return img.evaluate((el) => {
      const image = el as HTMLImageElement;
      const shown = image.getBoundingClientRect().width;
      return { natural: image.naturalWidth, shown, ratio: shown / image.naturalWidth };
    });
  }

  beforeAll(async () => {
    data = await mkdtemp(join(tmpdir(), 'gan-studio-e2e-live-'));
    await makeShapeFolder(shapes(), PER_CLASS);
    // A set a GAN cannot learn from: one image, 2 × PER_CLASS times.
    await mkdir(same());
    const one = await shape('circles', 3);
    for (let i = 0; i < 2 * PER_CLASS; i++) await writeFile(join(same(), `same-${String(i).padStart(3, '0')}.png`), one);
    server = await startServe();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: WIDTH, height: HEIGHT } });
    problems = await watchProblems(page);
    await page.goto(server.url);
    await page.getByRole('navigation', { name: 'Main' }).getByText('Backend:').waitFor({ timeout: SLOW });
  });

  afterAll(async () => {
    if (page) {
      await page
        .evaluate(async () => {
          const api = (window as unknown as { api: Api }).api;
          for (const r of await api.listRuns()) if (r.status === 'running' || r.status === 'paused') await api.stopTraining({ runId: r.id }).catch(() => null);
        })
        .catch(() => undefined);
    }
    await browser?.close();
    if (server) await stopServeCleanly(server);
    if (data) await rm(data, { recursive: true, force: true });
  });

  it('imports 300 small images, and 300 copies of one', async () => {
    const summary = await importFolderThroughUi(page, shapes());
    expect(await statValue(summary, 'Images')).toBe(2 * PER_CLASS);
    await importFolderThroughUi(page, same());
    await expect.poll(async () => (await listDatasets()).map((d) => [d.sourcePath, d.count]).sort(), { timeout: SLOW }).toEqual([
      [same(), 2 * PER_CLASS],
      [shapes(), 2 * PER_CLASS],
    ]);
  });

  it('shows a grid drawn on the training clock within seconds of Start, whole and above the fold at 1024×700', async () => {
    // Batch 4 and a long run: an epoch is 75 steps and epoch grids come every 4 epochs, so the
    // grids between them are the clock's.
    const clicked = await startRun({ folder: shapes(), model: 'dcgan', batch: 4, steps: 30_000, name: 'healthy' });
    await expect.poll(caption, { timeout: FIRST_GRID_MS + 15_000, interval: 200 }).toMatch(/in progress/);
    const seconds = (Date.now() - clicked) / 1000;
    console.info(`live-view: the first clock grid showed ${seconds.toFixed(1)} s after Start ("${await caption()}")`);
    await evidenceScreenshot(page, 'live-view-first-clock-grid', { fullPage: false });
    expect(seconds * 1000).toBeLessThanOrEqual(FIRST_GRID_MS);
    expect(await caption()).toMatch(/^Step [\d,]+ · epoch \d+ in progress/);

    // The whole grid and its slider are inside the window, without scrolling.
    const box = (await gridImage().boundingBox())!;
    expect(box.y).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(WIDTH);
    expect(box.y + box.height).toBeLessThanOrEqual(HEIGHT);
    const slider = (await page.locator('#live-timeline-slider').boundingBox())!;
    expect(slider.y + slider.height).toBeLessThanOrEqual(HEIGHT);
    expect(await page.evaluate(() => document.querySelector('main')!.scrollTop)).toBe(0);
    // Every sample at least at its own pixel size, drawn crisp.
    const small = await scale(gridImage());
    expect(small.ratio).toBeGreaterThanOrEqual(1);
    expect(await gridImage().evaluate((el) => getComputedStyle(el).imageRendering)).toBe('pixelated');

    // A larger window, a larger grid.
    await page.setViewportSize({ width: 1600, height: 1000 });
    await expect.poll(async () => (await scale(gridImage())).shown).toBeGreaterThan(small.shown * 1.3);
    await page.setViewportSize({ width: WIDTH, height: HEIGHT });
    await expect.poll(async () => (await scale(gridImage())).shown).toBeCloseTo(small.shown, 0);
  });

  it('enlarges the grid on a click: samples at a whole zoom of 2× or more, arrows and keys step through the timeline, Esc closes', async () => {
    await expect.poll(() => page.locator('#live-timeline-slider').getAttribute('max').then(Number), { timeout: SLOW }).toBeGreaterThanOrEqual(1);
    await gridImage().click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const title = async () => ((await dialog.getByRole('heading', { level: 2 }).textContent()) ?? '').trim();
    const big = dialog.locator('img');
    const zoom = await scale(big);
    console.info(`live-view: the enlarged grid is ${zoom.shown} px for ${zoom.natural} px (×${zoom.ratio})`);
    expect(zoom.ratio).toBeGreaterThanOrEqual(2);
    expect(Number.isInteger(Math.round(zoom.ratio * 1000) / 1000)).toBe(true);
    expect(await big.evaluate((el) => getComputedStyle(el).imageRendering)).toBe('pixelated');

    // Keys: Home is the grid before training; → the next one; ← back; End the latest.
    await page.keyboard.press('Home');
    await expect.poll(title).toBe('Samples before training');
    const firstSrc = await big.getAttribute('src');
    await page.keyboard.press('ArrowRight');
    await expect.poll(title).not.toBe('Samples before training');
    expect(await big.getAttribute('src')).not.toBe(firstSrc);
    await page.keyboard.press('ArrowLeft');
    await expect.poll(title).toBe('Samples before training');
    await page.keyboard.press('End');
    await expect.poll(title).not.toBe('Samples before training');
    // The buttons do the same.
    await dialog.getByRole('button', { name: 'First grid' }).click();
    await expect.poll(title).toBe('Samples before training');
    await dialog.getByRole('button', { name: 'Next grid' }).click();
    await expect.poll(title).not.toBe('Samples before training');

    // Play runs through the timeline from the start and stops at the latest grid.
    await dialog.getByRole('button', { name: 'First grid' }).click();
    const play = dialog.getByRole('button', { name: /^(Play|Pause)$/ });
    await play.click();
    await expect.poll(title, { timeout: 10_000 }).not.toBe('Samples before training');
    await expect.poll(() => play.textContent().then((t) => t?.trim()), { timeout: 30_000 }).toBe('Play');
    await evidenceScreenshot(page, 'live-view-enlarged', { fullPage: false });

    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible()).toBe(false);
    // Focus goes back to where it was.
    expect(await page.evaluate(() => document.activeElement?.closest('section')?.getAttribute('aria-labelledby'))).toBe('live-timeline-heading');
  });

  it('saves the timeline as an animated GIF and links it', async () => {
    await timeline().getByRole('button', { name: 'Enlarge', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Save as GIF' }).click();
    const link = dialog.getByRole('link', { name: 'Download timeline.gif' });
    await link.waitFor({ timeout: SLOW });
    expect(await link.getAttribute('download')).toBe('timeline.gif');
    const href = (await link.getAttribute('href'))!;
    const head = await page.evaluate(async (url) => {
      const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
      return { magic: String.fromCharCode(...bytes.slice(0, 6)), size: bytes.length };
    }, href);
    expect(head.magic).toMatch(/^GIF8[79]a$/);
    expect(head.size).toBeGreaterThan(100);
    // It says where the file is, and the file is there.
    const where = ((await dialog.locator('code').textContent()) ?? '').trim();
    expect(where.startsWith(server.home)).toBe(true);
    expect(where.endsWith('timeline.gif')).toBe(true);
    expect(existsSync(where)).toBe(true);
    await evidenceScreenshot(page, 'live-view-gif-saved', { fullPage: false });
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible()).toBe(false);
  });

  it('charts quality beside the losses, says what it is, shows the score, and gives a verdict at the end', async () => {
    const chart = page.getByRole('img', { name: /quality score, 0 to 100, by training step/ });
    await chart.waitFor();
    await expect.poll(() => chart.getByText('No evaluation yet').count(), { timeout: SLOW }).toBe(0);
    await expect.poll(() => page.getByText(/Quality compares 256 samples from fixed latent vectors with the training images/).count()).toBe(1);
    const progress = page.getByRole('region', { name: 'Progress' });
    await expect.poll(() => statValue(progress, 'Quality'), { timeout: SLOW }).toBeGreaterThanOrEqual(0);
    expect(await statValue(progress, 'Quality')).toBeLessThanOrEqual(100);
    // Some way in (about 20 s of training), for the picture.
    await expect.poll(() => statValue(progress, 'Step'), { timeout: SLOW }).toBeGreaterThanOrEqual(150);
    // No warning while this run goes well.
    expect(await page.getByRole('region', { name: /warnings?$/i }).locator('li').count()).toBe(0);
    await evidenceScreenshot(page, 'live-view-healthy', { fullPage: false });
    await screenshotBelow('live-view-healthy-below');

    await page.getByRole('group', { name: 'Run controls' }).getByRole('button', { name: 'Stop' }).click();
    await expect.poll(badge, { timeout: SLOW }).toBe('stopped');
    const verdict = page.locator('.verdict-alert');
    await expect.poll(() => verdict.textContent().then((t) => t ?? ''), { timeout: SLOW }).toMatch(/Verdict: \S/);
    verdicts.healthy = ((await verdict.locator('strong.verdict').textContent()) ?? '').trim();
    console.info(`live-view: the healthy run's verdict: ${verdicts.healthy}`);
    await evidenceScreenshot(page, 'live-view-healthy-stopped', { fullPage: false });
  });

  it('warns in words, with what to try, about a run set up to fail, and judges it at the end', async () => {
    // One image 300 times, without augmentation: D learns it by heart and wins outright. Nothing is
    // judged in the first 200 steps, and step judgements average 100 steps: warnings come past 300;
    // the verdict wants three quality measurements after the first 200 steps.
    await startRun({ folder: same(), model: 'dcgan', batch: 4, steps: 400, remedies: 'off', name: 'failing' });
    const warnings = page.getByRole('region', { name: /warnings?$/i }).locator('li');
    await expect.poll(() => warnings.count(), { timeout: 150_000, interval: 500 }).toBeGreaterThan(0);
    const first = warnings.first();
    expect(((await first.locator('.message').textContent()) ?? '').length).toBeGreaterThan(20);
    expect(await first.locator('.advice').textContent()).toMatch(/What to try: \S/);
    await expect.poll(badge, { timeout: SLOW }).toBe('completed');
    const verdict = page.locator('.verdict-alert');
    await expect.poll(() => verdict.textContent().then((t) => t ?? ''), { timeout: SLOW }).toMatch(/Verdict: \S/);
    verdicts.failing = ((await verdict.locator('strong.verdict').textContent()) ?? '').trim();
    const code = await verdict.getAttribute('data-verdict');
    console.info(`live-view: the failing run's verdict: ${code}: ${verdicts.failing}; warnings: ${(await warnings.locator('.title strong').allTextContents()).join(' / ')}`);
    await evidenceScreenshot(page, 'live-view-failing', { fullPage: false });
    await screenshotBelow('live-view-failing-below');
    // A run that raised warnings and was not judged good does not end on a green "completed".
    if (code !== 'improving' && code !== 'converged') {
      expect(await page.locator('.head .badge').getAttribute('class')).toMatch(/\b(warn|bad)\b/);
      expect(await verdict.getByRole('alert').count()).toBe(1);
    }
  });

  it('lists each run’s verdict in Runs, and the failing run’s warnings and quality in its details', async () => {
    await nav('Runs').click();
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
    const runs = await listRuns();
    expect(runs.map((r) => r.name).sort()).toEqual(['failing', 'healthy']);
    for (const r of runs) {
      expect(r.verdict).not.toBeNull();
      const row = page.locator('table.data tbody tr').filter({ hasText: r.name });
      await expect.poll(() => row.locator('.verdict').textContent()).toBe(r.verdict!.text);
    }
    await page.getByRole('button', { name: /#\d+ failing/ }).click();
    const detail = page.getByRole('region', { name: 'failing' });
    await detail.getByRole('heading', { name: 'failing' }).waitFor({ timeout: SLOW });
    await expect.poll(() => detail.getByRole('region', { name: /warnings?$/i }).locator('li').count(), { timeout: SLOW }).toBeGreaterThan(0);
    const chart = detail.getByRole('img', { name: /quality score, 0 to 100, by training step/ });
    await expect.poll(() => chart.getByText('No evaluation yet').count(), { timeout: SLOW }).toBe(0);
    await evidenceScreenshot(page, 'live-view-runs-failing-detail', { fullPage: false });
    await screenshotBelow('live-view-runs-failing-detail-below');
  });

  it('logged no console error and no CSP violation', async () => {
    expect(await problems.cspViolations()).toEqual([]);
    expect(problems.errors).toEqual([]);
  });
});
