/**
 * Differentiable Augmentation (DiffAugment; Zhao, Liu, Lin, Zhu and Han 2020, "Differentiable
 * Augmentation for Data-Efficient GAN Training"), policy 'color,translation,cutout': every image
 * the discriminator sees, real or fake, is augmented by the same kind of random transform, and
 * the transform is differentiable, so that G's gradient flows back through it.
 *
 * Semantics (images NHWC in [-1, 1], as in the paper's code), in this order:
 *  - colour: brightness x + (u - 0.5); saturation (x - m_c)·2u + m_c with m_c the mean over the
 *    channels of each pixel (the identity for one channel); contrast (x - m)·(u + 0.5) + m with m
 *    the mean over H, W and C of the image; u ~ U(0, 1), drawn afresh for each of the three.
 *  - translation: the image moves by integers (dx, dy), each uniform in [-round(W/8), round(W/8)]
 *    (resp. H), filled with 0 where it moved out: out[y][x] = in[y - dy][x - dx].
 *  - cutout: a square of side round(size/2) (per axis) is set to 0; its centre is uniform over
 *    the image as in the reference code (randint(0, size + 1 - side % 2)), clipped at the borders.
 * Every random number is drawn in JavaScript, per image, from a Prng seeded with
 * mixSeed(seed, image index): the same seed always gives the same augmentation (exact resume),
 * and image i's draws do not depend on the batch size or on the policy.
 *
 * How it is computed. Colour is an affine map of each pixel's channel vector: with the three
 * steps composed (saturation keeps each pixel's channel mean, so it keeps the image mean too),
 *     colour(x) = x·Mc + K,   Mc = s·c·I + c·(1 - s)/C · 11ᵀ,   K = m·(1 - c) + b,
 * where b, s, c are the brightness shift and the saturation and contrast factors and m the image
 * mean. Translation is linear, and acts on every channel alike; with each image viewed as an
 * [H, W·C] matrix X it is Sy · X · (Sxᵀ ⊗ I_C), Sy and Sx being 0/1 shift matrices with a zero
 * row (resp. column) per line shifted in. So the colour mixing folds into the right-hand matrix:
 *     out = (Sy · X · R) ⊙ Q + K ⊗ Q,   R = Sxᵀ ⊗ Mc,   Q = (translation's valid region) ⊙ (1 - cutout),
 * two batched matrix products, one multiply, one outer product (a matrix product of [N,1,1] by
 * [N,1,L]) and one add; m is a matrix product by a constant column of 1/L. Sy, R and Q are
 * constants built here; only plain tfjs ops with gradients on every backend are used (BatchMatMul,
 * Multiply, Add, Reshape), none of the broadcasting binary ops, gathers or slices, which are slow
 * or lack a gradient on the wasm backend. The cost is (H + W·C) multiply-adds per output element
 * and R holds N·(W·C)² floats (19 MB for 128 images of 64x64x3, 75 MB at 128x128x3).
 *
 * The constants are built in one host buffer kept between calls where the backend copies what a
 * tensor is made from (wasm does; cpu and tfjs-node keep a reference, and get fresh arrays): a
 * fresh array of that size each call costs its page faults, which in a sandboxed VM took longer
 * than the whole augmentation.
 */
import * as tf from '@tensorflow/tfjs';
import { mixSeed, Prng } from './rng';

/** Which parts of the 'color,translation,cutout' policy to apply. */
export interface AugmentPolicy {
  color: boolean;
  translation: boolean;
  cutout: boolean;
}

/** The paper's policy for data-efficient GAN training: all three. */
export const DIFF_AUGMENT_POLICY: AugmentPolicy = Object.freeze({ color: true, translation: true, cutout: true });

/** Largest translation, in pixels, along an axis of `size` pixels (the paper's ratio 1/8). */
export function translationRange(size: number): number {
  return Math.round(size / 8);
}

/** Side, in pixels, of the cutout square along an axis of `size` pixels (the paper's ratio 1/2). */
export function cutoutSide(size: number): number {
  return Math.round(size / 2);
}

