/**
 * The soak's fault plan and what actually happened. Faults repeat in a fixed cycle so that every
 * quarter of a run sees the same mix (the memory trend compares quarters). Each window is kept
 * with the times it really started and ended, and a request is judged against every fault that
 * overlapped it, plus a tail after each fault: the circuit breaker stays open up to 5 s and probes
 * after, and the Redis client reconnects with a backoff of up to 2 s.
 */
export type UpstreamFault = 'slow' | 'error5xx' | 'rateLimited' | 'garbage';
export type FaultKind = UpstreamFault | 'redisDown';

export interface PlannedFault {
  kind: FaultKind;
  atMs: number;
  forMs: number;
}

export interface FaultWindow {
  kind: FaultKind;
  startedAt: number;
  /** undefined while the fault lasts. */
  endedAt: number | undefined;
}

const CYCLE_SECONDS = 120;
// Seconds into a 120 s cycle (scaled for shorter cycles). Redis down times vary by cycle, 5-20 s.
const UPSTREAM_PLAN: { kind: UpstreamFault; at: number; for: number }[] = [
  { kind: 'slow', at: 15, for: 12 },
  { kind: 'error5xx', at: 37, for: 8 },
  { kind: 'rateLimited', at: 52, for: 7 },
  { kind: 'garbage', at: 66, for: 6 },
];
const REDIS_AT = 82;
const REDIS_DOWN_SECONDS = [8, 15, 5, 20, 12, 10];

export const UPSTREAM_TAIL_MS = 12_000;
export const REDIS_TAIL_MS = 10_000;

/** The plan for a run of `totalSeconds`; `quick` squeezes one cycle into 60 s. */
export function faultPlan(totalSeconds: number, quick: boolean): PlannedFault[] {
  const cycle = quick ? 60 : CYCLE_SECONDS;
  const scale = cycle / CYCLE_SECONDS;
  const plan: PlannedFault[] = [];
  for (let start = 0, index = 0; start < totalSeconds; start += cycle, index++) {
    for (const fault of UPSTREAM_PLAN) {
      plan.push({ kind: fault.kind, atMs: (start + fault.at * scale) * 1000, forMs: fault.for * scale * 1000 });
    }
    const down = quick ? 6 : REDIS_DOWN_SECONDS[index % REDIS_DOWN_SECONDS.length]!;
    plan.push({ kind: 'redisDown', atMs: (start + REDIS_AT * scale) * 1000, forMs: down * 1000 });
  }
  // No fault may still be on in the last 10 s: the run ends with the system healthy.
  return plan.filter((fault) => fault.atMs + fault.forMs <= (totalSeconds - 10) * 1000);
}

/** The faults that touched a request sent at `sentAt` and answered at `answeredAt`. */
export class FaultTimeline {
  readonly windows: FaultWindow[] = [];

  begin(kind: FaultKind, at: number): FaultWindow {
    const window = { kind, startedAt: at, endedAt: undefined };
    this.windows.push(window);
    return window;
  }

  /** Upstream faults overlapping [sentAt, answeredAt], tails included. */
  upstreamFaults(sentAt: number, answeredAt: number): Set<UpstreamFault> {
    const faults = new Set<UpstreamFault>();
    for (const window of this.windows) {
      if (window.kind === 'redisDown') continue;
      if (overlaps(window, sentAt, answeredAt, UPSTREAM_TAIL_MS)) faults.add(window.kind);
    }
    return faults;
  }

  redisTouched(sentAt: number, answeredAt: number): boolean {
    return this.windows.some(
      (window) => window.kind === 'redisDown' && overlaps(window, sentAt, answeredAt, REDIS_TAIL_MS),
    );
  }

  /** How many times Redis had been killed by `at` (its state is lost each time). */
  redisEpoch(at: number): number {
    return this.windows.filter((window) => window.kind === 'redisDown' && window.startedAt <= at).length;
  }

  active(at: number): FaultKind[] {
    return this.windows.filter((window) => window.startedAt <= at && window.endedAt === undefined).map((w) => w.kind);
  }
}

function overlaps(window: FaultWindow, from: number, to: number, tailMs: number): boolean {
  const end = window.endedAt === undefined ? Infinity : window.endedAt + tailMs;
  return window.startedAt <= to && end >= from;
}
