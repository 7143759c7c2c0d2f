/**
 * Sends one soak request (over a keep-alive pool, or raw bytes on a socket of its own), judges the
 * answer against the contract for the faults that touched it, and tallies it.
 */
import { Agent, request as httpRequest } from 'undici';
import { rawExchange, sendAndReset } from '../../test/support/raw-http.ts';
import { contractProblems, outcomeOf, type Answer } from './contract.ts';
import type { FaultTimeline } from './faults.ts';
import type { LeakDetector } from './gateway-watch.ts';
import type { SoakRequest } from './traffic.ts';

export interface OutsideSample {
  atSeconds: number;
  kind: string;
  request: string;
  outcome: string;
  allowed: string[];
  problems: string[];
  faults: string[];
  body: string;
}

export class Tally {
  sent = 0;
  answered = 0;
  disconnects = 0;
  skipped = 0;
  noAnswer = 0;
  unprescribed5xx = 0;
  outside = 0;
  readonly outsideSamples: OutsideSample[] = [];
  /** `METHOD path` → `status error` → count */
  readonly byRoute = new Map<string, Map<string, number>>();
  readonly byKind = new Map<string, Map<string, number>>();
  readonly byStatus = new Map<string, number>();
  readonly outsideByKind = new Map<string, number>();

  count(table: Map<string, Map<string, number>>, row: string, column: string): void {
    const counts = table.get(row) ?? new Map<string, number>();
    counts.set(column, (counts.get(column) ?? 0) + 1);
    table.set(row, counts);
  }
}

const REQUEST_TIMEOUT_MS = 15_000;

export class SoakEngine {
  private readonly agent = new Agent({
    connections: 256,
    keepAliveTimeout: 10_000,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  inFlight = 0;
  private readonly baseUrl: string;
  private readonly timeline: FaultTimeline;
  private readonly tally: Tally;
  private readonly detector: LeakDetector;
  private readonly staticSecrets: string[];
  private readonly runStart: number;

  constructor(
    baseUrl: string,
    timeline: FaultTimeline,
    tally: Tally,
    detector: LeakDetector,
    staticSecrets: string[],
    runStart: number,
  ) {
    this.baseUrl = baseUrl;
    this.timeline = timeline;
    this.tally = tally;
    this.detector = detector;
    this.staticSecrets = staticSecrets;
    this.runStart = runStart;
  }

  async send(request: SoakRequest): Promise<void> {
    this.inFlight += 1;
    this.tally.sent += 1;
    const sentAt = performance.now();
    try {
      if (request.resetAfterMs !== undefined) {
        await sendAndReset(this.baseUrl, rawText(request), request.resetAfterMs);
        this.tally.disconnects += 1;
        this.tally.count(this.tally.byKind, request.kind, 'reset by the client');
        return;
      }
      let answer: Answer | undefined;
      let failure = '';
      try {
        answer = await this.exchange(request);
      } catch (error) {
        failure = (error as { code?: string }).code ?? (error as Error).name;
      }
      this.judge(request, sentAt, performance.now(), answer, failure);
    } finally {
      this.inFlight -= 1;
    }
  }

  private async exchange(request: SoakRequest): Promise<Answer> {
    if (request.raw !== undefined) {
      const raw = await rawExchange(this.baseUrl, (socket) => void socket.write(request.raw!), REQUEST_TIMEOUT_MS);
      if (raw.status === undefined) throw Object.assign(new Error('closed without answer'), { code: 'NO_ANSWER' });
      return { status: raw.status, headers: raw.headers, body: raw.body };
    }
    const response = await httpRequest(`${this.baseUrl}${request.path}`, {
      method: request.method as 'POST',
      headers: request.headers,
      body: request.body,
      dispatcher: this.agent,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
  }

  private judge(request: SoakRequest, sentAt: number, answeredAt: number, answer: Answer | undefined, failure: string) {
    const tally = this.tally;
    const context = {
      upstream: this.timeline.upstreamFaults(sentAt, answeredAt),
      redisTouched: this.timeline.redisTouched(sentAt, answeredAt),
    };
    const allowed = request.allowed(context);
    const route = `${request.raw !== undefined ? 'raw' : request.method} ${request.path}`;
    let outcome: string;
    let problems: string[];
    if (answer) {
      tally.answered += 1;
      outcome = outcomeOf(answer);
      problems = contractProblems(answer, {
        // Raw bytes carry no id of ours: the server must make one.
        sentRequestId: request.raw === undefined ? request.headers['x-request-id'] : undefined,
        requestSecrets: request.secrets,
        staticSecrets: this.staticSecrets,
      });
    } else {
      tally.noAnswer += 1;
      outcome = `no answer (${failure})`;
      problems = ['no answer'];
    }
    tally.count(tally.byRoute, route, outcome);
    tally.count(tally.byKind, request.kind, outcome);
    const status = outcome.split(' ')[0]!;
    tally.byStatus.set(status, (tally.byStatus.get(status) ?? 0) + 1);
    const inside = allowed.has(outcome) && problems.length === 0;
    if (answer && answer.status >= 500 && !allowed.has(outcome)) tally.unprescribed5xx += 1;
    if (!inside) {
      tally.outside += 1;
      tally.outsideByKind.set(request.kind, (tally.outsideByKind.get(request.kind) ?? 0) + 1);
      if (tally.outsideSamples.length < 10) {
        const body = answer?.body.slice(0, 300) ?? '';
        tally.outsideSamples.push({
          atSeconds: Math.round((sentAt - this.runStart) / 100) / 10,
          kind: request.kind,
          request: `${route} (${request.headers['content-type'] ?? 'no content type'})`,
          outcome,
          allowed: [...allowed],
          problems,
          faults: [...context.upstream, ...(context.redisTouched ? ['redisDown'] : [])],
          body: this.detector.find(body) ? '(withheld: holds a secret)' : body,
        });
      }
    }
    request.settle?.(answer ? outcome : undefined, answer, sentAt);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function rawText(request: SoakRequest): string {
  const body = request.body ?? '';
  const headers = { host: 'gateway.soak', ...request.headers, 'content-length': String(Buffer.byteLength(body)) };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `${request.method} ${request.path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}
