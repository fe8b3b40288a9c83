// What a model configuration allows, as pure functions every layer can use: the core validates a
// run's config with them before any worker starts, and the hosts ask which kinds take class labels.
import { TRAIN_LIMITS } from './training-defaults';
import { IMAGE_SIZES, type ModelConfig } from './types';

export function isConditional(kind: ModelConfig['kind']): boolean {
  return kind === 'cgan' || kind === 'cdcgan';
}

export function validateModelConfig(config: ModelConfig): void {
  if (!IMAGE_SIZES.includes(config.size)) throw new Error(`image size must be one of ${IMAGE_SIZES.join(', ')} (got ${config.size})`);
  if (config.channels !== 1 && config.channels !== 3) throw new Error(`channels must be 1 or 3 (got ${config.channels})`);
  // The MLPs' output layer has 1024 x pixels weights: 50M at 128x128x3, too large to train here.
  if ((config.kind === 'gan' || config.kind === 'cgan') && config.size > 64) {
    throw new Error(`the MLP GANs (gan, cgan) train at up to 64 px (got ${config.size}); use dcgan or cdcgan at ${config.size} px`);
  }
  if (!Number.isInteger(config.latent) || config.latent < 1 || config.latent > TRAIN_LIMITS.latent) {
    throw new Error(`latent size must be an integer from 1 to ${TRAIN_LIMITS.latent} (got ${config.latent})`);
  }
  if (isConditional(config.kind) && (!Number.isInteger(config.numClasses) || config.numClasses < 2)) {
    throw new Error(`a conditional model needs at least 2 classes (got ${config.numClasses})`);
  }
}
