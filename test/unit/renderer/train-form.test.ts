import { describe, expect, it } from 'vitest';
import {
  defaultTrainForm,
  suggestDatasetName,
  validateImportForm,
  validateTrainForm,
  type DatasetFacts,
} from '../../../src/renderer/src/lib/train-form';

const datasets: DatasetFacts[] = [
  { name: 'stars', count: 200, classNames: [] },
  { name: 'fashion', count: 60000, classNames: ['shirt', 'shoe', 'bag'] },
];

describe('train form', () => {
  it('defaults leave batch, length and the remedies to the plan: the request leaves them out', () => {
    const form = defaultTrainForm('stars');
    expect(form).toMatchObject({ model: 'dcgan', batch: '', epochs: '', steps: '', augment: 'auto', ema: 'auto', lr: '0.0002', beta1: '0.5', k: '1', latent: '100' });
    const v = validateTrainForm(form, datasets);
    expect(v.errors).toEqual({});
    expect(v.request).toEqual({ data: 'stars', model: 'dcgan', lr: 0.0002, beta1: 0.5, k: 1, latent: 100, seed: 1 });
    for (const key of ['batch', 'epochs', 'steps', 'augment', 'ema']) expect(v.request).not.toHaveProperty(key);
    // Blank means blank: spaces too.
    expect(validateTrainForm({ ...form, batch: '  ', epochs: ' ' }, datasets).request).not.toHaveProperty('batch');
  });

  it('sends what the user gave, which wins over the plan', () => {
    const v = validateTrainForm({ ...defaultTrainForm('stars'), batch: '32', epochs: '2', augment: 'off', ema: 'on' }, datasets);
    expect(v.errors).toEqual({});
    expect(v.request).toMatchObject({ batch: 32, epochs: 2, augment: false, ema: true });
    expect(v.request).not.toHaveProperty('steps');
    const s = validateTrainForm({ ...defaultTrainForm('stars'), steps: '4000', augment: 'on', ema: 'off' }, datasets);
    expect(s.request).toMatchObject({ steps: 4000, augment: true, ema: false });
    expect(s.request).not.toHaveProperty('epochs');
    expect(s.request).not.toHaveProperty('batch');
  });

  it('refuses epochs and steps together, in words', () => {
    const v = validateTrainForm({ ...defaultTrainForm('stars'), epochs: '10', steps: '2000' }, datasets);
    expect(v.request).toBeUndefined();
    expect(v.errors.steps).toMatch(/epochs or in steps, not both/);
    expect(v.errors.epochs).toMatch(/not both/);
    // A bad value keeps its own message.
    expect(validateTrainForm({ ...defaultTrainForm('stars'), epochs: '0', steps: '2000' }, datasets).errors.epochs).toMatch(/between 1 and/);
    expect(validateTrainForm({ ...defaultTrainForm('stars'), steps: '1.5' }, datasets).errors.steps).toMatch(/whole number/);
    expect(validateTrainForm({ ...defaultTrainForm('stars'), steps: '0' }, datasets).errors.steps).toBeTruthy();
  });

  it('refuses a remedy that is not auto, on or off', () => {
    const v = validateTrainForm({ ...defaultTrainForm('stars'), augment: 'maybe' as never, ema: '' as never }, datasets);
    expect(Object.keys(v.errors).sort()).toEqual(['augment', 'ema']);
  });

  it('passes size, channels, name and labels for conditional models', () => {
    const v = validateTrainForm({ ...defaultTrainForm('fashion'), model: 'cdcgan', size: '28', channels: '1', name: ' mine ' }, datasets);
    expect(v.request).toMatchObject({ size: 28, channels: 1, name: 'mine', labels: true, model: 'cdcgan' });
  });

  it('takes 128 px (photo folders) like the other sizes', () => {
    const v = validateTrainForm({ ...defaultTrainForm('stars'), size: '128', channels: '3' }, datasets);
    expect(v.errors).toEqual({});
    expect(v.request).toMatchObject({ size: 128, channels: 3 });
    expect(validateTrainForm({ ...defaultTrainForm('stars'), size: '96' as '128' }, datasets).errors.size).toBe('Size must be one of 28, 32, 64, 128.');
  });

  it('refuses bad values field by field', () => {
    const v = validateTrainForm(
      { ...defaultTrainForm('stars'), epochs: '-1', steps: 'many', batch: '1.5', lr: 'abc', beta1: '1', k: '0', latent: '', seed: 'NaN', name: 'x'.repeat(101) },
      datasets,
    );
    expect(v.request).toBeUndefined();
    expect(Object.keys(v.errors).sort()).toEqual(['batch', 'beta1', 'epochs', 'k', 'latent', 'lr', 'name', 'seed', 'steps']);
  });

  it('refuses NaN, Infinity and hex', () => {
    for (const lr of ['NaN', 'Infinity', '0x10', '1e400', '0']) {
      expect(validateTrainForm({ ...defaultTrainForm('stars'), lr }, datasets).errors.lr).toBeTruthy();
    }
    expect(validateTrainForm({ ...defaultTrainForm('stars'), lr: '2e-4' }, datasets).request?.lr).toBe(0.0002);
  });

  it('needs a dataset, labels for conditional models, and a batch that fits', () => {
    expect(validateTrainForm(defaultTrainForm(''), datasets).errors.dataset).toBeTruthy();
    expect(validateTrainForm(defaultTrainForm('gone'), datasets).errors.dataset).toBeTruthy();
    expect(validateTrainForm({ ...defaultTrainForm('stars'), model: 'cgan' }, datasets).errors.model).toBeTruthy();
    expect(validateTrainForm({ ...defaultTrainForm('stars'), batch: '256' }, datasets).errors.batch).toMatch(/larger than the dataset/);
  });
});

describe('import form', () => {
  it('suggests a name from the path', () => {
    expect(suggestDatasetName('/home/me/galaxies/')).toBe('galaxies');
    expect(suggestDatasetName('C:\\data\\mnist')).toBe('mnist');
    expect(suggestDatasetName('')).toBe('');
  });

  it('needs a full path and a name', () => {
    expect(validateImportForm({ path: '/a/b', name: 'b' })).toEqual({});
    expect(validateImportForm({ path: 'C:\\a', name: 'a' })).toEqual({});
    expect(validateImportForm({ path: '', name: '' })).toMatchObject({ path: expect.any(String), name: expect.any(String) });
    expect(validateImportForm({ path: 'relative/dir', name: 'x' }).path).toBeTruthy();
    expect(validateImportForm({ path: '/a', name: 'x'.repeat(101) }).name).toBeTruthy();
  });
});
