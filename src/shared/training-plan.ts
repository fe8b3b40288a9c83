// The training plan: how long a run is, in what batches, and which small-data remedies it uses,
// chosen from the dataset's size unless the user says otherwise. One function, used by the core
// (to fill in a new run's config), the CLI (to print the plan before training) and the renderer
// (to preview it on the Train page). Plain data and arithmetic only: no node:, no engine.
//
// Why: the papers' defaults (batch 128, a few epochs) were made for 60,000-image sets. On a
// folder of a few hundred images they give 4 steps an epoch and a few dozen steps in all, which
// leaves G at noise. What a GAN needs is enough *updates*: a few thousand generator steps, in
// batches small enough that an epoch is several of them. The figures below were chosen with the
// quality benchmark (`npm run bench:quality`, README).

import { formatCount, formatDurationWords } from './format';

/** What the user chose explicitly; anything absent is planned. */
export interface PlanChoices {
  batch?: number;
  /** Length in epochs (ignored when steps is given). */
  epochs?: number;
  /** Length in generator steps. */
  steps?: number;
  augment?: boolean;
  ema?: boolean;
}

export interface PlanInput extends PlanChoices {
  /** Images in the training set (after any limit). */
  count: number;
  /** Discriminator updates per generator step. */
  k: number;
}

export interface TrainingPlan {
  batch: number;
  /** Generator steps in all. */
  steps: number;
  stepsPerEpoch: number;
  /** steps / stepsPerEpoch (may be fractional: a run can end mid-epoch). */
  epochs: number;
  /** Images D sees from the data over the run (steps · batch · k). */
  imagesShown: number;
  augment: boolean;
  ema: boolean;
  /** Which values were planned rather than given. */
  planned: { batch: boolean; length: boolean; augment: boolean; ema: boolean };
}

export const PLAN_RULES = {
  /** The largest batch the plan picks (the papers' 128). */
  maxBatch: 128,
  /** The smallest batch it picks when the data allows (batch norm's statistics get noisy below). */
  minBatch: 16,
  /** The batch is the largest power of two that still gives an epoch this many steps. */
  minStepsPerEpoch: 10,
  /** Epochs of a large set (the old default, which suits 60,000-image sets). */
  epochs: 5,
  /** …but never fewer generator steps than this: small sets need many passes. */
  minSteps: 4000,
  /**
   * Differentiable augmentation is on for sets below this many images: none, as measured. On
   * 500- and 200-image Fashion-MNIST slices trained 4,000 steps, FID was 35.1 and 45.3 with it
   * and 18.7 and 27.6 without (README, quality benchmark): over a run of this length D does not
   * overfit enough for augmentation to pay for making its task harder. `--augment on` remains.
   */
  augmentBelow: 0,
  /**
   * The averaged generator is off by default, as measured: with augmentation off, FID 18.7 / 27.6
   * with it against 17.5 / 25.9 without on the same slices (no gain at these lengths).
   */
  ema: false,
} as const;

/** Generator steps per epoch: one epoch is one pass of D over the data (k real batches a step). */
export function stepsPerEpochOf(count: number, batch: number, k: number): number {
  const b = Math.max(1, Math.min(batch, count));
  return Math.max(1, Math.floor(count / (b * k)));
}

/** The batch the plan picks for `count` images (k discriminator batches a step). */
export function plannedBatch(count: number, k = 1): number {
  if (count <= PLAN_RULES.minBatch) return Math.max(1, count);
  let batch = PLAN_RULES.maxBatch;
  while (batch > PLAN_RULES.minBatch && count / (batch * k) < PLAN_RULES.minStepsPerEpoch) batch /= 2;
  return Math.min(batch, count);
}

export function planTraining(input: PlanInput): TrainingPlan {
  const count = Math.max(1, Math.floor(input.count));
  const k = Math.max(1, Math.floor(input.k));
  const batch = Math.min(input.batch ?? plannedBatch(count, k), count);
  const spe = stepsPerEpochOf(count, batch, k);
  let steps: number;
  if (input.steps !== undefined) steps = input.steps;
  else if (input.epochs !== undefined) steps = input.epochs * spe;
  else steps = Math.max(PLAN_RULES.epochs * spe, PLAN_RULES.minSteps);
  const augment = input.augment ?? count < PLAN_RULES.augmentBelow;
  const ema = input.ema ?? PLAN_RULES.ema;
  return {
    batch,
    steps,
    stepsPerEpoch: spe,
    epochs: steps / spe,
    imagesShown: steps * batch * k,
    augment,
    ema,
    planned: {
      batch: input.batch === undefined,
      length: input.steps === undefined && input.epochs === undefined,
      augment: input.augment === undefined,
      ema: input.ema === undefined,
    },
  };
}

/** "2", "about 222", "about 2.5". */
export function formatEpochs(epochs: number): string {
  if (Number.isInteger(epochs)) return formatCount(epochs);
  return epochs >= 10 ? `about ${formatCount(epochs)}` : `about ${epochs.toFixed(1)}`;
}

/** "45.0 ms a step", "305 ms a step". */
export function formatStepTime(msPerStep: number): string {
  return `${msPerStep < 100 ? msPerStep.toFixed(1) : formatCount(msPerStep)} ms a step`;
}

const plural = (n: number, word: string) => `${word}${n === 1 ? '' : 's'}`;

/**
 * The plan's parts in words: length ("4,000 steps (about 267 epochs of 500 images)"), batch and
 * the two remedies. describePlan and the Train page join them each their own way.
 */
export function planParts(plan: Pick<TrainingPlan, 'steps' | 'epochs' | 'batch' | 'augment' | 'ema'>, count: number): [string, string, string, string] {
  return [
    `${formatCount(plan.steps)} ${plural(plan.steps, 'step')} (${formatEpochs(plan.epochs)} ${plural(plan.epochs, 'epoch')} of ${formatCount(count)} ${plural(count, 'image')})`,
    `batch ${plan.batch}`,
    `augmentation ${plan.augment ? 'on' : 'off'}`,
    `averaged generator ${plan.ema ? 'on' : 'off'}`,
  ];
}

/**
 * The plan in words, e.g. "4,000 steps (about 320 epochs of 500 images), batch 32, augmentation
 * on, averaged generator on". With a step time: "; about 3 min on this machine".
 */
export function describePlan(plan: TrainingPlan, count: number, msPerStep?: number | null): string {
  let text = planParts(plan, count).join(', ');
  if (msPerStep != null && Number.isFinite(msPerStep) && msPerStep > 0) {
    text += `; about ${formatDurationWords((plan.steps * msPerStep) / 1000)} on this machine (${formatStepTime(msPerStep)}, measured)`;
  }
  return text;
}
