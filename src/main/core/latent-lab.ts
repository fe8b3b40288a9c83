// The latent lab over gallery images: operands are images of one gallery (each one's stored seed,
// latent index and class give back its latent), several images of one operand are averaged (a class
// mean). Arithmetic draws G(expression in latent space) next to the pixel-wise combination of the
// operands' images; interpolation walks from one image's latent to another's (lerp or slerp) as a
// strip PNG and an animated GIF. For conditional models each operand, the result and each end of a
// walk is drawn in a class: by default its (first) image's, or one the request picks; a walk between
// two classes morphs the label input along with the latent. Each result goes into a new folder
// `<home>/lab/<n>/`, recorded against its gallery so that it goes when the gallery (or its run or
// model) is deleted.

import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { LoadedGenerator } from './engine/ml/generator';
import { encodeGif, encodePng, tileGrid, writeFileAtomic, writeImagePngs, type ImageBatch } from './images/image-grid';
import { combine, formatExpression, interpolate, meanLatent, parseExpression, seededLatent, type InterpolationMode, type Latent, type Term } from './engine/ml/latent';
import { isConditional } from '../../shared/models';
import type { Gallery, GalleryService } from './gallery-service';
import { labDir, labRoot } from './home';
import type { GalleryStore, LabOutputKind } from './store/gallery-store';
import { classIndex } from './naming';
import { StudioError } from './studio-error';

export { LAB_DIRNAME, labRoot } from './home';
export const MAX_LAB_OPERANDS = 8;
export const MAX_LAB_MEAN = 64;
export const MAX_LAB_FRAMES = 64;

/** One operand: a name of the expression and the gallery images (indices) whose latents are averaged. */
export interface LabOperand {
  name: string;
  indices: number[];
  /** Conditional models: the class to draw it in (default: its first image's class). */
  classLabel?: number | null;
}

export interface LabArithmeticRequest {
  galleryId: number;
  /** A linear combination of operand names: `a - b + c`, `a + b`, `2*a - b`. */
  expression: string;
  /** Operands the expression does not use are ignored; one it uses but lacks is an error. */
  operands: LabOperand[];
  /** Conditional models: the class to draw both results in (default: the first operand's class). */
  resultClass?: number | null;
}

export interface LabArithmeticResult {
  galleryId: number;
  runId: number | null;
  modelId: number | null;
  step: number;
  /** The expression as parsed: `a - b + c`. */
  expression: string;
  /** The folder written (absolute). */
  dir: string;
  /** G(operand latent), in the expression's order, with the class it was drawn in (conditional models). */
  operands: { name: string; indices: number[]; classLabel: number | null; file: string }[];
  /** Conditional models: the class the results were drawn in; else null. */
  resultClass: number | null;
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
  /** Conditional models: the class at each end (default: that end's image's class). */
  fromClass?: number | null;
  toClass?: number | null;
}

export interface LabInterpolateResult {
  galleryId: number;
  runId: number | null;
  modelId: number | null;
  step: number;
  mode: InterpolationMode;
  frames: number;
  /** Conditional models: the class at each end (between two classes the label morphs too); else null. */
  fromClass: number | null;
  toClass: number | null;
  dir: string;
  strip: string;
  animation: string;
}

