// A model written as the studio exports it (model.json + weights.bin) and loaded back with plain
// tf.loadLayersModel: what a custom layer that saves as a stock one must survive.
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileHandler, serializeLayersModel, MODEL_FILE, WEIGHTS_FILE } from '../../src/main/core/engine/ml/export';

export interface Reloaded {
  /** The model as tf.loadLayersModel reads it back. */
  loaded: tf.LayersModel;
  /** The class name of every layer in the written model.json, in order. */
  classNames: string[];
  /** Disposes `loaded` and removes the files. */
  dispose(): Promise<void>;
}

export async function exportAndReload(model: tf.LayersModel): Promise<Reloaded> {
  const dir = await mkdtemp(join(tmpdir(), 'gan-layers-'));
  try {
    const { modelJson, weights } = await serializeLayersModel(model);
    await writeFile(join(dir, MODEL_FILE), modelJson);
    await writeFile(join(dir, WEIGHTS_FILE), weights);
    const json = JSON.parse(await readFile(join(dir, MODEL_FILE), 'utf8')) as { modelTopology: { config: { layers: { class_name: string }[] } } };
    const loaded = await tf.loadLayersModel(fileHandler(dir));
    return {
      loaded,
      classNames: json.modelTopology.config.layers.map((l) => l.class_name),
      dispose: async () => {
        loaded.dispose();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
