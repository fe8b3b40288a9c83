// The quality benchmark's case plan (scripts/quality/cases.ts) and switch detection (cli.ts).
import { describe, expect, it } from 'vitest';

import { caseFlags, parseGroups, planCases, reportedSwitch, sameSettings, type CaseSpec, type EffectiveSettings } from '../../../scripts/quality/cases';
import { hasTrainSwitch } from '../../../scripts/quality/cli';
import { USAGE } from '../../../src/main/hosts/cli/args';

describe('quality bench cases', () => {
  it('plans defaults, each switch on and off, and the reference, without repeating a command line', () => {
    const plan = planCases(['defaults', 'augment', 'ema', 'reference', 'papers'], { steps: null, referenceSteps: 4000 });
    expect(plan.map((c) => [c.id, caseFlags(c).join(' ')])).toEqual([
      ['defaults', ''],
      ['augment-on', '--augment on'],
      ['augment-off', '--augment off'],
      ['ema-on', '--ema on'],
      ['ema-off', '--ema off'],
      ['reference', '--augment off --ema off --steps 4000'],
      ['papers', '--augment off --ema off --batch 128 --epochs 5'],
    ]);
    // The same command line twice is run once.
    const twice = planCases(['augment', 'ema'], { steps: 50, referenceSteps: 50 });
    expect(twice.map((c) => c.id)).toEqual(['augment-on', 'augment-off', 'ema-on', 'ema-off']);
    expect(() => parseGroups('defaults,nope')).toThrow(/unknown case "nope"/);
  });

  it('treats runs as the same only when batch, steps and every switch agree', () => {
    const spec = (switches: CaseSpec['switches']): CaseSpec => ({ id: 'x', group: 'augment', switches, steps: null });
    const settings = (augment: boolean | null, ema: boolean | null, steps = 500): EffectiveSettings => ({ batch: 32, steps, augment, ema });
    // Reported settings decide: --augment on where it is on by default is the defaults run.
    expect(sameSettings({ spec: spec({ augment: 'on' }), settings: settings(true, true) }, { spec: spec({}), settings: settings(true, true) })).toBe(true);
    expect(sameSettings({ spec: spec({ augment: 'off' }), settings: settings(false, true) }, { spec: spec({}), settings: settings(true, true) })).toBe(false);
    expect(sameSettings({ spec: spec({}), settings: settings(true, true, 4000) }, { spec: spec({}), settings: settings(true, true) })).toBe(false);
    // Unreported switches count as the same only when given the same way.
    expect(sameSettings({ spec: spec({ ema: 'on' }), settings: settings(null, null) }, { spec: spec({}), settings: settings(null, null) })).toBe(false);
    expect(sameSettings({ spec: spec({}), settings: settings(null, null) }, { spec: spec({}), settings: settings(null, null) })).toBe(true);
  });

  it('reads a switch wherever a start event or runs row puts it', () => {
    expect(reportedSwitch({ augment: true }, 'augment')).toBe(true);
    expect(reportedSwitch({ config: { ema: false } }, 'ema')).toBe(false);
    expect(reportedSwitch({ settings: { ema: 'on' } }, 'ema')).toBe(true);
    expect(reportedSwitch({ batch: 32 }, 'ema')).toBeNull();
  });

  it('finds a switch only in the train part of the usage text', () => {
    const help = 'Commands:\n  train     --data PATH [--augment on|off] [--json]\n  generate  --run ID [--ema]\n';
    expect(hasTrainSwitch(help, 'augment')).toBe(true);
    expect(hasTrainSwitch(help, 'ema')).toBe(false);
    // Whatever the CLI says today, the answer comes from its own usage text.
    expect(typeof hasTrainSwitch(USAGE, 'augment')).toBe('boolean');
  });
});
