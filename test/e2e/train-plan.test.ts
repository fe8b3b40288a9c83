// The Train page's plan preview, in Debian's Chromium against the built `gan-studio serve`
// (wasm backend) on a temp home, at a laptop-sized 1024×700: import a folder of 300 small PNGs,
// open Train, pick it, and the plan shows thousands of steps (not the few dozen that 5 epochs of
// batch 128 would give), the batch and the epochs, then an estimated time once a step is measured.
// Typing an epoch count replaces the planned length. Screenshots: test-results/e2e/train-plan*.png.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissingReason, launchChromium, screenshot, watchProblems, type PageProblems } from './helpers/browser';
import { startServe, type RunningServe, stopServeCleanly } from './helpers/serve';
import { importFolderThroughUi, makeShapeFolder, statValue } from './helpers/train-flow';

const missing = chromiumMissingReason();
if (missing) console.warn(missing);

const PER_CLASS = 150; // 300 images
const SLOW = 60_000;
/** Timing a few steps starts a training worker: allow for a busy machine. */
const MEASURE = 150_000;

interface ShownPlan {
  steps: number;
  epochs: number;
  images: number;
  batch: number;
  text: string;
}

/** The plan line's numbers: "Plan: 4,000 steps (about 222 epochs of 300 images), batch 16 · …". */
function parsePlan(text: string): ShownPlan | null {
  const m = /([\d,]+) steps? \((?:about )?([\d,.]+) epochs? of ([\d,]+) images?\), batch (\d+)/.exec(text);
  if (!m) return null;
  const n = (s: string) => Number(s.replace(/,/g, ''));
  return { steps: n(m[1]!), epochs: n(m[2]!), images: n(m[3]!), batch: n(m[4]!), text };
}

describe.skipIf(missing !== null)('the Train page previews the training plan', () => {
  let server: RunningServe;
  let browser: Browser;
  let page: Page;
  let problems: PageProblems;
  let data: string;

  const panel = () => page.getByTestId('train-plan');
  const panelText = async () => ((await panel().textContent()) ?? '').replace(/\s+/g, ' ').trim();
  const shown = async () => parsePlan(await panelText());

  beforeAll(async () => {
    data = await mkdtemp(join(tmpdir(), 'gan-studio-e2e-plan-'));
    await makeShapeFolder(data, PER_CLASS);
    server = await startServe();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1024, height: 700 } });
    problems = await watchProblems(page);
    await page.goto(server.url);
    await page.getByRole('navigation', { name: 'Main' }).getByText('Backend:').waitFor({ timeout: SLOW });
  });

  afterAll(async () => {
    await browser?.close();
    if (server) {
      await stopServeCleanly(server);
    }
    if (data) await rm(data, { recursive: true, force: true });
  });

  it('imports a folder of 300 small images', async () => {
    const summary = await importFolderThroughUi(page, data);
    expect(await statValue(summary, 'Images')).toBe(2 * PER_CLASS);
  });

  it('shows a plan of thousands of steps, with batch and epochs, and then an estimated time', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Train', exact: true }).click();
    await page.getByRole('heading', { name: 'Train', level: 1 }).waitFor();
    const dataset = page.getByLabel('Dataset');
    await expect.poll(() => dataset.locator('option').count()).toBeGreaterThan(0);
    await dataset.selectOption({ index: (await dataset.locator('option[value=""]').count()) > 0 ? 1 : 0 });
    await expect.poll(() => page.getByText(/300 images · 28×28 gray/).count()).toBe(1);

    // The panel is a polite live region.
    expect(await panel().getAttribute('role')).toBe('status');
    expect(await panel().getAttribute('aria-live')).toBe('polite');

    await expect.poll(shown, { timeout: SLOW }).not.toBeNull();
    const plan = (await shown())!;
    expect(plan.images).toBe(2 * PER_CLASS);
    expect(plan.steps).toBeGreaterThanOrEqual(1000);
    expect(plan.batch).toBeLessThan(128);
    expect(plan.epochs).toBeGreaterThan(5);
    const text = await panelText();
    expect(text).toMatch(/\bbatch \d+/);
    expect(text).toMatch(/\bepochs\b/);
    expect(text).toMatch(/augmentation (on|off)/);
    expect(text).toMatch(/averaged generator (on|off)/);
    expect(text).toMatch(/planned for 300 images/);
    // The blank fields show what the plan chose.
    expect(await page.getByLabel('Batch size').getAttribute('placeholder')).toBe(`auto: ${plan.batch}`);
    expect(await page.getByLabel('Steps', { exact: true }).getAttribute('placeholder')).toBe(`auto: ${plan.steps.toLocaleString('en-US')}`);

    // No earlier run like it: a step is timed, and the panel then gives the time on this machine.
    await expect.poll(panelText, { timeout: MEASURE }).toMatch(/about \d[\d,]* (s|min|h)\b.* on this machine/);
    expect(await panelText()).toMatch(/ms a step, measured just now/);
    await page.getByRole('button', { name: 'Start training' }).scrollIntoViewIfNeeded();
    await screenshot(page, 'train-plan');
  });

  it('follows the fields: 2 epochs give 2 epochs’ steps', async () => {
    const before = (await shown())!;
    const stepsPerEpoch = Math.floor(before.images / before.batch);
    await page.getByLabel('Epochs', { exact: true }).fill('2');
    await expect.poll(async () => (await shown())?.epochs, { timeout: SLOW }).toBe(2);
    const after = (await shown())!;
    expect(after.steps).toBe(2 * stepsPerEpoch);
    expect(after.batch).toBe(before.batch);
    expect(await panelText()).toMatch(new RegExp(`${after.steps} steps \\(2 epochs of 300 images\\)`));
    // The step time is the same (batch and model unchanged): the time is there at once.
    await expect.poll(panelText, { timeout: SLOW }).toMatch(/on this machine/);
    expect(await page.getByLabel('Steps', { exact: true }).getAttribute('placeholder')).toBe(`${after.steps} (from epochs)`);

    // Giving steps as well is refused in words, and Start is disabled.
    await page.getByLabel('Steps', { exact: true }).fill('500');
    await expect.poll(() => page.getByText(/epochs or in steps, not both/).count()).toBeGreaterThan(0);
    expect(await page.getByRole('button', { name: 'Start training' }).isDisabled()).toBe(true);
    await page.getByLabel('Epochs', { exact: true }).fill('');
    await expect.poll(async () => (await shown())?.steps, { timeout: SLOW }).toBe(500);
    await page.getByLabel('Steps', { exact: true }).fill('');
    await page.getByLabel('Epochs', { exact: true }).fill('2');
    await expect.poll(async () => (await shown())?.epochs, { timeout: SLOW }).toBe(2);
    await page.getByRole('button', { name: 'Start training' }).scrollIntoViewIfNeeded();
    await screenshot(page, 'train-plan-2-epochs');
  });

  it('lays the page out within 1024 px and logs no console error or CSP violation', async () => {
    const overflow = await page.evaluate(() => {
      const main = document.querySelector('main')!;
      return main.scrollWidth - main.clientWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await problems.cspViolations()).toEqual([]);
    expect(problems.errors).toEqual([]);
  });
});
