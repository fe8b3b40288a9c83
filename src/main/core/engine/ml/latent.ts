// Latent-space math for the latent lab: seeded latents, linear and spherical interpolation,
// arithmetic over a small expression language, and class means. Pure functions of plain arrays
// (Float32Array), so latents can be stored, sent across threads and recomputed anywhere.
import * as tf from '@tensorflow/tfjs';
import { mixSeed, Stream } from './rng';

export type Latent = Float32Array;

/**
 * The latent of image `index` among the images `LoadedGenerator.sample(count, seed, …)` draws
 * (any count > index): row `index` of N(0, 1) drawn with `mixSeed(seed, Stream.generate)`. The
 * draw is made in JavaScript (backend-independent) and fills rows in order, so the row does not
 * depend on how many rows follow it. A seed's first latent (index 0) is the image
 * `gan-studio generate --seed S --count 1` writes.
 */
export function seededLatent(seed: number, size: number, index = 0): Latent {
  if (!Number.isInteger(size) || size < 1) throw new Error(`latent size must be a positive integer (got ${size})`);
  if (!Number.isInteger(index) || index < 0) throw new Error(`latent index must be a non-negative integer (got ${index})`);
  const rows = tf.randomNormal([index + 1, size], 0, 1, 'float32', mixSeed(seed, Stream.generate));
  const values = rows.dataSync() as Float32Array;
  rows.dispose();
  return values.slice(index * size, (index + 1) * size);
}

function sameLength(a: Latent, b: Latent): void {
  if (a.length !== b.length) throw new Error(`latents differ in size (${a.length} and ${b.length})`);
}

