import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointError, readCheckpoint, writeCheckpoint } from '../../../../src/main/core/formats/checkpoint';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-ckpt-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tensors = () => [
  { name: 'G/0', shape: [2, 3], dtype: 'float32' as const, values: Float32Array.from([1, -2, 3.5, 4, 5, Number.MIN_VALUE]) },
  { name: 'optG/iter', shape: [], dtype: 'int32' as const, values: Int32Array.from([17]) },
  { name: 'D/0', shape: [3], dtype: 'float32' as const, values: Float32Array.from([0.1, 0.2, 0.3]) },
];

describe('checkpoint files', () => {
  it('round-trips meta and tensors exactly', async () => {
    const path = join(dir, 'a.ckpt');
    await writeCheckpoint(path, { step: 12, note: 'é' }, tensors());
    const back = await readCheckpoint<{ step: number; note: string }>(path);
    expect(back.meta).toEqual({ step: 12, note: 'é' });
    expect(back.tensors.map((t) => [t.name, t.shape, t.dtype, Array.from(t.values)])).toEqual(
      tensors().map((t) => [t.name, t.shape, t.dtype, Array.from(t.values)]),
    );
    expect(await readdir(dir)).toEqual(['a.ckpt']); // no temporary file left behind
  });

  it('rejects a truncated file, a foreign file and a missing file with a clear error', async () => {
    const path = join(dir, 'b.ckpt');
    await writeCheckpoint(path, { step: 1 }, tensors());
    const full = (await readFile(path)).length;
    await truncate(path, full - 5);
    await expect(readCheckpoint(path)).rejects.toThrow(/truncated/);
    await writeFile(join(dir, 'c.ckpt'), 'hello world, not a checkpoint');
    await expect(readCheckpoint(join(dir, 'c.ckpt'))).rejects.toThrow(/not a GAN Studio checkpoint/);
    await expect(readCheckpoint(join(dir, 'missing.ckpt'))).rejects.toBeInstanceOf(CheckpointError);
  });

  it('leaves the previous file intact when a write fails', async () => {
    const path = join(dir, 'd.ckpt');
    await writeCheckpoint(path, { step: 1 }, tensors());
    const before = await readFile(path);
    const bad = [{ name: 'x', shape: [4], dtype: 'float32' as const, values: new Float32Array(3) }];
    await expect(writeCheckpoint(path, { step: 2 }, bad)).rejects.toThrow(/3 values for shape/);
    expect(Buffer.compare(await readFile(path), before)).toBe(0);
    // A write into a folder that does not exist fails before touching anything.
    await expect(writeCheckpoint(join(dir, 'nope', 'e.ckpt'), { step: 2 }, tensors())).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['d.ckpt']);
  });
});
