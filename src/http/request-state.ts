import type { IncomingMessage } from 'node:http';
import type { UnsealFailureReason } from '../sealing/unseal-error.js';
import type { TokenOperation } from '../tokens/token-operation.js';
import type { UpstreamCallRecord } from '../upstream/upstream-token-client.js';
import type { RequestOutcome } from './wire-errors.js';

/**
 * What the gateway learned about one request, for its log line and metrics. Kept on the Node
 * request so the Fastify hooks, Nest's handlers and pino-http all see the same object.
 */
export interface RequestState {
  /** Route template, e.g. `/v1/swap`; `unmatched` when no route matched. */
  route: string;
  clientIp: string;
  operation?: TokenOperation;
  outcome?: RequestOutcome;
  unsealFailure?: UnsealFailureReason;
  /** The throttler that refused the request, if one did. */
  throttler?: string;
  upstream: UpstreamCallRecord;
}

const STATE = Symbol('tokenSwapRequestState');
type WithState = IncomingMessage & { [STATE]?: RequestState };

export function requestState(raw: IncomingMessage): RequestState {
  const holder = raw as WithState;
  return (holder[STATE] ??= { route: 'unmatched', clientIp: '', upstream: {} });
}
