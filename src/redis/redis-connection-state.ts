import type { GatewayRedis } from './redis-client.js';

/** Label values of token_swap_redis_connection_state{state}. */
export const REDIS_CONNECTION_STATES = ['connecting', 'connected', 'reconnecting'] as const;
export type RedisConnectionState = (typeof REDIS_CONNECTION_STATES)[number];

/** Where the connection reports its state (metrics implement it; redis/ knows no observability code). */
export interface RedisConnectionObserver {
  /** The state now: connecting (never ready yet), connected, or reconnecting (ready before, lost since). */
  connectionState(state: RedisConnectionState): void;
  /** The connection is ready again after a loss: a restart, a network cut, a failover. */
  reconnected(): void;
}

/** What the log needs to say about the connection's changes. */
export interface RedisConnectionLog {
  lost(): void;
  /** `endpoint` is the server now connected (host:port), when the topology has one. */
  restored(endpoint: string | undefined, changed: boolean): void;
}

// The server a standalone or Sentinel connection is on; a Cluster spans several.
function endpointOf(connection: GatewayRedis): string | undefined {
  const stream = 'stream' in connection ? connection.stream : undefined;
  return stream?.remoteAddress ? `${stream.remoteAddress}:${stream.remotePort}` : undefined;
}

/**
 * Follows the connection's events and reports its state. A Sentinel failover shows as a loss and
 * a reconnection to another endpoint; a Cluster reports as a whole (ready while ioredis can route
 * commands), since the loss of one node is answered by MOVED and a slots refresh.
 */
export function watchRedisConnection(
  connection: GatewayRedis,
  observer: RedisConnectionObserver,
  log: RedisConnectionLog,
): { stop(): void } {
  let everReady = false;
  let connected = false;
  let lastEndpoint: string | undefined;
  observer.connectionState('connecting');
  connection.on('ready', () => {
    const endpoint = endpointOf(connection);
    if (everReady && !connected) {
      observer.reconnected();
      log.restored(endpoint, lastEndpoint !== undefined && endpoint !== lastEndpoint);
    }
    everReady = true;
    connected = true;
    lastEndpoint = endpoint;
    observer.connectionState('connected');
  });
  const onLoss = () => {
    if (connected) log.lost();
    connected = false;
    observer.connectionState(everReady ? 'reconnecting' : 'connecting');
  };
  connection.on('close', onLoss);
  connection.on('reconnecting', onLoss);
  return {
    // At shutdown the connection closes on purpose: no loss to report.
    stop() {
      connection.removeListener('close', onLoss);
      connection.removeListener('reconnecting', onLoss);
    },
  };
}
