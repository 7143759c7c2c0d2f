import { Pool } from 'undici';
import type { AppSettings } from '../config/app-settings.js';
import type { UpstreamOperation } from '../operations/token-operation.js';
import type { CircuitBreaker, CircuitState } from './circuit-breaker.js';
import { AttemptTimedOut, postForm, type UpstreamAnswer } from './form-post.js';
import { REFRESH_RETRY, refreshRetryDelay, type FailedAttempt, type RetryPolicy } from './refresh-retry.js';
import { parseErrorResponse, parseTokenResponse, type UpstreamTokens } from './token-response.js';
import {
  UpstreamBadResponseError,
  UpstreamClientAuthenticationError,
  UpstreamConnectionError,
  UpstreamError,
  UpstreamRejectedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
  type UpstreamOutcome,
} from './upstream-errors.js';

/** What one upstream attempt did, gathered while it runs and reported to the observer at its end. */
interface UpstreamCallRecord {
  status?: number;
  outcome?: UpstreamOutcome;
  /** Upstream's Retry-After when it is a sane integer. */
  retryAfterSeconds?: number;
}

type AttemptResult = { tokens: UpstreamTokens } | ({ tokens?: undefined } & FailedAttempt);

/** An attempt a tracer watches (attemptStarting); handed back to observeUpstream at its end. */
export interface UpstreamAttemptWatch {
  readonly traceId: string | undefined;
  ended(outcome: UpstreamOutcome, status: number | undefined): void;
}

export interface UpstreamObserver {
  /**
   * Called once per attempt (a retried refresh makes two calls): `status` is upstream's HTTP
   * status, undefined when it did not answer; `watch`, what attemptStarting returned.
   */
  observeUpstream(
    operation: UpstreamOperation,
    outcome: UpstreamOutcome,
    seconds: number,
    status: number | undefined,
    watch?: UpstreamAttemptWatch,
  ): void;
  /** A second attempt is about to be made (refresh-retry.ts). */
  observeRetry(operation: UpstreamOperation): void;
  /**
   * Set only when tracing is on: an attempt (1, or 2 for the retry) starts with the circuit in
   * `circuit`. Unset, the client does nothing more per attempt.
   */
  attemptStarting?(operation: UpstreamOperation, attempt: number, circuit: CircuitState): UpstreamAttemptWatch;
}

/**
 * One app's upstream (DESIGN §11): its token endpoint, client credentials and how they are sent,
 * the extra answer fields it passes through; UPSTREAM_TIMEOUT_MS.
 */
export type UpstreamClientSettings = Pick<AppSettings, 'tokenUrl' | 'clientId' | 'clientSecret'> &
  Partial<Pick<AppSettings, 'tokenAuthMethod' | 'passThroughFields'>> & { upstreamTimeoutMs: number };

/** Which upstream refresh tokens the gateway can hand out: the sealer's size limit, wired by the module. */
export interface RefreshTokenLimit {
  canSeal(refreshToken: string): boolean;
}

// Errors upstream may report about the grant itself; they are the client's to see (DESIGN §2).
const CLIENT_GRANT_ERRORS = new Set(['invalid_grant', 'invalid_request', 'unsupported_grant_type', 'invalid_scope']);
// RFC 6749 §5.2 errors about our registration, not the client's grant: a server fault (500).
const OUR_CLIENT_ERRORS = new Set(['invalid_client', 'unauthorized_client']);
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

/** Upstream's Retry-After when it is an integer number of seconds (an HTTP date is not used). */
function saneRetryAfter(header: string | string[] | undefined): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  return value !== undefined && /^\d{1,7}$/.test(value) ? Number(value) : undefined;
}

