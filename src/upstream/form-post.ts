import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { UpstreamBadResponseError } from './upstream-errors.js';

/** What upstream answered to one POST. */
export interface UpstreamAnswer {
  status: number;
  text: string;
}

/** The attempt ran out of its time; the caller names the budget in its own error. */
export class AttemptTimedOut extends Error {
  constructor() {
    super('upstream attempt timed out');
    this.name = 'AttemptTimedOut';
  }
}

/**
 * One POST through undici's `dispatch` with a handler that keeps the body's chunks itself.
 * undici's `request()` adds, per call, an AsyncResource, a Readable for the body, an abort-signal
 * listener and the promise plumbing between them; for a few hundred bytes of JSON none of that is
 * needed (measured: see docs/performance.md). Settles once: the answer; AttemptTimedOut after
 * `timeoutMs` (the call is aborted, or not started if it still waits for a connection);
 * UpstreamBadResponseError past `maxBytes`; otherwise undici's error (connection refused, reset,
 * its own headers or body time-out).
 */
export function postForm(
  dispatcher: Dispatcher,
  request: { path: string; headers: Record<string, string>; body: string },
  timeoutMs: number,
  maxBytes: number,
  /** Told upstream's status and headers as soon as they arrive, even if the body then fails. */
  onHead: (status: number, headers: IncomingHttpHeaders) => void,
): Promise<UpstreamAnswer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let control: Dispatcher.DispatchController | undefined;
    let status = 0;
    let size = 0;
    const chunks: Buffer[] = [];
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
    };
    const timer = setTimeout(() => {
      fail(new AttemptTimedOut());
      control?.abort(new AttemptTimedOut());
    }, timeoutMs);

    try {
      dispatch();
    } catch (error) {
      fail(error as Error);
    }

    function dispatch(): void {
      dispatcher.dispatch(
        { path: request.path, method: 'POST', headers: request.headers, body: request.body },
        {
          onRequestStart(controller) {
            control = controller;
            if (settled) controller.abort(new AttemptTimedOut());
          },
          onResponseStart(_controller, statusCode, responseHeaders) {
            if (statusCode < 200) return; // an informational answer; the real one follows
            status = statusCode;
            onHead(statusCode, responseHeaders);
          },
          onResponseData(controller, chunk) {
            size += chunk.length;
            if (size > maxBytes) {
              const tooLarge = new UpstreamBadResponseError('response body too large');
              fail(tooLarge);
              controller.abort(tooLarge);
              return;
            }
            chunks.push(chunk);
          },
          onResponseEnd() {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
            resolve({ status, text });
          },
          onResponseError(_controller, error) {
            fail(error);
          },
        },
      );
    }
  });
}
