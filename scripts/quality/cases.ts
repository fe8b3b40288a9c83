/**
 * The quality benchmark's cases: which `gan-studio train` command lines run on each slice.
 *
 *   defaults   no switches (the trainer's own, dataset-aware defaults)
 *   augment    --augment on, then --augment off (EMA left at its default)
 *   ema        --ema on, then --ema off (augmentation left at its default)
 *   reference  --steps 4000 --augment off --ema off: the same network trained long with the
 *              papers' recipe (no remedies), at the planned batch
 *   papers     --batch 128 --epochs 5 --augment off --ema off: what GAN Studio did before the
 *              training plan (the papers' batch and a few epochs), for contrast
 *
 * Command lines that are the same are run once. Settings that differ on the command line but come
 * out the same (say `--augment on` where augmentation is on by default) are caught after the run
 * starts, from the settings it reports (see sameSettings), and reported as duplicates.
 */

export const CASE_GROUPS = ['defaults', 'augment', 'ema', 'reference', 'papers'] as const;
export type CaseGroup = (typeof CASE_GROUPS)[number];
export type Switch = 'augment' | 'ema';
export const SWITCHES: readonly Switch[] = ['augment', 'ema'];

export interface CaseSpec {
  /** Short name, unique within a slice: defaults, augment-on, augment-off, ema-on, ema-off, reference. */
  id: string;
  group: CaseGroup;
  /** Switches given explicitly (the others are left at their defaults). */
  switches: Partial<Record<Switch, 'on' | 'off'>>;
  /** --steps given, or null for the trainer's default length. */
  steps: number | null;
  /** Further train arguments (the papers case's batch and epochs). */
  extra?: string[];
}

export interface PlanOptions {
  /** --steps for every case but the reference (e.g. --quick's 50); null: the trainer's default. */
  steps: number | null;
  referenceSteps: number;
}

export function parseGroups(text: string): CaseGroup[] {
  const groups = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (groups.length === 0) throw new Error('--cases needs at least one of ' + CASE_GROUPS.join(', '));
  for (const g of groups) {
    if (!(CASE_GROUPS as readonly string[]).includes(g)) throw new Error(`--cases: unknown case "${g}" (use ${CASE_GROUPS.join(', ')})`);
  }
  return [...new Set(groups)] as CaseGroup[];
}

/** The train arguments a case adds to `train --data NAME --json`. */
export function caseFlags(spec: CaseSpec): string[] {
  const flags: string[] = [];
  for (const s of SWITCHES) {
    const v = spec.switches[s];
    if (v !== undefined) flags.push(`--${s}`, v);
  }
  if (spec.steps !== null) flags.push('--steps', String(spec.steps));
  if (spec.extra) flags.push(...spec.extra);
  return flags;
}

/** The cases of the chosen groups, in order, without two identical command lines. */
export function planCases(groups: readonly CaseGroup[], opts: PlanOptions): CaseSpec[] {
  const all: CaseSpec[] = [];
  for (const group of groups) {
    switch (group) {
      case 'defaults':
        all.push({ id: 'defaults', group, switches: {}, steps: opts.steps });
        break;
      case 'augment':
      case 'ema':
        for (const v of ['on', 'off'] as const) all.push({ id: `${group}-${v}`, group, switches: { [group]: v }, steps: opts.steps });
        break;
      case 'reference':
        all.push({ id: 'reference', group, switches: { augment: 'off', ema: 'off' }, steps: opts.referenceSteps });
        break;
      case 'papers':
        all.push({ id: 'papers', group, switches: { augment: 'off', ema: 'off' }, steps: null, extra: ['--batch', '128', '--epochs', '5'] });
        break;
    }
  }
  const seen = new Set<string>();
  return all.filter((c) => {
    const key = caseFlags(c).join(' ');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** What a run actually used, as far as gan-studio reports it. */
export interface EffectiveSettings {
  batch: number | null;
  steps: number | null;
  /** null: the run did not say (a gan-studio without the switch, or one that does not report it). */
  augment: boolean | null;
  ema: boolean | null;
}

/**
 * Whether two cases ran the same training. A switch a run does not report counts as the same
 * only when both command lines gave it the same way (both left it out, or both said on/off).
 */
export function sameSettings(a: { spec: CaseSpec; settings: EffectiveSettings }, b: { spec: CaseSpec; settings: EffectiveSettings }): boolean {
  if (a.settings.batch === null || a.settings.steps === null) return false;
  if (a.settings.batch !== b.settings.batch || a.settings.steps !== b.settings.steps) return false;
  for (const s of SWITCHES) {
    const x = a.settings[s];
    const y = b.settings[s];
    if (x !== null && y !== null) {
      if (x !== y) return false;
    } else if (a.spec.switches[s] !== b.spec.switches[s]) {
      return false;
    }
  }
  return true;
}

function asSwitch(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === 'on' || value === 'true') return true;
  if (value === 'off' || value === 'false') return false;
  if (value && typeof value === 'object' && 'enabled' in value) return asSwitch((value as { enabled: unknown }).enabled);
  return null;
}

/** A switch's value from a `train --json` start event or a `runs --json` row, wherever it sits. */
export function reportedSwitch(record: Record<string, unknown> | null | undefined, name: Switch): boolean | null {
  if (!record) return null;
  const places = [record, record.config, record.settings, record.training];
  for (const place of places) {
    if (place && typeof place === 'object' && name in place) {
      const v = asSwitch((place as Record<string, unknown>)[name]);
      if (v !== null) return v;
    }
  }
  return null;
}
