// The sample timeline's pure helpers (src/renderer/src/lib/timeline.ts): merging grids, saying
// what each is, laying a grid PNG out with its class labels, and the enlarged view's zoom.
import { describe, expect, it } from 'vitest';
import type { GridInfo } from '../../../src/shared/contract';
import { describeGrid, GRID_PAD, gridLayout, gridTitle, labelTracks, mergeGrids, shortGridLabel, zoomToFit } from '../../../src/renderer/src/lib/timeline';

const grid = (step: number, kind: GridInfo['kind'], epoch: number): GridInfo => ({ step, kind, epoch, file: `g/${step}.png` });

describe('mergeGrids', () => {
  it('orders by step, keeps one grid a step (the newer) and leaves out removed steps', () => {
    const a = [grid(0, 'epoch', 0), grid(8, 'epoch', 1)];
    const b = [grid(4, 'clock', 1), { ...grid(8, 'final', 1), file: 'g/8-final.png' }, grid(2, 'clock', 1)];
    expect(mergeGrids(a, b).map((g) => [g.step, g.kind])).toEqual([
      [0, 'epoch'],
      [2, 'clock'],
      [4, 'clock'],
      [8, 'final'],
    ]);
    expect(mergeGrids(a, b, [2, 4]).map((g) => g.step)).toEqual([0, 8]);
    expect(mergeGrids(a, b, new Set([0])).map((g) => g.step)).toEqual([2, 4, 8]);
    // The inputs are not changed.
    expect(a.map((g) => g.step)).toEqual([0, 8]);
  });
});

describe('describeGrid', () => {
  it('says when each kind of grid was drawn', () => {
    expect(describeGrid(grid(0, 'epoch', 0))).toBe('before training');
    expect(describeGrid(grid(300, 'epoch', 3))).toBe('after epoch 3');
    expect(describeGrid(grid(1234, 'clock', 3))).toBe('step 1,234 · epoch 3 in progress');
    expect(describeGrid(grid(7, 'clock', 0))).toBe('step 7 · epoch 1 in progress');
    expect(describeGrid(grid(1500, 'final', 4))).toBe('step 1,500 · where the run stopped');
    expect(gridTitle(grid(0, 'epoch', 0))).toBe('Samples before training');
    expect(gridTitle(grid(300, 'epoch', 3))).toBe('Samples after epoch 3');
    expect(gridTitle(grid(66, 'clock', 1))).toBe('Samples at step 66 · epoch 1 in progress');
    expect(shortGridLabel(grid(0, 'epoch', 0))).toBe('start');
    expect(shortGridLabel(grid(40, 'epoch', 2))).toBe('epoch 2');
    expect(shortGridLabel(grid(4321, 'clock', 2))).toBe('step 4,321');
    expect(shortGridLabel(undefined)).toBe('');
  });
});

describe('gridLayout', () => {
  it('is 8 columns of samples for an unconditional model, with the pixel size of the PNG', () => {
    const layout = gridLayout({ kind: 'dcgan', size: 28, numClasses: 0 })!;
    expect(layout).toMatchObject({ columns: 8, rows: 8, size: 28, classLabels: [] });
    expect(layout.width).toBe(8 * 28 + 9 * GRID_PAD);
    expect(layout.height).toBe(layout.width);
    expect(gridLayout(null)).toBeNull();
  });

  it('is one column a class for a conditional model, labelled by the class names', () => {
    const layout = gridLayout({ kind: 'cdcgan', size: 32, numClasses: 10, classNames: ['airplane', 'car', ' '] })!;
    expect(layout.columns).toBe(10);
    expect(layout.rows).toBe(7);
    expect(layout.width).toBe(10 * 32 + 11 * GRID_PAD);
    expect(layout.height).toBe(7 * 32 + 8 * GRID_PAD);
    expect(layout.classLabels.slice(0, 4)).toEqual(['airplane', 'car', 'class 2', 'class 3']);
    expect(layout.classLabels).toHaveLength(10);
    expect(gridLayout({ kind: 'cgan', size: 28, numClasses: 2 })!.classLabels).toEqual(['class 0', 'class 1']);
  });

  it('puts each label over its column: a pad track, then a sample and a pad per column, adding up to 100 %', () => {
    const layout = gridLayout({ kind: 'cgan', size: 28, numClasses: 2, classNames: ['a', 'b'] })!;
    // 2 × 28 + 3 × 2 = 62 px
    expect(layout.width).toBe(62);
    const tracks = labelTracks(layout);
    expect(tracks).toBe('3.2258% repeat(2, 45.1613% 3.2258%)');
    const [pad, sample] = [...tracks.matchAll(/([\d.]+)%/g)].map((m) => Number(m[1]));
    expect(pad! + 2 * (sample! + pad!)).toBeCloseTo(100, 2);
  });
});

describe('zoomToFit', () => {
  it('is the largest whole zoom that fits, never under 2', () => {
    expect(zoomToFit({ width: 242, height: 242 }, { width: 952, height: 514 })).toBe(2);
    expect(zoomToFit({ width: 242, height: 242 }, { width: 1800, height: 900 })).toBe(3);
    expect(zoomToFit({ width: 100, height: 50 }, { width: 1000, height: 1000 })).toBe(10);
    // Too big for the window even at 2: still 2 (the view scrolls).
    expect(zoomToFit({ width: 530, height: 530 }, { width: 952, height: 514 })).toBe(2);
    expect(zoomToFit({ width: 0, height: 0 }, { width: 100, height: 100 })).toBe(2);
    expect(zoomToFit({ width: 10, height: 10 }, { width: 35, height: 35 }, 1)).toBe(3);
  });
});
