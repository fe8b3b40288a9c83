// The renderer's rune stores (src/renderer/src/lib/stores/*.svelte.ts), compiled by the Svelte
// plugin in vitest.config.ts, against a fake window.api. No component is mounted, so no DOM is
// needed. Each test imports fresh store modules (the stores are module singletons).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type {
  DatasetInfo,
  TrainingGridEvent,
  TrainingQualityEvent,
  TrainingStartRequest,
  TrainingStarted,
  TrainingStatusEvent,
  TrainingStepEvent,
  TrainingWarningEvent,
  WarningInfo,
} from '../../../src/shared/contract';
import type { QualityPoint, RunRecord, StepMetrics } from '../../../src/shared/types';

type Listener = (event: never) => void;

/** A fake window.api: canned answers, recorded listeners, and a count of live subscriptions. */
function makeFakeApi() {
  const listeners = new Map<string, Set<Listener>>();
  let subscribed = 0;
  let unsubscribed = 0;
  const on = (channel: string) => (cb: Listener) => {
    const set = listeners.get(channel) ?? new Set<Listener>();
    listeners.set(channel, set);
    set.add(cb);
    subscribed++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      set.delete(cb);
      unsubscribed++;
    };
  };
  const emit = (channel: string, event: unknown) => {
    for (const cb of listeners.get(channel) ?? []) (cb as (e: unknown) => void)(event);
  };
  const run = { id: 7, name: 'dcgan-shapes', status: 'running', step: 0, epoch: 0, error: null, config: { epochs: 3 } } as unknown as RunRecord;
  const api = {
    listDatasets: vi.fn(async (): Promise<DatasetInfo[]> => []),
    appInfo: vi.fn(async () => ({ version: '0.0.0', host: 'browser', home: '/tmp/x', backend: null, activeRuns: [] })),
    getRun: vi.fn(async () => ({ run, active: true, grids: [], epochs: [] })),
    runMetrics: vi.fn(async () => ({ points: [] })),
    startTraining: vi.fn(async (_req: TrainingStartRequest): Promise<TrainingStarted> =>
      ({
        runId: 7,
        run,
        backend: { name: 'wasm', reason: 'test' },
        data: { count: 64, source: '/data', format: 'folder', classNames: [], skipped: 0 },
        batch: 16,
        stepsPerEpoch: 4,
        startStep: 0,
        totalSteps: 12,
      }) as unknown as TrainingStarted),
    onTrainingStep: on('step'),
    onTrainingEpoch: on('epoch'),
    onTrainingGrid: on('grid'),
    onTrainingStatus: on('status'),
    onTrainingQuality: on('quality'),
    onTrainingWarning: on('warning'),
    onDatasetProgress: on('progress'),
    fileUrl: () => '',
  };
  return {
    api,
    emit,
    /** Subscriptions still open. */
    active: () => subscribed - unsubscribed,
    subscribed: () => subscribed,
  };
}

function step(n: number, epoch = 1): StepMetrics {
  return { step: n, epoch, lossD: 1 + n / 100, lossG: 2 - n / 100, dReal: 0.6, dFake: 0.4 } as StepMetrics;
}

let fake: ReturnType<typeof makeFakeApi>;

beforeEach(() => {
  vi.resetModules();
  fake = makeFakeApi();
  (globalThis as { window?: unknown }).window = { api: fake.api };
});

afterEach(() => {
  delete (globalThis as { window?: unknown }).window;
});

const loadDatasets = async () => (await import('../../../src/renderer/src/lib/stores/datasets.svelte')).datasetsStore;
const loadTraining = async () => (await import('../../../src/renderer/src/lib/stores/training.svelte')).trainingStore;

