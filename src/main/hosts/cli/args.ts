// Argument parsing for `gan-studio`: turns argv into a typed command or a UsageError.
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { newRunConfig, TRAIN_LIMITS } from '../../../shared/training-defaults';
import {
  DATASET_SIZES,
  FIT_MODES,
  IMAGE_SIZES,
  MODEL_KINDS,
  type BackendName,
  type DatasetSize,
  type FitMode,
  type ImageChannels,
  type ImageSize,
  type TrainConfig,
} from '../../../shared/types';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage: gan-studio <command> [options]

Commands:
  train     --data PATH|DATASET [--model dcgan|gan|cgan|cdcgan] [--size 28|32|64|128] [--channels 1|3]
            [--epochs N | --steps N] [--batch N] [--lr X] [--beta1 X] [--k N] [--latent N]
            [--seed N] [--name NAME] [--limit N] [--labels] [--backend auto|wasm|cpu|tensorflow|tensorflow-gpu]
            [--augment on|off] [--ema on|off] [--resume RUN_ID] [--json]
            Batch, length, --augment (DiffAugment for D) and --ema (an averaged generator) not given
            are planned from the data's size: small sets get smaller batches, thousands of steps
            and both remedies. The plan is printed before training starts.
  generate  (--run RUN_ID | --model NAME|DIR) --count N --out DIR [--grid] [--seed N] [--class C] [--json]
            A run that kept an averaged generator draws from it; --raw-generator (with generate,
            latent, interpolate, export) takes the trained G instead.
  latent    (--run RUN_ID | --model NAME|DIR) --expr EXPR --seeds SEEDS --out DIR [--class C] [--json]
            Latent arithmetic: G(EXPR in latent space), the pixel-wise combination of the operands'
            images, each operand and one strip. EXPR: names with + and - and optional coefficients
            (a-b+c, 2*a-b). SEEDS: one per operand in order of appearance (1,2,3), or NAME=SEED, or
            NAME=SEED/SEED/… for the mean of several latents (a class mean).
  interpolate (--run RUN_ID | --model NAME|DIR) --from SEED --to SEED --out FILE [--steps K]
            [--mode slerp|lerp] [--class C] [--json]
            A strip PNG of K frames (default 8) at FILE and an animated GIF beside it.
  export    --run RUN_ID --out DIR [--json]
            The run's generator as a TensorFlow.js Layers model (model.json, weights.bin) with a
            gan-studio.json sidecar (tf.loadLayersModel loads it).
  import-model DIR [--name NAME] [--json]
            Imports an exported generator (recorded in the studio; a taken NAME is refused) so
            --model NAME and the app's Gallery page can explore it.
  models    [--json]
            Imported models.
  runs      [--json]
  import    PATH --name NAME [--size 28|32|64|128] [--channels 1|3] [--labels]
            [--fit crop|pad|stretch] [--mirror] [--json]
            PATH: an image folder, an IDX images file (or a folder holding train-images-idx3-ubyte),
            or CIFAR-10 batches. Re-importing an unchanged source reuses the cached import.
  datasets  [--json]
  info      [--json]
  serve     [--port N] [--host HOST]
            The UI in a browser: serves the built app and its API (default http://127.0.0.1:8470/;
            --port 0 picks a free port). Binding to any host but loopback prints an access token
            that every request needs. Ctrl-C stops active runs (with a checkpoint) and exits.

Global options:
  --home DIR   the studio's home (default: $GAN_STUDIO_HOME, else ~/.gan-studio)
  --help       this text
