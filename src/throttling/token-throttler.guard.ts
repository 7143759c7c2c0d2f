import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { requestContext } from '../http/request-context.js';
import { RefreshTokenSealer } from '../sealing/refresh-token-sealer.js';
import { bucketKey } from './bucket-keys.js';
import { RateLimitedError } from './rate-limit-errors.js';
import { RATE_LIMIT_STORE, type BucketCheck, type RateLimitStore } from './rate-limit-store.js';
import { THROTTLER_OPERATION } from './throttler-names.js';
import { THROTTLERS, type Throttler } from './throttlers.js';

/**
 * The per-client limits of DESIGN §4 on the token routes. The operation and the client address
 * come from the request's context (decided by the edge); every bucket of the request is checked
 * and counted in one store call (one Redis round trip, atomic across buckets, measured cheaper
 * than @nestjs/throttler's one call per throttler), so a refused request spends no budget.
 */
@Injectable()
export class TokenThrottlerGuard implements CanActivate {
  constructor(
    @Inject(THROTTLERS) private readonly throttlers: Throttler[],
    @Inject(RATE_LIMIT_STORE) private readonly store: RateLimitStore,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(RefreshTokenSealer) private readonly sealer: RefreshTokenSealer,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const facts = requestContext(context.switchToHttp().getRequest<FastifyRequest>())!;
    const tokenRequest = facts.tokenRequest!;
    const tracked = {
      clientIp: facts.clientIp,
      tokenRequest,
      isSealedToken: (token: string) => this.sealer.hasKnownKey(token),
    };
    const checks: BucketCheck[] = [];
    for (const throttler of this.throttlers) {
      // The compatibility routes share the budgets of the operation they perform.
      if (THROTTLER_OPERATION[throttler.name] !== tokenRequest.operation) continue;
      const tracker = throttler.tracker(tracked);
      if (tracker === undefined) continue;
      checks.push({
        throttler: throttler.name,
        key: bucketKey(this.config.rateLimit.redisPrefix, throttler.name, tracker),
        limit: throttler.limit,
        windowMs: throttler.windowMs,
      });
    }
    if (checks.length === 0) return true;
    const result = await this.store.consume(checks);
    if (!result.allowed) {
      throw new RateLimitedError(result.throttler, Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
    }
    return true;
  }
}
