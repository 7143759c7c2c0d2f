import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { requestContext } from '../http/request-context.js';
import { TokenLifecycle } from '../lifecycle/token-lifecycle.js';
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
    @Inject(THROTTLERS) private readonly throttlers: Throttler[],
    @Inject(RATE_LIMIT_STORE) private readonly store: RateLimitStore,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(TokenLifecycle) private readonly lifecycle: TokenLifecycle,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.throttlers.length === 0) return true;
    const facts = requestContext(context.switchToHttp().getRequest<FastifyRequest>())!;
    const tokenRequest = facts.tokenRequest!;
    const refresh = tokenRequest.operation === 'refresh' ? tokenRequest.refresh : undefined;
    // A token that does not open gets no bucket; the service answers its failure.
    const token = refresh && (await this.lifecycle.open(refresh, refresh.sealedRefreshToken).catch(() => undefined));
    const tracked = { clientIp: facts.clientIp, tokenRequest, family: token?.lineage.fam };
    const checks: BucketCheck[] = [];
    for (const throttler of this.throttlers) {
      // The compatibility routes share the budgets of the operation they perform.
      if (!throttles(throttler.name, tokenRequest.operation)) continue;
      const tracker = throttler.tracker(tracked);
      if (tracker === undefined) continue;
      checks.push({
        throttler: throttler.name,
        key: bucketKey(this.config.rateLimit.redisPrefix, throttler.name, tracker),
        limit: throttler.limit,
        windowMs: throttler.windowMs,
      });
    }
    const read = token && this.lifecycle.stateReadFor(token);
    const result = await this.store.consume(checks, read);
    if (refresh && read && result.read) this.lifecycle.notePrefetched(refresh, result.read);
    if (!result.allowed) {
      throw new RateLimitedError(result.throttler, Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
    }
    return true;
  }
}