/** The Retry-After the client gets: upstream's when sane, within [1 s, 1 h], else 5 s. */
function retryAfterForClient(upstreamSeconds: number | undefined): number {
  if (upstreamSeconds === undefined) return DEFAULT_RETRY_AFTER_SECONDS;
  return Math.min(Math.max(upstreamSeconds, 1), MAX_RETRY_AFTER_SECONDS);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The one client of the upstream token endpoint: a keep-alive pool with no connection cap (a slow
 * upstream must not limit throughput to connections ÷ latency), a total timeout per call, HTTP
 * Basic client authentication, strict parsing. A refresh may be tried a second time within the
 * same timeout (refresh-retry.ts); a code exchange never is: a code is single-use.
 *
 * Each attempt is a call of its own for the circuit breaker and the upstream histogram: both
 * describe upstream's health and the load put on it, and a retried refresh did call twice. The
 * request's log line shows the last attempt's status (upstream-call-observer.ts).
 */
export class UpstreamTokenClient {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly headers: Record<string, string>;
  /** client_secret_post: the credentials every form carries; none with client_secret_basic. */
  private readonly credentialFields: Record<string, string>;
  private readonly passThroughFields: readonly string[];
  private readonly timeoutMs: number;

  constructor(
    config: UpstreamClientSettings,
    private readonly observer: UpstreamObserver,
    private readonly circuit: CircuitBreaker,
    private readonly refreshTokens: RefreshTokenLimit,
    private readonly retry: RetryPolicy = REFRESH_RETRY,
    private readonly random: () => number = Math.random,
  ) {
    this.pool = new Pool(config.tokenUrl.origin, {
      connections: null,
      keepAliveTimeout: 30_000,
      headersTimeout: config.upstreamTimeoutMs,
      bodyTimeout: config.upstreamTimeoutMs,
    });
    this.path = `${config.tokenUrl.pathname}${config.tokenUrl.search}`;
    this.headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    this.credentialFields = {};
    if (config.tokenAuthMethod === 'client_secret_post') {
      this.credentialFields = { client_id: config.clientId, client_secret: config.clientSecret };
    } else {
      // Spotify documents Basic base64(client_id:client_secret) without form-encoding the parts.
      const basic = Buffer.from(`${config.clientId}:${config.clientSecret}`).toString('base64');
      this.headers = { authorization: `Basic ${basic}`, ...this.headers };
    }
    this.passThroughFields = config.passThroughFields ?? [];
    this.timeoutMs = config.upstreamTimeoutMs;
  }

  async requestTokens(operation: UpstreamOperation, form: Record<string, string>): Promise<UpstreamTokens> {
    const deadline = performance.now() + this.timeoutMs;
    const wait = this.circuit.refusal();
    if (wait !== undefined) throw new UpstreamUnavailableError(wait, 'circuit open');
    const first = await this.attempt(operation, form, this.timeoutMs, 1);
    if (first.tokens) return first.tokens;

    const delayMs = refreshRetryDelay(operation, first, deadline - performance.now(), this.retry, this.random);
    if (delayMs === undefined) throw first.error;
    await sleep(delayMs);
    // The first attempt may have opened the circuit (or was its probe): then upstream rests.
    if (this.circuit.refusal() !== undefined) throw first.error;
    this.observer.observeRetry(operation);
    const second = await this.attempt(operation, form, Math.max(1, Math.floor(deadline - performance.now())), 2);
    if (second.tokens) return second.tokens;
    throw second.error;
  }

  /** One call upstream, recorded by the circuit breaker and the observer; never throws. */
  private async attempt(
    operation: UpstreamOperation,
    form: Record<string, string>,
    timeoutMs: number,
    attempt: number,
  ): Promise<AttemptResult> {
    const record: UpstreamCallRecord = {};
    const watch = this.observer.attemptStarting?.(operation, attempt, this.circuit.state());
    const started = performance.now();
    try {
      const tokens = await this.call(operation, form, record, timeoutMs);
      record.outcome = 'success';
      return { tokens };
    } catch (error) {
      const typed = error instanceof UpstreamError ? error : new UpstreamBadResponseError('request failed');
      record.outcome = typed.outcome;
      return { error: typed, status: record.status, retryAfterSeconds: record.retryAfterSeconds };
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.circuit.record(isOutage(record.outcome ?? 'error', record.status));
      this.observer.observeUpstream(operation, record.outcome ?? 'error', seconds, record.status, watch);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async call(
    operation: UpstreamOperation,
    form: Record<string, string>,
    record: UpstreamCallRecord,
    timeoutMs: number,
  ): Promise<UpstreamTokens> {
    let answer: UpstreamAnswer;
    try {
      answer = await postForm(
        this.pool,
        {
          path: this.path,
          headers: this.headers,
          body: new URLSearchParams({ ...form, ...this.credentialFields }).toString(),
        },
        timeoutMs,
        MAX_RESPONSE_BYTES,
        (status, headers) => {
          record.status = status;
          record.retryAfterSeconds = saneRetryAfter(headers['retry-after']);
        },
      );
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      if (error instanceof AttemptTimedOut || isUndiciTimeout(error)) throw new UpstreamTimeoutError(this.timeoutMs);
      throw new UpstreamConnectionError();
    }
    return this.interpret(operation, answer.status, record.retryAfterSeconds, answer.text);
  }

  private interpret(
    operation: UpstreamOperation,
    status: number,
    retryAfterSeconds: number | undefined,
    text: string,
  ): UpstreamTokens {
    if (status === 200) {
      return parseTokenResponse(text, {
        refreshTokenRequired: operation === 'swap',
        refreshTokenFits: (refreshToken) => this.refreshTokens.canSeal(refreshToken),
        passThroughFields: this.passThroughFields,
      });
    }
    if (status === 429 || status >= 500) {
      throw new UpstreamUnavailableError(retryAfterForClient(retryAfterSeconds), `status ${status}`);
    }
    const oauthError = status >= 400 ? parseErrorResponse(text) : undefined;
    if (oauthError && OUR_CLIENT_ERRORS.has(oauthError.error)) throw new UpstreamClientAuthenticationError();
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

/** Injection token of each app's upstream client, by app id. */
export const APP_UPSTREAMS = Symbol('APP_UPSTREAMS');
