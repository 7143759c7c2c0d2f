import type { FakeContext } from './fake-context.ts';
import type { Reply } from './replies.ts';
import { invalidRequest, jsonReply } from './replies.ts';
import type { FakeAccountsState } from './state.ts';
import { defaultState, isFakeMode } from './state.ts';

/** GET /__control: the switches, the call counts and the last token request. */
export function answerControlRead(context: FakeContext): Reply {
  return jsonReply(200, {
    state: context.state,
    calls: context.traffic.calls,
    lastRequest: context.traffic.lastRequest ?? null,
  });
}

/** POST /__control with a JSON object of switches to change; the others stay as they are. */
export function answerControlWrite(context: FakeContext, body: string): Reply {
  const patch = parseStatePatch(body);
  if (typeof patch === 'string') return invalidRequest(patch);
  Object.assign(context.state, patch);
  return answerControlRead(context);
}

/** POST /__control/reset: the in-process reset(), for a fake in another process. */
export function answerControlReset(context: FakeContext): Reply {
  resetSwitchesAndCounters(context);
  return answerControlRead(context);
}

export function resetSwitchesAndCounters(context: FakeContext): void {
  Object.assign(context.state, defaultState());
  context.traffic.reset();
}

/** The validated patch, or a description of what is wrong with it. */
function parseStatePatch(body: string): Partial<FakeAccountsState> | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'body must be JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'body must be a JSON object';
  const patch: Partial<FakeAccountsState> = {};
  for (const [field, value] of Object.entries(parsed)) {
    switch (field) {
      case 'mode':
        if (!isFakeMode(value)) return `unknown mode ${JSON.stringify(value)}`;
        patch.mode = value;
        break;
      case 'delayMs':
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return 'delayMs must be a number >= 0';
        patch.delayMs = value;
        break;
      case 'refreshTokenLength':
        if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
          return 'refreshTokenLength must be an integer >= 0';
        patch.refreshTokenLength = value;
        break;
      case 'failuresLeft':
        if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
          return 'failuresLeft must be an integer >= 0';
        patch.failuresLeft = value;
        break;
      case 'retryAfter':
        if (value !== null && typeof value !== 'string') return 'retryAfter must be a string or null';
        patch.retryAfter = value;
        break;
      case 'rotateRefreshTokens':
      case 'expiresInAsString':
      case 'acceptAnyCode':
        if (typeof value !== 'boolean') return `${field} must be a boolean`;
        patch[field] = value;
        break;
      default:
        return `unknown field ${field}`;
    }
  }
  return patch;
}
