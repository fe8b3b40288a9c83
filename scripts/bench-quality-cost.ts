/**
 * What the training-time quality measure (src/main/core/engine/ml/quality.ts) costs: for 28x28x1,
 * 64x64x3 and 128x128x3 datasets of REFERENCE_IMAGES images, the time to build the reference (once
 * a run) and the median time of one measureQuality of QUALITY_SAMPLES samples (as often as the
 * trainer's schedule asks), on the backend selectBackend picks. The pixels are random bytes: the
 * work does not depend on what the images show. Medians, since a shared machine's speed drifts.
 *
 *   node --import tsx scripts/bench-quality-cost.ts [--runs N] [--json]
 *
 * scripts/bench.ts can call benchQualityCost().
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { describeBackend } from '../src/shared/backend';
import { selectBackend } from '../src/main/core/engine/backend/backends';
import { buildQualityReference, measureQuality, QUALITY_SAMPLES, REFERENCE_IMAGES } from '../src/main/core/engine/ml/quality';
import { Prng } from '../src/main/core/engine/ml/rng';
import type { ImageChannels, ImageDataset } from '../src/shared/types';
import { median } from './stats';

export interface QualityCostRow {
  size: number;
  channels: ImageChannels;
  /** Images in the reference. */
  images: number;
  /** Median ms of buildQualityReference. */
  buildMs: number;
  samples: number;
  /** Median ms of one measureQuality. */
  measureMs: number;
  runs: number;
}

export const QUALITY_COST_SHAPES: readonly { size: number; channels: ImageChannels }[] = [
  { size: 28, channels: 1 },
  { size: 64, channels: 3 },
  { size: 128, channels: 3 },
];


function randomDataset(count: number, size: number, channels: ImageChannels, seed: number): ImageDataset {
  const rng = new Prng(seed);
  const pixels = Uint8Array.from({ length: count * size * size * channels }, () => rng.int(256));
  return { count, height: size, width: size, channels, pixels, labels: null, classNames: [], source: 'random bytes' };
}

/**
 * Times each shape: `runs` builds of the reference (at least 1) and, against the first, one
 * warm-up then `runs` measurements (at least 3) of QUALITY_SAMPLES samples.
 */
export async function benchQualityCost(opts: { runs?: number; log?: (line: string) => void } = {}): Promise<QualityCostRow[]> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const measureRuns = Math.max(3, opts.runs ?? 5);
  const buildRuns = Math.max(1, Math.min(3, opts.runs ?? 3));
  const rows: QualityCostRow[] = [];
  for (const { size, channels } of QUALITY_COST_SHAPES) {
    const dataset = randomDataset(REFERENCE_IMAGES, size, channels, size * 10 + channels);
    const builds: number[] = [];
    const references = [];
    for (let r = 0; r < buildRuns; r++) {
      const started = performance.now();
      references.push(buildQualityReference(dataset, 1 + r));
      builds.push(performance.now() - started);
    }
    const reference = references[0]!;
    const rng = new Prng(size + channels);
    const samples = Float32Array.from({ length: QUALITY_SAMPLES * size * size * channels }, () => rng.next() * 2 - 1);
    measureQuality(reference, samples, QUALITY_SAMPLES);
    const times: number[] = [];
    for (let r = 0; r < measureRuns; r++) {
      const started = performance.now();
      measureQuality(reference, samples, QUALITY_SAMPLES);
      times.push(performance.now() - started);
    }
    references.forEach((ref) => ref.dispose());
    const row: QualityCostRow = { size, channels, images: REFERENCE_IMAGES, buildMs: median(builds), samples: QUALITY_SAMPLES, measureMs: median(times), runs: measureRuns };
    log(`quality cost ${size}x${size}x${channels}: reference of ${row.images} built in ${row.buildMs.toFixed(0)} ms; ` +
      `${row.samples} samples measured in ${row.measureMs.toFixed(0)} ms (median of ${row.runs}: ${times.map((t) => t.toFixed(0)).join(', ')})`);
    rows.push(row);
  }
  return rows;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const runs = values.runs ? Number(values.runs) : 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number (got ${values.runs})`);
  const backend = await selectBackend();
  process.stderr.write(describeBackend(backend) + '\n');
  const rows = await benchQualityCost({ runs });
  if (values.json) {
    for (const row of rows) process.stdout.write(JSON.stringify({ bench: 'quality-cost', backend: backend.name, ...row, buildMs: Math.round(row.buildMs), measureMs: Math.round(row.measureMs) }) + '\n');
  } else {
    process.stdout.write(['SIZE', 'IMAGES', 'BUILD MS', 'SAMPLES', 'MEASURE MS'].join('  ') + '\n');
    for (const r of rows) {
      process.stdout.write([`${r.size}x${r.size}x${r.channels}`.padEnd(9), String(r.images).padStart(6), r.buildMs.toFixed(0).padStart(8), String(r.samples).padStart(7), r.measureMs.toFixed(0).padStart(10)].join('  ') + '\n');
    }
  }
}
