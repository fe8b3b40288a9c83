/**
 * Import throughput: generates a folder of N JPEGs (default 1,000) of varied sizes (200-600 px a
 * side, not square, smooth gradients with some noise, like photos) in a temporary folder, then
 * times DatasetImporter importing it at 64 px RGB (centre crop) into a temporary studio home.
 * Only the import is timed, not the generation. Everything is deleted afterwards.
 *
 *   node --import tsx scripts/bench-import.ts [--count N] [--json]
 *
 * scripts/bench.ts calls benchImport().
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import sharp from 'sharp';

import { DatasetImporter } from '../src/main/core/data/dataset-importer';
import { openDatabase } from '../src/main/core/store/database';
import { DatasetStore } from '../src/main/core/store/dataset-store';

export interface BenchImportResult {
  images: number;
  seconds: number;
  imagesPerSec: number;
}

/** A deterministic pseudo-random number in [0, 1) for image i, salt k. */
function rand(i: number, k: number): number {
  const x = Math.sin(i * 12.9898 + k * 78.233) * 43758.5453;
  return x - Math.floor(x);
}

async function writeJpegs(dir: string, count: number): Promise<void> {
  // One noise field, made once; each image is a differently placed window of it over its own
  // gradient: quick to make, and photo-like (busy) for the JPEG decoder.
  const side = 600;
  const noise = await sharp({ create: { width: side, height: side, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 24 } } })
    .raw()
    .toBuffer();
  const writeOne = async (i: number): Promise<void> => {
    const width = 200 + Math.floor(rand(i, 1) * 401);
    const height = 200 + Math.floor(rand(i, 2) * 401);
    const left = Math.floor(rand(i, 6) * (side - width + 1));
    const top = Math.floor(rand(i, 7) * (side - height + 1));
    const [r0, g0, b0] = [rand(i, 3), rand(i, 4), rand(i, 5)].map((v) => Math.floor(v * 255));
    const small = Buffer.alloc(4 * 4 * 3);
    for (let p = 0; p < 16; p++) small.set([(r0! + p * 13) % 256, (g0! + p * 29) % 256, (b0! + p * 7) % 256], p * 3);
    const gradient = await sharp(small, { raw: { width: 4, height: 4, channels: 3 } }).resize(width, height, { kernel: 'cubic' }).png({ compressionLevel: 0 }).toBuffer();
    await sharp(noise, { raw: { width: side, height: side, channels: 3 } })
      .extract({ left, top, width, height })
      .composite([{ input: gradient, blend: 'overlay' }])
      .jpeg({ quality: 88 })
      .toFile(join(dir, `img-${String(i).padStart(5, '0')}.jpg`));
  };
  const workers = Math.max(2, cpus().length);
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < count) await writeOne(next++);
    }),
  );
}

export async function benchImport(opts: { count?: number; log?: (line: string) => void } = {}): Promise<BenchImportResult> {
  const count = opts.count ?? 1000;
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const tmp = await mkdtemp(join(tmpdir(), 'gan-bench-import-'));
  try {
    const src = join(tmp, 'photos');
    await mkdir(src);
    log(`bench-import: writing ${count} JPEGs (200-600 px) to ${src}…`);
    await writeJpegs(src, count);
    const home = join(tmp, 'home');
    const db = openDatabase(home);
    try {
      const importer = new DatasetImporter(home, new DatasetStore(db));
      const t0 = performance.now();
      const summary = await importer.import({ path: src, name: 'bench', size: 64, channels: 3 });
      const seconds = (performance.now() - t0) / 1000;
      if (summary.imported !== count) throw new Error(`bench-import: imported ${summary.imported} of ${count} (${summary.skipped} skipped)`);
      const result = { images: summary.imported, seconds, imagesPerSec: summary.imported / seconds };
      log(`bench-import: ${result.images} JPEGs -> 64x64x3 in ${seconds.toFixed(2)} s: ${result.imagesPerSec.toFixed(1)} images/s (${cpus().length} CPUs)`);
      return result;
    } finally {
      db.close();
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { count: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const count = values.count ? Number(values.count) : 1000;
  if (!Number.isInteger(count) || count < 1) throw new Error(`--count must be a positive whole number (got ${values.count})`);
  const result = await benchImport({ count });
  if (values.json) process.stdout.write(JSON.stringify({ bench: 'import', ...result }) + '\n');
}
