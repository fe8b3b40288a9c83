// The latent lab on the Gallery page: operands a, b, c picked from the open gallery (several images
// in one operand make a mean), an expression run in latent space next to its pixel-wise twin, and an
// interpolation (lerp / slerp, K frames) between two of the gallery's images. For conditional models
// each operand, the result and each end of the walk can be drawn in a class of the user's choosing
// (null: the images' own classes).

import type { LatentArithmeticResult, LatentInterpolateResult, LatentInterpolationMode } from '../../../../shared/contract';
import { errorMessage } from '../errors';
import { hasApi } from './app.svelte';

export const SLOTS = ['a', 'b', 'c'] as const;
export type Slot = (typeof SLOTS)[number];

class LatentLabStore {
  /** The gallery the picks belong to; picks are cleared when another gallery opens. */
  galleryId = $state<number | null>(null);
  slot = $state<Slot>('a');
  operands = $state<Record<Slot, number[]>>({ a: [], b: [], c: [] });
  /** Conditional models: each operand's class (null: its first image's class). */
  classes = $state<Record<Slot, number | null>>({ a: null, b: null, c: null });
  /** Conditional models: the class of both results (null: the first operand's). */
  resultClass = $state<number | null>(null);
  /** Keyboard-friendly stand-in for shift/ctrl-click: picks add to the operand's mean. */
  addToMean = $state(false);
  expression = $state('a - b + c');
  computing = $state(false);
  arithmetic = $state<LatentArithmeticResult | null>(null);
  arithmeticError = $state<string | null>(null);

  from = $state(0);
  to = $state(1);
  mode = $state<LatentInterpolationMode>('slerp');
  frames = $state(8);
  /** Conditional models: the class at each end of the walk (null: that end's image's class). */
  fromClass = $state<number | null>(null);
  toClass = $state<number | null>(null);
  interpolating = $state(false);
  interpolation = $state<LatentInterpolateResult | null>(null);
  interpolationError = $state<string | null>(null);

  /** Follows the page's open gallery. */
  follow(galleryId: number | null, count: number): void {
    if (galleryId === this.galleryId) return;
    this.galleryId = galleryId;
    this.operands = { a: [], b: [], c: [] };
    this.classes = { a: null, b: null, c: null };
    this.resultClass = null;
    this.fromClass = null;
    this.toClass = null;
    this.slot = 'a';
    this.arithmetic = null;
    this.interpolation = null;
    this.arithmeticError = null;
    this.interpolationError = null;
    this.from = 0;
    this.to = Math.min(1, Math.max(0, count - 1));
  }

  /**
   * Picks an image for the current operand. A plain pick replaces the operand and moves on to the
   * next one; with `add` (shift / ctrl-click, or "add to a mean") it joins or leaves the operand.
   */
  pick(index: number, add: boolean): void {
    const slot = this.slot;
    const current = this.operands[slot];
    if (add || this.addToMean) {
      const next = current.includes(index) ? current.filter((i) => i !== index) : [...current, index];
      this.operands = { ...this.operands, [slot]: next };
      return;
    }
    this.operands = { ...this.operands, [slot]: [index] };
    const at = SLOTS.indexOf(slot);
    if (at < SLOTS.length - 1) this.slot = SLOTS[at + 1]!;
  }

  clear(slot: Slot): void {
    this.operands = { ...this.operands, [slot]: [] };
    this.classes = { ...this.classes, [slot]: null };
  }

  setClass(slot: Slot, classLabel: number | null): void {
    this.classes = { ...this.classes, [slot]: classLabel };
  }

  async runArithmetic(): Promise<void> {
    const galleryId = this.galleryId;
    if (galleryId === null || !hasApi()) return;
    const operands = SLOTS.filter((s) => this.operands[s].length > 0).map((name) => {
      const classLabel = this.classes[name];
      return classLabel === null ? { name, indices: [...this.operands[name]] } : { name, indices: [...this.operands[name]], classLabel };
    });
    if (operands.length === 0) {
      this.arithmeticError = 'Pick at least one image for an operand first.';
      return;
    }
    this.computing = true;
    this.arithmeticError = null;
    try {
      const result = await window.api.latentArithmetic({
        galleryId,
        expression: this.expression,
        operands,
        ...(this.resultClass === null ? {} : { resultClass: this.resultClass }),
      });
      if (this.galleryId === galleryId) this.arithmetic = result;
    } catch (err) {
      if (this.galleryId === galleryId) this.arithmeticError = errorMessage(err, 'Could not run the arithmetic.');
    } finally {
      this.computing = false;
    }
  }

  async runInterpolation(): Promise<void> {
    const galleryId = this.galleryId;
    if (galleryId === null || !hasApi()) return;
    this.interpolating = true;
    this.interpolationError = null;
    try {
      const result = await window.api.latentInterpolate({
        galleryId,
        from: this.from,
        to: this.to,
        frames: this.frames,
        mode: this.mode,
        ...(this.fromClass === null ? {} : { fromClass: this.fromClass }),
        ...(this.toClass === null ? {} : { toClass: this.toClass }),
      });
      if (this.galleryId === galleryId) this.interpolation = result;
    } catch (err) {
      if (this.galleryId === galleryId) this.interpolationError = errorMessage(err, 'Could not interpolate.');
    } finally {
      this.interpolating = false;
    }
  }
}

export const latentLabStore = new LatentLabStore();
