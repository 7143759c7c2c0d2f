/**
 * Steady load for `npm run test:k8s`: swaps, each followed by a refresh of the sealed token it
 * returned, through a Service's ClusterIP (a cluster address this run started), at a fixed rate,
 * counted request by request. Two kinds of client:
 *   - connection-per-request: node:http with no agent (`Connection: close`), a new TCP connection,
 *     and so a fresh pick of a backend by kube-proxy, for every request;
 *   - keep-alive: an undici Pool that keeps its connections open between requests, as SDKs and
 *     proxies do; it moves to another pod only when the gateway closes the connection.
 * Every iteration uses its own X-Forwarded-For address (the gateway trusts the node's bridge
 * address in the test install), so the load never meets a per-client limit: a 429 is a failure
 * here. Bounded: at most MAX_IN_FLIGHT iterations at once (more are counted as skipped, never
 * queued), a timeout per request, and stop() waits for what is in flight.
 */
import { request as httpRequest } from 'node:http';
import { Pool } from 'undici';

/** The gateway's upstream timeout (5 s) plus its shutdown margin (5 s), and a second more. */
const REQUEST_TIMEOUT_MS = 11_000;
const MAX_IN_FLIGHT = 64;
const KEEP_ALIVE_CONNECTIONS = 8;

export type ClientKind = 'connection-per-request' | 'keep-alive';

interface Answer {
  status: number;
  body: Record<string, unknown> | undefined;
}

export interface LoadFigures {
  kind: ClientKind;
  seconds: number;
  requests: number;
  ok: number;
  failed: number;
  skipped: number;
  /** Failure reason (status and error code, or a socket error's code) -> count. */
  reasons: Record<string, number>;
  /** The first failures, with their time from the start, for the report. */
  firstFailures: string[];
}

type Post = (path: string, fields: Record<string, string>, forwardedFor: string) => Promise<Answer>;

function parse(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function perConnection(origin: URL): Post {
  return (path, fields, forwardedFor) =>
    new Promise((resolve, reject) => {
      const body = new URLSearchParams(fields).toString();
      const request = httpRequest(
        {
          host: origin.hostname,
          port: origin.port,
          path,
          method: 'POST',
          agent: false,
          timeout: REQUEST_TIMEOUT_MS,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(body),
            'x-forwarded-for': forwardedFor,
          },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: parse(text) }));
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      request.on('error', reject);
      request.end(body);
    });
}

function keepAlive(pool: Pool): Post {
  return async (path, fields, forwardedFor) => {
    const response = await pool.request({
      path,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwardedFor },
      body: new URLSearchParams(fields).toString(),
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    return { status: response.statusCode, body: parse(await response.body.text()) };
  };
}

function errorReason(error: unknown): string {
  const failure = error as { code?: unknown; name?: unknown };
  return typeof failure.code === 'string' ? failure.code : String(failure.name ?? 'error');
}

/** A steady stream of swap-then-refresh iterations; start() once, stop() once. */
export class SteadyLoad {
  private readonly post: Post;
  private readonly pool: Pool | undefined;
  private readonly figures: LoadFigures;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private started = 0;
  private iteration = 0;

  /**
   * @param addressBlock second octet of the X-Forwarded-For addresses (10.<block>.x.y), one per
   *   load so that no two loads of a run share a client address.
   */
  private readonly iterationsPerSecond: number;
  private readonly addressBlock: number;

  constructor(origin: URL, kind: ClientKind, iterationsPerSecond: number, addressBlock: number) {
    this.iterationsPerSecond = iterationsPerSecond;
    this.addressBlock = addressBlock;
    this.pool =
      kind === 'keep-alive' ? new Pool(origin, { connections: KEEP_ALIVE_CONNECTIONS, pipelining: 1 }) : undefined;
    this.post = this.pool ? keepAlive(this.pool) : perConnection(origin);
    this.figures = { kind, seconds: 0, requests: 0, ok: 0, failed: 0, skipped: 0, reasons: {}, firstFailures: [] };
  }

  start(): void {
    this.started = Date.now();
    const periodMs = 1000 / this.iterationsPerSecond;
    let next = this.started;
    const tick = () => {
      const now = Date.now();
      while (next <= now) {
        next += periodMs;
        if (this.inFlight.size >= MAX_IN_FLIGHT) {
          this.figures.skipped += 1;
          continue;
        }
        const run = this.runIteration(this.iteration++).finally(() => this.inFlight.delete(run));
        this.inFlight.add(run);
      }
      this.timer = setTimeout(tick, Math.max(1, next - Date.now()));
    };
    tick();
  }

  async stop(): Promise<LoadFigures> {
    clearTimeout(this.timer);
    await Promise.all([...this.inFlight]);
    this.figures.seconds = Math.round((Date.now() - this.started) / 100) / 10;
    await this.pool?.close();
    return this.figures;
  }

  private fail(operation: string, reason: string): void {
    this.figures.failed += 1;
    const key = `${operation} ${reason}`;
    this.figures.reasons[key] = (this.figures.reasons[key] ?? 0) + 1;
    if (this.figures.firstFailures.length < 5) {
      this.figures.firstFailures.push(`${((Date.now() - this.started) / 1000).toFixed(1)} s: ${key}`);
    }
  }

  /** One request; true when the answer is a 200 carrying `field`. */
  private async call(operation: string, fields: Record<string, string>, forwardedFor: string, field: string) {
    this.figures.requests += 1;
    try {
      const answer = await this.post(`/${operation}`, fields, forwardedFor);
      const value = answer.body?.[field];
      if (answer.status === 200 && typeof value === 'string' && value.length > 0) {
        this.figures.ok += 1;
        return value;
      }
      this.fail(operation, `${answer.status} ${String(answer.body?.['error'] ?? 'no JSON error')}`);
    } catch (error) {
      this.fail(operation, errorReason(error));
    }
    return undefined;
  }

  private async runIteration(n: number): Promise<void> {
    const forwardedFor = `10.${this.addressBlock}.${(n >> 8) & 255}.${n & 255}`;
    const sealed = await this.call('swap', { code: `load-${this.addressBlock}-${n}` }, forwardedFor, 'refresh_token');
    if (sealed !== undefined) await this.call('refresh', { refresh_token: sealed }, forwardedFor, 'access_token');
  }
}

export function describeFigures(figures: LoadFigures): string {
  const reasons = Object.entries(figures.reasons)
    .map(([reason, count]) => `${count}× ${reason}`)
    .join(', ');
  const skipped = figures.skipped > 0 ? `, ${figures.skipped} iterations skipped (client at its in-flight cap)` : '';
  return (
    `${figures.kind}: ${figures.failed} failed of ${figures.requests} requests in ${figures.seconds} s` +
    `${reasons ? ` (${reasons})` : ''}${skipped}`
  );
}
