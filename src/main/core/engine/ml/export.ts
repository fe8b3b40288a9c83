// Exporting a generator as a TensorFlow.js Layers model and importing one back.
//
// An export folder holds:
//   model.json       the standard tfjs Layers format (topology + weights manifest)
//   weights.bin      the weights, one shard, as the manifest describes
//   gan-studio.json  a sidecar: model kind, latent size, image size, channels, classes, run, step
//
// `tf.loadLayersModel` loads model.json in a page (over http) or in Node (with `fileHandler` below,
// or tfjs-node's file:// handler). tfjs-node is not a dependency here, so `model.save('file://…')`
// is not available: the folder is written from `tf.io.withSaveHandler`'s artifacts instead.
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelConfig, ModelKind } from '../../../../shared/types';
import { MODEL_KINDS } from '../../../../shared/types';
import { LoadedGenerator } from './generator';
import { writeFileAtomic } from '../../images/image-grid';
import { isConditional, validateModelConfig } from '../../../../shared/models';

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
export const SIDECAR_FILE = 'gan-studio.json';
export const EXPORT_FILES = [MODEL_FILE, WEIGHTS_FILE, SIDECAR_FILE] as const;
const SIDECAR_FORMAT = 'gan-studio-generator';

/** The sidecar: what a program needs to feed the model and read its output. */
export interface GeneratorSidecar {
  format: typeof SIDECAR_FORMAT;
  version: 1;
  modelKind: ModelKind;
  /** Length of the latent input; latents are N(0, 1) draws. */
  latentSize: number;
  imageSize: number;
  channels: 1 | 3;
  /** Conditional models: number of classes (second input: a one-hot row of this length); else 0. */
  numClasses: number;
  classNames: string[];
  /** The run it came from (null when unknown) and the training step of its weights. */
  runId: number | null;
  runName: string | null;
  step: number;
  inputs: string[];
  output: string;
}

export interface ExportInfo {
  runId: number | null;
  runName: string | null;
}

export function sidecarFor(config: ModelConfig, step: number, info: ExportInfo): GeneratorSidecar {
  const conditional = isConditional(config.kind);
  return {
    format: SIDECAR_FORMAT,
    version: 1,
    modelKind: config.kind,
    latentSize: config.latent,
    imageSize: config.size,
    channels: config.channels,
    numClasses: conditional ? config.numClasses : 0,
    classNames: config.classNames ?? [],
    runId: info.runId,
    runName: info.runName,
    step,
    inputs: conditional
      ? [`latent: float32 [n, ${config.latent}], N(0, 1)`, `label: float32 [n, ${config.numClasses}], one-hot class`]
      : [`latent: float32 [n, ${config.latent}], N(0, 1)`],
    output: `float32 [n, ${config.size}, ${config.size}, ${config.channels}] (NHWC) in [-1, 1]; pixel = (v + 1) * 127.5`,
  };
}

/** The model.json and weights a Layers model saves to, as bytes (the tfjs Layers format). */
export async function serializeLayersModel(model: tf.LayersModel): Promise<{ modelJson: Buffer; weights: Buffer }> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const artifacts = saved as tf.io.ModelArtifacts | null;
  if (!artifacts || !artifacts.modelTopology || !artifacts.weightSpecs || !artifacts.weightData) {
    throw new Error('the model did not save its topology and weights');
  }
  const weights = Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  const json: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology as object,
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs }],
  };
  return { modelJson: Buffer.from(JSON.stringify(json)), weights };
}

/** Writes the three export files into `dir` (which must exist); the caller picks a free folder. */
export async function writeGeneratorExport(dir: string, generator: LoadedGenerator, info: ExportInfo): Promise<GeneratorSidecar> {
  const { modelJson, weights } = await serializeLayersModel(generator.layersModel);
  const sidecar = sidecarFor(generator.config, generator.step, info);
  await writeFileAtomic(join(dir, WEIGHTS_FILE), weights);
  await writeFileAtomic(join(dir, MODEL_FILE), modelJson);
  await writeFileAtomic(join(dir, SIDECAR_FILE), Buffer.from(JSON.stringify(sidecar, null, 2) + '\n'));
  return sidecar;
}

/**
 * An IOHandler that loads a Layers model from a folder in Node: `tf.loadLayersModel(fileHandler(dir))`
 * (model.json and every weight shard its manifest names, relative to the folder).
 */
export function fileHandler(dir: string, modelFile = MODEL_FILE): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(await readFile(join(dir, modelFile), 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const shards: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const path of group.paths) {
            const bytes = await readFile(join(dir, path));
            shards.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
        }
        return [specs, tf.io.CompositeArrayBuffer.join(shards)];
      });
    },
  };
}

/** Reads and checks a folder's sidecar. */
export async function readSidecar(dir: string): Promise<GeneratorSidecar> {
  let text: string;
  try {
    text = await readFile(join(dir, SIDECAR_FILE), 'utf8');
  } catch (err) {
    throw new Error(`${dir} is not an exported GAN Studio generator: cannot read ${SIDECAR_FILE} (${(err as Error).message})`);
  }
  return parseSidecar(dir, text);
}

/** readSidecar without waiting (a few hundred bytes: start-up bookkeeping). */
export function readSidecarSync(dir: string): GeneratorSidecar {
  let text: string;
  try {
    text = readFileSync(join(dir, SIDECAR_FILE), 'utf8');
  } catch (err) {
    throw new Error(`${dir} is not an exported GAN Studio generator: cannot read ${SIDECAR_FILE} (${(err as Error).message})`);
  }
  return parseSidecar(dir, text);
}

function parseSidecar(dir: string, text: string): GeneratorSidecar {
  let parsed: Partial<GeneratorSidecar>;
  try {
    parsed = JSON.parse(text) as Partial<GeneratorSidecar>;
  } catch (err) {
    throw new Error(`${join(dir, SIDECAR_FILE)} is not valid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || parsed.format !== SIDECAR_FORMAT || parsed.version !== 1) {
    throw new Error(`${join(dir, SIDECAR_FILE)} is not a GAN Studio generator sidecar (version 1)`);
  }
  if (!MODEL_KINDS.includes(parsed.modelKind as ModelKind)) throw new Error(`${join(dir, SIDECAR_FILE)}: unknown model kind ${String(parsed.modelKind)}`);
  return parsed as GeneratorSidecar;
}

export function sidecarConfig(sidecar: GeneratorSidecar): ModelConfig {
  const config: ModelConfig = {
    kind: sidecar.modelKind,
    size: sidecar.imageSize as ModelConfig['size'],
    channels: sidecar.channels,
    latent: sidecar.latentSize,
    numClasses: sidecar.numClasses,
    classNames: Array.isArray(sidecar.classNames) ? sidecar.classNames : [],
  };
  validateModelConfig(config);
  return config;
}

/** Loads an export folder as a generator that the sampling and latent-lab code can use. */
export async function loadGeneratorExport(dir: string): Promise<{ generator: LoadedGenerator; sidecar: GeneratorSidecar }> {
  const sidecar = await readSidecar(dir);
  const config = sidecarConfig(sidecar);
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(fileHandler(dir));
  } catch (err) {
    throw new Error(`cannot load the Layers model in ${dir}: ${(err as Error).message}`);
  }
  try {
    return { generator: LoadedGenerator.fromLayersModel(config, model, sidecar.step), sidecar };
  } catch (err) {
    model.dispose();
    throw err;
  }
}