describe('datasets store', () => {
  it('loads the list from the api', async () => {
    const list = [
      { id: 1, name: 'shapes', size: 28, channels: 1, count: 64, classNames: ['circles', 'squares'] },
      { id: 2, name: 'faces', size: 64, channels: 3, count: 10, classNames: [] },
    ] as unknown as DatasetInfo[];
    fake.api.listDatasets.mockResolvedValueOnce(list);
    const store = await loadDatasets();
    expect(store.loaded).toBe(false);
    await store.refresh();
    expect(fake.api.listDatasets).toHaveBeenCalledTimes(1);
    expect(store.list.map((d) => d.name)).toEqual(['shapes', 'faces']);
    expect(store.names).toEqual(['shapes', 'faces']);
    expect(store.loaded).toBe(true);
    expect(store.loading).toBe(false);
    expect(store.error).toBeNull();
  });

  it('surfaces an api error as a one-line user-facing message and keeps the old list', async () => {
    fake.api.listDatasets.mockResolvedValueOnce([{ id: 1, name: 'shapes' }] as unknown as DatasetInfo[]);
    const store = await loadDatasets();
    await store.refresh();
    const failure = Object.assign(new Error("Error invoking remote method 'datasets:list': Error: the studio home is not readable\n    at Object.list (/app/main.js:1:1)"), { code: 'IO' });
    fake.api.listDatasets.mockRejectedValueOnce(failure);
    await store.refresh();
    expect(store.error).toBe('The studio home is not readable');
    expect(store.list.map((d) => d.name)).toEqual(['shapes']);
    expect(store.loading).toBe(false);

    // A rejection with nothing readable in it falls back to the store's own words.
    fake.api.listDatasets.mockRejectedValueOnce({});
    await store.refresh();
    expect(store.error).toBe('Could not list the datasets.');

    // The next successful load clears the message.
    await store.refresh();
    expect(store.error).toBeNull();
  });

  it('turns a failed import into an error state with the api message', async () => {
    const store = await loadDatasets();
    (fake.api as Record<string, unknown>).importDataset = vi.fn(async () => {
      throw new Error('no images found in /nowhere');
    });
    await store.importFolder({ path: '/nowhere', name: 'nowhere' } as never);
    expect(store.importState).toEqual({ phase: 'error', message: 'No images found in /nowhere' });
  });
});

describe('training store', () => {
  it('appends step events for its own run and ignores other runs', async () => {
    const store = await loadTraining();
    const teardown = store.connect();
    expect(fake.active()).toBe(6);

    expect(await store.start({ data: 'shapes' } as unknown as TrainingStartRequest)).toBe(true);
    expect(store.runId).toBe(7);
    expect(store.status).toBe('running');
    expect(store.totalSteps).toBe(12);

    fake.emit('step', { runId: 7, steps: [step(1), step(2)] } satisfies TrainingStepEvent);
    expect(store.series.lossD.points.map((p) => p.x)).toEqual([1, 2]);
    expect(store.step).toBe(2);

    // Another run's steps (e.g. one started from the CLI) do not touch this view.
    const getRunCalls = fake.api.getRun.mock.calls.length;
    fake.emit('step', { runId: 99, steps: [step(50, 9)] } satisfies TrainingStepEvent);
    expect(store.runId).toBe(7);
    expect(store.step).toBe(2);
    expect(store.series.lossD.points.map((p) => p.x)).toEqual([1, 2]);
    expect(fake.api.getRun.mock.calls.length).toBe(getRunCalls);

    fake.emit('step', { runId: 7, steps: [step(3), step(4, 2)] } satisfies TrainingStepEvent);
    expect(store.series.lossG.points.map((p) => p.x)).toEqual([1, 2, 3, 4]);
    expect(store.series.dReal.points).toHaveLength(4);
    expect(store.step).toBe(4);
    expect(store.epoch).toBe(2);

    // A repeated step is not appended twice.
    fake.emit('step', { runId: 7, steps: [step(4, 2)] } satisfies TrainingStepEvent);
    expect(store.series.lossD.points).toHaveLength(4);
    teardown();
  });

  it('updates its status on training:status for its run only', async () => {
    const store = await loadTraining();
    const teardown = store.connect();
    await store.start({ data: 'shapes' } as unknown as TrainingStartRequest);
    expect(store.isLive).toBe(true);

    fake.emit('status', { runId: 99, status: 'failed', error: 'boom', step: 1, epoch: 1, verdict: null } satisfies TrainingStatusEvent);
    expect(store.status).toBe('running');
    expect(store.runError).toBeNull();

    fake.emit('status', { runId: 7, status: 'paused', error: null, step: 5, epoch: 2, verdict: null } satisfies TrainingStatusEvent);
    expect(store.status).toBe('paused');
    expect(store.isLive).toBe(true);
    expect(store.step).toBe(5);

    fake.emit('status', { runId: 7, status: 'stopped', error: null, step: 6, epoch: 2, verdict: null } satisfies TrainingStatusEvent);
    expect(store.status).toBe('stopped');
    expect(store.isLive).toBe(false);
    expect(store.finished).toBe(true);
    expect(store.step).toBe(6);

    fake.emit('status', { runId: 7, status: 'diverged', error: 'loss is NaN', step: 6, epoch: 2, verdict: null } satisfies TrainingStatusEvent);
    expect(store.status).toBe('diverged');
    expect(store.runError).toBe('loss is NaN');
    teardown();
  });

  it('unsubscribes everything on teardown and subscribes only once', async () => {
    const store = await loadTraining();
    const teardown = store.connect();
    expect(fake.subscribed()).toBe(6);
    expect(fake.active()).toBe(6);
    // Connecting again while connected does not add listeners.
    const again = store.connect();
    expect(fake.subscribed()).toBe(6);

    await store.start({ data: 'shapes' } as unknown as TrainingStartRequest);
    teardown();
    expect(fake.active()).toBe(0);
    again();
    expect(fake.active()).toBe(0);

    // After teardown, events no longer reach the store.
    fake.emit('step', { runId: 7, steps: [step(1)] } satisfies TrainingStepEvent);
    expect(store.series.lossD.points).toHaveLength(0);
    expect(store.step).toBe(0);

    // It can connect again later.
    const third = store.connect();
    expect(fake.active()).toBe(6);
    third();
    expect(fake.active()).toBe(0);
  });

  it('datasets store listens to import progress once and unsubscribes on teardown', async () => {
    const store = await loadDatasets();
    const teardown = store.connect();
    expect(fake.active()).toBe(1);
    teardown();
    expect(fake.active()).toBe(0);
  });
});

