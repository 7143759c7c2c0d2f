import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { requestContext } from '../http/request-context.js';
import { APP_LIFECYCLES, type TokenLifecycle } from '../lifecycle/token-lifecycle.js';
import { appKeyPrefix } from '../redis/key-space.js';
import { bucketKey } from './bucket-keys.js';
import { RateLimitedError } from './rate-limit-errors.js';
import { RATE_LIMIT_STORE, type BucketCheck, type RateLimitStore } from './rate-limit-store.js';
import { throttles } from './throttler-names.js';
import { THROTTLERS, type Throttler } from './throttlers.js';

/**
 * The per-client limits of DESIGN §4 on the token routes. The operation and the client address
 * come from the request's context (decided by the edge); every bucket of the request is checked
 * and counted in one store call (one Redis round trip, atomic across buckets, measured cheaper
 * than @nestjs/throttler's one call per throttler), so a refused request spends no budget.
 * A refresh's per-token bucket is its token's family (DESIGN §8): the token is opened here, once,
 * through the lifecycle, which hands the same result to the token service; the family's state is
 * read in the same round trip as the buckets.
 */
@Injectable()
export class TokenThrottlerGuard implements CanActivate {
  constructor(
    @Inject(THROTTLERS) private readonly throttlersByApp: ReadonlyMap<string, Throttler[]>,
    @Inject(RATE_LIMIT_STORE) private readonly store: RateLimitStore,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    @Inject(APP_LIFECYCLES) private readonly lifecycles: ReadonlyMap<string, TokenLifecycle>,
  ) {
    this.keyPrefixes = new Map(config.apps.map((app) => [app.id, appKeyPrefix(config.rateLimit.redisPrefix, app.id)]));
  }

  /** Each app's buckets under its own key prefix (DESIGN §11: limits counted per app). */
  private readonly keyPrefixes: ReadonlyMap<string, string>;

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const facts = requestContext(context.switchToHttp().getRequest<FastifyRequest>())!;
    // The edge let only a configured app's requests through.
    const app = facts.app!;
    const throttlers = this.throttlersByApp.get(app)!;
    if (throttlers.length === 0) return true;
    const lifecycle = this.lifecycles.get(app)!;
    const prefix = this.keyPrefixes.get(app)!;
    const tokenRequest = facts.tokenRequest!;
    const refresh = tokenRequest.operation === 'refresh' ? tokenRequest.refresh : undefined;
    // A token that does not open gets no bucket; the service answers its failure.
    const token = refresh && (await lifecycle.open(refresh, refresh.sealedRefreshToken).catch(() => undefined));
    const tracked = { clientIp: facts.clientIp, tokenRequest, family: token?.lineage.fam };
    const checks: BucketCheck[] = [];
    for (const throttler of throttlers) {
      // The compatibility routes share the budgets of the operation they perform.
      if (!throttles(throttler.name, tokenRequest.operation)) continue;
      const tracker = throttler.tracker(tracked);
      if (tracker === undefined) continue;
      checks.push({
        throttler: throttler.name,
        key: bucketKey(prefix, throttler.name, tracker),
        limit: throttler.limit,
        windowMs: throttler.windowMs,
      });
    }
    const read = token && lifecycle.stateReadFor(token);
    const result = await this.store.consume(checks, read);
    if (refresh && read && result.read) lifecycle.notePrefetched(refresh, result.read);
    if (!result.allowed) {
      throw new RateLimitedError(result.throttler, Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
    }
    return true;
  }
}