`;

export type Command =
  | { name: 'help' }
  | { name: 'version' }
  | {
      name: 'train';
      home?: string;
      json: boolean;
      config: TrainConfig | null;
      resume: number | null;
      epochs?: number;
      steps?: number;
      limit: number | null;
      labels: boolean;
      backend: BackendName | 'auto';
      /** Whether --size / --channels were left out (an imported dataset then gives its own). */
      shapeFromDataset?: { size: boolean; channels: boolean };
      /** Which of batch, length, augment and ema were left out (the training plan picks them). */
      planned?: { batch: boolean; length: boolean; augment: boolean; ema: boolean };
    }
  | { name: 'generate'; home?: string; json: boolean; source: GeneratorChoice; count: number; out: string; grid: boolean; seed: number; classLabel: string | null }
  | { name: 'runs'; home?: string; json: boolean }
  | {
      name: 'latent';
      home?: string;
      json: boolean;
      source: GeneratorChoice;
      expression: string;
      operands: { name: string | null; seeds: number[] }[];
      out: string;
      classLabel: string | null;
    }
  | {
      name: 'interpolate';
      home?: string;
      json: boolean;
      source: GeneratorChoice;
      from: number;
      to: number;
      steps: number;
      mode: 'slerp' | 'lerp';
      out: string;
      classLabel: string | null;
    }
  | { name: 'export'; home?: string; json: boolean; runId: number; out: string; raw: boolean }
  | { name: 'import-model'; home?: string; json: boolean; path: string; modelName: string | null }
  | {
      name: 'import';
      home?: string;
      json: boolean;
      path: string;
      datasetName: string;
      size?: DatasetSize;
      channels?: 1 | 3;
      labels: boolean;
      fit: FitMode;
      mirror: boolean;
    }
  | { name: 'datasets'; home?: string; json: boolean }
  | { name: 'models'; home?: string; json: boolean }
  | { name: 'info'; home?: string; json: boolean }
  | { name: 'serve'; home?: string; json: boolean; port: number; host: string };

export const SERVE_DEFAULT_PORT = 8470;

/** A generator to explore: a run's latest checkpoint or a model (an imported name or an export folder). */
export type GeneratorChoice = { runId: number; raw?: boolean } | { model: string };

const SEED_MAX = 2 ** 31 - 1;

/** `--seeds`: `1,2,3`, `a=1,b=2`, `a=1/2/3` (the mean of three latents). */
export function parseSeeds(text: string | undefined): { name: string | null; seeds: number[] }[] {
  if (text === undefined || text.trim() === '') throw new UsageError('latent needs --seeds (one per operand: --seeds 1,2,3)');
  return text.split(',').map((entry) => {
    const m = /^\s*(?:([A-Za-z_][A-Za-z0-9_]*)\s*=\s*)?(\d+(?:\s*\/\s*\d+)*)\s*$/.exec(entry);
    if (!m) throw new UsageError(`--seeds: "${entry}" is not SEED, NAME=SEED or NAME=SEED/SEED/… (seeds are whole numbers)`);
    const seeds = m[2]!.split('/').map((x) => Number(x.trim()));
    const bad = seeds.find((x) => !Number.isSafeInteger(x) || x > SEED_MAX);
    if (bad !== undefined) throw new UsageError(`--seeds: seeds must be from 0 to ${SEED_MAX} (got ${bad})`);
    return { name: m[1] ?? null, seeds };
  });
}

function generatorChoice(command: string, run: string | undefined, model: string | undefined, raw = false): GeneratorChoice {
  if (run !== undefined && model !== undefined) throw new UsageError(`${command}: give --run or --model, not both`);
  if (model !== undefined) {
    if (!model.trim()) throw new UsageError(`${command}: --model needs a NAME or a folder`);
    if (raw) throw new UsageError(`${command}: --raw-generator needs --run (an exported model holds one generator)`);
    return { model };
  }
  const runId = int('run', run, 1, Number.MAX_SAFE_INTEGER);
  if (runId === undefined) throw new UsageError(`${command} needs --run RUN_ID (or --model NAME|DIR)`);
  return raw ? { runId, raw } : { runId };
}

/** `--flag on|off` (also yes/no, true/false, 1/0). */
function onOff(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (['on', 'yes', 'true', '1'].includes(v)) return true;
  if (['off', 'no', 'false', '0'].includes(v)) return false;
  throw new UsageError(`--${name} must be on or off (got "${value}")`);
}

const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

function int(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`--${name} must be a whole number (got "${value}")`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be from ${min} to ${max} (got ${value})`);
  return n;
}

