// The host-independent dispatcher: validation before any side effect, one call into the real
// Studio per channel, structured errors (codes mapped, no stack traces), and the event bus.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Studio } from '../../../src/main/core/studio';
import { createDispatcher, toTrainRequest, type Dispatcher } from '../../../src/main/hosts/dispatch';
import { FolderBrowser } from '../../../src/main/hosts/folder-browser';
import { Channels, ErrorCodes, type AnyEvent, type Envelope, type RunDetails, type TimelineGifResult, type TrainingStatusEvent } from '../../../src/shared/contract';
import { writeSyntheticIdxSet } from '../../integration/helpers/idx-files';

let home: string;
let studio: Studio;
let dispatcher: Dispatcher;
const scratch: string[] = [];
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
};

beforeEach(() => {
  home = temp('gs-dispatch-home-');
  studio = Studio.open(home);
  dispatcher = createDispatcher(studio, { version: '9.9.9', host: 'browser', stepFlushMs: 20, logError: () => undefined });
});
afterEach(async () => {
  await studio.stopAll();
  dispatcher.dispose();
  studio.close();
});
afterAll(() => scratch.forEach((d) => rmSync(d, { recursive: true, force: true })));

const errorOf = (reply: Envelope<unknown>) => {
  expect(reply).toHaveProperty('error');
  return (reply as { error: { message: string; code: string } }).error;
};
const resultOf = <T>(reply: Envelope<unknown>): T => {
  if ('error' in reply) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result as T;
};

