// The training plan through the core: a new run's config filled in from the data (Studio.train
// with `planned`), explicit values kept, the preview (Studio.planPreview) with a measured step
// time, and the estimate from earlier runs.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Studio } from '../../../src/main/core/studio';
import { planTraining } from '../../../src/shared/training-plan';
import { TRAIN_DEFAULTS, type TrainConfig } from '../../../src/shared/types';
import { testConfig } from '../../helpers/train-config';

let tmp: string;
let studio: Studio;
const COUNT = 40;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'gan-studio-plan-'));
  studio = Studio.open(path.join(tmp, 'home'));
  const src = path.join(tmp, 'src');
  await mkdir(src);
  for (let i = 0; i < COUNT; i++) {
    const v = (i * 37) % 256;
    await sharp({ create: { width: 12, height: 12, channels: 3, background: { r: v, g: 255 - v, b: (v * 3) % 256 } } }).png().toFile(path.join(src, `${i}.png`));
  }
  await studio.importDataset({ path: src, name: 'small', size: 28, channels: 1 });
});
afterAll(async () => {
  studio?.close();
  await rm(tmp, { recursive: true, force: true });
});

/** A config as the CLI builds it: placeholders (the papers' batch and epochs) where nothing was given. */
const given = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  ...testConfig({ model: { kind: 'dcgan' }, data: 'small', epochs: TRAIN_DEFAULTS.epochs, batch: TRAIN_DEFAULTS.batch, name: 'plan' }),
  ...over,
});

const allPlanned = { batch: true, length: true, augment: true, ema: true };

describe('the training plan in the core', () => {
  it('previews the plan of a new run on an imported dataset, timing a step when asked', async () => {
    const expected = planTraining({ count: COUNT, k: 1 });
    const quick = await studio.planPreview({ config: given(), planned: allPlanned });
    expect(quick.count).toBe(COUNT);
    expect(quick.plan).toEqual(expected);
    expect(quick.config).toMatchObject({ batch: expected.batch, steps: expected.steps, augment: expected.augment, ema: expected.ema });
    expect(quick.msPerStep).toBeNull(); // no run like it yet, and no measurement asked for
    expect(quick.text).toContain(`${expected.steps.toLocaleString('en-US')} steps`);
    const measured = await studio.planPreview({ config: given(), planned: allPlanned, measure: true });
    expect(measured.msPerStep).toBeGreaterThan(0);
    expect(measured.estimateSource).toBe('measured');
    expect(measured.seconds).toBeCloseTo((expected.steps * measured.msPerStep!) / 1000, 6);
    expect(measured.text).toMatch(/on this machine/);
    // The measurement is kept: the next preview of the same settings has the time at once.
    expect((await studio.planPreview({ config: given(), planned: allPlanned })).msPerStep).toBe(measured.msPerStep);
    // Explicit values win, and a preview needs an imported dataset.
    const mine = await studio.planPreview({ config: given({ batch: 8, epochs: 2, augment: true }), planned: { batch: false, length: false, augment: false, ema: true } });
    expect(mine.plan).toMatchObject({ batch: 8, steps: 10, augment: true });
    await expect(studio.planPreview({ config: given({ data: 'nope' }), planned: allPlanned })).rejects.toMatchObject({ code: 'not-found' });
  });

  it('records a new run with the planned config, and later runs like it get its step time', async () => {
    const handle = await studio.train({ config: given({ steps: 12 }), planned: { ...allPlanned, length: false } });
    expect(handle.plan).not.toBeNull();
    expect(handle.run.config.batch).toBe(planTraining({ count: COUNT, k: 1 }).batch);
    expect(handle.run.config.steps).toBe(12);
    expect(handle.data.batch).toBe(handle.run.config.batch);
    expect(handle.totalSteps).toBe(12);
    const { run } = await handle.done;
    expect(run.status).toBe('completed');
    expect(run.step).toBe(12);
    const estimate = studio.stepTimeEstimate(run.config, run.backend);
    expect(estimate?.runId).toBe(run.id);
    expect(estimate!.msPerStep).toBeGreaterThan(0);
    // Another batch is another config: no estimate from this run.
    expect(studio.stepTimeEstimate({ ...run.config, batch: run.config.batch * 2 }, run.backend)).toBeNull();
    // Without `planned` the config is taken as given (the papers' batch 128 here, cut to the data).
    const plain = await studio.train({ config: given({ steps: 2, name: 'plain' }) });
    expect(plain.plan).toBeNull();
    expect(plain.run.config.batch).toBe(TRAIN_DEFAULTS.batch);
    expect((await plain.done).run.status).toBe('completed');
  });
});
