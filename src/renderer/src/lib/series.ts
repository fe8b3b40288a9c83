// A growing series of chart points that stays small: once it holds more than `maxPoints`, every
// other point is dropped and only every `stride`-th point is kept from then on (the stride doubles
// each time). The points kept are always an even sampling of everything pushed, plus the latest.

export interface XY {
  x: number;
  y: number;
}

export class DownsampledSeries {
  /** Kept points, in push order. */
  readonly points: XY[] = [];
  private stride = 1;
  private seen = 0;
  /** The latest point pushed, shown even when the stride skips it. */
  private tail: XY | null = null;

  constructor(readonly maxPoints = 2000) {
    if (!(maxPoints >= 2)) throw new Error('maxPoints must be at least 2');
  }

  /** Every `every`-th point pushed is kept. */
  get every(): number {
    return this.stride;
  }

  /** Points pushed in all. */
  get count(): number {
    return this.seen;
  }

  push(x: number, y: number): void {
    const point = { x, y };
    if (this.tail) {
      this.points.pop();
      this.tail = null;
    }
    if (this.seen % this.stride === 0) {
      this.points.push(point);
      if (this.points.length > this.maxPoints) this.halve();
    } else {
      this.points.push(point);
      this.tail = point;
    }
    this.seen++;
  }

  clear(): void {
    this.points.length = 0;
    this.stride = 1;
    this.seen = 0;
    this.tail = null;
  }

  private halve(): void {
    const last = this.points[this.points.length - 1]!;
    let w = 0;
    for (let r = 0; r < this.points.length; r += 2) this.points[w++] = this.points[r]!;
    this.points.length = w;
    this.stride *= 2;
    if (this.points[w - 1] !== last) {
      // The newest point fell between the kept ones: show it until the next push replaces it.
      this.points.push(last);
      this.tail = last;
    }
  }
}

/** Every n-th point of `points` so that at most `maxPoints` remain (the last point always kept). */
export function downsample<T>(points: readonly T[], maxPoints: number): T[] {
  if (points.length <= maxPoints || maxPoints < 2) return points.slice();
  const every = Math.ceil(points.length / maxPoints);
  const out: T[] = [];
  for (let i = 0; i < points.length; i += every) out.push(points[i]!);
  const last = points[points.length - 1]!;
  if (out[out.length - 1] !== last) {
    if (out.length >= maxPoints) out[out.length - 1] = last;
    else out.push(last);
  }
  return out;
}