const loadGalleries = async () => (await import('../../../src/renderer/src/lib/stores/galleries.svelte')).galleriesStore;
const loadLab = async () => (await import('../../../src/renderer/src/lib/stores/latent-lab.svelte')).latentLabStore;
const loadModels = async () => (await import('../../../src/renderer/src/lib/stores/models.svelte')).modelsStore;

/** A gallery as galleries:get answers (only the fields the stores read). */
const galleryInfo = (id: number, over: Record<string, unknown> = {}) =>
  ({ id, step: 6, images: [0, 1, 2].map((index) => ({ index, picked: false, file: `galleries/${id}/${index}.png` })), ...over }) as never;

describe('galleries store: sources and regenerating', () => {
  it('draws from an imported model as well as from a run', async () => {
    const api = fake.api as Record<string, unknown>;
    api.listGalleries = vi.fn(async () => []);
    api.createGallery = vi.fn(async () => galleryInfo(4, { modelId: 2, runId: null }));
    const store = await loadGalleries();
    await store.openModel(2);
    expect([store.modelId, store.runId]).toEqual([2, null]);
    expect(api.listGalleries).toHaveBeenLastCalledWith({ modelId: 2 });
    expect(await store.generate({ count: 3, seed: 7 })).toBe(true);
    expect(api.createGallery).toHaveBeenLastCalledWith({ modelId: 2, seed: 7, count: 3 });
    await store.openRun(5);
    expect([store.modelId, store.runId, store.gallery]).toEqual([null, 5, null]);
    expect(api.listGalleries).toHaveBeenLastCalledWith({ runId: 5 });
  });

  it('offers the other checkpoints of an image, draws it there and keeps each result', async () => {
    const api = fake.api as Record<string, unknown>;
    api.listGalleries = vi.fn(async () => [{ id: 4 }]);
    api.getGallery = vi.fn(async () => galleryInfo(4));
    api.galleryCheckpoints = vi.fn(async () => [
      { step: 2, epoch: 1 },
      { step: 4, epoch: 2 },
      { step: 6, epoch: 3 },
    ]);
    api.regenerateGalleryImage = vi.fn(async (r: { index: number; checkpointStep: number }) => ({ galleryId: 4, index: r.index, step: r.checkpointStep, epoch: r.checkpointStep / 2, file: `x/${r.checkpointStep}.png` }));
    const store = await loadGalleries();
    await store.openRun(1);
    await store.openRegenerate(1);
    // The earliest checkpoint other than the gallery's own is chosen first.
    expect(store.regen).toMatchObject({ galleryId: 4, index: 1, step: 2, loading: false, results: [] });
    await store.regenerate();
    store.setRegenerateStep(4);
    await store.regenerate();
    expect(api.regenerateGalleryImage).toHaveBeenLastCalledWith({ galleryId: 4, index: 1, checkpointStep: 4 });
    expect(store.regen!.results.map((r) => r.step)).toEqual([4, 2]);

    api.regenerateGalleryImage = vi.fn(async () => {
      throw new Error('run 1 has no checkpoint at step 4 (checkpoints: 2, 6)\n    at x (y.js:1:1)');
    });
    await store.regenerate();
    expect(store.regen).toMatchObject({ running: false, error: 'Run 1 has no checkpoint at step 4 (checkpoints: 2, 6)' });
    expect(store.regen!.results).toHaveLength(2);
    // Another gallery closes the panel.
    await store.openRun(2);
    expect(store.regen).toBeNull();
  });
});

