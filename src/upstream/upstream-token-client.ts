import { Pool } from 'undici';
import type { GatewayConfig } from '../config/gateway-config.js';
import type { UpstreamOperation } from '../operations/token-operation.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { parseErrorResponse, parseTokenResponse, type UpstreamTokens } from './token-response.js';
import {
  UpstreamBadResponseError,
  UpstreamClientAuthenticationError,
  UpstreamError,
  UpstreamRejectedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
  type UpstreamOutcome,
} from './upstream-errors.js';

/** What one upstream call did, gathered while it runs and reported to the observer at its end. */
interface UpstreamCallRecord {
  status?: number;
  outcome?: UpstreamOutcome;
}

export interface UpstreamObserver {
  /** `status` is upstream's HTTP status, undefined when it did not answer. */
  observeUpstream(
    operation: UpstreamOperation,
    outcome: UpstreamOutcome,
    seconds: number,
    status: number | undefined,
  ): void;
}

/** Which upstream refresh tokens the gateway can hand out: the sealer's size limit, wired by the module. */
export interface RefreshTokenLimit {
  canSeal(refreshToken: string): boolean;
}

// Errors upstream may report about the grant itself; they are the client's to see (DESIGN §2).
const CLIENT_GRANT_ERRORS = new Set(['invalid_grant', 'invalid_request', 'unsupported_grant_type', 'invalid_scope']);
// A token response is a few hundred bytes; anything this large is not one.
const MAX_RESPONSE_BYTES = 64 * 1024;
const DEFAULT_RETRY_AFTER_SECONDS = 5;
const MAX_RETRY_AFTER_SECONDS = 3600;

/**
 * Whether a call tells that upstream is not working, for the circuit breaker: no answer (network
 * error, time-out), 5xx or 429, or a 200 that is not a usable token response. Any other answer,
 * a 4xx above all, is upstream working: clients can provoke 4xx answers (a firewall's block
 * page, a 413, an unknown OAuth error) with what they send, and must not shut refresh off for
 * everyone by doing so.
 */
function isOutage(outcome: UpstreamOutcome, status: number | undefined): boolean {
  if (outcome === 'timeout' || outcome === 'unavailable') return true;
  return outcome === 'error' && (status === undefined || status === 200);
}

function retryAfterSeconds(header: string | string[] | undefined): number {
  const value = Array.isArray(header) ? header[0] : header;
  const seconds = value !== undefined && /^\d{1,7}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isFinite(seconds)) return DEFAULT_RETRY_AFTER_SECONDS;
  return Math.min(Math.max(seconds, 1), MAX_RETRY_AFTER_SECONDS);
}

async function readLimited(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) throw new UpstreamBadResponseError('response body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The one client of the upstream token endpoint: a keep-alive pool with no connection cap (a slow
 * upstream must not limit throughput to connections ÷ latency), a total timeout per call, HTTP
 * Basic client authentication, strict parsing. Nothing is retried: a code is single-use.
 */
export class UpstreamTokenClient {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly authorization: string;
  private readonly timeoutMs: number;

  constructor(
    config: Pick<GatewayConfig, 'tokenUrl' | 'clientId' | 'clientSecret' | 'upstreamTimeoutMs'>,
    private readonly observer: UpstreamObserver,
    private readonly circuit: CircuitBreaker,
    private readonly refreshTokens: RefreshTokenLimit,
  ) {
    this.pool = new Pool(config.tokenUrl.origin, {
      connections: null,
      keepAliveTimeout: 30_000,
      headersTimeout: config.upstreamTimeoutMs,
      bodyTimeout: config.upstreamTimeoutMs,
    });
    this.path = `${config.tokenUrl.pathname}${config.tokenUrl.search}`;
    // Spotify documents Basic base64(client_id:client_secret) without form-encoding the parts.
    this.authorization = `Basic ${Buffer.from(`${config.clientId}:${config.clientSecret}`).toString('base64')}`;
    this.timeoutMs = config.upstreamTimeoutMs;
  }

  async requestTokens(operation: UpstreamOperation, form: Record<string, string>): Promise<UpstreamTokens> {
    const record: UpstreamCallRecord = {};
    const wait = this.circuit.refusal();
    if (wait !== undefined) throw new UpstreamUnavailableError(wait, 'circuit open');
    const started = performance.now();
    try {
      const tokens = await this.call(operation, form, record);
      record.outcome = 'success';
      return tokens;
    } catch (error) {
      const typed = error instanceof UpstreamError ? error : new UpstreamBadResponseError('request failed');
      record.outcome = typed.outcome;
      throw typed;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.circuit.record(isOutage(record.outcome ?? 'error', record.status));
      this.observer.observeUpstream(operation, record.outcome ?? 'error', seconds, record.status);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async call(
    operation: UpstreamOperation,
    form: Record<string, string>,
    record: UpstreamCallRecord,
  ): Promise<UpstreamTokens> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    let response;
    let text: string;
    try {
      response = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers: {
          authorization: this.authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams(form).toString(),
        signal,
      });
      record.status = response.statusCode;
      text = await readLimited(response.body);
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      if (signal.aborted || isUndiciTimeout(error)) throw new UpstreamTimeoutError(this.timeoutMs);
      throw new UpstreamBadResponseError('upstream unreachable');
    }
    return this.interpret(operation, response.statusCode, response.headers['retry-after'], text);
  }

  private interpret(
    operation: UpstreamOperation,
    status: number,
    retryAfter: string | string[] | undefined,
    text: string,
  ): UpstreamTokens {
    if (status === 200) {
      return parseTokenResponse(text, {
        refreshTokenRequired: operation === 'swap',
        refreshTokenFits: (refreshToken) => this.refreshTokens.canSeal(refreshToken),
      });
    }
    if (status === 429 || status >= 500) {
      throw new UpstreamUnavailableError(retryAfterSeconds(retryAfter), `status ${status}`);
    }
    const oauthError = status >= 400 ? parseErrorResponse(text) : undefined;
    if (oauthError?.error === 'invalid_client') throw new UpstreamClientAuthenticationError();
    if (oauthError && CLIENT_GRANT_ERRORS.has(oauthError.error)) {
      throw new UpstreamRejectedError(status, oauthError.error, oauthError.description);
    }
    throw new UpstreamBadResponseError(`unexpected status ${status}`);
  }
}

function isUndiciTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}
