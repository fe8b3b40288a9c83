// The Train form: its fields as the user types them (strings), their defaults, and validation that
// turns them into a `training:start` request or says, field by field, what is wrong. Batch, length
// (epochs or steps), augmentation and the averaged generator start blank / 'auto': the request then
// leaves them out and the training plan (shared/training-plan.ts) chooses them from the dataset's
// size. What the user fills in wins.

import type { TrainingNewRequest } from '../../../shared/contract';
import { IMAGE_SIZES, MODEL_KINDS, TRAIN_DEFAULTS, type ImageChannels, type ImageSize, type ModelKind } from '../../../shared/types';

/** A small-data remedy: 'auto' lets the training plan decide. */
export type RemedyChoice = 'auto' | 'on' | 'off';

export interface TrainFormValues {
  dataset: string;
  model: ModelKind;
  /** 'auto' = the dataset's own. */
  size: 'auto' | `${ImageSize}`;
  channels: 'auto' | '1' | '3';
  /** Blank: planned. */
  epochs: string;
  /** Generator steps in all; blank: planned (or from epochs). Not both with epochs. */
  steps: string;
  /** Blank: planned. */
  batch: string;
  /** DiffAugment for D. */
  augment: RemedyChoice;
  /** An averaged generator (what grids and galleries draw from). */
  ema: RemedyChoice;
  lr: string;
  beta1: string;
  k: string;
  latent: string;
  seed: string;
  name: string;
}

export type TrainField = keyof TrainFormValues;
export type TrainErrors = Partial<Record<TrainField, string>>;

export const MAX_EPOCHS = 10_000;
export const MAX_STEPS = 10_000_000;
export const MAX_BATCH = 4096;
export const MAX_LATENT = 4096;
export const MAX_K = 100;

/**
 * Defaults: the optimiser's from the papers (Adam lr 2e-4 and beta1 0.5, Radford et al.; z of 100;
 * k = 1); batch, length and the remedies blank, i.e. planned for the dataset's size.
 */
export function defaultTrainForm(dataset = ''): TrainFormValues {
  return {
    dataset,
    model: 'dcgan',
    size: 'auto',
    channels: 'auto',
    epochs: '',
    steps: '',
    batch: '',
    augment: 'auto',
    ema: 'auto',
    lr: String(TRAIN_DEFAULTS.lr),
    beta1: String(TRAIN_DEFAULTS.beta1),
    k: String(TRAIN_DEFAULTS.k),
    latent: String(TRAIN_DEFAULTS.latent),
    seed: String(TRAIN_DEFAULTS.seed),
    name: '',
  };
}

/** Whether a model conditions on class labels. */
export function isConditional(model: ModelKind): boolean {
  return model === 'cgan' || model === 'cdcgan';
}

