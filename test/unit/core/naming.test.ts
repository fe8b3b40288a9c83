import { describe, expect, it } from 'vitest';
import { classIndex, freeName } from '../../../src/main/core/naming';
import { StudioError } from '../../../src/main/core/studio-error';
import type { ModelConfig } from '../../../src/shared/types';

const conditional: ModelConfig = { kind: 'cdcgan', size: 28, channels: 1, latent: 8, numClasses: 3, classNames: ['Circle', 'square', 'star'] };

describe('naming', () => {
  it('finds a class by index or by name, whatever its case', () => {
    expect(classIndex(conditional, 2, 'run 1')).toBe(2);
    expect(classIndex(conditional, ' SQUARE ', 'run 1')).toBe(1);
    expect(classIndex(conditional, '0', 'run 1')).toBe(0);
  });

  it('refuses a class the model does not have, naming the classes, and a class for an unconditional model', () => {
    expect(() => classIndex(conditional, 3, 'run 1')).toThrow('unknown class "3"; classes: 0 Circle, 1 square, 2 star');
    expect(() => classIndex(conditional, 1.5, 'run 1', 'the result')).toThrow('unknown class "1.5" for the result; classes:');
    expect(() => classIndex({ ...conditional, classNames: [] }, 'x', 'run 1')).toThrow('classes: 0 to 2');
    const plain: ModelConfig = { kind: 'dcgan', size: 28, channels: 1, latent: 8, numClasses: 0 };
    expect(() => classIndex(plain, 0, 'run 4')).toThrow('run 4 is not a conditional model: a class needs a cgan or cdcgan generator');
    expect(() => classIndex(plain, 0, 'model m', 'the start')).toThrow('model m is not a conditional model: the start cannot be given a class');
    expect(() => classIndex(plain, 0, 'run 4')).toThrow(StudioError);
  });

  it('never picks a taken file name', () => {
    expect(freeName(new Set(), 'grid', '.png')).toBe('grid.png');
    expect(freeName(new Set(['grid.png', 'grid-1.png']), 'grid', '.png')).toBe('grid-2.png');
  });
});
