// Studio.train end to end in-process: the real worker thread (started from the TypeScript
// sources through tsx), the real store, pause / resume / stop through the handle.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Studio, StudioError } from '../../../src/main/core/studio';
import type { TrainConfig } from '../../../src/shared/types';
import { writeSyntheticIdxSet } from '../../integration/helpers/idx-files';
import { testConfig, type TestConfigOverrides } from '../../helpers/train-config';

let home: string;
let data: string;
let studio: Studio;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'gs-studio-'));
  data = writeSyntheticIdxSet(mkdtempSync(join(tmpdir(), 'gs-studio-data-')), 64);
  studio = Studio.open(home);
});
afterEach(() => {
  studio.close();
  rmSync(home, { recursive: true, force: true });
});

const config = (overrides: TestConfigOverrides = {}): TrainConfig =>
  testConfig({ data, steps: 30, name: 'studio-test', ...overrides, model: { latent: 16, ...overrides.model } });

describe('Studio.train', () => {
  it('pauses, resumes and stops a run in its worker, recording everything', async () => {
    const handle = await studio.train({ config: config(), backend: 'wasm' });
    expect(handle.backend.name).toBe('wasm');
    const events: string[] = [];
    handle.on('paused', () => events.push('paused'));
    handle.on('resumed', () => events.push('resumed'));
    let steps = 0;
    await new Promise<void>((resolve) => {
      handle.on('step', () => {
        steps++;
        if (steps === 2) handle.pause();
      });
      handle.once('paused', () => {
        const atPause = steps;
        setTimeout(() => {
          // Nothing trains while paused.
          expect(steps).toBe(atPause);
          handle.resume();
          handle.once('step', () => {
            handle.stop();
            resolve();
          });
        }, 300);
      });
    });
    const { run } = await handle.done;
    expect(events).toEqual(['paused', 'resumed']);
    expect(run.status).toBe('stopped');
    expect(run.step).toBeGreaterThanOrEqual(3);
    expect(run.step).toBeLessThan(30);
    expect(run.backend).toBe('wasm');
    expect(run.config.limit).toBeNull();
    expect(studio.runs.metrics(run.id).map((m) => m.step)).toEqual(Array.from({ length: run.step }, (_, i) => i + 1));
    expect(studio.runs.latestCheckpoint(run.id)?.step).toBe(run.step);
    expect(studio.runs.grids(run.id).map((g) => g.epoch)).toEqual([0, 1]);
  });

  it('rejects bad data before recording anything', async () => {
    await expect(studio.train({ config: config({ data: join(home, 'nope') }) })).rejects.toBeInstanceOf(StudioError);
    await expect(studio.train({ config: config({ batch: 0 }) })).rejects.toThrow(/batch must be/);
    expect(studio.listRuns()).toEqual([]);
  });
});