function num(name: string, value: string | undefined, check: (n: number) => boolean, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} must be ${what} (got "${value}")`);
  return n;
}

function oneOf<T extends string | number>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  const match = allowed.find((a) => String(a) === value);
  if (match === undefined) throw new UsageError(`--${name} must be one of ${allowed.join(', ')} (got "${value}")`);
  return match;
}

export function parseCommand(argv: string[]): Command {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') return { name: 'help' };
  if (command === '--version' || command === '-v') return { name: 'version' };
  const common = { home: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } as const;
  const parse = <O extends Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>>(options: O) => {
    try {
      return parseArgs({ args: rest, options: { ...common, ...options }, strict: true, allowPositionals: false }).values;
    } catch (err) {
      throw new UsageError((err as Error).message.replace(/^.*?: /, '').split('\n').join(' '));
    }
  };
  switch (command) {
    case 'train': {
      const v = parse({
        data: { type: 'string' },
        model: { type: 'string' },
        size: { type: 'string' },
        channels: { type: 'string' },
        epochs: { type: 'string' },
        steps: { type: 'string' },
        batch: { type: 'string' },
        lr: { type: 'string' },
        beta1: { type: 'string' },
        k: { type: 'string' },
        latent: { type: 'string' },
        seed: { type: 'string' },
        name: { type: 'string' },
        limit: { type: 'string' },
        labels: { type: 'boolean', default: false },
        backend: { type: 'string' },
        resume: { type: 'string' },
        augment: { type: 'string' },
        ema: { type: 'string' },
      });
      if (v.help) return { name: 'help' };
      const epochs = int('epochs', v.epochs as string | undefined, 1, TRAIN_LIMITS.epochs);
      const steps = int('steps', v.steps as string | undefined, 1, TRAIN_LIMITS.steps);
      if (epochs !== undefined && steps !== undefined) throw new UsageError('give --epochs or --steps, not both');
      const resume = int('resume', v.resume as string | undefined, 1, Number.MAX_SAFE_INTEGER) ?? null;
      const limit = int('limit', v.limit as string | undefined, 1, TRAIN_LIMITS.limit) ?? null;
      const backend = oneOf('backend', v.backend as string | undefined, BACKENDS) ?? 'auto';
      const base = { name: 'train' as const, home: v.home as string | undefined, json: Boolean(v.json), limit, labels: Boolean(v.labels), backend };
      if (resume !== null) {
        const fixed = ['data', 'model', 'size', 'channels', 'batch', 'lr', 'beta1', 'k', 'latent', 'seed', 'name', 'augment', 'ema'].filter((key) => v[key as keyof typeof v] !== undefined);
        if (fixed.length) throw new UsageError(`--resume continues a run with its own settings; drop --${fixed.join(', --')}`);
        return { ...base, config: null, resume, epochs, steps };
      }
      const given = v.data as string | undefined;
      if (!given) throw new UsageError('train needs --data PATH (an image folder or an IDX file)');
      // Record an absolute path, so the run can be resumed from any working directory.
      const data = existsSync(given) ? resolve(given) : given;
      const size = oneOf('size', v.size as string | undefined, IMAGE_SIZES.map(String));
      const channels = oneOf('channels', v.channels as string | undefined, ['1', '3']);
      // Flags left out get the defaults (and the plan) that every host gives them.
      const { config, planned, shapeFromDataset } = newRunConfig({
        data,
        model: oneOf('model', v.model as string | undefined, MODEL_KINDS),
        size: size === undefined ? undefined : (Number(size) as ImageSize),
        channels: channels === undefined ? undefined : (Number(channels) as ImageChannels),
        latent: int('latent', v.latent as string | undefined, 1, TRAIN_LIMITS.latent),
        epochs,
        steps,
        batch: int('batch', v.batch as string | undefined, 1, TRAIN_LIMITS.batch),
        lr: num('lr', v.lr as string | undefined, (n) => n > 0, 'a positive number'),
        beta1: num('beta1', v.beta1 as string | undefined, (n) => n >= 0 && n < 1, 'in [0, 1)'),
        k: int('k', v.k as string | undefined, 1, TRAIN_LIMITS.k),
        seed: int('seed', v.seed as string | undefined, 0, TRAIN_LIMITS.seed),
        name: v.name as string | undefined,
        augment: onOff('augment', v.augment as string | undefined),
        ema: onOff('ema', v.ema as string | undefined),
      });
      return { ...base, config, resume: null, shapeFromDataset, planned };
    }
    case 'generate': {
      const v = parse({
        run: { type: 'string' },
        model: { type: 'string' },
        count: { type: 'string' },
        out: { type: 'string' },
        grid: { type: 'boolean', default: false },
        seed: { type: 'string' },
        class: { type: 'string' },
        'raw-generator': { type: 'boolean', default: false },
      });
      if (v.help) return { name: 'help' };
      const source = generatorChoice('generate', v.run as string | undefined, v.model as string | undefined, Boolean(v['raw-generator']));
      const out = v.out as string | undefined;
      if (!out) throw new UsageError('generate needs --out DIR');
      return {
        name: 'generate',
        home: v.home as string | undefined,
        json: Boolean(v.json),
        source,
        count: int('count', v.count as string | undefined, 1, 10_000) ?? 64,
        out,
        grid: Boolean(v.grid),
        seed: int('seed', v.seed as string | undefined, 0, 2 ** 31 - 1) ?? 1,
        classLabel: (v.class as string | undefined) ?? null,
      };
    }
    case 'latent': {
      const v = parse({ run: { type: 'string' }, model: { type: 'string' }, expr: { type: 'string' }, seeds: { type: 'string' }, out: { type: 'string' }, class: { type: 'string' }, 'raw-generator': { type: 'boolean', default: false } });
      if (v.help) return { name: 'help' };
      const source = generatorChoice('latent', v.run as string | undefined, v.model as string | undefined, Boolean(v['raw-generator']));
      const expression = (v.expr as string | undefined)?.trim();
      if (!expression) throw new UsageError('latent needs --expr EXPR (e.g. --expr "a-b+c")');
      const out = v.out as string | undefined;
      if (!out) throw new UsageError('latent needs --out DIR');
      return {
        name: 'latent',
        home: v.home as string | undefined,
        json: Boolean(v.json),
        source,
        expression,
        operands: parseSeeds(v.seeds as string | undefined),
        out,
        classLabel: (v.class as string | undefined) ?? null,
      };
    }
    case 'interpolate': {
      const v = parse({
        run: { type: 'string' },
        model: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        steps: { type: 'string' },
        mode: { type: 'string' },
        out: { type: 'string' },
        class: { type: 'string' },
        'raw-generator': { type: 'boolean', default: false },
      });
      if (v.help) return { name: 'help' };
      const source = generatorChoice('interpolate', v.run as string | undefined, v.model as string | undefined, Boolean(v['raw-generator']));
      const from = int('from', v.from as string | undefined, 0, SEED_MAX);
      const to = int('to', v.to as string | undefined, 0, SEED_MAX);
      if (from === undefined || to === undefined) throw new UsageError('interpolate needs --from SEED and --to SEED');
      const out = v.out as string | undefined;
      if (!out) throw new UsageError('interpolate needs --out FILE (the strip PNG; the GIF goes beside it)');
      return {
        name: 'interpolate',
        home: v.home as string | undefined,
        json: Boolean(v.json),
        source,
        from,
        to,
        steps: int('steps', v.steps as string | undefined, 2, 1000) ?? 8,
        mode: oneOf('mode', v.mode as string | undefined, ['slerp', 'lerp'] as const) ?? 'slerp',
        out,
        classLabel: (v.class as string | undefined) ?? null,
      };
    }
    case 'export': {
      const v = parse({ run: { type: 'string' }, out: { type: 'string' }, 'raw-generator': { type: 'boolean', default: false } });
      if (v.help) return { name: 'help' };
      const runId = int('run', v.run as string | undefined, 1, Number.MAX_SAFE_INTEGER);
      if (runId === undefined) throw new UsageError('export needs --run RUN_ID');
      const out = v.out as string | undefined;
      if (!out) throw new UsageError('export needs --out DIR');
      return { name: 'export', home: v.home as string | undefined, json: Boolean(v.json), runId, out, raw: Boolean(v['raw-generator']) };
    }
    case 'import-model': {
      let parsed;
      try {
        parsed = parseArgs({ args: rest, options: { ...common, name: { type: 'string' } }, strict: true, allowPositionals: true });
      } catch (err) {
        throw new UsageError((err as Error).message.replace(/^.*?: /, '').split('\n').join(' '));
      }
      const v = parsed.values;
      if (v.help) return { name: 'help' };
      if (parsed.positionals.length !== 1) throw new UsageError('import-model takes one DIR (a folder written by gan-studio export)');
      return { name: 'import-model', home: v.home as string | undefined, json: Boolean(v.json), path: resolve(parsed.positionals[0]!), modelName: (v.name as string | undefined) ?? null };
    }
    case 'import': {
      let parsed;
      try {
        parsed = parseArgs({
          args: rest,
          options: {
            ...common,
            name: { type: 'string' },
            size: { type: 'string' },
            channels: { type: 'string' },
            labels: { type: 'boolean', default: false },
            fit: { type: 'string' },
            mirror: { type: 'boolean', default: false },
          },
          strict: true,
          allowPositionals: true,
        });
      } catch (err) {
        throw new UsageError((err as Error).message.replace(/^.*?: /, '').split('\n').join(' '));
      }
      const v = parsed.values;
      if (v.help) return { name: 'help' };
      if (parsed.positionals.length === 0) throw new UsageError('import needs a PATH (an image folder, an IDX file or CIFAR-10 batches)');
      if (parsed.positionals.length > 1) throw new UsageError(`import takes one PATH (got ${parsed.positionals.length}: ${parsed.positionals.join(' ')})`);
      const name = (v.name as string | undefined)?.trim();
      if (!name) throw new UsageError('import needs --name NAME (the name to train it by: train --data NAME)');
      const size = oneOf('size', v.size as string | undefined, DATASET_SIZES.map(String));
      const channels = oneOf('channels', v.channels as string | undefined, ['1', '3']);
      return {
        name: 'import',
        home: v.home as string | undefined,
        json: Boolean(v.json),
        path: resolve(parsed.positionals[0]!),
        datasetName: name,
        size: size === undefined ? undefined : (Number(size) as DatasetSize),
        channels: channels === undefined ? undefined : (Number(channels) as 1 | 3),
        labels: Boolean(v.labels),
        fit: oneOf('fit', v.fit as string | undefined, FIT_MODES) ?? 'crop',
        mirror: Boolean(v.mirror),
      };
    }
    case 'serve': {
      const v = parse({ port: { type: 'string' }, host: { type: 'string' } });
      if (v.help) return { name: 'help' };
      const host = ((v.host as string | undefined) ?? '127.0.0.1').trim();
      if (!host || host.length > 253 || !/^[A-Za-z0-9.:\-[\]%]+$/.test(host)) throw new UsageError(`--host must be a host name or IP address (got "${v.host as string}")`);
      return {
        name: 'serve',
        home: v.home as string | undefined,
        json: Boolean(v.json),
        port: int('port', v.port as string | undefined, 0, 65535) ?? SERVE_DEFAULT_PORT,
        host: host.replace(/^\[(.*)\]$/, '$1'),
      };
    }
    case 'datasets':
    case 'models':
    case 'runs':
    case 'info': {
      const v = parse({});
      if (v.help) return { name: 'help' };
      return { name: command, home: v.home as string | undefined, json: Boolean(v.json) };
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}
