// Throughput and time left for a live run: an exponentially weighted rate of steps per second,
// robust to the bursty way step events arrive (several steps per event, ~10 events a second).

export class RateMeter {
  private lastTime: number | null = null;
  private lastCount = 0;
  private rate: number | null = null;

  /**
   * @param halfLifeSeconds how fast old throughput is forgotten
   * @param minWindowSeconds samples are merged until at least this much time passed
   */
  constructor(
    private readonly halfLifeSeconds = 10,
    private readonly minWindowSeconds = 0.5,
  ) {}

  /** Units done per second, or null before there is enough to say. */
  get perSecond(): number | null {
    return this.rate;
  }

  /** `count` is the running total done so far; `nowMs` a monotonic clock in milliseconds. */
  observe(count: number, nowMs: number): void {
    if (this.lastTime === null) {
      this.lastTime = nowMs;
      this.lastCount = count;
      return;
    }
    const dt = (nowMs - this.lastTime) / 1000;
    if (dt < this.minWindowSeconds) return;
    const instant = Math.max(0, count - this.lastCount) / dt;
    if (this.rate === null) this.rate = instant;
    else {
      const alpha = 1 - Math.pow(0.5, dt / this.halfLifeSeconds);
      this.rate = this.rate + alpha * (instant - this.rate);
    }
    this.lastTime = nowMs;
    this.lastCount = count;
  }

  /** Forget the history (after a pause, so idle time does not count as slowness). */
  reset(): void {
    this.lastTime = null;
    this.rate = null;
  }
}

/** Seconds left at `perSecond`, or null when it cannot be told. */
export function etaSeconds(done: number, total: number, perSecond: number | null): number | null {
  if (perSecond === null || !Number.isFinite(perSecond) || perSecond <= 0) return null;
  if (!Number.isFinite(done) || !Number.isFinite(total) || total <= 0) return null;
  return Math.max(0, total - done) / perSecond;
}
