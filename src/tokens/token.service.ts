import { Inject, Injectable } from '@nestjs/common';
import type { AppSettings } from '../config/app-settings.js';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { APP_LIFECYCLES, type TokenLifecycle } from '../lifecycle/token-lifecycle.js';
import { APP_SEALERS, type RefreshTokenSealer } from '../sealing/refresh-token-sealer.js';
import { APP_UPSTREAMS, type UpstreamTokenClient } from '../upstream/upstream-token-client.js';
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
  /** The app's passThroughFields upstream gave (DESIGN §11), as received. */
  [passThrough: string]: unknown;
}

/** What one app's requests are served with (DESIGN §11): its settings and its own machinery. */
interface AppTokens {
  settings: AppSettings;
  sealer: RefreshTokenSealer;
  upstream: UpstreamTokenClient;
  lifecycle: TokenLifecycle;
}

/**
 * Swaps codes, refreshes sealed tokens and revokes their families, each for one configured app
 * (DESIGN §11) with that app's client, sealer, upstream and lifecycle: a token of one app never
 * meets another's. Knows OAuth, not HTTP: failures are typed errors. The token's life (families,
 * rotation, revocation) is the lifecycle's (DESIGN §8).
 */
@Injectable()
export class TokenService {
  private readonly apps: ReadonlyMap<string, AppTokens>;

  constructor(
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    @Inject(APP_SEALERS) sealers: ReadonlyMap<string, RefreshTokenSealer>,
    @Inject(APP_UPSTREAMS) upstreams: ReadonlyMap<string, UpstreamTokenClient>,
    @Inject(APP_LIFECYCLES) lifecycles: ReadonlyMap<string, TokenLifecycle>,
  ) {
    this.apps = new Map(
      config.apps.map((settings) => [
        settings.id,
        {
          settings,
          sealer: sealers.get(settings.id)!,
          upstream: upstreams.get(settings.id)!,
          lifecycle: lifecycles.get(settings.id)!,
        },
      ]),
    );
  }

  /** `app` is a configured app's id (the edge refuses any other). */
  async swap(app: string, request: SwapRequest): Promise<TokenResponseBody> {
    const { settings, sealer, upstream } = this.appOf(app);
    this.assertOurClient(settings, request.clientId);
    const redirectUri = request.redirectUri ?? settings.redirectUris[0]!;
    if (!settings.redirectUris.includes(redirectUri)) throw new RedirectUriNotAllowedError();

    const form: Record<string, string> = {
      grant_type: 'authorization_code',
      code: request.code,
      redirect_uri: redirectUri,
    };
    if (request.codeVerifier !== undefined) form.code_verifier = request.codeVerifier;
    const tokens = await upstream.requestTokens('swap', form);
    // The upstream client refuses a swap answer without a refresh token (token-response.ts).
    return this.respond(tokens, await sealer.seal(tokens.refreshToken!, sealer.newLineage()));
  }

  async refresh(app: string, request: RefreshRequest): Promise<TokenResponseBody> {
    const { settings, upstream, lifecycle } = this.appOf(app);
    this.assertOurClient(settings, request.clientId);
    // Another app's token fails here (wrong_client), before upstream is called.
    const token = await lifecycle.open(request, request.sealedRefreshToken);
    const plan = await lifecycle.admit(request, token);
    const tokens = await upstream.requestTokens('refresh', {
      grant_type: 'refresh_token',
      refresh_token: token.rt,
    });
    // A rotated refresh token (an oauth2 provider rotates at every refresh) is re-sealed into the same family.
    return this.respond(tokens, await lifecycle.reseal(plan, request.sealedRefreshToken, tokens.refreshToken));
  }

  async revoke(app: string, request: RevokeRequest): Promise<Record<string, never>> {
    const { settings, lifecycle } = this.appOf(app);
    this.assertOurClient(settings, request.clientId);
    await lifecycle.revoke(request, request.token);
    // RFC 7009 §2.2: the same answer whether or not the token was valid.
    return {};
  }

  private appOf(app: string): AppTokens {
    const tokens = this.apps.get(app);
    if (!tokens) throw new Error('no such app');
    return tokens;
  }

  private assertOurClient(settings: AppSettings, clientId: string | undefined): void {
    if (clientId !== undefined && clientId !== settings.clientId) throw new ClientMismatchError();
  }

  private respond(tokens: UpstreamTokens, sealedRefreshToken: string): TokenResponseBody {
    // Built in the order of DESIGN §2's example; absent fields are left out rather than null.
    const body = { access_token: tokens.accessToken } as TokenResponseBody;
    if (tokens.tokenType !== undefined) body.token_type = tokens.tokenType;
    if (tokens.scope !== undefined) body.scope = tokens.scope;
    if (tokens.expiresIn !== undefined) body.expires_in = tokens.expiresIn;
    body.refresh_token = sealedRefreshToken;
    // Only the fields the app's passThroughFields name ever get here (token-response.ts).
    if (tokens.passThrough) Object.assign(body, tokens.passThrough);
    return body;
  }
}