/** One image's random parameters (all of them are drawn whatever the policy). */
export interface ImageAugment {
  /** Added to every value: u - 0.5. */
  brightness: number;
  /** Factor of the deviation from the pixel's channel mean: 2u. */
  saturation: number;
  /** Factor of the deviation from the image mean: u + 0.5. */
  contrast: number;
  /** Translation: the content moves right by dx and down by dy pixels. */
  dx: number;
  dy: number;
  /** Top-left corner of the cutout square (may lie outside the image: the square is clipped). */
  cutoutX: number;
  cutoutY: number;
}

/** The parameters for `count` images of height x width, drawn from `seed` (image i from mixSeed(seed, i)). */
export function drawAugment(count: number, height: number, width: number, seed: number): ImageAugment[] {
  const rangeX = translationRange(width);
  const rangeY = translationRange(height);
  const sideX = cutoutSide(width);
  const sideY = cutoutSide(height);
  const out: ImageAugment[] = [];
  for (let i = 0; i < count; i++) {
    const rng = new Prng(mixSeed(seed, i));
    const brightness = rng.next() - 0.5;
    const saturation = rng.next() * 2;
    const contrast = rng.next() + 0.5;
    const dx = rng.int(2 * rangeX + 1) - rangeX;
    const dy = rng.int(2 * rangeY + 1) - rangeY;
    const cutoutX = rng.int(width + 1 - (sideX % 2)) - Math.floor(sideX / 2);
    const cutoutY = rng.int(height + 1 - (sideY % 2)) - Math.floor(sideY / 2);
    out.push({ brightness, saturation, contrast, dx, dy, cutoutX, cutoutY });
  }
  return out;
}

/**
 * Augments a batch of NHWC images in [-1, 1]; every op differentiable w.r.t. `images`; all
 * random parameters drawn per image from `seed` with the project's Prng, so the same seed gives
 * the same result (exact resume depends on that). Returns a new tensor (a clone where the policy
 * is all off); the caller owns it.
 */
export function diffAugment(images: tf.Tensor4D, seed: number, policy: AugmentPolicy = DIFF_AUGMENT_POLICY): tf.Tensor4D {
  const [n, h, w] = images.shape;
  return applyAugment(images, drawAugment(n, h, w, seed), policy);
}

/** `diffAugment` with the parameters given (one per image), for tests and for callers that log them. */
export function applyAugment(images: tf.Tensor4D, params: readonly ImageAugment[], policy: AugmentPolicy = DIFF_AUGMENT_POLICY): tf.Tensor4D {
  if (images.rank !== 4) throw new Error(`diffAugment: images must be NHWC (rank 4), got rank ${images.rank}`);
  if (images.dtype !== 'float32') throw new Error(`diffAugment: images must be float32, got ${images.dtype}`);
  const [n, h, w, c] = images.shape;
  if (params.length !== n) throw new Error(`diffAugment: ${params.length} parameter sets for ${n} images`);
  const { color, translation, cutout } = policy;
  if (n === 0 || (!color && !translation && !cutout)) return tf.clone(images);
  const wc = w * c;
  const size = h * wc;

  return tf.tidy(() => {
    const staging = stagingBuffer();
    // Sy · X · R, X being each image as an [H, W·C] matrix.
    let z: tf.Tensor = tf.reshape(images, [n, h, wc]);
    if (translation) z = tf.matMul(tf.tensor3d(rowShifts(staging(n * h * h), params, h), [n, h, h]), z);
    if (translation || color) {
      const r = columnMaps(staging(n * wc * wc), params, w, c, translation, color);
      z = tf.matMul(z, tf.tensor3d(r, [n, wc, wc]));
    }
    let out = tf.reshape(z, [n, size]);
    if (cutout || color) {
      const q = tf.tensor2d(keepMask(staging(n * size), params, h, w, c, translation, cutout), [n, size]);
      if (cutout) out = tf.mul(out, q);
      if (color) {
        // K = m·(1 - c) + b per image, m the image mean; added where the image is kept.
        const mean = tf.matMul(tf.reshape(images, [n, size]), tf.fill([size, 1], 1 / size)); // [n, 1]
        const k = tf.add(tf.mul(mean, tf.tensor2d(params.map((p) => 1 - p.contrast), [n, 1])),
          tf.tensor2d(params.map((p) => p.brightness), [n, 1]));
        const kq = tf.matMul(tf.reshape(k, [n, 1, 1]), tf.reshape(q, [n, 1, size]));
        out = tf.add(out, tf.reshape(kq, [n, size]));
      }
    }
    return tf.reshape(out, [n, h, w, c]);
  });
}

