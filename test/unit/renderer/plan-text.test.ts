import { describe, expect, it } from 'vitest';
import type { TrainingPlanPreview } from '../../../src/shared/contract';
import { autoLabel, epochsText, planNote, planPlaceholders, planSummary, planTime, planTimeSource } from '../../../src/renderer/src/lib/plan-text';

const preview = (over: Partial<TrainingPlanPreview> = {}): TrainingPlanPreview => ({
  count: 300,
  batch: 16,
  steps: 4000,
  stepsPerEpoch: 18,
  epochs: 4000 / 18,
  augment: true,
  ema: true,
  planned: { batch: true, length: true, augment: true, ema: true },
  msPerStep: null,
  estimateSource: null,
  seconds: null,
  text: '',
  ...over,
});

describe('plan in words', () => {
  it('says steps, epochs, batch and the remedies on one line', () => {
    expect(planSummary(preview())).toBe('4,000 steps (about 222 epochs of 300 images), batch 16 · augmentation on · averaged generator on');
    expect(planSummary(preview({ steps: 36, epochs: 2, augment: false, ema: false }))).toBe(
      '36 steps (2 epochs of 300 images), batch 16 · augmentation off · averaged generator off',
    );
    expect(epochsText(2.5)).toBe('about 2.5');
  });

  it('gives the time only when a step time is known, and where it came from', () => {
    expect(planTime(preview())).toBeNull();
    expect(planTimeSource(preview())).toBeNull();
    const measured = preview({ msPerStep: 45, seconds: 180, estimateSource: 'measured' });
    expect(planTime(measured)).toBe('about 3 min on this machine');
    expect(planTimeSource(measured)).toBe('45.0 ms a step, measured just now');
    expect(planTimeSource(preview({ msPerStep: 250, seconds: 1000, estimateSource: 'run 4' }))).toBe('250 ms a step, as in run #4');
  });

  it('says what the plan chose for the set, and that fields override it', () => {
    expect(planNote(preview())).toBe(
      'Batch, length, augmentation and averaged generator planned for 300 images (a small set needs thousands of steps in small batches). A field you fill in overrides the plan.',
    );
    // A large set's plan is its epochs (5 of 468 steps here): nothing about small sets.
    expect(planNote(preview({ count: 60000, stepsPerEpoch: 468, steps: 5 * 468, epochs: 5, planned: { batch: false, length: true, augment: false, ema: false } }))).toBe(
      'Length planned for 60,000 images. A field you fill in overrides the plan.',
    );
    expect(planNote(preview({ planned: { batch: false, length: false, augment: false, ema: false } }))).toMatch(/Every choice here is yours/);
    // Length given: no word about how many steps a small set needs.
    expect(planNote(preview({ planned: { batch: true, length: false, augment: true, ema: true } }))).toBe(
      'Batch, augmentation and averaged generator planned for 300 images. A field you fill in overrides the plan.',
    );
  });

  it('fills the blank fields’ placeholders and the Auto options', () => {
    expect(planPlaceholders(null)).toEqual({ batch: 'auto', epochs: 'auto', steps: 'auto' });
    expect(planPlaceholders(preview())).toEqual({ batch: 'auto: 16', epochs: 'auto: about 222', steps: 'auto: 4,000' });
    expect(planPlaceholders(preview({ steps: 36, epochs: 2, planned: { batch: true, length: false, augment: true, ema: true } }))).toMatchObject({
      steps: '36 (from epochs)',
    });
    expect(autoLabel(preview(), 'augment')).toBe('Auto (plan: on)');
    expect(autoLabel(preview({ augment: false, planned: { batch: true, length: true, augment: false, ema: true } }), 'augment')).toBe('Auto (plan)');
    expect(autoLabel(null, 'ema')).toBe('Auto (plan)');
  });
});
