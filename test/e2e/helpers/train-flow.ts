// The whole journey through the UI, written once and run against every host that can show it:
// import a folder of generated images, train a DCGAN-28, watch both charts gain points and the
// sample timeline grow, stop, find the run in Runs, open it, resume it, stop it again. A screenshot
// of each screen goes to test-results/e2e/<prefix><screen>.png. The host is opened by the caller
// (Chromium against `gan-studio serve`, or the Electron app), on a temp home with the wasm backend.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot, watchProblems, type PageProblems } from './browser';

export interface OpenedHost {
  page: Page;
  /** Closes the host (after the flow stopped every run). */
  close(): Promise<void>;
}

const SIZE = 28;
const PER_CLASS = 32; // 64 images: batch 16 → 4 steps an epoch
const BATCH = 16;
const EPOCHS = 500; // far more than the test waits for: the run is stopped, it does not finish
const SLOW = 60_000;

type Api = { listRuns(): Promise<{ id: number; name: string; status: string; step: number }[]> };

/** A 28×28 grayscale PNG of a filled circle or square, varied in size and position. */
export function shape(kind: 'circles' | 'squares', i: number): Promise<Buffer> {
  const pixels = Buffer.alloc(SIZE * SIZE);
  const r = 5 + (i % 6);
  const cx = 9 + (i % 10);
  const cy = 9 + ((i * 3) % 10);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const inside = kind === 'circles' ? (x - cx) ** 2 + (y - cy) ** 2 <= r * r : Math.abs(x - cx) <= r && Math.abs(y - cy) <= r;
      pixels[y * SIZE + x] = inside ? 255 : 0;
    }
  }
  return sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 1 } }).png().toBuffer();
}

/**
 * Fills `root` with `perClass` circles and as many squares (28 px grayscale PNGs, in the subfolders
 * circles/ and squares/), plus one file that is not a PNG when `broken` is set.
 */
export async function makeShapeFolder(root: string, perClass: number, broken = false): Promise<void> {
  for (const kind of ['circles', 'squares'] as const) {
    await mkdir(join(root, kind), { recursive: true });
    for (let i = 0; i < perClass; i++) await writeFile(join(root, kind, `${kind}-${String(i).padStart(3, '0')}.png`), await shape(kind, i));
  }
  if (broken) await writeFile(join(root, 'broken.png'), Buffer.from('this is not a PNG at all'));
}

/**
 * Imports `folder` through the Datasets page at 28 px grayscale (the name the form suggests) and
 * waits for the import's summary; returns that summary (a stats list).
 */
export async function importFolderThroughUi(page: Page, folder: string): Promise<Locator> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Datasets', exact: true }).click();
  await page.getByRole('heading', { name: 'Datasets', level: 1 }).waitFor();
  await page.getByLabel('Folder or file').fill(folder);
  await expect.poll(() => page.getByLabel('Name', { exact: true }).inputValue()).not.toBe('');
  await page.getByLabel('Image size').selectOption('28');
  await page.getByLabel('Colour').selectOption('1');
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  const summary = page.locator('dl.stats');
  await summary.waitFor({ timeout: SLOW });
  return summary;
}

/** The number shown after a <dt> of a stats list ("1,234 / 5,000" → 1234). */
export async function statValue(scope: Locator, term: string): Promise<number> {
  const text = (await scope.locator(`dt:text-is("${term}") + dd`).first().textContent()) ?? '';
  const m = /^[\s]*([\d,]+)/.exec(text);
  return m ? Number(m[1]!.replace(/,/g, '')) : Number.NaN;
}

async function sliderMax(page: Page, id: string): Promise<number> {
  const slider = page.locator(`#${id}`);
  if ((await slider.count()) === 0) return -1;
  return Number(await slider.getAttribute('max'));
}

/** The two charts (losses, discriminator scores): their role="img" boxes. */
function charts(page: Page): Locator[] {
  return [page.getByRole('img', { name: /losses by training step/ }), page.getByRole('img', { name: /D\(G\(z\)\), by training step/ })];
}

/** What each chart canvas currently draws (a data URL), to see that it changes as points arrive. */
function chartPixels(page: Page): Promise<string[]> {
  return Promise.all(charts(page).map((c) => c.locator('canvas').evaluate((el) => (el as HTMLCanvasElement).toDataURL())));
}

