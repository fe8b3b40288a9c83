import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../../src/main/hosts/cli/args';
import { toTrainRequest } from '../../../src/main/hosts/dispatch';
import { trainingNewRequest } from '../../../src/shared/schemas';
import { defaultRunName, MODEL_DEFAULTS, newRunConfig, TRAIN_DEFAULTS, TRAIN_LIMITS } from '../../../src/shared/training-defaults';

describe('training defaults', () => {
  it('fills what a new run leaves out with the papers\' defaults, and leaves batch, length and remedies to the plan', () => {
    const { config, planned, shapeFromDataset } = newRunConfig({ data: '/data/stars/' });
    expect(config).toEqual({
      model: { kind: MODEL_DEFAULTS.kind, size: 28, channels: 1, latent: 100, numClasses: 0 },
      data: '/data/stars/',
      epochs: TRAIN_DEFAULTS.epochs,
      steps: null,
      batch: 128,
      lr: 2e-4,
      beta1: 0.5,
      beta2: 0.999,
      k: 1,
      seed: 1,
      name: 'dcgan-stars',
    });
    expect(planned).toEqual({ batch: true, length: true, augment: true, ema: true });
    expect(shapeFromDataset).toEqual({ size: true, channels: true });
  });

  it('keeps what is given, and plans only the rest', () => {
    const { config, planned, shapeFromDataset } = newRunConfig({ data: 'fm', model: 'gan', size: 32, steps: 500, augment: false, name: '  mine  ' });
    expect(config).toMatchObject({ model: { kind: 'gan', size: 32, channels: 1 }, steps: 500, augment: false, name: 'mine' });
    expect('ema' in config).toBe(false);
    expect(planned).toEqual({ batch: true, length: false, augment: false, ema: true });
    expect(shapeFromDataset).toEqual({ size: false, channels: true });
    // A blank name gets the default; a Windows path's last segment names it too.
    expect(newRunConfig({ data: 'C:\\data\\galaxies\\', name: ' ' }).config.name).toBe('dcgan-galaxies');
    expect(defaultRunName('cgan', '/')).toBe('cgan-data');
  });

  it('is the one reading of a new run in the CLI and in the app\'s requests', () => {
    const cli = parseCommand(['train', '--data', 'fm', '--model', 'cdcgan', '--size', '64', '--channels', '3', '--steps', '900', '--lr', '0.0001', '--ema', 'on']);
    const app = toTrainRequest({ data: 'fm', model: 'cdcgan', size: 64, channels: 3, steps: 900, lr: 0.0001, ema: true });
    expect(cli).toMatchObject({ name: 'train', config: app.config, planned: app.planned, shapeFromDataset: app.shapeFromDataset });
  });

  it('bounds the CLI\'s flags and the request schema alike', () => {
    expect(() => parseCommand(['train', '--data', 'fm', '--batch', String(TRAIN_LIMITS.batch + 1)])).toThrow(`--batch must be`);
    expect(trainingNewRequest.safeParse({ data: '/d', batch: TRAIN_LIMITS.batch + 1 }).success).toBe(false);
    expect(trainingNewRequest.safeParse({ data: '/d', batch: TRAIN_LIMITS.batch }).success).toBe(true);
    expect(() => parseCommand(['train', '--data', 'fm', '--latent', String(TRAIN_LIMITS.latent)])).not.toThrow();
  });
});
