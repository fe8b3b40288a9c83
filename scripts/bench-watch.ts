/**
 * What watching a run costs: the same training with the live view's extras on (clock grids and
 * the quality score on their default schedule, trainer.ts's DEFAULT_WATCH) and off, each for a
 * fixed spell of wall time through the real `Trainer.run` loop, alternating on/off over rounds so
 * both see the same spells of a shared machine's speed. The rate counts steps between the first
 * and the last step of a spell (the score before the first step, the reference it is computed
 * against and the stop's final grid, checkpoint and score are one-offs, reported on their own).
 *
 * scripts/bench.ts runs this as its "watch" section (`--no-watch` skips it).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_WATCH, Trainer, type TrainerHooks, type WatchSchedule } from '../src/main/core/engine/ml/trainer';
import type { ImageDataset, QualityPoint, TrainConfig } from '../src/shared/types';
import { median } from './stats';

export const WATCH_OFF: WatchSchedule = { gridFirstSeconds: 1e9, gridEverySeconds: 1e9, qualityBudget: 0 };

export interface WatchSpell {
  watched: boolean;
  steps: number;
  /** Mean ms a step between the spell's first and last step. */
  msPerStep: number;
  /** Quality evaluations and clock grids inside the spell (the one before the first step not counted). */
  evaluations: number;
  clockGrids: number;
  /** Seconds of each evaluation inside the spell. */
  evaluationSeconds: number[];
  /** Seconds of the evaluation before the first step. */
  firstEvaluationSeconds: number | null;
}

export interface WatchTiming {
  model: string;
  batch: number;
  spellSeconds: number;
  spells: WatchSpell[];
  /** Medians over the rounds. */
  onMsPerStep: number;
  offMsPerStep: number;
  overheadPercent: number;
  evaluationMs: number;
  /** Steps between evaluations (median) and so the score's amortised cost a step. */
  stepsBetweenEvaluations: number;
  evaluationMsPerStep: number;
}


async function spell(config: TrainConfig, dataset: ImageDataset, watch: WatchSchedule, seconds: number, root: string, name: string): Promise<WatchSpell> {
  const trainer = await Trainer.create({ config, dataset, runDir: join(root, name), resumeFrom: null, keepCheckpoints: 1, watch });
  const stepTimes: number[] = [];
  const quality: QualityPoint[] = [];
  let clockGrids = 0;
  let started = 0;
  const hooks: TrainerHooks = {
    onStep: () => {
      if (stepTimes.length === 0) started = performance.now();
      stepTimes.push(performance.now());
    },
    onEpoch: () => undefined,
    onGrid: (g) => {
      if (g.kind === 'clock' && stepTimes.length > 0) clockGrids++;
    },
    onQuality: (q) => quality.push(q),
    onWarning: () => undefined,
    onCheckpoint: () => undefined,
    control: async () => (stepTimes.length > 0 && performance.now() - started >= seconds * 1000 ? 'stop' : 'continue'),
  };
  try {
    await trainer.run(hooks);
  } finally {
    trainer.dispose();
  }
  const steps = stepTimes.length;
  const inside = quality.filter((q) => q.step > 0 && q.step < steps);
  return {
    watched: watch.qualityBudget > 0,
    steps,
    msPerStep: steps > 1 ? (stepTimes[steps - 1]! - stepTimes[0]!) / (steps - 1) : Number.NaN,
    evaluations: inside.length,
    clockGrids,
    evaluationSeconds: inside.map((q) => q.seconds),
    firstEvaluationSeconds: quality.find((q) => q.step === 0)?.seconds ?? null,
  };
}

/**
 * Times `rounds` spells of `seconds` each with the watch on and off. A short warm-up spell first
 * (V8 optimises tfjs's JavaScript over the first steps), not counted.
 */
export async function timeWatch(model: string, config: TrainConfig, dataset: ImageDataset, seconds: number, rounds: number,
  progress: (text: string) => void): Promise<WatchTiming> {
  const root = await mkdtemp(join(tmpdir(), 'gan-studio-bench-watch-'));
  try {
    progress(`${model}: warm-up`);
    await spell(config, dataset, WATCH_OFF, Math.min(5, seconds), root, 'warm-up');
    const spells: WatchSpell[] = [];
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so neither always gets the fresher machine.
      const order = r % 2 === 0 ? [DEFAULT_WATCH, WATCH_OFF] : [WATCH_OFF, DEFAULT_WATCH];
      for (const watch of order) {
        const label = watch.qualityBudget > 0 ? 'on' : 'off';
        progress(`${model}: round ${r + 1}/${rounds}, watch ${label} (${seconds} s)`);
        spells.push(await spell(config, dataset, watch, seconds, root, `${r}-${label}`));
      }
    }
    const on = spells.filter((s) => s.watched);
    const off = spells.filter((s) => !s.watched);
    const onMsPerStep = median(on.map((s) => s.msPerStep));
    const offMsPerStep = median(off.map((s) => s.msPerStep));
    const evaluationMs = median(on.flatMap((s) => s.evaluationSeconds)) * 1000;
    const stepsBetweenEvaluations = median(on.map((s) => s.steps / Math.max(1, s.evaluations)));
    return {
      model,
      batch: Math.min(config.batch, dataset.count),
      spellSeconds: seconds,
      spells,
      onMsPerStep,
      offMsPerStep,
      overheadPercent: (onMsPerStep / offMsPerStep - 1) * 100,
      evaluationMs,
      stepsBetweenEvaluations,
      evaluationMsPerStep: evaluationMs / stepsBetweenEvaluations,
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