function parseNumber(text: string): number | null {
  const t = text.trim();
  if (t === '' || !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

function integerIn(text: string, min: number, max: number, what: string): { value?: number; error?: string } {
  const n = parseNumber(text);
  if (n === null) return { error: `Enter a whole number for ${what}.` };
  if (!Number.isInteger(n)) return { error: `${capital(what)} must be a whole number.` };
  if (n < min || n > max) return { error: `${capital(what)} must be between ${min.toLocaleString('en-US')} and ${max.toLocaleString('en-US')}.` };
  return { value: n };
}

function isBlank(text: string): boolean {
  return text.trim() === '';
}

/** 'on' → true, 'off' → false, 'auto' → undefined (planned); null for anything else. */
function remedy(choice: string): boolean | undefined | null {
  if (choice === 'auto') return undefined;
  if (choice === 'on') return true;
  if (choice === 'off') return false;
  return null;
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export interface DatasetFacts {
  name: string;
  count: number;
  classNames: string[];
}

export interface TrainValidation {
  errors: TrainErrors;
  /** Present when there are no errors. */
  request?: TrainingNewRequest;
}

/** Checks every field; `datasets` are the imported ones the form may pick from. */
export function validateTrainForm(values: TrainFormValues, datasets: readonly DatasetFacts[]): TrainValidation {
  const errors: TrainErrors = {};
  const dataset = datasets.find((d) => d.name === values.dataset);
  if (!values.dataset) errors.dataset = 'Pick a dataset to train on.';
  else if (!dataset) errors.dataset = 'That dataset no longer exists; pick another one.';

  if (!MODEL_KINDS.includes(values.model)) errors.model = 'Pick a model.';
  else if (dataset && isConditional(values.model) && dataset.classNames.length < 2) {
    errors.model = 'A conditional model needs a labelled dataset with at least two classes (import it with “Subfolders are classes”).';
  }

  let size: ImageSize | undefined;
  if (values.size !== 'auto') {
    const n = Number(values.size);
    if (!(IMAGE_SIZES as readonly number[]).includes(n)) errors.size = `Size must be one of ${IMAGE_SIZES.join(', ')}.`;
    else size = n as ImageSize;
  }
  let channels: ImageChannels | undefined;
  if (values.channels !== 'auto') {
    if (values.channels !== '1' && values.channels !== '3') errors.channels = 'Channels must be 1 (grayscale) or 3 (RGB).';
    else channels = Number(values.channels) as ImageChannels;
  }

  // Blank = planned: absent from the request.
  const epochs = isBlank(values.epochs) ? {} : integerIn(values.epochs, 1, MAX_EPOCHS, 'epochs');
  if (epochs.error) errors.epochs = epochs.error;
  const steps = isBlank(values.steps) ? {} : integerIn(values.steps, 1, MAX_STEPS, 'steps');
  if (steps.error) errors.steps = steps.error;
  if (!isBlank(values.epochs) && !isBlank(values.steps)) {
    const both = 'Give the length in epochs or in steps, not both: clear one of them.';
    errors.epochs ??= both;
    errors.steps ??= both;
  }
  const batch = isBlank(values.batch) ? {} : integerIn(values.batch, 1, MAX_BATCH, 'batch size');
  if (batch.error) errors.batch = batch.error;
  else if (dataset && batch.value !== undefined && batch.value > dataset.count) {
    errors.batch = `The batch is larger than the dataset (${dataset.count.toLocaleString('en-US')} images).`;
  }
  const augment = remedy(values.augment);
  if (augment === null) errors.augment = 'Choose Auto, On or Off.';
  const ema = remedy(values.ema);
  if (ema === null) errors.ema = 'Choose Auto, On or Off.';

  const lr = parseNumber(values.lr);
  if (lr === null) errors.lr = 'Enter a number for the learning rate, e.g. 0.0002.';
  else if (!(lr > 0 && lr <= 1)) errors.lr = 'The learning rate must be above 0 and at most 1.';

  const beta1 = parseNumber(values.beta1);
  if (beta1 === null) errors.beta1 = 'Enter a number for beta1, e.g. 0.5.';
  else if (!(beta1 >= 0 && beta1 < 1)) errors.beta1 = 'Beta1 must be at least 0 and below 1.';

  const k = integerIn(values.k, 1, MAX_K, 'k');
  if (k.error) errors.k = k.error;
  const latent = integerIn(values.latent, 1, MAX_LATENT, 'the latent size');
  if (latent.error) errors.latent = latent.error;
  const seed = integerIn(values.seed, 0, 2 ** 31 - 1, 'the seed');
  if (seed.error) errors.seed = seed.error;

  const name = values.name.trim();
  if (name.length > 100) errors.name = 'The run name can be at most 100 characters.';

  if (Object.keys(errors).length > 0) return { errors };
  const request: TrainingNewRequest = {
    data: values.dataset,
    model: values.model,
    lr: lr!,
    beta1: beta1!,
    k: k.value!,
    latent: latent.value!,
    seed: seed.value!,
  };
  if (epochs.value !== undefined) request.epochs = epochs.value;
  if (steps.value !== undefined) request.steps = steps.value;
  if (batch.value !== undefined) request.batch = batch.value;
  if (typeof augment === 'boolean') request.augment = augment;
  if (typeof ema === 'boolean') request.ema = ema;
  if (size !== undefined) request.size = size;
  if (channels !== undefined) request.channels = channels;
  if (name) request.name = name;
  if (isConditional(values.model)) request.labels = true;
  return { errors, request };
}

export interface ImportFormValues {
  path: string;
  name: string;
}

/** A dataset name suggested from the folder path: its last segment. */
export function suggestDatasetName(path: string): string {
  const parts = path.split(/[\\/]+/).filter((p) => p.length > 0);
  return (parts[parts.length - 1] ?? '').slice(0, 100);
}

/** Errors of the import form (path and name); empty when it can be sent. */
export function validateImportForm(values: ImportFormValues): Partial<Record<keyof ImportFormValues, string>> {
  const errors: Partial<Record<keyof ImportFormValues, string>> = {};
  const path = values.path.trim();
  if (!path) errors.path = 'Choose the folder or file to import.';
  else if (!/^(\/|[A-Za-z]:[\\/]|\\\\)/.test(path)) errors.path = 'Use a full path (starting with / or a drive letter).';
  const name = values.name.trim();
  if (!name) errors.name = 'Give the dataset a name.';
  else if (name.length > 100) errors.name = 'The name can be at most 100 characters.';
  return errors;
}
