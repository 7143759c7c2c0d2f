import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { TokenLifecycle } from '../lifecycle/token-lifecycle.js';
import { RefreshTokenSealer } from '../sealing/refresh-token-sealer.js';
import { UpstreamTokenClient } from '../upstream/upstream-token-client.js';
import type { UpstreamTokens } from '../upstream/token-response.js';
import { ClientMismatchError, RedirectUriNotAllowedError } from './token-request-errors.js';
import type { RefreshRequest, RevokeRequest, SwapRequest } from './token-requests.js';

/** The token response of the contract (OAuth field names); absent fields are left out, never null. */
export interface TokenResponseBody {
  access_token: string;
  token_type?: string;
  scope?: string;
  expires_in?: number;
  refresh_token: string;
}

/**
 * Swaps codes, refreshes sealed tokens and revokes their families. Knows OAuth, not HTTP:
 * failures are typed errors. The token's life (families, rotation, revocation) is the
 * lifecycle's (DESIGN §8).
 */
@Injectable()
export class TokenService {
  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(RefreshTokenSealer) private readonly sealer: RefreshTokenSealer,
    @Inject(UpstreamTokenClient) private readonly upstream: UpstreamTokenClient,
    @Inject(TokenLifecycle) private readonly lifecycle: TokenLifecycle,
  ) {}

  async swap(request: SwapRequest): Promise<TokenResponseBody> {
    this.assertOurClient(request.clientId);
    const redirectUri = request.redirectUri ?? this.config.redirectUris[0]!;
    if (!this.config.redirectUris.includes(redirectUri)) throw new RedirectUriNotAllowedError();

    const form: Record<string, string> = {
      grant_type: 'authorization_code',
      code: request.code,
      redirect_uri: redirectUri,
    };
    if (request.codeVerifier !== undefined) form.code_verifier = request.codeVerifier;
    const tokens = await this.upstream.requestTokens('swap', form);
    // The upstream client refuses a swap answer without a refresh token (token-response.ts).
    return this.respond(tokens, await this.sealer.seal(tokens.refreshToken!, this.sealer.newLineage()));
  }

  async refresh(request: RefreshRequest): Promise<TokenResponseBody> {
    this.assertOurClient(request.clientId);
    const token = await this.lifecycle.open(request, request.sealedRefreshToken);
    const plan = await this.lifecycle.admit(request, token);
    const tokens = await this.upstream.requestTokens('refresh', {
      grant_type: 'refresh_token',
      refresh_token: token.rt,
    });
    return this.respond(tokens, await this.lifecycle.reseal(plan, request.sealedRefreshToken, tokens.refreshToken));
  }

  async revoke(request: RevokeRequest): Promise<Record<string, never>> {
    this.assertOurClient(request.clientId);
    await this.lifecycle.revoke(request, request.token);
    // RFC 7009 §2.2: the same answer whether or not the token was valid.
    return {};
  }

  private assertOurClient(clientId: string | undefined): void {
    if (clientId !== undefined && clientId !== this.config.clientId) throw new ClientMismatchError();
  }

  private respond(tokens: UpstreamTokens, sealedRefreshToken: string): TokenResponseBody {
    // Built in the order of DESIGN §2's example; absent fields are left out rather than null.
    const body = { access_token: tokens.accessToken } as TokenResponseBody;
    if (tokens.tokenType !== undefined) body.token_type = tokens.tokenType;
    if (tokens.scope !== undefined) body.scope = tokens.scope;
    if (tokens.expiresIn !== undefined) body.expires_in = tokens.expiresIn;
    body.refresh_token = sealedRefreshToken;
    return body;
  }
}
