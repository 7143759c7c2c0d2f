import {
  context,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { TokenStateStore } from '../lifecycle/family-state.js';
import type { UpstreamOperation } from '../operations/token-operation.js';
import type { RefreshTokenSealer } from '../sealing/refresh-token-sealer.js';
import { UnsealError } from '../sealing/unseal-error.js';
import type { RateLimitStore } from '../throttling/rate-limit-store.js';
import type { CircuitState } from '../upstream/circuit-breaker.js';
import type { UpstreamOutcome } from '../upstream/upstream-errors.js';
import type { UpstreamAttemptWatch } from '../upstream/upstream-token-client.js';
import { ATTR } from './span-attributes.js';

/**
 * The child spans of a request: its rate-limit check (one Redis script, which also reads the
 * token family's state when Redis holds it), the family-state read when it is a read of its own,
 * unsealing and sealing, and each upstream attempt. Each part is wrapped once, at start, and only
 * when tracing is on: with it off the parts run as they are, with no per-request work added.
 * A span is made only inside a request whose span is recorded (sampled), never for start-up or
 * background work.
 */
export class OperationSpans {
  constructor(private readonly tracer: Tracer) {}

  private async inSpan<T>(
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    run: () => Promise<T>,
    describe: (span: Span, result: T) => void,
  ): Promise<T> {
    const parent = context.active();
    // Outside a request, or in a request the sampler left out: no span at all (a non-recording
    // child would cost the same work and export nothing).
    if (!trace.getSpan(parent)?.isRecording()) return run();
    const span = this.tracer.startSpan(name, { kind, attributes }, parent);
    try {
      const result = await context.with(trace.setSpan(parent, span), run);
      describe(span, result);
      return result;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      // The error's class name only: messages may one day carry request data.
      span.setAttribute(ATTR.errorType, error instanceof UnsealError ? error.reason : errorName(error));
      if (error instanceof UnsealError) span.setAttribute(ATTR.unsealFailure, error.reason);
      throw error;
    } finally {
      span.end();
    }
  }

  traceRateLimitStore(store: RateLimitStore, kind: 'redis' | 'memory'): void {
    const consume = store.consume.bind(store);
    store.consume = (checks, read) =>
      this.inSpan(
        'rate_limit.check',
        kind === 'redis' ? SpanKind.CLIENT : SpanKind.INTERNAL,
        {
          [ATTR.rateLimitStore]: kind,
          [ATTR.rateLimitThrottlers]: checks.map((check) => check.throttler),
          [ATTR.familyStatePrefetched]: read !== undefined,
        },
        () => consume(checks, read),
        (span, outcome) => {
          span.setAttribute(ATTR.rateLimitAllowed, outcome.allowed);
          if (!outcome.allowed) span.setAttribute(ATTR.rateLimitRefusedBy, outcome.throttler);
        },
      );
  }

  traceTokenStateStore(store: TokenStateStore): void {
    const read = store.read.bind(store);
    const recordGeneration = store.recordGeneration.bind(store);
    const revoke = store.revoke.bind(store);
    const recordMigration = store.recordMigration.bind(store);
    store.read = (family) =>
      this.inSpan(
        'family_state.read',
        SpanKind.INTERNAL,
        {},
        () => read(family),
        (span, record) => {
          span.setAttribute(ATTR.familyStateFound, record !== undefined);
          span.setAttribute(ATTR.familyStateRevoked, record?.revoked ?? false);
        },
      );
    store.recordGeneration = (...args) =>
      this.inSpan('family_state.record_generation', SpanKind.INTERNAL, {}, () => recordGeneration(...args), noFacts);
    store.recordMigration = (...args) =>
      this.inSpan('family_state.record_migration', SpanKind.INTERNAL, {}, () => recordMigration(...args), noFacts);
    store.revoke = (...args) =>
      this.inSpan('family_state.revoke', SpanKind.INTERNAL, {}, () => revoke(...args), noFacts);
  }

  traceSealer(sealer: RefreshTokenSealer): void {
    const open = sealer.open.bind(sealer);
    const seal = sealer.seal.bind(sealer);
    sealer.open = (sealed) =>
      this.inSpan(
        'unseal',
        SpanKind.INTERNAL,
        {},
        () => open(sealed),
        (span, token) => {
          span.setAttribute(ATTR.tokenFormat, token.format);
        },
      );
    sealer.seal = (refreshToken, lineage) =>
      this.inSpan('seal', SpanKind.INTERNAL, {}, () => seal(refreshToken, lineage), noFacts);
  }

  /** The upstream observer's attemptStarting: a client span per attempt, ended by observeUpstream. */
  upstreamAttempts(
    tokenUrl: URL,
  ): (operation: UpstreamOperation, attempt: number, circuit: CircuitState) => UpstreamAttemptWatch {
    const port = Number(tokenUrl.port || (tokenUrl.protocol === 'https:' ? 443 : 80));
    // The path only: the configured URL's query is not repeated.
    const constant = {
      [ATTR.httpMethod]: 'POST',
      [ATTR.serverAddress]: tokenUrl.hostname,
      [ATTR.serverPort]: port,
      [ATTR.urlPath]: tokenUrl.pathname,
    };
    const name = `POST ${tokenUrl.pathname}`;
    return (operation, attempt, circuit) => {
      const parent = context.active();
      if (!trace.getSpan(parent)?.isRecording()) return UNTRACED_ATTEMPT;
      const span = this.tracer.startSpan(
        name,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            ...constant,
            [ATTR.operation]: operation,
            [ATTR.upstreamAttempt]: attempt,
            [ATTR.circuitState]: circuit,
            ...(attempt > 1 ? { [ATTR.resendCount]: attempt - 1 } : {}),
          },
        },
        parent,
      );
      const { traceId, traceFlags } = span.spanContext();
      return {
        traceId: (traceFlags & TraceFlags.SAMPLED) !== 0 ? traceId : undefined,
        ended(outcome: UpstreamOutcome, status: number | undefined) {
          if (status !== undefined) span.setAttribute(ATTR.httpStatus, status);
          span.setAttribute(ATTR.upstreamOutcome, outcome);
          if (outcome !== 'success') {
            span.setStatus({ code: SpanStatusCode.ERROR });
            span.setAttribute(ATTR.errorType, status !== undefined ? String(status) : outcome);
          }
          span.end();
        },
      };
    };
  }
}

function noFacts(): void {}

/** An attempt of a request that is not traced: nothing to end, no exemplar. */
const UNTRACED_ATTEMPT: UpstreamAttemptWatch = { traceId: undefined, ended: () => undefined };

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
