import type { TokenOperation } from '../operations/token-operation.js';

/**
 * Which operations each throttler limits; the names are label values of
 * token_swap_rate_limited_total. A revocation shares the per-IP refresh budget (DESIGN §8).
 */
export const THROTTLER_OPERATIONS = {
  swap_ip: ['swap'],
  refresh_ip: ['refresh', 'revoke'],
  refresh_token: ['refresh'],
} as const satisfies Record<string, readonly TokenOperation[]>;

export type ThrottlerName = keyof typeof THROTTLER_OPERATIONS;
export const THROTTLER_NAMES = Object.keys(THROTTLER_OPERATIONS) as ThrottlerName[];

/** Whether `throttler` counts requests of `operation`. */
export function throttles(throttler: ThrottlerName, operation: TokenOperation): boolean {
  return (THROTTLER_OPERATIONS[throttler] as readonly TokenOperation[]).includes(operation);
}
