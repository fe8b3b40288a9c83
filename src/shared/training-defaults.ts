// A new run's defaults and the bounds of its settings, in one place: the CLI's flags, the request
// schemas, the dispatcher and the core all read them here. Defaults are the papers' (DCGAN:
// Radford et al. 2016, lr 2e-4, beta1 0.5, batch 128, latent 100; GAN: Goodfellow et al. 2014,
// k 1); what a request leaves out of batch, length and the two small-data remedies, the training
// plan (training-plan.ts) then chooses from the data's size.
import type { TrainingNewRequest } from './contract';
import type { ImageChannels, ImageSize, ModelKind, TrainConfig } from './types';

export const TRAIN_DEFAULTS = {
  batch: 128,
  lr: 2e-4,
  beta1: 0.5,
  beta2: 0.999,
  k: 1,
  latent: 100,
  epochs: 5,
  seed: 1,
} as const;

/** The model, and the shape when neither the request nor an imported dataset gives one. */
export const MODEL_DEFAULTS: { kind: ModelKind; size: ImageSize; channels: ImageChannels } = { kind: 'dcgan', size: 28, channels: 1 };

/** Inclusive upper bounds of a run's whole-number settings (lower bounds: 1; seed: 0). */
export const TRAIN_LIMITS = {
  epochs: 100_000,
  steps: 100_000_000,
  batch: 4096,
  k: 100,
  latent: 4096,
  limit: 100_000_000,
  seed: 2 ** 31 - 1,
} as const;

/** A new run's settings as a user gives them (the CLI's flags, `training:start`): anything left out gets its default. */
export type NewRunSettings = Omit<TrainingNewRequest, 'limit' | 'labels' | 'backend'>;

/** Which settings the training plan chooses (those the user left out). */
export interface PlannedSettings {
  batch: boolean;
  length: boolean;
  augment: boolean;
  ema: boolean;
}

/** A run's name when none is given: `<model>-<the data's last path segment>`. */
export function defaultRunName(model: ModelKind, data: string): string {
  const last = data.replace(/[\\/]+$/, '').split(/[\\/]/).pop();
  return `${model}-${last || 'data'}`;
}

/**
 * The config of a new run from what the user gave, with the defaults for the rest; which of batch,
 * length and remedies the plan is to choose; and whether size and channels are to come from an
 * imported dataset. The core validates the result again.
 */
export function newRunConfig(s: NewRunSettings): {
  config: TrainConfig;
  planned: PlannedSettings;
  shapeFromDataset: { size: boolean; channels: boolean };
} {
  const kind = s.model ?? MODEL_DEFAULTS.kind;
  const config: TrainConfig = {
    model: {
      kind,
      size: s.size ?? MODEL_DEFAULTS.size,
      channels: s.channels ?? MODEL_DEFAULTS.channels,
      latent: s.latent ?? TRAIN_DEFAULTS.latent,
      numClasses: 0,
    },
    data: s.data,
    epochs: s.epochs ?? TRAIN_DEFAULTS.epochs,
    steps: s.steps ?? null,
    batch: s.batch ?? TRAIN_DEFAULTS.batch,
    lr: s.lr ?? TRAIN_DEFAULTS.lr,
    beta1: s.beta1 ?? TRAIN_DEFAULTS.beta1,
    beta2: s.beta2 ?? TRAIN_DEFAULTS.beta2,
    k: s.k ?? TRAIN_DEFAULTS.k,
    seed: s.seed ?? TRAIN_DEFAULTS.seed,
    name: s.name?.trim() || defaultRunName(kind, s.data),
  };
  if (s.augment !== undefined) config.augment = s.augment;
  if (s.ema !== undefined) config.ema = s.ema;
  return {
    config,
    planned: {
      batch: s.batch === undefined,
      length: s.epochs === undefined && (s.steps === undefined || s.steps === null),
      augment: s.augment === undefined,
      ema: s.ema === undefined,
    },
    shapeFromDataset: { size: s.size === undefined, channels: s.channels === undefined },
  };
}
