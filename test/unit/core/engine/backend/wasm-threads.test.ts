// The wasm backend's threaded build under Node (src/main/core/engine/backend/wasm-threads.ts). The backend
// starts once per process, so each case runs helpers/wasm-threads-child.ts in a child process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { wantedWasmThreads } from '../../../../../src/main/core/engine/backend/wasm-threads';
import type { StepMetrics } from '../../../../../src/shared/types';

const CHILD = resolve(__dirname, '../helpers/wasm-threads-child.ts');
const runRoot = mkdtempSync(join(tmpdir(), 'gs-threads-test-'));
afterAll(() => rmSync(runRoot, { recursive: true, force: true }));

interface ChildResult {
  details: Record<string, unknown>;
  reason: string;
  metrics: StepMetrics[];
}

function runChild(env: Record<string, string>): ChildResult {
  const res = spawnSync(process.execPath, ['--import', 'tsx', CHILD], {
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...process.env, GS_RUN_ROOT: runRoot, GAN_STUDIO_BACKEND: '', ...env },
  });
  // A timeout here would mean the pool threads kept the process alive after its work.
  expect(res.error, `child did not finish: ${String(res.error)}`).toBeUndefined();
  expect(res.status, res.stderr).toBe(0);
  const line = res.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as ChildResult;
}

const cores = availableParallelism();

describe('wasm threads', () => {
  it.runIf(cores >= 2)('uses one thread per core by default, trains, and the process exits by itself', () => {
    const r = runChild({ GAN_STUDIO_WASM_THREADS: '' });
    expect(r.details['threads']).toBe(Math.min(8, cores));
    expect(r.details['threadsNote']).toBeUndefined();
    expect(r.reason).toMatch(/SIMD, \d+ threads[,)]/);
    expect(r.metrics).toHaveLength(2);
  });

  // XNNPACK's thread pool splits work without changing any sum's order; OpenBLAS's sgemm with 2
  // threads differs from 1 thread in the last bits, so the native convolutions are off here.
  it('gives bit-identical training metrics with 1 and 2 threads (wasm kernels only)', () => {
    const one = runChild({ GAN_STUDIO_WASM_THREADS: '1', GAN_STUDIO_NATIVE: '0' });
    const two = runChild({ GAN_STUDIO_WASM_THREADS: '2', GAN_STUDIO_NATIVE: '0' });
    expect(one.details['nativeConvolutions']).toBe(false);
    expect(one.details['threads']).toBe(1);
    expect(two.details['threads']).toBe(2);
    console.log('1 thread :', JSON.stringify(one.metrics));
    console.log('2 threads:', JSON.stringify(two.metrics));
    expect(two.metrics).toEqual(one.metrics);
    for (const m of two.metrics) expect([m.lossD, m.lossG, m.dReal, m.dFake].every(Number.isFinite)).toBe(true);
  });

  it('falls back to one thread, saying why, when its scripts cannot be written', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'gs-threads-blocked-'));
    try {
      // A file where the scripts' folder should be.
      writeFileSync(join(tmp, `gan-studio-wasm-${process.getuid?.() ?? 'user'}`), 'in the way');
      const r = runChild({ GAN_STUDIO_WASM_THREADS: '2', TMPDIR: tmp });
      expect(r.details['threads']).toBe(1);
      expect(String(r.details['threadsNote'])).toMatch(/the threaded build did not start \(.*gan-studio-wasm.*\); using one thread/);
      expect(r.metrics).toHaveLength(2);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('reads GAN_STUDIO_WASM_THREADS and refuses nonsense', () => {
    expect(wantedWasmThreads({ GAN_STUDIO_WASM_THREADS: '3' })).toBe(3);
    expect(wantedWasmThreads({})).toBe(Math.max(1, Math.min(8, cores)));
    for (const bad of ['0', '-1', '2.5', 'many', '65']) {
      expect(() => wantedWasmThreads({ GAN_STUDIO_WASM_THREADS: bad })).toThrow(/GAN_STUDIO_WASM_THREADS=.* is not a thread count/);
    }
  });
});