describe('latent-lab store: classes', () => {
  it('sends the classes picked, and nothing for "the image’s class"', async () => {
    const api = fake.api as Record<string, unknown>;
    api.latentArithmetic = vi.fn(async () => ({}));
    api.latentInterpolate = vi.fn(async () => ({}));
    const lab = await loadLab();
    lab.follow(3, 6);
    lab.pick(0, false);
    lab.pick(2, false);
    lab.setClass('b', 1);
    lab.expression = 'a + b';
    await lab.runArithmetic();
    expect(api.latentArithmetic).toHaveBeenLastCalledWith({ galleryId: 3, expression: 'a + b', operands: [{ name: 'a', indices: [0] }, { name: 'b', indices: [2], classLabel: 1 }] });
    lab.resultClass = 0;
    await lab.runArithmetic();
    expect(api.latentArithmetic).toHaveBeenLastCalledWith(expect.objectContaining({ resultClass: 0 }));

    lab.toClass = 1;
    await lab.runInterpolation();
    expect(api.latentInterpolate).toHaveBeenLastCalledWith({ galleryId: 3, from: 0, to: 1, frames: 8, mode: 'slerp', toClass: 1 });
    // Clearing an operand forgets its class; another gallery forgets them all.
    lab.clear('b');
    expect(lab.classes.b).toBeNull();
    lab.follow(4, 6);
    expect([lab.resultClass, lab.fromClass, lab.toClass]).toEqual([null, null, null]);
  });
});

describe('models store', () => {
  it('imports a folder under the name given, lists, and reports a refusal in words', async () => {
    const api = fake.api as Record<string, unknown>;
    const models = [{ id: 1, name: 'faces' }];
    api.listModels = vi.fn(async () => models);
    api.importModel = vi.fn(async (r: { path: string; name?: string }) => ({ id: 2, name: r.name ?? 'x' }));
    api.deleteModel = vi.fn(async () => null);
    const store = await loadModels();
    await store.refresh();
    expect(store.list).toEqual(models);
    store.name = '  mine ';
    expect(await store.importFrom('/exports/g')).toEqual({ id: 2, name: 'mine' });
    expect(api.importModel).toHaveBeenLastCalledWith({ path: '/exports/g', name: 'mine' });
    expect(store.name).toBe('');
    await store.importFrom('/exports/h');
    expect(api.importModel).toHaveBeenLastCalledWith({ path: '/exports/h' });

    api.importModel = vi.fn(async () => {
      throw Object.assign(new Error('there is already a model "faces" (/h/models/faces); pick another --name'), { code: 'CONFLICT' });
    });
    expect(await store.importFrom('/exports/g')).toBeNull();
    expect(store.error).toBe('There is already a model "faces" (/h/models/faces); pick another --name');
    expect(await store.remove(1)).toBe(true);
    expect(api.deleteModel).toHaveBeenCalledWith({ modelId: 1 });
  });
});

const loadPlan = async () => (await import('../../../src/renderer/src/lib/stores/plan.svelte')).planStore;

/** A training:plan answer (only the fields the store reads matter). */
const planAnswer = (steps: number, msPerStep: number | null) =>
  ({
    count: 300,
    batch: 16,
    steps,
    stepsPerEpoch: 18,
    epochs: steps / 18,
    augment: true,
    ema: true,
    planned: { batch: true, length: true, augment: true, ema: true },
    msPerStep,
    estimateSource: msPerStep === null ? null : 'measured',
    seconds: msPerStep === null ? null : (steps * msPerStep) / 1000,
    text: `${steps} steps`,
  }) as never;

