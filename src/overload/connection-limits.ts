import type { Server } from 'node:http';
import { isIP, type Socket } from 'node:net';
import type { TrustProxy } from '../config/gateway-config.js';
import { bareAddress, trustedProxyTest } from '../http/client-address.js';

/**
 * A new connection that has sent no byte after this long is closed (DESIGN §10): a request's first
 * bytes follow the TCP handshake by one round trip, 3 s covers the slowest mobile link, and an idle
 * connection no longer holds a slot until the 10 s request timeout.
 */
export const FIRST_BYTE_TIMEOUT_MS = 3000;

/** Why a connection was closed by these limits: label values of token_swap_connections_refused_total. */
export const CONNECTION_REFUSALS = ['per_ip_limit', 'sent_nothing'] as const;
export type ConnectionRefusal = (typeof CONNECTION_REFUSALS)[number];

export interface ConnectionLimits {
  /** MAX_CONNECTIONS_PER_IP; 0: off. */
  maxPerIp: number;
  /** TRUST_PROXY: a proxy's address carries many clients and is never capped. */
  trustProxy: TrustProxy;
}

/**
 * The group a connection is counted under, for a bare address (see bareAddress): IPv4 as it is,
 * IPv6 by its /64 (one subscriber's network: who holds one address holds the 2^64 around it).
 */
export function connectionGroup(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) return address;
  if (family !== 6) return undefined;
  return `${expandIpv6(address).slice(0, 4).join(':')}::/64`;
}

function expandIpv6(address: string): string[] {
  let text = address.toLowerCase();
  // An embedded IPv4 tail (such as 64:ff9b::1.2.3.4; bareAddress made ::ffff:… IPv4) becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => group.replace(/^0+(?=.)/, ''));
}

/**
 * One client cannot hold the listener (DESIGN §10): a connection beyond MAX_CONNECTIONS_PER_IP of
 * its address is closed as it opens, and a connection that sends nothing within
 * FIRST_BYTE_TIMEOUT_MS is closed. Both are reported to `refused`.
 */
export function limitConnections(
  server: Server,
  limits: ConnectionLimits,
  refused: (reason: ConnectionRefusal) => void,
): void {
  const isProxy = trustedProxyTest(limits.trustProxy);
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = limits.maxPerIp > 0 && socket.remoteAddress ? bareAddress(socket.remoteAddress) : undefined;
    const group = address !== undefined && !isProxy(address, 0) ? connectionGroup(address) : undefined;
    if (group !== undefined) {
      const count = open.get(group) ?? 0;
      if (count >= limits.maxPerIp) {
        refused('per_ip_limit');
        socket.destroy();
        return;
      }
      open.set(group, count + 1);
    }
    const silence = setTimeout(() => {
      if (socket.bytesRead > 0) return;
      refused('sent_nothing');
      socket.destroy();
    }, FIRST_BYTE_TIMEOUT_MS);
    silence.unref();
    socket.once('close', () => {
      clearTimeout(silence);
      if (group === undefined) return;
      const left = open.get(group)! - 1;
      if (left === 0) open.delete(group);
      else open.set(group, left);
    });
  });
}
