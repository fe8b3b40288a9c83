// Studio.train end to end in-process: the real worker thread (started from the TypeScript
// sources through tsx), the real store, pause / resume / stop through the handle.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
    // Before training, and where it stopped in epoch 1 (clock grids aside: the pause is not counted, but a slow machine may pass 5 s).
    expect(studio.runs.grids(run.id).filter((g) => g.kind !== 'clock').map((g) => [g.kind, g.epoch])).toEqual([['epoch', 0], ['final', 1]]);
  });

  it('records quality points and a verdict, continues them on resume, and animates the timeline', async () => {
    const first = await studio.train({ config: config({ steps: 12 }), backend: 'wasm' });
    const heard: number[] = [];
    first.on('quality', (q) => heard.push(q.step));
    const { run } = await first.done;
    expect(run.status).toBe('completed');
    // Scored before the first step and at the end; a 12-step run is too short to judge.
    expect(heard).toEqual([0, 12]);
    expect(studio.runDetails(run.id).quality.map((q) => q.step)).toEqual([0, 12]);
    expect(run.verdict).toMatchObject({ code: 'too-short', step: 12 });
    expect(run.verdict!.text).toMatch(/too short/);

    const second = await studio.train({ resume: run.id, steps: 24, backend: 'wasm' });
    // A session in progress has no verdict yet.
    expect(studio.getRun(run.id).verdict).toBeNull();
    const { run: resumed } = await second.done;
    const details = studio.runDetails(run.id);
    expect(details.quality.map((q) => q.step)).toEqual([0, 12, 24]);
    expect(resumed.verdict).toMatchObject({ step: 24 });
    for (const q of details.quality) {
      expect(q.score).toBeGreaterThanOrEqual(0);
      expect(q.score).toBeLessThanOrEqual(100);
    }

    const gif = await studio.timelineGif(run.id, 100);
    expect(gif.frames).toBe(details.grids.length);
    expect(gif.path).toBe(join(home, 'runs', String(run.id), 'timeline.gif'));
    expect(readFileSync(gif.path).subarray(0, 6).toString('latin1')).toMatch(/^GIF8[79]a$/);
    await expect(studio.timelineGif(run.id, 5)).rejects.toThrow(/delayMs/);
    await expect(studio.timelineGif(run.id + 1)).rejects.toThrow(StudioError);
  });

  it('rejects bad data before recording anything', async () => {
    await expect(studio.train({ config: config({ data: join(home, 'nope') }) })).rejects.toBeInstanceOf(StudioError);
    await expect(studio.train({ config: config({ batch: 0 }) })).rejects.toThrow(/batch must be/);
    expect(studio.listRuns()).toEqual([]);
  });
});
