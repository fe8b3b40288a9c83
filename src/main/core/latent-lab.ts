// The latent lab over gallery images: operands are images of one gallery (each one's stored seed,
// latent index and class give back its latent), several images of one operand are averaged (a class
// mean). Arithmetic draws G(expression in latent space) next to the pixel-wise combination of the
// operands' images; interpolation walks from one image's latent to another's (lerp or slerp) as a
// strip PNG and an animated GIF. Each result goes into a new folder `<home>/lab/<n>/`.

import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { selectBackend } from './engine/backends';
import { LoadedGenerator } from './engine/generator';
import { encodeGif, encodePng, tileGrid, writeFileAtomic, writeImagePngs, type ImageBatch } from './engine/image-grid';
import { combine, formatExpression, interpolate, meanLatent, parseExpression, seededLatent, type InterpolationMode, type Latent, type Term } from './engine/latent';
import { isConditional } from './engine/models';
import type { Gallery, GalleryService } from './gallery-service';
import type { RunStore } from './store/run-store';
import { StudioError } from './studio';

export const LAB_DIRNAME = 'lab';
export const MAX_LAB_OPERANDS = 8;
export const MAX_LAB_MEAN = 64;
export const MAX_LAB_FRAMES = 64;

/** One operand: a name of the expression and the gallery images (indices) whose latents are averaged. */
export interface LabOperand {
  name: string;
  indices: number[];
}

export interface LabArithmeticRequest {
  galleryId: number;
  /** A linear combination of operand names: `a - b + c`, `a + b`, `2*a - b`. */
  expression: string;
  /** Operands the expression does not use are ignored; one it uses but lacks is an error. */
  operands: LabOperand[];
}

export interface LabArithmeticResult {
  galleryId: number;
  runId: number;
  step: number;
  /** The expression as parsed: `a - b + c`. */
  expression: string;
  /** The folder written (absolute). */
  dir: string;
  /** G(operand latent), in the expression's order. */
  operands: { name: string; indices: number[]; file: string }[];
  /** G(expression over the latents). */
  latentSpace: string;
  /** The expression over the operand images, pixel by pixel (clipped to the image range). */
  pixelWise: string;
  /** The operands, then the latent-space result, then the pixel-wise one, side by side. */
  strip: string;
}

export interface LabInterpolateRequest {
  galleryId: number;
  /** Gallery image indices. */
  from: number;
  to: number;
  /** Frames, both ends included (2 to MAX_LAB_FRAMES). */
  frames: number;
  mode?: InterpolationMode;
  delayMs?: number;
}

export interface LabInterpolateResult {
  galleryId: number;
  runId: number;
  step: number;
  mode: InterpolationMode;
  frames: number;
  dir: string;
  strip: string;
  animation: string;
}

/** `<home>/lab`. */
export function labRoot(home: string): string {
  return path.join(home, LAB_DIRNAME);
}

export class LatentLab {
  constructor(
    private readonly home: string,
    private readonly runs: RunStore,
    private readonly galleries: GalleryService,
  ) {}

  async arithmetic(request: LabArithmeticRequest): Promise<LabArithmeticResult> {
    let terms: Term[];
    try {
      terms = parseExpression(request.expression);
    } catch (err) {
      throw new StudioError((err as Error).message);
    }
    if (terms.length > MAX_LAB_OPERANDS) throw new StudioError(`an expression may use at most ${MAX_LAB_OPERANDS} operands`);
    const gallery = this.galleries.get(request.galleryId);
    const byName = new Map<string, number[]>();
    for (const op of request.operands) {
      if (byName.has(op.name)) throw new StudioError(`operand "${op.name}" is given twice`);
      byName.set(op.name, op.indices);
    }
    const operands = terms.map((t) => {
      const indices = byName.get(t.name);
      if (!indices || indices.length === 0) throw new StudioError(`choose one or more images for operand "${t.name}" of ${formatExpression(terms)}`);
      if (indices.length > MAX_LAB_MEAN) throw new StudioError(`operand "${t.name}" may average at most ${MAX_LAB_MEAN} images`);
      indices.forEach((i) => imageOf(gallery, i));
      return { name: t.name, indices: [...indices] };
    });

    const { generator, latentSize } = await this.open(gallery);
    try {
      const latents = new Map<string, Latent>();
      for (const op of operands) latents.set(op.name, meanLatent(op.indices.map((i) => latentOf(gallery, i, latentSize))));
      // Conditional runs: each operand in its (first) image's class; the result in the first operand's.
      const classes = isConditional(gallery.run.config.model.kind) ? operands.map((o) => imageOf(gallery, o.indices[0]!).classLabel ?? 0) : null;
      const latentResult = combine(terms, latents);
      const rendered = await generator.render(
        [...operands.map((o) => latents.get(o.name)!), latentResult],
        classes ? [...classes, classes[0]!] : null,
      );
      const size = rendered.height * rendered.width * rendered.channels;
      const perOperand = new Map(operands.map((o, i) => [o.name, rendered.values.subarray(i * size, (i + 1) * size)] as const));
      const pixelWise = combine(terms, perOperand).map((v) => Math.min(1, Math.max(-1, v)));
      const all: ImageBatch = { ...rendered, count: rendered.count + 1, values: concat(rendered.values, pixelWise) };

      const dir = this.newDir();
      const names = [...operands.map((o) => `operand-${o.name}.png`), 'latent-space.png', 'pixel-wise.png'];
      const files = await writeImagePngs(dir, all, names);
      const strip = tileGrid(all, all.count);
      const stripPath = path.join(dir, 'strip.png');
      await writeFileAtomic(stripPath, await encodePng(strip.data, strip.width, strip.height, all.channels));
      return {
        galleryId: gallery.id,
        runId: gallery.runId,
        step: generator.step,
        expression: formatExpression(terms),
        dir,
        operands: operands.map((o, i) => ({ ...o, file: files[i]! })),
        latentSpace: files[operands.length]!,
        pixelWise: files[operands.length + 1]!,
        strip: stripPath,
      };
    } finally {
      generator.dispose();
    }
  }