/** A promise with its resolve/reject handles. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('plan store', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks once after the pause, for the latest settings, without the run name', async () => {
    vi.useFakeTimers();
    const api = fake.api as Record<string, unknown>;
    const planTraining = vi.fn(async () => planAnswer(4000, 2));
    api.planTraining = planTraining;
    const store = await loadPlan();
    store.update({ data: 'shapes', epochs: 1 });
    store.update({ data: 'shapes', epochs: 2 });
    store.update({ data: 'shapes', epochs: 2, name: 'mine' }); // the same plan: no new request
    expect(store.loading).toBe(true);
    await vi.advanceTimersByTimeAsync(200);
    expect(planTraining).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(100);
    expect(planTraining).toHaveBeenCalledTimes(1);
    expect(planTraining).toHaveBeenLastCalledWith({ data: 'shapes', epochs: 2 });
    expect(store.preview).toMatchObject({ steps: 4000, msPerStep: 2 });
    expect(store.loading).toBe(false);
    // A time was known: no measurement.
    expect(planTraining).toHaveBeenCalledTimes(1);
    // Invalid settings clear it.
    store.update(null);
    expect(store.preview).toBeNull();
    expect(store.loading).toBe(false);
  });

  it('keeps the latest answer when an older one arrives after it', async () => {
    const api = fake.api as Record<string, unknown>;
    const first = deferred<unknown>();
    const second = deferred<unknown>();
    api.planTraining = vi.fn().mockReturnValueOnce(first.promise).mockReturnValueOnce(second.promise);
    const store = await loadPlan();
    store.update({ data: 'shapes', epochs: 1 }, 0);
    await vi.waitFor(() => expect(api.planTraining).toHaveBeenCalledTimes(1));
    store.update({ data: 'shapes', epochs: 2 }, 0);
    await vi.waitFor(() => expect(api.planTraining).toHaveBeenCalledTimes(2));
    second.resolve(planAnswer(36, 5));
    await vi.waitFor(() => expect(store.preview).toMatchObject({ steps: 36 }));
    first.resolve(planAnswer(18, 5));
    await new Promise((r) => setTimeout(r, 10));
    expect(store.preview).toMatchObject({ steps: 36 });
    expect(store.loading).toBe(false);
  });

  it('measures when no time is known, saying it is estimating meanwhile', async () => {
    const api = fake.api as Record<string, unknown>;
    const measured = deferred<unknown>();
    const planTraining = vi.fn((req: { measure?: boolean }) => (req.measure ? measured.promise : Promise.resolve(planAnswer(4000, null))));
    api.planTraining = planTraining;
    const store = await loadPlan();
    store.update({ data: 'shapes' }, 0);
    await vi.waitFor(() => expect(store.estimating).toBe(true));
    expect(store.preview).toMatchObject({ steps: 4000, msPerStep: null });
    expect(planTraining).toHaveBeenLastCalledWith({ data: 'shapes', measure: true });
    measured.resolve(planAnswer(4000, 45));
    await vi.waitFor(() => expect(store.estimating).toBe(false));
    expect(store.preview).toMatchObject({ msPerStep: 45, seconds: 180 });
    expect(store.estimateError).toBeNull();
  });

  it('measures the newest settings when they changed during a measurement, one at a time', async () => {
    const api = fake.api as Record<string, unknown>;
    const measurements: { req: { batch?: number }; done: ReturnType<typeof deferred<unknown>> }[] = [];
    api.planTraining = vi.fn((req: { measure?: boolean; batch?: number }) => {
      if (!req.measure) return Promise.resolve(planAnswer(4000, null));
      const done = deferred<unknown>();
      measurements.push({ req, done });
      return done.promise;
    });
    const store = await loadPlan();
    store.update({ data: 'shapes', batch: 16 }, 0);
    await vi.waitFor(() => expect(measurements).toHaveLength(1));
    store.update({ data: 'shapes', batch: 32 }, 0);
    await new Promise((r) => setTimeout(r, 10));
    // Still one measurement in flight.
    expect(measurements).toHaveLength(1);
    measurements[0]!.done.resolve(planAnswer(4000, 10));
    await vi.waitFor(() => expect(measurements).toHaveLength(2));
    expect(measurements[1]!.req).toMatchObject({ batch: 32, measure: true });
    expect(store.preview?.msPerStep).toBeNull(); // the batch-16 time is not shown for batch 32
    measurements[1]!.done.resolve(planAnswer(4000, 20));
    await vi.waitFor(() => expect(store.preview?.msPerStep).toBe(20));
    expect(store.estimating).toBe(false);
  });

  it('says in words why the plan or its time could not be had', async () => {
    const api = fake.api as Record<string, unknown>;
    api.planTraining = vi.fn(async () => {
      throw Object.assign(new Error('there is no imported dataset "gone"; a plan preview needs one\n    at x (y.js:1:1)'), { code: 'NOT_FOUND' });
    });
    const store = await loadPlan();
    store.update({ data: 'gone' }, 0);
    await vi.waitFor(() => expect(store.error).toBe('There is no imported dataset "gone"; a plan preview needs one'));
    expect(store.preview).toBeNull();
    expect(store.loading).toBe(false);

    api.planTraining = vi.fn(async (req: { measure?: boolean }) => {
      if (req.measure) throw new Error('could not time a training step: out of memory');
      return planAnswer(4000, null);
    });
    store.update({ data: 'shapes' }, 0);
    await vi.waitFor(() => expect(store.estimateError).toBe('Could not time a training step: out of memory'));
    expect(store.error).toBeNull();
    expect(store.preview).toMatchObject({ steps: 4000 });
    expect(store.estimating).toBe(false);
  });
});

/** A grid event (home-relative file named after its step). */
const gridEvent = (step: number, kind: 'epoch' | 'clock' | 'final', epoch: number, removedSteps: number[] = []): TrainingGridEvent => ({
  runId: 7,
  step,
  epoch,
  kind,
  file: `runs/7/grids/${step}.png`,
  removedSteps,
});

