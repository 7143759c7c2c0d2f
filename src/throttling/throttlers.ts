import { normalizeIp } from '@nestjs/throttler';
import type { AppSettings } from '../config/app-settings.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import type { TokenRequest } from '../tokens/token-routes.js';
import { THROTTLER_NAMES, type ThrottlerName } from './throttler-names.js';

/** Injection token of each app's throttlers in force, by app id (none when RATE_LIMIT_ENABLED=false). */
export const THROTTLERS = Symbol('THROTTLERS');

/**
 * What a request is counted by: its client's address, or the family of the sealed token it
 * refreshes (undefined unless the token was opened: authentic, ours, not expired).
 */
export type Tracked = { clientIp: string; tokenRequest: TokenRequest; family: string | undefined };

export interface Throttler {
  name: ThrottlerName;
  limit: number;
  windowMs: number;
  /** The request's bucket name for this throttler; undefined when it does not apply. */
  tracker(request: Tracked): string | undefined;
}

// IPv6 clients are bucketed by /64, one subscriber's whole prefix (as @nestjs/throttler does).
const byClient = (request: Tracked) => normalizeIp(request.clientIp, 64);
// Keyed on the family (DESIGN §8), so that neither rotation nor re-sealing resets the budget. Only
// a token the gateway opened gets a bucket: made-up tokens would otherwise each create one (a
// Redis key for an hour), and they are refused before upstream anyway.
const byTokenFamily = (request: Tracked) => (request.tokenRequest.operation === 'refresh' ? request.family : undefined);

const TRACKERS: Record<ThrottlerName, Throttler['tracker']> = {
  swap_ip: byClient,
  refresh_ip: byClient,
  refresh_token: byTokenFamily,
};

/** Each app's throttlers (DESIGN §4, §11: its own limits), in the order of throttler-names.ts. */
export function throttlersByApp(config: GatewayConfig): ReadonlyMap<string, Throttler[]> {
  return new Map(config.apps.map((app) => [app.id, throttlersFor(config.rateLimit.enabled, app)]));
}

/** The throttlers of DESIGN §4 with the app's limits, in the order of throttler-names.ts. */
export function throttlersFor(enabled: boolean, app: Pick<AppSettings, 'limits'>): Throttler[] {
  if (!enabled) return [];
  const limits: Record<ThrottlerName, { limit: number; windowSeconds: number }> = {
    swap_ip: app.limits.swapPerIp,
    refresh_ip: app.limits.refreshPerIp,
    refresh_token: app.limits.refreshPerToken,
  };
  return THROTTLER_NAMES.map((name) => ({
    name,
    limit: limits[name].limit,
    windowMs: limits[name].windowSeconds * 1000,
    tracker: TRACKERS[name],
  }));
}
