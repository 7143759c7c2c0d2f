import type { TokenOperation } from '../operations/token-operation.js';

/** Which operation each throttler limits; the names are label values of token_swap_rate_limited_total. */
export const THROTTLER_OPERATION = {
  swap_ip: 'swap',
  refresh_ip: 'refresh',
  refresh_token: 'refresh',
} as const satisfies Record<string, TokenOperation>;

export type ThrottlerName = keyof typeof THROTTLER_OPERATION;
export const THROTTLER_NAMES = Object.keys(THROTTLER_OPERATION) as ThrottlerName[];