/** Whether each backend copies the values a tensor is made from (checked once per backend by trying it). */
const copiesOnWrite = new Map<string, boolean>();

function backendCopiesOnWrite(): boolean {
  const name = tf.getBackend();
  let copies = copiesOnWrite.get(name);
  if (copies == null) {
    const probe = new Float32Array([1]);
    const t = tf.tensor1d(probe);
    probe[0] = 2;
    copies = t.dataSync()[0] === 1;
    t.dispose();
    copiesOnWrite.set(name, copies);
  }
  return copies;
}

let shared = new Float32Array(0);

/**
 * Where to build a constant: `take(size)` gives a zeroed array of `size` floats, each valid until
 * the next `take` (the tensor must be made from it before then). It is one shared buffer where
 * the backend copies on write, else a fresh array each time.
 */
function stagingBuffer(): (size: number) => Float32Array {
  if (!backendCopiesOnWrite()) return (size) => new Float32Array(size);
  return (size) => {
    if (shared.length < size) shared = new Float32Array(size);
    const view = shared.subarray(0, size);
    view.fill(0);
    return view;
  };
}

/** Sy per image, [n, H, H]: row i takes input row i - dy (none where that is outside). */
function rowShifts(m: Float32Array, params: readonly ImageAugment[], h: number): Float32Array {
  params.forEach((p, img) => {
    for (let i = 0; i < h; i++) {
      const src = i - p.dy;
      if (src >= 0 && src < h) m[(img * h + i) * h + src] = 1;
    }
  });
  return m;
}

/**
 * R per image, [n, W·C, W·C]: R[(w', ci), (w, co)] = Mc[ci][co] where w' = w - dx (the column
 * shift, when translating) and Mc the colour's channel mixing (the identity without colour).
 */
function columnMaps(m: Float32Array, params: readonly ImageAugment[], w: number, c: number, translation: boolean, color: boolean): Float32Array {
  const wc = w * c;
  const mix = new Float32Array(c * c);
  params.forEach((p, img) => {
    mix.fill(0);
    if (color) {
      // Saturation is the identity for one channel; s·c + c·(1 - s) = c there.
      const s = c > 1 ? p.saturation : 1;
      const diagonal = s * p.contrast;
      const all = (p.contrast * (1 - s)) / c;
      for (let i = 0; i < c * c; i++) mix[i] = all;
      for (let i = 0; i < c; i++) mix[i * c + i] = all + diagonal;
    } else {
      for (let i = 0; i < c; i++) mix[i * c + i] = 1;
    }
    const dx = translation ? p.dx : 0;
    const base = img * wc * wc;
    for (let col = 0; col < w; col++) {
      const src = col - dx;
      if (src < 0 || src >= w) continue;
      for (let ci = 0; ci < c; ci++) {
        for (let co = 0; co < c; co++) m[base + (src * c + ci) * wc + col * c + co] = mix[ci * c + co]!;
      }
    }
  });
  return m;
}

/** Q per image, [n, H·W·C]: 1 where the output has a source pixel (translation) and is outside the cutout square. */
function keepMask(m: Float32Array, params: readonly ImageAugment[], h: number, w: number, c: number, translation: boolean, cutout: boolean): Float32Array {
  const wc = w * c;
  const sideX = cutoutSide(w);
  const sideY = cutoutSide(h);
  params.forEach((p, img) => {
    // Columns [x0, x1) are kept by the translation; the cut spans [cx0, cx1) of them.
    const x0 = translation ? Math.max(0, p.dx) : 0;
    const x1 = translation ? Math.min(w, w + p.dx) : w;
    const cx0 = Math.min(x1, Math.max(x0, p.cutoutX));
    const cx1 = Math.min(x1, Math.max(cx0, p.cutoutX + sideX));
    for (let row = 0; row < h; row++) {
      if (translation && (row - p.dy < 0 || row - p.dy >= h)) continue;
      const base = (img * h + row) * wc;
      m.fill(1, base + x0 * c, base + x1 * c);
      if (cutout && row >= p.cutoutY && row < p.cutoutY + sideY) m.fill(0, base + cx0 * c, base + cx1 * c);
    }
  });
  return m;
}
