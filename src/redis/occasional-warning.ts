/**
 * Lets a repeated warning through at most once per interval: a failing Redis fails on every
 * request and every reconnect attempt, and one line per interval says as much as thousands.
 */
export class OccasionalWarning {
  private lastAt = -Infinity;

  constructor(
    private readonly intervalMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when the warning is due now (and then not again for the interval). */
  due(): boolean {
    const now = this.now();
    if (now - this.lastAt < this.intervalMs) return false;
    this.lastAt = now;
    return true;
  }
}
