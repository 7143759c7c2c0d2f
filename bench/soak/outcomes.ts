/**
 * Which outcomes the contract allows a request, given what it is and which faults touched it
 * (DESIGN §2 error table, §4 Redis outage, §8 token state). Outcomes are `200 tokens`, `200 {}`
 * or `<status> <error>` (contract.ts).
 */
import type { UpstreamFault } from './faults.ts';

export interface FaultContext {
  upstream: Set<UpstreamFault>;
  /** Redis was down (or just back) at some point while the request was in flight. */
  redisTouched: boolean;
}

export interface Policies {
  rateLimit: 'local' | 'open' | 'closed';
  tokenState: 'open' | 'closed';
}

export interface Traits {
  /** Calls upstream once admitted: upstream faults and the open circuit apply. */
  upstream?: boolean;
  /** Passes the rate-limit guard (a budget is checked in Redis). */
  guarded?: boolean;
  /** Sent by a client over its limit: 429 is expected. */
  limited?: boolean;
  /** Touches the refresh-token state: a refresh reads it, a revocation must write it. */
  state?: 'refresh' | 'revoke';
}

export const UPSTREAM_FAULT_OUTCOMES: Record<UpstreamFault, string[]> = {
  slow: ['504 temporarily_unavailable'],
  error5xx: ['503 temporarily_unavailable'],
  rateLimited: ['503 temporarily_unavailable'],
  garbage: ['502 server_error'],
};

export function allowedOutcomes(
  base: string[],
  traits: Traits,
  context: FaultContext,
  policies: Policies,
): Set<string> {
  const allowed = new Set(base);
  if (traits.limited) allowed.add('429 too_many_requests');
  if (traits.upstream && context.upstream.size > 0) {
    // Any upstream fault can open the circuit: 503 at once, without calling upstream.
    allowed.add('503 temporarily_unavailable');
    for (const fault of context.upstream) for (const outcome of UPSTREAM_FAULT_OUTCOMES[fault]) allowed.add(outcome);
  }
  if (context.redisTouched) {
    const closed =
      (traits.guarded && policies.rateLimit === 'closed') ||
      (traits.state === 'refresh' && policies.tokenState === 'closed') ||
      traits.state === 'revoke';
    if (closed) allowed.add('503 temporarily_unavailable');
  }
  return allowed;
}

/** A 5xx the contract prescribes for the faults that touched the request (never a 500). */
export function isPrescribed5xx(outcome: string, allowed: Set<string>): boolean {
  return allowed.has(outcome) && !outcome.startsWith('500');
}
