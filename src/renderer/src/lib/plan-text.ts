// The Train page's plan preview in words: the plan on one line, what the plan chose and why, the
// estimated time, and the planned values the form's blank fields show as placeholders. Pure
// functions of a `training:plan` answer.

import type { TrainingPlanPreview } from '../../../shared/contract';
import { formatCount as count, formatDurationWords } from '../../../shared/format';
import { formatEpochs as epochsText, formatStepTime, PLAN_RULES, planParts } from '../../../shared/training-plan';

import { plural } from './format';

export { epochsText };

/**
 * "4,000 steps (about 222 epochs of 300 images), batch 16 · augmentation on · averaged
 * generator on".
 */
export function planSummary(p: TrainingPlanPreview): string {
  const [length, batch, augment, ema] = planParts(p, p.count);
  return [`${length}, ${batch}`, augment, ema].join(' · ');
}

/** "about 3 min on this machine", or null when no step time is known. */
export function planTime(p: TrainingPlanPreview): string | null {
  if (p.seconds === null || !Number.isFinite(p.seconds)) return null;
  return `about ${formatDurationWords(p.seconds)} on this machine`;
}

/** Where the time comes from: "12.3 ms a step, measured just now" / "…, as in run #4". */
export function planTimeSource(p: TrainingPlanPreview): string | null {
  if (p.msPerStep === null) return null;
  const ms = formatStepTime(p.msPerStep);
  const run = p.estimateSource ? /^run (\d+)$/.exec(p.estimateSource) : null;
  if (run) return `${ms}, as in run #${run[1]}`;
  return p.estimateSource === 'measured' ? `${ms}, measured just now` : ms;
}

function listOf(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** One line: what the plan chose for the dataset's size, and that the fields override it. */
export function planNote(p: TrainingPlanPreview): string {
  const chosen: string[] = [];
  if (p.planned.batch) chosen.push('batch');
  if (p.planned.length) chosen.push('length');
  if (p.planned.augment) chosen.push('augmentation');
  if (p.planned.ema) chosen.push('averaged generator');
  if (chosen.length === 0) return 'Every choice here is yours; clear a field, or pick Auto, to let the plan choose it.';
  const first = listOf(chosen);
  // The plan lengthened the run past its epochs: the set is small.
  const small = p.planned.length && p.steps > PLAN_RULES.epochs * p.stepsPerEpoch ? ' (a small set needs thousands of steps in small batches)' : '';
  return `${first.charAt(0).toUpperCase()}${first.slice(1)} planned for ${plural(p.count, 'image')}${small}. A field you fill in overrides the plan.`;
}

/** Placeholders of the blank fields: the values the plan (or the other length field) gives. */
export function planPlaceholders(p: TrainingPlanPreview | null): { batch: string; epochs: string; steps: string } {
  if (!p) return { batch: 'auto', epochs: 'auto', steps: 'auto' };
  return {
    batch: p.planned.batch ? `auto: ${p.batch}` : 'auto',
    epochs: p.planned.length ? `auto: ${epochsText(p.epochs)}` : `${epochsText(p.epochs)} (from steps)`,
    steps: p.planned.length ? `auto: ${count(p.steps)}` : `${count(p.steps)} (from epochs)`,
  };
}

/** The Auto option of a remedy's select: "Auto (plan: on)" when the plan chose it. */
export function autoLabel(p: TrainingPlanPreview | null, remedy: 'augment' | 'ema'): string {
  if (!p || !p.planned[remedy]) return 'Auto (plan)';
  return `Auto (plan: ${p[remedy] ? 'on' : 'off'})`;
}
