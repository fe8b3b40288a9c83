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
  it('defaults are the papers’ and validate into a request', () => {
    const form = defaultTrainForm('stars');
    expect(form).toMatchObject({ model: 'dcgan', batch: '128', lr: '0.0002', beta1: '0.5', k: '1', latent: '100' });
    const v = validateTrainForm(form, datasets);
    expect(v.errors).toEqual({});
    expect(v.request).toEqual({ data: 'stars', model: 'dcgan', epochs: 5, batch: 128, lr: 0.0002, beta1: 0.5, k: 1, latent: 100, seed: 1 });
  });

  it('passes size, channels, name and labels for conditional models', () => {
    const v = validateTrainForm({ ...defaultTrainForm('fashion'), model: 'cdcgan', size: '28', channels: '1', name: ' mine ' }, datasets);
    expect(v.request).toMatchObject({ size: 28, channels: 1, name: 'mine', labels: true, model: 'cdcgan' });
  });

  it('refuses bad values field by field', () => {
    const v = validateTrainForm(
      { ...defaultTrainForm('stars'), epochs: '-1', batch: '1.5', lr: 'abc', beta1: '1', k: '0', latent: '', seed: 'NaN', name: 'x'.repeat(101) },
      datasets,
    );
    expect(v.request).toBeUndefined();
    expect(Object.keys(v.errors).sort()).toEqual(['batch', 'beta1', 'epochs', 'k', 'latent', 'lr', 'name', 'seed']);
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
