import { Server as NetServer } from 'node:net';
import type { Server } from 'node:http';

/**
 * The public listener's shutdown, for keep-alive clients. Node's http `server.close()` (which
 * `app.close()` calls) closes every idle keep-alive connection at once; a client that writes a
 * request on one of them at that moment gets a reset, and a POST is not retried by clients. So on
 * SIGTERM the gateway first stops accepting (the preStop hook has already taken the pod out of
 * the Service), then, for at most KEEP_ALIVE_DRAIN_MS or until no connection is left, answers
 * every request with `Connection: close` (http-edge.ts), so each busy keep-alive connection is
 * closed by its own last answer and the client opens its next one elsewhere. What is still idle
 * after that (a connection the client has not used for that long) is closed by `app.close()`.
 * Measured by `npm run test:k8s` (docs/kubernetes-tests.md).
 */
export const KEEP_ALIVE_DRAIN_MS = 2000;
const POLL_MS = 50;

const draining = new WeakSet<Server>();

/** From now on every answer of this server closes its connection. */
export function startDraining(server: Server): void {
  draining.add(server);
}

export function isDraining(server: Server): boolean {
  return draining.has(server);
}

function openConnections(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count)));
}

async function connectionsGone(server: Server, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline && (await openConnections(server)) > 0) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Stops accepting connections but keeps the open ones (net.Server's close: http's own would close
 * the idle ones too), lets busy keep-alive connections close with their answers for at most
 * `drainMs`, closes those still idle, and resolves once in-flight requests have finished and no
 * connection is left. The caller bounds the whole (start-gateway.ts: its shutdown deadline).
 */
export async function drainConnections(server: Server, drainMs = KEEP_ALIVE_DRAIN_MS): Promise<void> {
  startDraining(server);
  if (server.listening) NetServer.prototype.close.call(server);
  await connectionsGone(server, drainMs);
  server.closeIdleConnections();
  await connectionsGone(server, Number.POSITIVE_INFINITY);
}
