/**
 * What the small-data remedies cost a training step: for each model, four trainers side by side
 * (plain, DiffAugment, the averaged generator, both) on the same synthetic data, warmed up, then
 * `repeat` rounds in which each trains `steps` steps in turn (so all four see the same spells of a
 * shared machine's speed); the median ms a step of each, and the overhead over plain.
 *
 * scripts/bench.ts runs this as its "remedies" section (`--no-remedies` skips it).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Trainer } from '../src/main/core/engine/ml/trainer';
import type { ImageDataset, TrainConfig } from '../src/shared/types';
import { median } from './stats';

export const REMEDY_VARIANTS = [
  { name: 'plain', augment: false, ema: false },
  { name: 'augment', augment: true, ema: false },
  { name: 'ema', augment: false, ema: true },
  { name: 'both', augment: true, ema: true },
] as const;

export type RemedyVariant = (typeof REMEDY_VARIANTS)[number]['name'];

export interface RemedyTiming {
  model: string;
  batch: number;
  steps: number;
  /** Median ms a step of each variant, and each round's figure. */
  msPerStep: Record<RemedyVariant, number>;
  runsMs: Record<RemedyVariant, number[]>;
}


/**
 * Times the four variants of `config` on `dataset`. `progress` hears what is running; every
 * trainer and its scratch folder are gone when it returns.
 */
export async function timeRemedies(model: string, config: TrainConfig, dataset: ImageDataset, steps: number, repeat: number,
  warmupSteps: number, progress: (text: string) => void): Promise<RemedyTiming> {
  const root = await mkdtemp(join(tmpdir(), 'gan-studio-bench-remedies-'));
  const trainers: Trainer[] = [];
  try {
    for (const v of REMEDY_VARIANTS) {
      const t = await Trainer.create({
        config: { ...config, augment: v.augment, ema: v.ema },
        dataset,
        runDir: join(root, v.name),
        resumeFrom: null,
        keepCheckpoints: 0,
      });
      trainers.push(t);
      for (let i = 0; i < warmupSteps; i++) {
        progress(`${model} ${v.name}: warm-up step ${i + 1}/${warmupSteps}`);
        await t.trainStep();
      }
    }
    const runsMs = Object.fromEntries(REMEDY_VARIANTS.map((v) => [v.name, [] as number[]])) as Record<RemedyVariant, number[]>;
    for (let r = 0; r < repeat; r++) {
      for (let i = 0; i < REMEDY_VARIANTS.length; i++) {
        const v = REMEDY_VARIANTS[i]!;
        progress(`${model} ${v.name}: round ${r + 1}/${repeat}`);
        const t0 = performance.now();
        for (let s = 0; s < steps; s++) await trainers[i]!.trainStep();
        runsMs[v.name].push((performance.now() - t0) / steps);
      }
    }
    const msPerStep = Object.fromEntries(REMEDY_VARIANTS.map((v) => [v.name, median(runsMs[v.name])])) as Record<RemedyVariant, number>;
    return { model, batch: trainers[0]!.batch, steps, msPerStep, runsMs };
  } finally {
    for (const t of trainers) t.dispose();
    await rm(root, { recursive: true, force: true });
  }
}