const qualityPoint = (step: number, score: number): QualityPoint => ({ step, score, distance: 1 - score / 100, variety: 0.9, copied: 0, duplicates: 0, seconds: 0.5 });

const warning = (code: WarningInfo['code'], step: number, lastStep = step, over: Partial<WarningInfo> = {}): WarningInfo => ({
  code,
  step,
  lastStep,
  message: `${code} message`,
  advice: `${code} advice`,
  pair: null,
  ...over,
});

describe('training store: the timeline, quality, warnings and the verdict', () => {
  it('keeps clock and epoch grids in step order, replaces one at the same step and drops retired ones', async () => {
    const store = await loadTraining();
    const teardown = store.connect();
    await store.start({ data: 'shapes' } as unknown as TrainingStartRequest);
    fake.emit('grid', gridEvent(0, 'epoch', 0));
    fake.emit('grid', gridEvent(5, 'clock', 1));
    fake.emit('grid', gridEvent(3, 'clock', 1));
    fake.emit('grid', gridEvent(8, 'epoch', 1));
    expect(store.grids.map((g) => [g.step, g.kind])).toEqual([
      [0, 'epoch'],
      [3, 'clock'],
      [5, 'clock'],
      [8, 'epoch'],
    ]);
    // Two clock grids in the same epoch stay apart (they were keyed by epoch before).
    expect(store.grids.filter((g) => g.epoch === 1)).toHaveLength(3);

    // A later clock grid retires two earlier ones.
    fake.emit('grid', gridEvent(11, 'clock', 2, [3, 5]));
    expect(store.grids.map((g) => g.step)).toEqual([0, 8, 11]);
    // The same step again (a final grid where the run stopped) replaces it.
    fake.emit('grid', gridEvent(11, 'final', 2));
    expect(store.grids.map((g) => [g.step, g.kind])).toEqual([
      [0, 'epoch'],
      [8, 'epoch'],
      [11, 'final'],
    ]);
    // Another run's grid does not land here.
    fake.emit('grid', { ...gridEvent(4, 'clock', 1), runId: 99 });
    expect(store.grids).toHaveLength(3);
    teardown();
  });

  it('does not bring back retired grids from a runs:get answer, and merges its quality and warnings with the events', async () => {
    const store = await loadTraining();
    const teardown = store.connect();
    fake.api.getRun.mockResolvedValueOnce({
      run: { id: 7, name: 'dcgan-shapes', status: 'running', step: 6, epoch: 1, error: null, verdict: null, config: { epochs: 3, steps: null, model: { kind: 'dcgan', size: 28 } } },
      active: true,
      epochs: [],
      grids: [
        { step: 0, epoch: 0, kind: 'epoch', file: 'g/0.png' },
        { step: 2, epoch: 1, kind: 'clock', file: 'g/2.png' },
        { step: 4, epoch: 1, kind: 'clock', file: 'g/4.png' },
      ],
      quality: [qualityPoint(2, 10), qualityPoint(4, 20)],
      warnings: [warning('noise', 2, 4)],
    } as never);
    // Events arrive first (attach happens when the first event of an idle view comes in).
    fake.emit('status', { runId: 7, status: 'running', error: null, step: 6, epoch: 1, verdict: null } satisfies TrainingStatusEvent);
    fake.emit('grid', gridEvent(6, 'clock', 1, [2]));
    fake.emit('quality', { runId: 7, ...qualityPoint(6, 30) } satisfies TrainingQualityEvent);
    fake.emit('warning', { runId: 7, ...warning('noise', 2, 6, { message: 'still noise at step 6' }) } satisfies TrainingWarningEvent);
    await vi.waitFor(() => expect(store.run).not.toBeNull());
    expect(store.runId).toBe(7);
    expect(store.grids.map((g) => g.step)).toEqual([0, 4, 6]);
    expect(store.quality.map((q) => [q.step, q.score])).toEqual([
      [2, 10],
      [4, 20],
      [6, 30],
    ]);
    expect(store.latestQuality?.score).toBe(30);
    // The warning is one entry, updated in place by the newer event.
    expect(store.warnings).toHaveLength(1);
    expect(store.warnings[0]).toMatchObject({ code: 'noise', step: 2, lastStep: 6, message: 'still noise at step 6' });
    expect(store.verdict).toBeNull();
    teardown();
  });

  it('adds quality points, updates a warning raised again in place and takes the verdict when the run ends', async () => {
    const store = await loadTraining();
    const teardown = store.connect();
    await store.start({ data: 'shapes' } as unknown as TrainingStartRequest);
    fake.emit('quality', { runId: 7, ...qualityPoint(10, 12.5) } satisfies TrainingQualityEvent);
    fake.emit('quality', { runId: 7, ...qualityPoint(20, 40) } satisfies TrainingQualityEvent);
    fake.emit('quality', { runId: 99, ...qualityPoint(30, 99) } satisfies TrainingQualityEvent);
    expect(store.quality.map((q) => q.score)).toEqual([12.5, 40]);
    expect(store.latestQuality?.step).toBe(20);

    fake.emit('warning', { runId: 7, ...warning('d-overpowering', 12) } satisfies TrainingWarningEvent);
    fake.emit('warning', { runId: 7, ...warning('memorisation', 15, 15, { pair: 'runs/7/warnings/pair.png' }) } satisfies TrainingWarningEvent);
    fake.emit('warning', { runId: 7, ...warning('d-overpowering', 12, 18, { advice: 'lower the learning rate of D' }) } satisfies TrainingWarningEvent);
    expect(store.warnings.map((w) => [w.code, w.lastStep])).toEqual([
      ['d-overpowering', 18],
      ['memorisation', 15],
    ]);
    expect(store.warnings[0]!.advice).toBe('lower the learning rate of D');
    expect(store.warnings[1]!.pair).toBe('runs/7/warnings/pair.png');

    const verdict = { code: 'noise', text: 'noise: the samples never left random noise', step: 20, score: 4 } as const;
    fake.emit('status', { runId: 7, status: 'completed', error: null, step: 20, epoch: 3, verdict } satisfies TrainingStatusEvent);
    expect(store.status).toBe('completed');
    expect(store.verdict).toEqual(verdict);

    // Continuing the run clears the old verdict; the warnings of the run stay.
    await store.continueRun();
    expect(store.verdict).toBeNull();
    expect(store.warnings).toHaveLength(2);
    teardown();
  });

  it('shows a finished run’s recorded verdict when attached to it', async () => {
    const verdict = { code: 'improving', text: 'varied samples, still improving', step: 12, score: 61 } as const;
    fake.api.getRun.mockResolvedValueOnce({
      run: { id: 3, name: 'old', status: 'completed', step: 12, epoch: 3, error: null, verdict, config: { epochs: 3, steps: 12 } },
      active: false,
      epochs: [],
      grids: [],
      quality: [qualityPoint(12, 61)],
      warnings: [],
    } as never);
    const store = await loadTraining();
    await store.attach(3);
    expect(store.status).toBe('completed');
    expect(store.verdict).toEqual(verdict);
    expect(store.latestQuality?.score).toBe(61);
  });
});