/**
 * Declares the flow as a describe block. `skipReason` non-null skips it (and says why);
 * `open` starts the host and returns its page, already showing the app.
 */
export function describeTrainFlow(title: string, skipReason: string | null, prefix: string, open: () => Promise<OpenedHost>): void {
  describe.skipIf(skipReason !== null)(title, () => {
  let host: OpenedHost;
  let page: Page;
  let problems: PageProblems;
  let data: string;
  let runName = '';
  let stoppedAt = 0;

  const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  const progress = () => page.getByRole('region', { name: 'Progress' });
  const liveStep = () => statValue(progress(), 'Step');
  const listRuns = () => page.evaluate(() => (window as unknown as { api: Api }).api.listRuns());

  beforeAll(async () => {
    data = await mkdtemp(join(tmpdir(), 'gan-studio-e2e-shapes-'));
    await makeShapeFolder(data, PER_CLASS, true);
    host = await open();
    page = host.page;
    problems = await watchProblems(page);
    await page.getByRole('navigation', { name: 'Main' }).getByText('Backend:').waitFor({ timeout: SLOW });
  });

  afterAll(async () => {
    // Leave nothing training: stop any run that is still live before the server goes.
    if (page) {
      await page
        .evaluate(async () => {
          const api = (window as unknown as { api: Api & { stopTraining(r: { runId: number }): Promise<null> } }).api;
          for (const r of await api.listRuns()) if (r.status === 'running' || r.status === 'paused') await api.stopTraining({ runId: r.id }).catch(() => null);
        })
        .catch(() => undefined);
    }
    await host?.close();
    if (data) await rm(data, { recursive: true, force: true });
  });

  it('imports the folder at 28 px grayscale and reports the counts and the skipped file', async () => {
    const summary = await importFolderThroughUi(page, data);
    expect(await statValue(summary, 'Images')).toBe(2 * PER_CLASS);
    expect(await statValue(summary, 'Imported')).toBe(2 * PER_CLASS);
    expect(await statValue(summary, 'Skipped')).toBe(1);
    const skipped = page.locator('details.skipped');
    await skipped.getByText(/1 file skipped/).click();
    await expect.poll(() => skipped.getByText('broken.png').count()).toBeGreaterThan(0);

    // The list shows it: 64 images, 28×28 gray.
    const row = page.locator('table.data tbody tr').filter({ hasText: '28×28 gray' });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.locator('td.num').first().textContent()).toBe('64');
    await screenshot(page, `${prefix}datasets`);
  });

  it('starts a DCGAN-28 run from the Train page', async () => {
    await nav('Train').click();
    await page.getByRole('heading', { name: 'Train', level: 1 }).waitFor();
    const dataset = page.getByLabel('Dataset');
    await expect.poll(() => dataset.locator('option').count()).toBeGreaterThan(0);
    await dataset.selectOption({ index: (await dataset.locator('option[value=""]').count()) > 0 ? 1 : 0 });
    await page.getByLabel('Model').selectOption('dcgan');
    await page.getByLabel('Image size').selectOption('28');
    await page.getByLabel('Colour').selectOption('1');
    await page.getByLabel('Epochs', { exact: true }).fill(String(EPOCHS));
    await page.getByLabel('Batch size').fill(String(BATCH));
    await expect.poll(() => page.getByText(/64 images · 28×28 gray/).count()).toBe(1);
    // The plan preview takes the epochs and batch given: 64 / 16 = 4 steps an epoch.
    const plan = page.getByTestId('train-plan');
    await expect
      .poll(async () => ((await plan.textContent()) ?? '').replace(/\s+/g, ' '), { timeout: SLOW })
      .toMatch(`${(EPOCHS * (2 * PER_CLASS / BATCH)).toLocaleString('en-US')} steps (${EPOCHS} epochs of ${2 * PER_CLASS} images), batch ${BATCH}`);
    await screenshot(page, `${prefix}train`);
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.getByRole('heading', { name: 'Live run', level: 1 }).waitFor({ timeout: SLOW });
  });

  it('shows both charts gaining points and at least two sample grids, for ≥ 3 epochs', async () => {
    const [lossChart, scoreChart] = charts(page);
    // Both charts get their first points.
    for (const chart of [lossChart!, scoreChart!]) {
      await expect.poll(() => chart.getByText('No points yet').count(), { timeout: SLOW }).toBe(0);
    }
    const stepA = await liveStep();
    const pixelsA = await chartPixels(page);
    // Training goes on: more steps, and both canvases redraw with the new points.
    await expect.poll(liveStep, { timeout: SLOW }).toBeGreaterThan(stepA);
    await expect.poll(async () => (await chartPixels(page)).map((p, i) => p !== pixelsA[i]), { timeout: SLOW }).toEqual([true, true]);

    // Three epochs of four steps each, and the timeline holds the grids (slider max ≥ 1).
    await expect.poll(() => statValue(progress(), 'Epoch'), { timeout: SLOW }).toBeGreaterThanOrEqual(3);
    await expect.poll(liveStep, { timeout: SLOW }).toBeGreaterThanOrEqual(12);
    await expect.poll(() => sliderMax(page, 'live-timeline-slider'), { timeout: SLOW }).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#live-timeline-slider').isDisabled()).toBe(false);
    runName = ((await page.locator('.head h2').textContent()) ?? '').trim();
    expect(runName).not.toBe('');
    await screenshot(page, `${prefix}live-run`);
  });

  it('stops the run', async () => {
    const controls = page.getByRole('group', { name: 'Run controls' });
    await controls.getByRole('button', { name: 'Stop' }).click();
    await expect
      .poll(async () => ((await page.locator('.head .badge').textContent()) ?? '').trim(), { timeout: SLOW })
      .toMatch(/^(stopped|completed)$/);
    stoppedAt = await liveStep();
    expect(stoppedAt).toBeGreaterThanOrEqual(12);
  });

  it('lists the run in Runs with the status the server reports', async () => {
    await nav('Runs').click();
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
    const runs = await listRuns();
    expect(runs).toHaveLength(1);
    const record = runs[0]!;
    expect(record.name).toBe(runName);
    expect(['stopped', 'completed']).toContain(record.status);
    const row = page.locator('table.data tbody tr').filter({ hasText: runName });
    await expect.poll(() => row.count()).toBe(1);
    await expect.poll(async () => ((await row.locator('.badge').textContent()) ?? '').trim()).toBe(record.status);
    await screenshot(page, `${prefix}runs`);
  });

  it('opens the run: its charts and its sample timeline', async () => {
    await page.getByRole('button', { name: new RegExp(`#\\d+ ${runName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) }).click();
    const detail = page.getByRole('region', { name: runName });
    await detail.getByRole('heading', { name: runName }).waitFor({ timeout: SLOW });
    for (const chart of charts(page)) {
      await chart.waitFor({ timeout: SLOW });
      await expect.poll(() => chart.getByText('No points yet').count(), { timeout: SLOW }).toBe(0);
    }
    await expect.poll(() => sliderMax(page, 'run-timeline-slider'), { timeout: SLOW }).toBeGreaterThanOrEqual(1);
    expect(await statValue(detail, 'Steps')).toBeGreaterThanOrEqual(12);
    await screenshot(page, `${prefix}run-detail`);
  });

  it('resumes the run, which trains past the step it stopped at, then stops it again', async () => {
    const runs = await listRuns();
    if (runs[0]!.status === 'completed') {
      // Only a stopped run offers Resume; a run that finished on its own has nothing left to train.
      console.warn('the run completed before Stop; nothing to resume');
      return;
    }
    await page.getByRole('region', { name: runName }).getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('heading', { name: 'Live run', level: 1 }).waitFor({ timeout: SLOW });
    await expect.poll(async () => ((await page.locator('.head .badge').textContent()) ?? '').trim(), { timeout: SLOW }).toBe('running');
    await expect.poll(liveStep, { timeout: SLOW }).toBeGreaterThan(stoppedAt);
    await expect.poll(async () => (await listRuns())[0]!.step, { timeout: SLOW }).toBeGreaterThan(stoppedAt);

    await page.getByRole('group', { name: 'Run controls' }).getByRole('button', { name: 'Stop' }).click();
    await expect.poll(async () => ((await page.locator('.head .badge').textContent()) ?? '').trim(), { timeout: SLOW }).toBe('stopped');
    await expect.poll(async () => (await listRuns())[0]!.status, { timeout: SLOW }).toBe('stopped');
  });

  it('logged no console error and no CSP violation', async () => {
    expect(await problems.cspViolations()).toEqual([]);
    expect(problems.errors).toEqual([]);
  });
});
}
