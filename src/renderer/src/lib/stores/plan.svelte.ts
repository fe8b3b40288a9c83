// The Train page's plan preview: what a run with the form's settings would do (steps, epochs,
// batch, remedies) and how long it would take on this machine. The page hands in the form's valid
// request whenever it changes; the store asks `training:plan` after a short pause (typing does not
// send a request a key), keeps only the latest answer, and, when the host knows no step time yet,
// asks again with `measure` (a few steps timed in a worker: seconds) while showing "estimating…".
// One measurement at a time: settings changed meanwhile are measured when it ends.

import type { TrainingNewRequest, TrainingPlanPreview } from '../../../../shared/contract';
import { errorMessage } from '../errors';
import { hasApi } from './app.svelte';

/** The pause after the last change before the plan is asked for (ms). */
export const PLAN_DEBOUNCE_MS = 250;

class PlanStore {
  /** The latest answer (it may be for settings a moment old while `loading`). */
  preview = $state<TrainingPlanPreview | null>(null);
  /** A request for the current settings is waiting or in flight. */
  loading = $state(false);
  /** A step is being timed for the current settings. */
  estimating = $state(false);
  /** Why the plan could not be worked out, in words. */
  error = $state<string | null>(null);
  /** Why the time could not be estimated (the plan itself still shows). */
  estimateError = $state<string | null>(null);

  /** The preview belongs to the current settings (not a moment-old answer). */
  readonly current = $derived(this.preview !== null && !this.loading);

  private request: TrainingNewRequest | null = null;
  private key: string | null = null;
  /** Ticks on every change of settings; answers for an older one are dropped. */
  private seq = 0;
  /** The seq the preview answers. */
  private previewSeq = -1;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private measuring = false;

  /** The form's request when it is valid, null when not (which clears the preview). */
  update(request: TrainingNewRequest | null, delayMs = PLAN_DEBOUNCE_MS): void {
    // The run's name plays no part in its plan.
    const planned = request ? withoutName(request) : null;
    const key = planned ? JSON.stringify(planned) : null;
    if (key === this.key) return;
    this.key = key;
    this.request = planned;
    const seq = ++this.seq;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.error = null;
    this.estimateError = null;
    if (!planned || !hasApi()) {
      this.preview = null;
      this.loading = false;
      return;
    }
    this.loading = true;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.ask(planned, seq);
    }, delayMs);
  }

  /** Forgets the settings (the page closed); answers still on their way are dropped. */
  clear(): void {
    this.update(null);
  }

  private async ask(request: TrainingNewRequest, seq: number): Promise<void> {
    try {
      const preview = await window.api.planTraining(request);
      if (seq !== this.seq) return;
      this.preview = preview;
      this.previewSeq = seq;
      this.error = null;
    } catch (err) {
      if (seq !== this.seq) return;
      this.preview = null;
      this.error = errorMessage(err, 'Could not work out the training plan.');
    } finally {
      if (seq === this.seq) this.loading = false;
    }
    if (seq === this.seq && this.preview?.msPerStep === null) void this.measureLatest();
  }

  /** Times a step for the current settings, and again for newer ones until one has a time. */
  private async measureLatest(): Promise<void> {
    if (this.measuring) return; // the measurement in flight looks again when it ends
    this.measuring = true;
    this.estimating = true;
    try {
      while (this.request && this.previewSeq === this.seq && this.preview?.msPerStep === null) {
        const seq = this.seq;
        try {
          const measured = await window.api.planTraining({ ...this.request, measure: true });
          if (seq === this.seq) {
            this.preview = measured;
            this.estimateError = null;
            if (measured.msPerStep === null) {
              this.estimateError = 'The host did not report a step time.';
              break;
            }
          }
        } catch (err) {
          if (seq === this.seq) {
            this.estimateError = errorMessage(err, 'Could not time a training step.');
            break;
          }
        }
      }
    } finally {
      this.measuring = false;
      this.estimating = false;
    }
  }
}

function withoutName(request: TrainingNewRequest): TrainingNewRequest {
  const rest = { ...request };
  delete rest.name;
  return rest;
}

export const planStore = new PlanStore();
