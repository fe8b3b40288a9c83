// A studio on a temp home with one tiny trained run (MLP GAN, 2 steps on 16 synthetic images, wasm)
// and a dispatcher over it: the fixture of the channel tests that need a trained generator.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { Studio } from '../../../../src/main/core/studio';
import { createDispatcher, type Dispatcher } from '../../../../src/main/hosts/dispatch';
import type { Envelope } from '../../../../src/shared/contract';
import { writeSyntheticIdxSet } from '../../../integration/helpers/idx-files';
import { testConfig } from '../../../helpers/train-config';

export interface TinyRun {
  home: string;
  studio: Studio;
  dispatcher: Dispatcher;
  runId: number;
  /** A temp folder removed by dispose(). */
  temp(prefix: string): string;
  dispose(): void;
}

export async function openTinyRun(prefix: string): Promise<TinyRun> {
  const scratch: string[] = [];
  const temp = (p: string) => {
    const dir = mkdtempSync(join(tmpdir(), p));
    scratch.push(dir);
    return dir;
  };
  const home = temp(`${prefix}-home-`);
  const studio = Studio.open(home);
  const dispatcher = createDispatcher(studio, { version: '1', host: 'browser', logError: () => undefined });
  const data = writeSyntheticIdxSet(temp(`${prefix}-data-`), 16);
  const handle = await studio.train({
    config: testConfig({ data, steps: 2, name: 'tiny' }),
    backend: 'wasm',
  });
  const runId = (await handle.done).run.id;
  return {
    home,
    studio,
    dispatcher,
    runId,
    temp,
    dispose: () => {
      dispatcher.dispose();
      studio.close();
      scratch.forEach((d) => rmSync(d, { recursive: true, force: true }));
    },
  };
}

export const errorOf = (reply: Envelope<unknown>) => {
  expect(reply).toHaveProperty('error');
  return (reply as { error: { message: string; code: string } }).error;
};

export const resultOf = <T>(reply: Envelope<unknown>): T => {
  if ('error' in reply) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result as T;
};