const loadRuns = async () => (await import('../../../src/renderer/src/lib/stores/runs.svelte')).runsStore;
const loadGif = async () => (await import('../../../src/renderer/src/lib/stores/timeline-gif.svelte')).timelineGifStore;

describe('runs store: quality and warnings', () => {
  it('opens a run with its quality curve and warnings and keeps them current while it trains', async () => {
    fake.api.getRun.mockResolvedValue({
      run: { id: 7, name: 'dcgan-shapes', status: 'running', step: 4, epoch: 1, error: null, verdict: null, config: { epochs: 3 } },
      active: true,
      epochs: [],
      grids: [],
      checkpoints: [],
      quality: [qualityPoint(4, 20), qualityPoint(2, 10)].sort((a, b) => a.step - b.step),
      warnings: [warning('plateau', 4)],
    } as never);
    fake.api.runMetrics.mockResolvedValue({ points: [], every: 1, total: 0 } as never);
    const store = await loadRuns();
    const teardown = store.connect();
    expect(fake.active()).toBe(3);
    await store.open(7);
    expect(store.details?.warnings.map((w) => w.code)).toEqual(['plateau']);
    expect(store.quality).toEqual([
      { x: 2, y: 10 },
      { x: 4, y: 20 },
    ]);
    const version = store.version;
    fake.emit('quality', { runId: 7, ...qualityPoint(6, 35) } satisfies TrainingQualityEvent);
    fake.emit('quality', { runId: 8, ...qualityPoint(8, 90) } satisfies TrainingQualityEvent);
    expect(store.quality.map((p) => p.x)).toEqual([2, 4, 6]);
    expect(store.version).toBeGreaterThan(version);
    fake.emit('warning', { runId: 7, ...warning('plateau', 4, 6) } satisfies TrainingWarningEvent);
    fake.emit('warning', { runId: 7, ...warning('mode-collapse', 6) } satisfies TrainingWarningEvent);
    expect(store.details?.warnings.map((w) => [w.code, w.lastStep])).toEqual([
      ['plateau', 6],
      ['mode-collapse', 6],
    ]);
    teardown();
    expect(fake.active()).toBe(0);
  });

  it('treats a host that sends no quality or warnings as none', async () => {
    fake.api.getRun.mockResolvedValue({ run: { id: 5, status: 'completed', config: { epochs: 1 } }, active: false, epochs: [], grids: [], checkpoints: [] } as never);
    fake.api.runMetrics.mockResolvedValue({ points: [], every: 1, total: 0 } as never);
    const store = await loadRuns();
    await store.open(5);
    expect(store.details?.quality).toEqual([]);
    expect(store.details?.warnings).toEqual([]);
    expect(store.quality).toEqual([]);
  });
});

