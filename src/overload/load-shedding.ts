import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OverloadedError } from './overloaded-error.js';

export interface LoadSheddingLimits {
  /** OVERLOAD_MAX_EVENT_LOOP_DELAY_MS; 0: off. */
  maxEventLoopDelayMs: number;
  /** OVERLOAD_MAX_IN_FLIGHT; 0: off. */
  maxInFlight: number;
}

// How often @fastify/under-pressure takes the event loop's mean delay: often enough that a burst
// is met within a fraction of a second, rarely enough to cost nothing (10 timer callbacks a second).
const PRESSURE_SAMPLE_MS = 100;

const ARRIVED_UNDER_PRESSURE = Symbol('tokenSwapArrivedUnderPressure');
type Marked = FastifyRequest & { [ARRIVED_UNDER_PRESSURE]?: true };

/**
 * Shedding before work (DESIGN §10). The event loop's delay is measured by @fastify/under-pressure,
 * whose hook marks each request that arrives while the mean delay is over the bound; the requests
 * being served are counted here (under-pressure has no such bound). A token request is admitted,
 * or refused with OverloadedError, right after its body is read and before the rate limit, the
 * family state, the sealer or upstream see it.
 */
export class LoadShedder {
  private inFlight = 0;

  constructor(private readonly limits: LoadSheddingLimits) {}

  /** Registers the delay meter on the public Fastify instance (after the edge's own onRequest hook). */
  register(fastify: FastifyInstance): void {
    if (this.limits.maxEventLoopDelayMs === 0) return;
    void fastify.register(underPressure, {
      maxEventLoopDelay: this.limits.maxEventLoopDelayMs,
      sampleInterval: PRESSURE_SAMPLE_MS,
      // Marks instead of answering: only token requests are shed, and only once their operation is
      // known, so that the refusal is counted under it.
      pressureHandler: (request) => {
        (request as Marked)[ARRIVED_UNDER_PRESSURE] = true;
      },
    });
  }

  /** Admits a token request, counted until `release`; throws OverloadedError to shed it. */
  admit(request: FastifyRequest): void {
    const overloaded =
      (request as Marked)[ARRIVED_UNDER_PRESSURE] === true ||
      (this.limits.maxInFlight > 0 && this.inFlight >= this.limits.maxInFlight);
    if (overloaded) throw new OverloadedError();
    this.inFlight++;
  }

  /** The admitted request's answer is done (sent, or its client left). */
  release(): void {
    this.inFlight--;
  }

  /** Token requests admitted and not yet done. */
  get requestsInFlight(): number {
    return this.inFlight;
  }
}
