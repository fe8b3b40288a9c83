// The sample timeline: merging grid events into a run's list, saying what each grid is, and laying
// a grid PNG out (its columns, its pixel size, the class label above each column, the integer zoom
// the enlarged view draws it at). Pure functions.

import type { GridInfo } from '../../../shared/contract';
import type { ModelConfig } from '../../../shared/types';

/** Samples in every grid (the trainer's fixed latent vectors). */
export const GRID_SAMPLES = 64;
/** Columns of an unconditional model's grid. */
export const GRID_COLUMNS = 8;
/** Pixels of dark background around and between the samples of a grid PNG. */
export const GRID_PAD = 2;
/** The smallest zoom of the enlarged view: every sample at least twice its pixel size. */
export const MIN_ZOOM = 2;

/**
 * Adds `incoming` grids to `grids`: one grid per step (a later one replaces an earlier one at the
 * same step), none at a step in `removed`, ordered by step.
 */
export function mergeGrids(grids: readonly GridInfo[], incoming: readonly GridInfo[], removed: ReadonlySet<number> | readonly number[] = []): GridInfo[] {
  const gone = removed instanceof Set ? removed : new Set(removed as readonly number[]);
  const byStep = new Map<number, GridInfo>();
  for (const g of grids) if (!gone.has(g.step)) byStep.set(g.step, g);
  for (const g of incoming) if (!gone.has(g.step)) byStep.set(g.step, g);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** What a grid shows, in words: "before training", "after epoch 3", "step 1,234 · epoch 3 in progress". */
export function describeGrid(g: GridInfo): string {
  const step = g.step.toLocaleString('en-US');
  if (g.kind === 'clock') return `step ${step} · epoch ${Math.max(1, g.epoch)} in progress`;
  if (g.kind === 'final') return `step ${step} · where the run stopped`;
  return g.epoch === 0 ? 'before training' : `after epoch ${g.epoch}`;
}

/** A heading for one grid: "Samples before training", "Samples at step 1,234 · epoch 3 in progress". */
export function gridTitle(g: GridInfo): string {
  return `Samples ${g.kind === 'epoch' ? '' : 'at '}${describeGrid(g)}`;
}

/** A short label for the timeline's ends: "start", "epoch 3", "step 1,234". */
export function shortGridLabel(g: GridInfo | undefined): string {
  if (!g) return '';
  if (g.kind === 'epoch') return g.epoch === 0 ? 'start' : `epoch ${g.epoch}`;
  return `step ${g.step.toLocaleString('en-US')}`;
}

/** How a run's grids are laid out: samples per row, the sample size, class names per column. */
export interface GridLayout {
  columns: number;
  rows: number;
  /** Pixels of one sample. */
  size: number;
  /** The grid PNG's own width and height in pixels. */
  width: number;
  height: number;
  /** Conditional models: the label of each column (column i shows class i); else []. */
  classLabels: string[];
}

/** The layout of the grids a model draws (see the trainer's writeGrid and tileGrid). */
export function gridLayout(model: Pick<ModelConfig, 'kind' | 'size' | 'numClasses' | 'classNames'> | null | undefined): GridLayout | null {
  if (!model || !(model.size > 0)) return null;
  const conditional = (model.kind === 'cgan' || model.kind === 'cdcgan') && model.numClasses > 0;
  const columns = Math.max(1, Math.min(conditional ? model.numClasses : GRID_COLUMNS, GRID_SAMPLES));
  const rows = Math.ceil(GRID_SAMPLES / columns);
  const names = model.classNames ?? [];
  return {
    columns,
    rows,
    size: model.size,
    width: columns * model.size + (columns + 1) * GRID_PAD,
    height: rows * model.size + (rows + 1) * GRID_PAD,
    classLabels: conditional ? Array.from({ length: columns }, (_, i) => names[i]?.trim() || `class ${i}`) : [],
  };
}

/**
 * The CSS grid columns that put label i over sample column i of a grid PNG `layout.width` wide:
 * a pad track, then each sample's track and the pad after it, in percent. Label i goes in track 2i+2.
 */
export function labelTracks(layout: GridLayout): string {
  const pct = (px: number) => `${Number(((px / layout.width) * 100).toFixed(4))}%`;
  return `${pct(GRID_PAD)} repeat(${layout.columns}, ${pct(layout.size)} ${pct(GRID_PAD)})`;
}

/**
 * The whole-number zoom that shows an image of `natural` pixels as large as fits in `available`
 * (width and height), but never under `MIN_ZOOM` (the view scrolls instead).
 */
export function zoomToFit(natural: { width: number; height: number }, available: { width: number; height: number }, min = MIN_ZOOM): number {
  if (!(natural.width > 0) || !(natural.height > 0)) return min;
  const fit = Math.floor(Math.min(available.width / natural.width, available.height / natural.height));
  return Math.max(min, Number.isFinite(fit) ? fit : min);
}