describe('timeline GIF store', () => {
  it('saves a run’s timeline, remembers the file per run and says in words why it could not', async () => {
    const api = fake.api as Record<string, unknown>;
    const timelineGif = vi.fn(async (r: { runId: number }) => ({ file: `runs/${r.runId}/timeline.gif`, frames: 9, bytes: 12_345 }));
    api.timelineGif = timelineGif;
    const store = await loadGif();
    expect(store.of(7)).toBeNull();
    const saving = store.save(7);
    expect(store.of(7)).toEqual({ phase: 'saving' });
    // One export at a time per run.
    expect(await store.save(7)).toBe(false);
    expect(await saving).toBe(true);
    expect(timelineGif).toHaveBeenCalledTimes(1);
    expect(timelineGif).toHaveBeenLastCalledWith({ runId: 7 });
    expect(store.of(7)).toEqual({ phase: 'saved', file: 'runs/7/timeline.gif', frames: 9, bytes: 12_345 });
    expect(store.of(8)).toBeNull();

    await store.save(8, 250);
    expect(timelineGif).toHaveBeenLastCalledWith({ runId: 8, delayMs: 250 });

    api.timelineGif = vi.fn(async () => {
      throw new Error('run 9 has no sample grids yet\n    at x (y.js:1:1)');
    });
    expect(await store.save(9)).toBe(false);
    expect(store.of(9)).toEqual({ phase: 'error', message: 'Run 9 has no sample grids yet' });
    expect(store.of(7)?.phase).toBe('saved');
  });
});

describe('homePath', () => {
  it('says where a home file lies, with the home’s own separators', async () => {
    const { homePath } = await import('../../../src/renderer/src/lib/stores/app.svelte');
    expect(homePath('runs/7/timeline.gif', '/home/ada/.gan-studio/')).toBe('/home/ada/.gan-studio/runs/7/timeline.gif');
    expect(homePath('runs/7/timeline.gif', 'C:\\Users\\ada\\.gan-studio')).toBe('C:\\Users\\ada\\.gan-studio\\runs\\7\\timeline.gif');
    // Not connected yet: the home-relative path.
    expect(homePath('runs/7/timeline.gif', null)).toBe('runs/7/timeline.gif');
  });
});
