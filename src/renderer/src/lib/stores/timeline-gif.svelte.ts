// Saving a run's sample timeline as an animated GIF (`runs:timelineGif`): one export at a time,
// remembered per run, so the enlarged timeline can offer the file it wrote as a download.

import type { HomeFile } from '../../../../shared/contract';
import { errorMessage } from '../errors';
import { hasApi } from './app.svelte';

export type GifExport =
  | { phase: 'saving' }
  | { phase: 'saved'; file: HomeFile; frames: number; bytes: number }
  | { phase: 'error'; message: string };

class TimelineGifStore {
  /** The latest export of each run, by run id. */
  exports = $state<Record<number, GifExport>>({});

  of(runId: number | null | undefined): GifExport | null {
    return runId === null || runId === undefined ? null : (this.exports[runId] ?? null);
  }

  /** Writes `<run>/timeline.gif` from the run's grids (400 ms a frame unless `delayMs`). */
  async save(runId: number, delayMs?: number): Promise<boolean> {
    if (!hasApi() || this.exports[runId]?.phase === 'saving') return false;
    this.exports[runId] = { phase: 'saving' };
    try {
      const result = await window.api.timelineGif(delayMs === undefined ? { runId } : { runId, delayMs });
      this.exports[runId] = { phase: 'saved', file: result.file, frames: result.frames, bytes: result.bytes };
      return true;
    } catch (err) {
      this.exports[runId] = { phase: 'error', message: errorMessage(err, 'Could not save the timeline as a GIF.') };
      return false;
    }
  }

  forget(runId: number): void {
    delete this.exports[runId];
  }
}

export const timelineGifStore = new TimelineGifStore();
