// One TrainConfig for tests: a small MLP GAN on 28x28x1 with the papers' optimiser settings;
// tests override what they are about (model fields one by one, the rest as in TrainConfig).
import { TRAIN_DEFAULTS, type ModelConfig, type TrainConfig } from '../../src/shared/types';

export type TestConfigOverrides = Partial<Omit<TrainConfig, 'model'>> & { model?: Partial<ModelConfig> };

export function testConfig(overrides: TestConfigOverrides = {}): TrainConfig {
  const { model, ...rest } = overrides;
  return {
    model: { kind: 'gan', size: 28, channels: 1, latent: 8, numClasses: 0, ...model },
    data: 'synthetic',
    epochs: 1,
    steps: null,
    batch: 8,
    lr: TRAIN_DEFAULTS.lr,
    beta1: TRAIN_DEFAULTS.beta1,
    beta2: TRAIN_DEFAULTS.beta2,
    k: 1,
    seed: 1,
    name: 'test',
    ...rest,
  };
}

/** A trainer watch schedule with no clock grids and no quality scores: runs whose grids tests count. */
export const QUIET_WATCH = { gridFirstSeconds: 1e9, gridEverySeconds: 1e9, qualityBudget: 0 } as const;
