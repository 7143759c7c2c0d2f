export interface CircuitBreakerOptions {
  /** Calls are judged over this rolling window. */
  windowMs: number;
  /** Fewer calls than this in the window never open the circuit (one bad call is not an outage). */
  minimumCalls: number;
  /** Share of failed calls in the window that opens the circuit. */
  failureRatio: number;
  /** How long an open circuit refuses calls before one probe call is let through. */
  openMs: number;
}

// An outage is "80 % or more of the calls of the last 10 s failing, at least 20 of them" (README,
// circuit breaker); then upstream gets 5 s of rest before one probe. What counts as a failure is
// the caller's decision (UpstreamTokenClient: no answer, 5xx/429, unusable 200; never a 4xx).
export const DEFAULT_CIRCUIT: CircuitBreakerOptions = {
  windowMs: 10_000,
  minimumCalls: 20,
  failureRatio: 0.8,
  openMs: 5_000,
};

const SLOTS = 10;

/** closed: calls go ahead; open: calls are refused; half_open: one probe call is out. */
export type CircuitState = 'closed' | 'open' | 'half_open';

/**
 * A circuit breaker for the upstream token endpoint: while upstream is down, requests fail at once
 * (503 with Retry-After) instead of each waiting for its own time-out and piling up.
 */
export class CircuitBreaker {
  private readonly calls = new Array<number>(SLOTS).fill(0);
  private readonly failures = new Array<number>(SLOTS).fill(0);
  private slotStart = 0;
  private slot = 0;
  private openUntil = 0;
  private probing = false;

  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds the caller should wait while the circuit is open; undefined when the call may go ahead. */
  refusal(): number | undefined {
    const now = this.now();
    if (this.openUntil === 0) return undefined;
    if (now < this.openUntil) return Math.max(1, Math.ceil((this.openUntil - now) / 1000));
    if (this.probing) return 1;
    this.probing = true;
    return undefined;
  }

  /** The state as of now, for traces (reading it changes nothing). */
  state(): CircuitState {
    if (this.openUntil === 0) return 'closed';
    return this.probing ? 'half_open' : 'open';
  }

  record(failed: boolean): void {
    const now = this.now();
    if (this.openUntil !== 0) {
      // The probe's answer decides: closed again, or open for another period.
      this.probing = false;
      if (failed) this.openUntil = now + this.options.openMs;
      else this.reset();
      return;
    }
    this.advance(now);
    this.calls[this.slot]! += 1;
    if (failed) this.failures[this.slot]! += 1;
    const calls = this.calls.reduce((sum, count) => sum + count, 0);
    const failures = this.failures.reduce((sum, count) => sum + count, 0);
    if (calls >= this.options.minimumCalls && failures / calls >= this.options.failureRatio) {
      this.openUntil = now + this.options.openMs;
    }
  }

  private advance(now: number): void {
    const slotMs = this.options.windowMs / SLOTS;
    const elapsed = Math.floor((now - this.slotStart) / slotMs);
    if (elapsed <= 0) return;
    for (let step = 1; step <= Math.min(elapsed, SLOTS); step++) {
      const index = (this.slot + step) % SLOTS;
      this.calls[index] = 0;
      this.failures[index] = 0;
    }
    this.slot = (this.slot + elapsed) % SLOTS;
    this.slotStart += elapsed * slotMs;
  }

  private reset(): void {
    this.openUntil = 0;
    this.calls.fill(0);
    this.failures.fill(0);
  }
}