  async interpolate(request: LabInterpolateRequest): Promise<LabInterpolateResult> {
    if (!Number.isInteger(request.frames) || request.frames < 2 || request.frames > MAX_LAB_FRAMES) {
      throw new StudioError(`frames must be an integer from 2 to ${MAX_LAB_FRAMES} (got ${request.frames})`);
    }
    const mode = request.mode ?? 'slerp';
    const gallery = this.galleries.get(request.galleryId);
    const from = imageOf(gallery, request.from);
    imageOf(gallery, request.to);
    const { generator, latentSize } = await this.open(gallery);
    try {
      const frames = interpolate(latentOf(gallery, request.from, latentSize), latentOf(gallery, request.to, latentSize), request.frames, mode);
      const classes = isConditional(gallery.run.config.model.kind) ? [from.classLabel ?? 0] : null;
      const batch = await generator.render(frames, classes);
      const dir = this.newDir();
      const strip = tileGrid(batch, batch.count);
      const stripPath = path.join(dir, 'strip.png');
      const gifPath = path.join(dir, 'animation.gif');
      await writeFileAtomic(stripPath, await encodePng(strip.data, strip.width, strip.height, batch.channels));
      await writeFileAtomic(gifPath, await encodeGif(batch, request.delayMs ?? 120));
      return { galleryId: gallery.id, runId: gallery.runId, step: generator.step, mode, frames: batch.count, dir, strip: stripPath, animation: gifPath };
    } finally {
      generator.dispose();
    }
  }

  /** The gallery's own checkpoint (so G(operand) is the image the user picked). */
  private async open(gallery: Gallery): Promise<{ generator: LoadedGenerator; latentSize: number }> {
    const checkpoint = this.runs.checkpoints(gallery.runId).find((c) => c.step === gallery.step && existsSync(c.path));
    if (!checkpoint) throw new StudioError(`run ${gallery.runId} no longer has the checkpoint at step ${gallery.step} this gallery was drawn at`, 'conflict');
    await selectBackend({ prefer: 'auto' });
    const generator = await LoadedGenerator.fromCheckpoint(checkpoint.path);
    return { generator, latentSize: generator.config.latent };
  }

  /** Claims a new folder `<home>/lab/<n>` (the next number; never an existing folder). */
  private newDir(): string {
    const root = labRoot(this.home);
    mkdirSync(root, { recursive: true });
    const used = readdirSync(root).map(Number).filter((n) => Number.isSafeInteger(n) && n > 0);
    for (let n = Math.max(0, ...used) + 1; ; n++) {
      const dir = path.join(root, String(n));
      try {
        mkdirSync(dir);
        return dir;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  }
}

function imageOf(gallery: Gallery, index: number) {
  const image = Number.isInteger(index) ? gallery.images[index] : undefined;
  if (!image) throw new StudioError(`gallery ${gallery.id} has images 1 to ${gallery.images.length} (got image ${index + 1})`, 'not-found');
  return image;
}

function latentOf(gallery: Gallery, index: number, size: number): Latent {
  const image = imageOf(gallery, index);
  return seededLatent(image.seed, size, image.latentIndex);
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