export function dot(a: Latent, b: Latent): number {
  sameLength(a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function norm(a: Latent): number {
  return Math.sqrt(dot(a, a));
}

/** (1 − t)·a + t·b; t = 0 gives a and t = 1 gives b exactly. */
export function lerp(a: Latent, b: Latent, t: number): Latent {
  sameLength(a, b);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (1 - t) * a[i]! + t * b[i]!;
  return out;
}

/** Below this sin(angle) the two latents count as parallel (or opposite) and slerp is lerp. */
const PARALLEL = 1e-6;

/**
 * Spherical interpolation (Shoemake 1985; White 2016 for GAN latents): moves along the great
 * circle between a and b, so for equal norms every point keeps that norm (a Gaussian latent's
 * typical length), where lerp cuts through the low-density middle. t = 0 gives a and t = 1 gives
 * b exactly. Nearly parallel or opposite latents (sin of their angle below 1e-6) fall back to lerp.
 */
export function slerp(a: Latent, b: Latent, t: number): Latent {
  sameLength(a, b);
  const na = norm(a);
  const nb = norm(b);
  if (na === 0 || nb === 0) return lerp(a, b, t);
  const cos = Math.min(1, Math.max(-1, dot(a, b) / (na * nb)));
  const omega = Math.acos(cos);
  const sin = Math.sin(omega);
  if (sin < PARALLEL) return lerp(a, b, t);
  const wa = Math.sin((1 - t) * omega) / sin;
  const wb = Math.sin(t * omega) / sin;
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = wa * a[i]! + wb * b[i]!;
  return out;
}

export type InterpolationMode = 'slerp' | 'lerp';

/** `steps` latents from a to b (both included), evenly spaced in t. */
export function interpolate(a: Latent, b: Latent, steps: number, mode: InterpolationMode): Latent[] {
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`an interpolation needs at least 2 steps (got ${steps})`);
  const f = mode === 'slerp' ? slerp : lerp;
  return Array.from({ length: steps }, (_, i) => f(a, b, i / (steps - 1)));
}

/** The element-wise mean of several latents (a class mean: "the average smiling woman"). */
export function meanLatent(latents: Latent[]): Latent {
  if (latents.length === 0) throw new Error('a mean needs at least one latent');
  const out = new Float32Array(latents[0]!.length);
  const sum = new Float64Array(out.length);
  for (const l of latents) {
    sameLength(latents[0]!, l);
    for (let i = 0; i < l.length; i++) sum[i]! += l[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i] = sum[i]! / latents.length;
  return out;
}

// ---- arithmetic expressions ----

export interface Term {
  coefficient: number;
  name: string;
}

export class ExpressionError extends Error {
  override name = 'ExpressionError';
}

/**
 * Parses a linear combination of named operands: `a-b+c`, `a+b`, `2*a-b`, `-0.5 b + c`, …
 *
 *   expr  := sign? term (('+' | '-') term)*
 *   term  := (number '*'?)? name          number: 2, 0.5, .5, 1e-3   name: [A-Za-z_][A-Za-z0-9_]*
 *
 * Spaces are ignored. A name that occurs more than once keeps one term (coefficients added).
 * Anything else is an ExpressionError saying where.
 */
export function parseExpression(text: string): Term[] {
  const src = text;
  let pos = 0;
  const fail = (what: string): never => {
    const at = pos < src.length ? `"${src[pos]}" at position ${pos + 1}` : 'the end';
    throw new ExpressionError(`bad expression "${src}": ${what}, found ${at} (use names with + and −, e.g. a-b+c or 2*a-b)`);
  };
  const skip = () => {
    while (pos < src.length && /\s/.test(src[pos]!)) pos++;
  };
  const terms: Term[] = [];
  skip();
  if (pos >= src.length) throw new ExpressionError('the expression is empty (e.g. a-b+c)');
  let sign = 1;
  if (src[pos] === '+' || src[pos] === '-') {
    sign = src[pos] === '-' ? -1 : 1;
    pos++;
  }
  for (;;) {
    skip();
    let coefficient = 1;
    const number = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(src.slice(pos));
    if (number) {
      coefficient = Number(number[0]);
      pos += number[0].length;
      skip();
      if (src[pos] === '*') {
        pos++;
        skip();
      }
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(pos));
    if (!name) fail(number ? 'expected an operand name after the number' : 'expected an operand name or a number');
    pos += name![0].length;
    const existing = terms.find((t) => t.name === name![0]);
    if (existing) existing.coefficient += sign * coefficient;
    else terms.push({ coefficient: sign * coefficient, name: name![0] });
    skip();
    if (pos >= src.length) break;
    if (src[pos] !== '+' && src[pos] !== '-') fail('expected + or -');
    sign = src[pos] === '-' ? -1 : 1;
    pos++;
  }
  return terms;
}

/** The operand names of an expression, in order of first appearance. */
export function operandNames(terms: Term[]): string[] {
  return terms.map((t) => t.name);
}

/**
 * Σ coefficient · operand over the terms, element-wise: latents (arithmetic in latent space) or
 * images of the same shape (pixel-wise). Every operand must have the same length.
 */
export function combine(terms: Term[], operands: ReadonlyMap<string, Float32Array>): Float32Array {
  if (terms.length === 0) throw new ExpressionError('the expression has no operands');
  const first = operands.get(terms[0]!.name);
  if (!first) throw new ExpressionError(`no value for operand "${terms[0]!.name}"`);
  const sum = new Float64Array(first.length);
  for (const term of terms) {
    const value = operands.get(term.name);
    if (!value) throw new ExpressionError(`no value for operand "${term.name}"`);
    if (value.length !== first.length) throw new ExpressionError(`operand "${term.name}" has ${value.length} values, "${terms[0]!.name}" has ${first.length}`);
    for (let i = 0; i < sum.length; i++) sum[i]! += term.coefficient * value[i]!;
  }
  return Float32Array.from(sum);
}

/** A readable form of the parsed terms: `a - b + c`, `2*a - b`. */
export function formatExpression(terms: Term[]): string {
  return terms
    .map((t, i) => {
      const c = Math.abs(t.coefficient);
      const body = c === 1 ? t.name : `${c}*${t.name}`;
      if (i === 0) return t.coefficient < 0 ? `-${body}` : body;
      return `${t.coefficient < 0 ? '-' : '+'} ${body}`;
    })
    .join(' ');
}
