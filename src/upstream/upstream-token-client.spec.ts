import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { UpstreamOperation } from '../operations/token-operation.js';
import { CircuitBreaker, DEFAULT_CIRCUIT } from './circuit-breaker.js';
import {
  UpstreamBadResponseError,
  UpstreamConnectionError,
  UpstreamRejectedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
  type UpstreamOutcome,
} from './upstream-errors.js';
import { UpstreamTokenClient, type UpstreamObserver } from './upstream-token-client.js';

// What the scripted upstream does with each call, in order; the last one repeats.
type Answer =
  | { status: number; body?: string; headers?: Record<string, string>; delayMs?: number }
  | 'reset-before-headers'
  | 'reset-mid-body'
  | 'hang';

const TOKENS = '{"access_token":"a","token_type":"Bearer","expires_in":3600}';
let script: Answer[] = [];
let calls = 0;
let server: Server;
let tokenUrl: URL;
const clients: UpstreamTokenClient[] = [];

function answer(request: IncomingMessage, response: ServerResponse): void {
  const next = script[Math.min(calls, script.length - 1)]!;
  calls += 1;
  request.resume();
  request.on('end', () => {
    if (next === 'hang') return;
    if (next === 'reset-before-headers') return void request.socket.resetAndDestroy();
    if (next === 'reset-mid-body') {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': TOKENS.length });
      response.write(TOKENS.slice(0, 10), () => request.socket.resetAndDestroy());
      return;
    }
    const send = () => {
      response.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
      response.end(next.body ?? (next.status === 200 ? TOKENS : '{"error":"server_error"}'));
    };
    if (next.delayMs) setTimeout(send, next.delayMs);
    else send();
  });
}

