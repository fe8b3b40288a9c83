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
});
