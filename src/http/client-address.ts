import { BlockList, isIP } from 'node:net';
import type { TrustProxy } from '../config/gateway-config.js';

/**
 * An address as a proxy may write it in X-Forwarded-For, reduced to the bare IP: brackets and a
 * port are dropped (`[2001:db8::7]:443`, `198.51.100.7:40000`), and so is an IPv6 zone id
 * (`fe80::1%eth0`); an IPv4-mapped IPv6 address becomes IPv4. Anything else that is not an IP address is undefined.
 */
export function bareAddress(entry: string): string | undefined {
  let address = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(address);
  if (bracketed) address = bracketed[1]!;
  else if (/^[\d.]+:\d{1,5}$/.test(address)) address = address.slice(0, address.indexOf(':'));
  // A zone id (`fe80::1%eth0`) names an interface of the proxy's host: meaningless here, and free
  // text a client's proxy would copy into our logs and buckets.
  const zoneless = address.replace(/%.*$/s, '');
  if (zoneless !== address && isIP(zoneless) === 6) address = zoneless;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) address = mapped[1]!;
  return isIP(address) === 0 ? undefined : address;
}

/**
 * The client's address from the socket's and X-Forwarded-For (DESIGN §4). Hops are taken from the
 * right: starting at the socket, while the current hop is a trusted proxy (listed in TRUST_PROXY,
 * or within its hop count) the entry before it is taken. A hop that is not an IP address ends the
 * walk at the socket's address: a made-up value never becomes a bucket or a log value. Undefined
 * when the socket has no address (the client is already gone).
 */
export function clientAddressResolver(
  trust: TrustProxy,
): (socketAddress: string | undefined, forwardedFor: string | string[] | undefined) => string | undefined {
  const isTrusted = trustedProxyTest(trust);
  return (socketAddress, forwardedFor) => {
    const socket = socketAddress === undefined ? undefined : bareAddress(socketAddress);
    if (socket === undefined || trust === false) return socket;
    const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '');
    const hops = header === '' ? [] : header.split(',').reverse();
    let address = socket;
    for (let index = 0; index < hops.length && isTrusted(address, index); index++) {
      const previous = bareAddress(hops[index]!);
      if (previous === undefined) return socket;
      address = previous;
    }
    return address;
  };
}

/**
 * Whether TRUST_PROXY trusts `address` as the proxy at `hop` (0: the socket's peer), for a bare
 * address (see bareAddress).
 */
export function trustedProxyTest(trust: TrustProxy): (address: string, hop: number) => boolean {
  if (trust === false) return () => false;
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  const blocks = new BlockList();
  for (const entry of trust) {
    const [address = '', prefix] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    blocks.addSubnet(address, prefix === undefined ? (type === 'ipv6' ? 128 : 32) : Number(prefix), type);
  }
  return (address) => blocks.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}