beforeAll(async () => {
  server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tokenUrl = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/token`);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  server.closeAllConnections();
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface Observed {
  attempts: { operation: UpstreamOperation; outcome: UpstreamOutcome; status: number | undefined }[];
  retries: UpstreamOperation[];
}

function client(answers: Answer[], options: { timeoutMs?: number; circuit?: CircuitBreaker } = {}) {
  script = answers;
  calls = 0;
  const observed: Observed = { attempts: [], retries: [] };
  const observer: UpstreamObserver = {
    observeUpstream: (operation, outcome, _seconds, status) => observed.attempts.push({ operation, outcome, status }),
    observeRetry: (operation) => observed.retries.push(operation),
  };
  const circuit = options.circuit ?? new CircuitBreaker(DEFAULT_CIRCUIT);
  const upstream = new UpstreamTokenClient(
    { tokenUrl, clientId: 'id', clientSecret: 'secret', upstreamTimeoutMs: options.timeoutMs ?? 3000 },
    observer,
    circuit,
    { canSeal: () => true },
  );
  clients.push(upstream);
  return { upstream, observed };
}

const REFRESH_FORM = { grant_type: 'refresh_token', refresh_token: 'r' };
const SWAP_FORM = { grant_type: 'authorization_code', code: 'c' };

describe('UpstreamTokenClient: one retry for a refresh', () => {
  it('retries a refresh once after a connection reset before the headers, and answers the second attempt', async () => {
    const { upstream, observed } = client(['reset-before-headers', { status: 200 }]);
    await expect(upstream.requestTokens('refresh', REFRESH_FORM)).resolves.toMatchObject({ accessToken: 'a' });
    expect(calls).toBe(2);
    expect(observed).toEqual({
      attempts: [
        { operation: 'refresh', outcome: 'error', status: undefined },
        { operation: 'refresh', outcome: 'success', status: 200 },
      ],
      retries: ['refresh'],
    });
  });

  it('retries a refresh whose answer was cut off mid-body', async () => {
    const { upstream, observed } = client(['reset-mid-body', { status: 200 }]);
    await expect(upstream.requestTokens('refresh', REFRESH_FORM)).resolves.toMatchObject({ accessToken: 'a' });
    expect(calls).toBe(2);
    expect(observed.retries).toEqual(['refresh']);
  });

  it('retries a refresh after a 502 and a 503, only once, and reports the last failure', async () => {
    for (const status of [502, 503]) {
      const { upstream, observed } = client([{ status }]);
      const failure = await upstream.requestTokens('refresh', REFRESH_FORM).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(UpstreamUnavailableError);
      expect((failure as UpstreamUnavailableError).retryAfterSeconds).toBe(5);
      expect({ status, calls }).toEqual({ status, calls: 2 });
      expect(observed.attempts.map((attempt) => attempt.status)).toEqual([status, status]);
      expect(observed.retries).toEqual(['refresh']);
    }
  });

  it('never retries a code exchange: one call after a reset, a cut-off answer or a 503', async () => {
    for (const first of ['reset-before-headers', 'reset-mid-body', { status: 503 }] as Answer[]) {
      const { upstream, observed } = client([
        first,
        { status: 200, body: `${TOKENS.slice(0, -1)},"refresh_token":"r"}` },
      ]);
      await expect(upstream.requestTokens('swap', SWAP_FORM)).rejects.toThrow();
      expect({ first, calls }).toEqual({ first, calls: 1 });
      expect(observed.retries).toEqual([]);
    }
  });

  it('does not retry after a time-out, a 429, a 500 or a 4xx', async () => {
    const cases: [Answer, unknown][] = [
      ['hang', UpstreamTimeoutError],
      [{ status: 429, headers: { 'retry-after': '1' } }, UpstreamUnavailableError],
      [{ status: 500 }, UpstreamUnavailableError],
      [{ status: 400, body: '{"error":"invalid_grant"}' }, UpstreamRejectedError],
    ];
    for (const [first, type] of cases) {
      const { upstream, observed } = client([first, { status: 200 }], { timeoutMs: 500 });
      const failure = await upstream.requestTokens('refresh', REFRESH_FORM).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(type);
      expect({ first, calls, retries: observed.retries }).toEqual({ first, calls: 1, retries: [] });
    }
  });

  it('does not retry a 503 whose Retry-After exceeds the budget, and passes that Retry-After on', async () => {
    const { upstream } = client([{ status: 503, headers: { 'retry-after': '30' } }, { status: 200 }]);
    const failure = await upstream.requestTokens('refresh', REFRESH_FORM).catch((error: unknown) => error);
    expect((failure as UpstreamUnavailableError).retryAfterSeconds).toBe(30);
    expect(calls).toBe(1);
  });

  it("waits a 503's Retry-After that fits in the budget, then retries", async () => {
    const { upstream } = client([{ status: 503, headers: { 'retry-after': '1' } }, { status: 200 }], {
      timeoutMs: 3000,
    });
    const started = performance.now();
    await expect(upstream.requestTokens('refresh', REFRESH_FORM)).resolves.toMatchObject({ accessToken: 'a' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect(calls).toBe(2);
  });

  it('does not retry when the first attempt left too little of the budget', async () => {
    // 500 ms budget, 300 ms spent: 200 ms left cannot hold 50-250 ms of wait and a 250 ms attempt.
    const { upstream } = client([{ status: 503, delayMs: 300 }, { status: 200 }], { timeoutMs: 500 });
    await expect(upstream.requestTokens('refresh', REFRESH_FORM)).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(calls).toBe(1);
  });

  it('keeps both attempts inside the one budget: a slow second attempt times out at the first deadline', async () => {
    const { upstream } = client(['reset-before-headers', 'hang'], { timeoutMs: 1000 });
    const started = performance.now();
    await expect(upstream.requestTokens('refresh', REFRESH_FORM)).rejects.toBeInstanceOf(UpstreamTimeoutError);
    expect(calls).toBe(2);
    // Generous: the whole call stays near one budget, not two.
    expect(performance.now() - started).toBeLessThan(1800);
  });

  it('counts each attempt in the circuit breaker, and does not retry once the circuit opened', async () => {
    let now = 0;
    const circuit = new CircuitBreaker({ ...DEFAULT_CIRCUIT, minimumCalls: 2 }, () => now);
    const { upstream } = client([{ status: 503 }], { circuit });
    // First call: two attempts, both failed, which opens the circuit (2 calls, 100 %).
    await expect(upstream.requestTokens('refresh', REFRESH_FORM)).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(calls).toBe(2);
    expect(circuit.refusal()).toBe(5);
    // After the open period, the probe fails: the circuit opens again and no retry follows.
    now += DEFAULT_CIRCUIT.openMs;
    calls = 0;
    await expect(upstream.requestTokens('refresh', REFRESH_FORM)).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(calls).toBe(1);
  });

  it('reports a cut-off answer as a connection error (502 at the edge)', async () => {
    const { upstream } = client(['reset-mid-body']);
    await expect(upstream.requestTokens('refresh', REFRESH_FORM)).rejects.toBeInstanceOf(UpstreamConnectionError);
    expect(calls).toBe(2);
  });
});

describe('UpstreamTokenClient: reading the answer', () => {
  it('reads an answer that arrives in many chunks', async () => {
    // 40 KiB of padding: several socket reads, still under the 64 KiB limit.
    const body = `${TOKENS.slice(0, -1)},"padding":"${'p'.repeat(40 * 1024)}"}`;
    const { upstream } = client([{ status: 200, body }]);
    await expect(upstream.requestTokens('refresh', REFRESH_FORM)).resolves.toMatchObject({ accessToken: 'a' });
  });

  it('refuses an answer over 64 KiB as a bad response, without a retry', async () => {
    const body = `${TOKENS.slice(0, -1)},"padding":"${'p'.repeat(64 * 1024)}"}`;
    const { upstream, observed } = client([{ status: 200, body }]);
    await expect(upstream.requestTokens('refresh', REFRESH_FORM)).rejects.toBeInstanceOf(UpstreamBadResponseError);
    expect(calls).toBe(1);
    expect(observed.attempts.map(({ outcome, status }) => ({ outcome, status }))).toEqual([
      { outcome: 'error', status: 200 },
    ]);
  });
});
