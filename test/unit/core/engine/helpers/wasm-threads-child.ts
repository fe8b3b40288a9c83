// Run by wasm-threads.test.ts in a child process (the wasm backend starts once per process):
// selects the wasm backend as GAN_STUDIO_WASM_THREADS says, trains two DCGAN-28 steps and prints
// one JSON line with the backend's details and the metrics. The process must then exit by itself.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend } from '../../../../../src/main/core/engine/backend/backends';
import { Trainer } from '../../../../../src/main/core/engine/ml/trainer';
import type { TrainConfig } from '../../../../../src/shared/types';
import { syntheticDataset } from '../../../../helpers/datasets';
import { testConfig } from '../../../../helpers/train-config';

const info = await selectBackend({ prefer: 'wasm' });
const config: TrainConfig = testConfig({ model: { kind: 'dcgan', latent: 100 }, batch: 16, seed: 11, name: 'threads' });
const runDir = mkdtempSync(join(process.env['GS_RUN_ROOT'] ?? '/tmp', 'gs-threads-'));
const trainer = await Trainer.create({ config, dataset: syntheticDataset(64, 28, 1), runDir, resumeFrom: null });
const metrics = [await trainer.trainStep(), await trainer.trainStep()];
trainer.dispose();
rmSync(runDir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ details: info.details, reason: info.reason, metrics })}\n`);
