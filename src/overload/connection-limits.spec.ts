import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { connectionGroup } from './connection-limits.js';

describe('connectionGroup', () => {
  it('counts IPv4 by address and IPv6 by its /64, whatever the spelling', () => {
    expect(connectionGroup('198.51.100.7')).toBe('198.51.100.7');
    expect(connectionGroup('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(connectionGroup('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(connectionGroup('2001:0DB8:0001:0002:ffff::1')).toBe('2001:db8:1:2::/64');
    expect(connectionGroup('::1')).toBe('0:0:0:0::/64');
    expect(connectionGroup('2001:db8::')).toBe('2001:db8:0:0::/64');
    expect(connectionGroup('64:ff9b::198.51.100.7')).toBe('64:ff9b:0:0::/64');
    expect(connectionGroup('not an address')).toBeUndefined();
  });

  it('puts every address of one /64 in one group and addresses of two /64s in two', () => {
    const group = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 4, maxLength: 4 });
    fc.assert(
      fc.property(group, group, group, (prefix, a, b) => {
        const hex = (groups: number[]) => groups.map((value) => value.toString(16)).join(':');
        expect(connectionGroup(`${hex(prefix)}:${hex(a)}`)).toBe(connectionGroup(`${hex(prefix)}:${hex(b)}`));
        const other = [...prefix.slice(0, 3), (prefix[3]! + 1) % 0x10000];
        expect(connectionGroup(`${hex(other)}:${hex(a)}`)).not.toBe(connectionGroup(`${hex(prefix)}:${hex(a)}`));
      }),
    );
  });
});