export class LatentLab {
  constructor(
    private readonly home: string,
    private readonly galleries: GalleryService,
    private readonly store: GalleryStore,
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
      const given = request.operands.find((o) => o.name === t.name)?.classLabel ?? null;
      return { name: t.name, indices: [...indices], classLabel: classOf(gallery, given, imageOf(gallery, indices[0]!).classLabel, `operand "${t.name}"`) };
    });
    const resultClass = classOf(gallery, request.resultClass ?? null, operands[0]!.classLabel, 'the result');

    const generator = await this.galleries.openGenerator(gallery);
    try {
      const latentSize = generator.config.latent;
      const latents = new Map<string, Latent>();
      for (const op of operands) latents.set(op.name, meanLatent(op.indices.map((i) => latentOf(gallery, i, latentSize))));
      // Conditional models: each operand in its class, both results in the result class.
      const classes = resultClass === null ? null : [...operands.map((o) => o.classLabel!), resultClass];
      const latentResult = combine(terms, latents);
      const rendered = await generator.render([...operands.map((o) => latents.get(o.name)!), latentResult], classes);
      const size = rendered.height * rendered.width * rendered.channels;
      const perOperand = new Map(operands.map((o, i) => [o.name, rendered.values.subarray(i * size, (i + 1) * size)] as const));
      const pixelWise = combine(terms, perOperand).map((v) => Math.min(1, Math.max(-1, v)));
      const all: ImageBatch = { ...rendered, count: rendered.count + 1, values: concat(rendered.values, pixelWise) };

      return await this.output(gallery, 'arithmetic', async (dir) => {
        const names = [...operands.map((o) => `operand-${o.name}.png`), 'latent-space.png', 'pixel-wise.png'];
        const files = await writeImagePngs(dir, all, names);
        const strip = tileGrid(all, all.count);
        const stripPath = path.join(dir, 'strip.png');
        await writeFileAtomic(stripPath, await encodePng(strip.data, strip.width, strip.height, all.channels));
        return {
          galleryId: gallery.id,
          runId: gallery.runId,
          modelId: gallery.modelId,
          step: gallery.step,
          expression: formatExpression(terms),
          dir,
          operands: operands.map((o, i) => ({ ...o, file: files[i]! })),
          resultClass,
          latentSpace: files[operands.length]!,
          pixelWise: files[operands.length + 1]!,
          strip: stripPath,
        };
      });
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
    const to = imageOf(gallery, request.to);
    const fromClass = classOf(gallery, request.fromClass ?? null, from.classLabel, 'the start');
    const toClass = classOf(gallery, request.toClass ?? null, to.classLabel, 'the end');
    // The gallery's own checkpoint, so that the end frames are the images the user picked.
    const generator = await this.galleries.openGenerator(gallery);
    try {
      const latentSize = generator.config.latent;
      const frames = interpolate(latentOf(gallery, request.from, latentSize), latentOf(gallery, request.to, latentSize), request.frames, mode);
      const batch = await renderWalk(generator, frames, fromClass, toClass);
      return await this.output(gallery, 'interpolation', async (dir) => {
        const strip = tileGrid(batch, batch.count);
        const stripPath = path.join(dir, 'strip.png');
        const gifPath = path.join(dir, 'animation.gif');
        await writeFileAtomic(stripPath, await encodePng(strip.data, strip.width, strip.height, batch.channels));
        await writeFileAtomic(gifPath, await encodeGif(batch, request.delayMs ?? 120));
        return {
          galleryId: gallery.id,
          runId: gallery.runId,
          modelId: gallery.modelId,
          step: gallery.step,
          mode,
          frames: batch.count,
          fromClass,
          toClass,
          dir,
          strip: stripPath,
          animation: gifPath,
        };
      });
    } finally {
      generator.dispose();
    }
  }

  /**
   * Claims a new folder `<home>/lab/<n>` (the next number; never an existing folder), records it
   * against the gallery and fills it with `write`; on failure the folder and its record go again.
   */
  private async output<T>(gallery: Gallery, kind: LabOutputKind, write: (dir: string) => Promise<T>): Promise<T> {
    const n = this.claim();
    const dir = labDir(this.home, n);
    try {
      this.store.addLabOutput(n, gallery.id, kind);
      return await write(dir);
    } catch (err) {
      this.store.removeLabOutput(n);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private claim(): number {
    const root = labRoot(this.home);
    mkdirSync(root, { recursive: true });
    const used = readdirSync(root).map(Number).filter((n) => Number.isSafeInteger(n) && n > 0);
    for (let n = Math.max(0, ...used) + 1; ; n++) {
      try {
        mkdirSync(labDir(this.home, n));
        return n;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  }
}

/**
 * The class to draw something in for a conditional gallery: the one given (checked against the
 * model's classes), else `fallback` (an image's class), else 0. Null for an unconditional gallery;
 * giving a class there is an error.
 */
function classOf(gallery: Gallery, given: number | null, fallback: number | null, what: string): number | null {
  if (given !== null) return classIndex(gallery.config, given, gallery.sourceName, what);
  return isConditional(gallery.config.kind) ? (fallback ?? 0) : null;
}

/**
 * The frames of a walk. In one class (or for an unconditional model) the label input stays put;
 * between two classes it moves from one one-hot row to the other with the latent, so the first and
 * last frames are the end images and the frames between morph the class as well.
 */
async function renderWalk(generator: LoadedGenerator, frames: Latent[], fromClass: number | null, toClass: number | null): Promise<ImageBatch> {
  if (fromClass === null || toClass === null) return generator.render(frames, null);
  if (fromClass === toClass) return generator.render(frames, [fromClass]);
  const k = generator.config.numClasses;
  const weights = frames.map((_, i) => {
    const t = frames.length === 1 ? 0 : i / (frames.length - 1);
    const row = new Float32Array(k);
    row[fromClass] = 1 - t;
    row[toClass] = t;
    return row;
  });
  return generator.renderWithClassWeights(frames, weights);
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