describe('dispatcher', () => {
  it('answers app:info', async () => {
    const info = resultOf(await dispatcher.handle(Channels.appInfo, undefined));
    expect(info).toEqual({ version: '9.9.9', platform: process.platform, home, host: 'browser', backend: null, activeRuns: [] });
  });

  it('refuses unknown channels and event channels', async () => {
    expect(errorOf(await dispatcher.handle('runs:drop', undefined)).code).toBe(ErrorCodes.unknownChannel);
    expect(errorOf(await dispatcher.handle(Channels.trainingStep, undefined)).code).toBe(ErrorCodes.unknownChannel);
    expect(errorOf(await dispatcher.handle(42, undefined)).code).toBe(ErrorCodes.unknownChannel);
    expect(errorOf(await dispatcher.handle(Channels.dialogOpenFolder, undefined)).code).toBe(ErrorCodes.unsupported);
    expect(errorOf(await dispatcher.handle(Channels.dialogSaveFile, { defaultName: 'grid.png' })).code).toBe(ErrorCodes.unsupported);
    // Validation comes first: a path where a file name belongs is an invalid request.
    expect(errorOf(await dispatcher.handle(Channels.dialogSaveFile, { defaultName: '../../etc/passwd' })).code).toBe(ErrorCodes.invalidRequest);
  });

  it('refuses invalid requests with INVALID_REQUEST and changes nothing', async () => {
    const data = writeSyntheticIdxSet(temp('gs-dispatch-data-'), 32);
    const invalid: [string, unknown][] = [
      [Channels.trainingStart, { data, epochs: -1 }],
      [Channels.trainingStart, { data, epochs: '3' }],
      [Channels.trainingStart, { data, lr: Number.NaN }],
      [Channels.trainingStart, { data, batch: 1e9 }],
      [Channels.trainingStart, { data, name: 'x'.repeat(100_000) }],
      [Channels.trainingStart, { data, rogue: true }],
      [Channels.trainingStart, { data: `${data}/../x` }],
      [Channels.trainingStart, null],
      [Channels.datasetsImport, { path: `${data}/..`, name: 'd' }],
      [Channels.datasetsImport, { path: data, name: 'd', size: 'big' }],
      [Channels.datasetsImport, { path: data, name: 'd', extra: 1 }],
      [Channels.datasetsImport, { path: `${data}\0`, name: 'd' }],
      [Channels.runsDelete, { runId: 'all' }],
      [Channels.datasetsDelete, { id: -1 }],
      [Channels.fsList, { path: '/tmp/../etc' }],
    ];
    for (const [channel, request] of invalid) {
      const error = errorOf(await dispatcher.handle(channel, request));
      expect(error.code, `${channel} ${JSON.stringify(request)?.slice(0, 60)}`).toBe(ErrorCodes.invalidRequest);
      expect(error.message.length).toBeLessThan(1000);
    }
    expect(studio.listRuns()).toEqual([]);
    expect(studio.listDatasets()).toEqual([]);
    expect(readdirSync(join(home, 'runs'))).toEqual([]);
    expect(readdirSync(join(home, 'datasets'))).toEqual([]);
  });

  it('maps StudioError codes, writes no run for unusable data', async () => {
    expect(errorOf(await dispatcher.handle(Channels.runsGet, { runId: 7 })).code).toBe(ErrorCodes.notFound);
    expect(errorOf(await dispatcher.handle(Channels.trainingPause, { runId: 7 })).code).toBe(ErrorCodes.notFound);
    expect(errorOf(await dispatcher.handle(Channels.datasetsDelete, { id: 3 })).code).toBe(ErrorCodes.notFound);
    const missing = errorOf(await dispatcher.handle(Channels.trainingStart, { data: join(home, 'no-such-folder'), backend: 'wasm' }));
    expect([ErrorCodes.data, ErrorCodes.invalidRequest]).toContain(missing.code);
    expect(studio.listRuns()).toEqual([]);
  });

  it('answers unexpected errors as INTERNAL with one line and no stack', async () => {
    const broken = { home, listRuns: () => { throw new Error('disk on fire\n    at Object.<anonymous> (/src/x.ts:1:1)'); } } as unknown as Studio;
    const d = createDispatcher(broken, { version: '1', host: 'electron', logError: () => undefined });
    const error = errorOf(await d.handle(Channels.runsList, undefined));
    expect(error).toEqual({ message: 'Something went wrong: disk on fire', code: ErrorCodes.internal });
  });

  it('lists folders with image counts (fs:list)', async () => {
    const root = temp('gs-dispatch-fs-');
    mkdirSync(join(root, 'stars', 'a'), { recursive: true });
    mkdirSync(join(root, '.hidden'));
    mkdirSync(join(root, 'empty'));
    for (const n of ['1.png', '2.JPG', 'notes.txt']) writeFileSync(join(root, 'stars', n), 'x');
    writeFileSync(join(root, 'train-images-idx3-ubyte.gz'), 'x');
    const d = createDispatcher(studio, { version: '1', host: 'browser', folders: new FolderBrowser({ start: root }) });
    const listing = resultOf<{ path: string; entries: { name: string; images: number; folders: number }[]; dataFiles: string[]; parent: string }>(
      await d.handle(Channels.fsList, undefined),
    );
    expect(listing.entries.map((e) => [e.name, e.images, e.folders])).toEqual([
      ['empty', 0, 0],
      ['stars', 2, 1],
    ]);
    expect(listing.dataFiles).toEqual([join(listing.path, 'train-images-idx3-ubyte.gz')]);
    expect(errorOf(await d.handle(Channels.fsList, { path: join(root, 'nope') })).code).toBe(ErrorCodes.notFound);
  });

  it('applies the papers defaults to a new run', () => {
    const r = toTrainRequest({ data: '/data/stars/' });
    expect(r.config).toMatchObject({ model: { kind: 'dcgan', latent: 100 }, batch: 128, lr: 2e-4, beta1: 0.5, k: 1, name: 'dcgan-stars' });
    expect(r.shapeFromDataset).toEqual({ size: true, channels: true });
    expect(toTrainRequest({ resume: 4, epochs: 9 })).toEqual({ resume: 4, epochs: 9, steps: undefined, backend: undefined });
  });

  it('starts a run and pushes its steps, grids and final status', async () => {
    const data = writeSyntheticIdxSet(temp('gs-dispatch-train-'), 32);
    const events: AnyEvent[] = [];
    dispatcher.subscribe((e) => events.push(e));
    const started = resultOf<{ runId: number; totalSteps: number; startStep: number }>(
      await dispatcher.handle(Channels.trainingStart, { data, model: 'gan', latent: 8, steps: 8, batch: 8, backend: 'wasm', name: 'bus' }),
    );
    expect(started).toMatchObject({ totalSteps: 8, startStep: 0 });
    const runId = started.runId;
    await new Promise<void>((resolve) => {
      const off = dispatcher.subscribe((e) => {
        if (e.event === Channels.trainingStatus && e.payload.status !== 'running') {
          off();
          resolve();
        }
      });
    });
    const statuses = events.filter((e) => e.event === Channels.trainingStatus).map((e) => e.payload as TrainingStatusEvent);
    expect(statuses.map((s) => s.status)).toEqual(['running', 'completed']);
    // The verdict comes with the final status, not before.
    expect(statuses[0]!.verdict).toBeNull();
    expect(statuses[1]!.verdict).toMatchObject({ code: 'too-short', step: 8 });
    const quality = events.flatMap((e) => (e.event === Channels.trainingQuality ? [e.payload] : []));
    expect(quality.map((q) => [q.runId, q.step])).toEqual([[runId, 0], [runId, 8]]);
    const steps = events.flatMap((e) => (e.event === Channels.trainingStep ? e.payload.steps.map((s) => s.step) : []));
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const grids = events.filter((e) => e.event === Channels.trainingGrid);
    expect(grids.length).toBeGreaterThanOrEqual(1);
    for (const g of grids) if (g.event === Channels.trainingGrid) expect(existsSync(join(home, g.payload.file))).toBe(true);
    expect(grids.map((g) => (g.event === Channels.trainingGrid ? g.payload.kind : null))[0]).toBe('epoch');

    const details = resultOf<{ run: { status: string }; grids: { file: string }[]; metricCount: number; resumable: boolean }>(
      await dispatcher.handle(Channels.runsGet, { runId }),
    );
    expect(details.run.status).toBe('completed');
    expect(details.metricCount).toBe(8);
    expect(details.grids[0]!.file).toMatch(/^runs\/\d+\/.+\.png$/);
    expect((details as unknown as RunDetails).quality.map((q) => q.step)).toEqual([0, 8]);
    expect((details as unknown as RunDetails).run.verdict?.code).toBe('too-short');

    const gif = resultOf<TimelineGifResult>(await dispatcher.handle(Channels.runsTimelineGif, { runId, delayMs: 200 }));
    expect(gif.file).toBe(`runs/${runId}/timeline.gif`);
    expect(gif.frames).toBe(details.grids.length);
    expect(readFileSync(join(home, gif.file)).subarray(0, 4).toString('latin1')).toBe('GIF8');
    expect(errorOf(await dispatcher.handle(Channels.runsTimelineGif, { runId, delayMs: 1 })).code).toBe(ErrorCodes.invalidRequest);
    expect(errorOf(await dispatcher.handle(Channels.runsTimelineGif, { runId: runId + 100 })).code).toBe(ErrorCodes.notFound);
    const metrics = resultOf<{ points: { step: number }[]; every: number; total: number }>(
      await dispatcher.handle(Channels.runsMetrics, { runId, maxPoints: 3 }),
    );
    expect(metrics).toMatchObject({ every: 4, total: 8 });
    expect(metrics.points.map((p) => p.step)).toEqual([4, 8]);
    resultOf(await dispatcher.handle(Channels.runsDelete, { runId }));
    expect(studio.listRuns()).toEqual([]);
  });
});
