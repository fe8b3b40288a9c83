import { describe, expect, it } from 'vitest';
import { formatDurationWords } from '../../../src/shared/format';
import { describePlan, PLAN_RULES, plannedBatch, planTraining } from '../../../src/shared/training-plan';

describe('planTraining', () => {
  it('gives a few hundred images a small batch and thousands of steps, the remedies as measured', () => {
    const plan = planTraining({ count: 500, k: 1 });
    expect(plan.batch).toBe(32);
    expect(plan.stepsPerEpoch).toBe(15);
    expect(plan.steps).toBe(PLAN_RULES.minSteps);
    expect(plan.steps).toBeGreaterThanOrEqual(1000);
    expect(plan.epochs).toBeCloseTo(plan.steps / 15);
    expect(plan.imagesShown).toBe(plan.steps * 32);
    expect(plan.augment).toBe(500 < PLAN_RULES.augmentBelow);
    expect(plan.ema).toBe(PLAN_RULES.ema);
    expect(plan.planned).toEqual({ batch: true, length: true, augment: true, ema: true });
  });

  it('keeps an epoch at least minStepsPerEpoch steps long while the batch is above the minimum', () => {
    for (const count of [40, 100, 200, 555, 1000, 5000, 60_000]) {
      const plan = planTraining({ count, k: 1 });
      expect(plan.batch).toBeLessThanOrEqual(PLAN_RULES.maxBatch);
      if (plan.batch > PLAN_RULES.minBatch) expect(plan.stepsPerEpoch).toBeGreaterThanOrEqual(PLAN_RULES.minStepsPerEpoch);
      // The next batch up would have made epochs too short (or is over the maximum).
      if (plan.batch < PLAN_RULES.maxBatch) expect(Math.floor(count / (plan.batch * 2))).toBeLessThan(PLAN_RULES.minStepsPerEpoch);
    }
    expect(plannedBatch(200)).toBe(16);
    expect(plannedBatch(10)).toBe(10); // never more than the data
  });

  it('gives a large set the papers\' batch, at least five epochs, no augmentation', () => {
    const plan = planTraining({ count: 60_000, k: 1 });
    expect(plan.batch).toBe(128);
    expect(plan.stepsPerEpoch).toBe(468);
    expect(plan.steps).toBe(Math.max(5 * 468, PLAN_RULES.minSteps));
    expect(plan.epochs).toBeGreaterThanOrEqual(5);
    expect(plan.augment).toBe(false);
    // A set so large that five epochs are more than the minimum: five epochs.
    const huge = planTraining({ count: 200_000, k: 1 });
    expect(huge.steps).toBe(5 * huge.stepsPerEpoch);
    expect(huge.epochs).toBe(5);
  });

  it('counts k discriminator batches a step', () => {
    const plan = planTraining({ count: 60_000, k: 2 });
    expect(plan.stepsPerEpoch).toBe(Math.floor(60_000 / (plan.batch * 2)));
    expect(plan.imagesShown).toBe(plan.steps * plan.batch * 2);
  });

  it('lets explicit choices win', () => {
    const plan = planTraining({ count: 500, k: 1, batch: 64, epochs: 3, augment: false, ema: false });
    expect(plan.batch).toBe(64);
    expect(plan.stepsPerEpoch).toBe(7);
    expect(plan.steps).toBe(21);
    expect(plan.epochs).toBe(3);
    expect(plan.augment).toBe(false);
    expect(plan.ema).toBe(false);
    expect(plan.planned).toEqual({ batch: false, length: false, augment: false, ema: false });
    // steps win over epochs; a batch over the data is cut to the data.
    expect(planTraining({ count: 500, k: 1, steps: 123, epochs: 3 }).steps).toBe(123);
    expect(planTraining({ count: 20, k: 1, batch: 128 }).batch).toBe(20);
    // One explicit field leaves the others planned.
    expect(planTraining({ count: 500, k: 1, batch: 64 }).planned).toEqual({ batch: false, length: true, augment: true, ema: true });
  });

  it('says the plan in words, with a time only when a step time is known', () => {
    const plan = planTraining({ count: 500, k: 1 });
    const text = describePlan(plan, 500);
    expect(text).toContain('4,000 steps');
    expect(text).toContain('of 500 images');
    expect(text).toContain('batch 32');
    expect(text).toContain(`augmentation ${plan.augment ? 'on' : 'off'}`);
    expect(describePlan({ ...plan, augment: true, ema: true }, 500)).toContain('augmentation on, averaged generator on');
    expect(text).not.toContain('on this machine');
    expect(describePlan(plan, 500, 45)).toContain('about 3 min on this machine (45.0 ms a step, measured)');
    expect(formatDurationWords(30)).toBe('30 s');
    expect(formatDurationWords(3 * 3600 + 5 * 60)).toBe('3 h 5 min');
  });
});
