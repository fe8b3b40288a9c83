import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { parseCommand, USAGE, UsageError } from '../../../../src/main/hosts/cli/args';

describe('gan-studio import: arguments', () => {
  it('parses PATH and every option', () => {
    expect(parseCommand(['import', 'photos', '--name', 'stars', '--size', '128', '--channels', '1', '--labels', '--fit', 'pad', '--mirror', '--json', '--home', '/h'])).toEqual({
      name: 'import',
      home: '/h',
      json: true,
      path: path.resolve('photos'),
      datasetName: 'stars',
      size: 128,
      channels: 1,
      labels: true,
      fit: 'pad',
      mirror: true,
    });
  });

  it('has defaults for everything but PATH and --name', () => {
    expect(parseCommand(['import', '/data/x', '--name', 'x'])).toEqual({
      name: 'import',
      home: undefined,
      json: false,
      path: '/data/x',
      datasetName: 'x',
      size: undefined,
      channels: undefined,
      labels: false,
      fit: 'crop',
      mirror: false,
    });
  });

  it('rejects bad input with a usage error', () => {
    const bad: [string[], RegExp][] = [
      [['import', '--name', 'x'], /needs a PATH/],
      [['import', 'a', 'b', '--name', 'x'], /one PATH/],
      [['import', 'a'], /needs --name/],
      [['import', 'a', '--name', '  '], /needs --name/],
      [['import', 'a', '--name', 'x', '--size', '48'], /--size must be one of 28, 32, 64, 128/],
      [['import', 'a', '--name', 'x', '--channels', '4'], /--channels must be one of 1, 3/],
      [['import', 'a', '--name', 'x', '--fit', 'zoom'], /--fit must be one of crop, pad, stretch/],
      [['import', 'a', '--name', 'x', '--bogus'], /bogus/],
    ];
    for (const [argv, message] of bad) {
      expect(() => parseCommand(argv), argv.join(' ')).toThrow(UsageError);
      expect(() => parseCommand(argv), argv.join(' ')).toThrow(message);
    }
  });

  it('lists datasets, and the usage text documents both commands', () => {
    expect(parseCommand(['datasets', '--json'])).toEqual({ name: 'datasets', home: undefined, json: true });
    expect(USAGE).toMatch(/import\s+PATH --name NAME \[--size 28\|32\|64\|128\]/);
    expect(USAGE).toMatch(/datasets\s+\[--json\]/);
  });

  it('train --data NAME remembers whether --size / --channels were given', () => {
    const plain = parseCommand(['train', '--data', 'no-such-path-fashion']);
    expect(plain).toMatchObject({ name: 'train', shapeFromDataset: { size: true, channels: true } });
    expect((plain as { config: { data: string } }).config.data).toBe('no-such-path-fashion');
    expect(parseCommand(['train', '--data', 'x', '--size', '64'])).toMatchObject({ shapeFromDataset: { size: false, channels: true } });
  });

  it('train takes every model size, 128 px included', () => {
    expect(parseCommand(['train', '--data', 'x', '--size', '128', '--channels', '3'])).toMatchObject({ config: { model: { size: 128, channels: 3 } } });
    expect(() => parseCommand(['train', '--data', 'x', '--size', '96'])).toThrow(/--size must be one of 28, 32, 64, 128/);
    expect(USAGE).toMatch(/train\s+--data PATH\|DATASET \[--model dcgan\|gan\|cgan\|cdcgan\] \[--size 28\|32\|64\|128\]/);
  });
});

describe('gan-studio generate and models: arguments', () => {
  it('generate takes --run or --model (not both, not neither)', () => {
    expect(parseCommand(['generate', '--run', '3', '--count', '4', '--out', 'o'])).toMatchObject({ name: 'generate', source: { runId: 3 }, count: 4, out: 'o', seed: 1, classLabel: null });
    expect(parseCommand(['generate', '--model', 'faces', '--out', 'o', '--class', 'cat', '--json'])).toMatchObject({ name: 'generate', json: true, source: { model: 'faces' }, count: 64, classLabel: 'cat' });
    const bad: [string[], RegExp][] = [
      [['generate', '--out', 'o'], /generate needs --run RUN_ID \(or --model NAME\|DIR\)/],
      [['generate', '--run', '1', '--model', 'x', '--out', 'o'], /--run or --model, not both/],
      [['generate', '--model', ' ', '--out', 'o'], /--model needs a NAME/],
      [['generate', '--model', 'x'], /needs --out DIR/],
    ];
    for (const [argv, message] of bad) {
      expect(() => parseCommand(argv), argv.join(' ')).toThrow(UsageError);
      expect(() => parseCommand(argv), argv.join(' ')).toThrow(message);
    }
  });

  it('lists models, and the usage text documents them', () => {
    expect(parseCommand(['models', '--json', '--home', '/h'])).toEqual({ name: 'models', home: '/h', json: true });
    expect(() => parseCommand(['models', 'x'])).toThrow(UsageError);
    expect(USAGE).toMatch(/models\s+\[--json\]/);
    expect(USAGE).toMatch(/generate\s+\(--run RUN_ID \| --model NAME\|DIR\)/);
  });
});
