import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isIP } from 'node:net';
import { bareAddress, clientAddressResolver } from './client-address.js';

describe('bareAddress', () => {
  it('drops ports and brackets and maps IPv4-mapped IPv6 to IPv4', () => {
    expect(bareAddress(' 198.51.100.7 ')).toBe('198.51.100.7');
    expect(bareAddress('198.51.100.7:40000')).toBe('198.51.100.7');
    expect(bareAddress('[2001:db8::7]')).toBe('2001:db8::7');
    expect(bareAddress('[2001:db8::7]:443')).toBe('2001:db8::7');
    expect(bareAddress('2001:db8::7')).toBe('2001:db8::7');
    expect(bareAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
  });

  it('drops an IPv6 zone id, whatever text it holds, and refuses one on IPv4', () => {
    expect(bareAddress('fe80::1%eth0')).toBe('fe80::1');
    expect(bareAddress('fe80::1%anything goes here {"x":1}')).toBe('fe80::1');
    expect(bareAddress('[fe80::1%25eth0]:443')).toBe('fe80::1');
    expect(bareAddress('198.51.100.7%eth0')).toBeUndefined();
    fc.assert(
      fc.property(fc.string(), (zone) => {
        const address = bareAddress(`fe80::1%${zone}`);
        expect(address === undefined || !address.includes('%')).toBe(true);
      }),
    );
  });

  it('refuses what is not an address', () => {
    for (const entry of ['unknown', '', '198.51.100.7:', '1.2.3', '[1.2.3.4', 'example.com:80', '_hidden'])
      expect(bareAddress(entry)).toBeUndefined();
  });

  it('returns an IP address or undefined for any input', () => {
    fc.assert(
      fc.property(fc.string(), (entry) => {
        const address = bareAddress(entry);
        expect(address === undefined || isIP(address) !== 0).toBe(true);
      }),
    );
  });
});

describe('clientAddressResolver', () => {
  it('uses the socket address when no proxy is trusted', () => {
    expect(clientAddressResolver(false)('10.0.0.1', '198.51.100.7')).toBe('10.0.0.1');
  });

  it('has no address for a socket without one', () => {
    expect(clientAddressResolver(1)(undefined, '198.51.100.7')).toBeUndefined();
  });

  it('walks back from the right over trusted CIDRs and takes the first untrusted hop', () => {
    const resolve = clientAddressResolver(['127.0.0.1', '10.0.0.0/8']);
    expect(resolve('127.0.0.1', '1.1.1.1, 198.51.100.7, 10.1.1.1')).toBe('198.51.100.7');
    expect(resolve('203.0.113.1', '198.51.100.7')).toBe('203.0.113.1');
    expect(resolve('::ffff:127.0.0.1', '198.51.100.7:1234')).toBe('198.51.100.7');
    // A hop that is not an address ends the walk at the socket.
    expect(resolve('127.0.0.1', '198.51.100.7, garbage')).toBe('127.0.0.1');
  });

  it('trusts a hop count: the socket and that many minus one forwarded entries', () => {
    expect(clientAddressResolver(1)('10.0.0.1', '203.0.113.9, 198.51.100.1')).toBe('198.51.100.1');
    expect(clientAddressResolver(2)('10.0.0.1', '203.0.113.9, 198.51.100.1')).toBe('203.0.113.9');
    // Fewer entries than hops: the left-most one.
    expect(clientAddressResolver(3)('10.0.0.1', '198.51.100.1')).toBe('198.51.100.1');
    expect(clientAddressResolver(1)('10.0.0.1', undefined)).toBe('10.0.0.1');
    expect(clientAddressResolver(1)('10.0.0.1', ['203.0.113.9', '198.51.100.1'])).toBe('198.51.100.1');
  });
});
