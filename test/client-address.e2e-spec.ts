import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startFakeAccounts, type FakeAccounts } from './fake-accounts/index.ts';
import { CLIENT_ID, CLIENT_SECRET, upstreamEnv } from './support/gateway-fixture.ts';
import { newKeyEntry, startGateway, type GatewayProcess } from './support/gateway-process.ts';
import { post } from './support/http-client.ts';
import { formPost, sendAndReset } from './support/raw-http.ts';

let fake: FakeAccounts;
const gateways: GatewayProcess[] = [];

beforeAll(async () => {
  fake = await startFakeAccounts({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  fake.state.acceptAnyCode = true;
});
afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await fake?.close();
});

// In-memory limits (no REDIS_URL): each gateway starts with empty buckets.
async function gateway(env: Record<string, string>): Promise<GatewayProcess> {
  const started = await startGateway({
    ...upstreamEnv(fake),
    TOKEN_ENCRYPTION_KEYS: newKeyEntry('addr'),
    LOG_LEVEL: 'debug',
    ...env,
  });
  gateways.push(started);
  return started;
}

const swapFrom = (gw: GatewayProcess, xff: string) =>
  post(`${gw.url}/swap`, { code: 'c' }, { headers: { 'x-forwarded-for': xff } }).then((result) => result.status);

describe('a client that resets its connection right after sending', () => {
  it('is counted against its address: its swaps never reach upstream beyond the limit, and none is a server error', async () => {
    const gw = await gateway({ RATE_LIMIT_SWAP_PER_IP: '5/1m' });
    fake.reset();
    fake.state.acceptAnyCode = true;
    await Promise.all(
      Array.from({ length: 40 }, (_, index) => sendAndReset(gw.url, formPost('/swap', `code=reset-${index}`))),
    );
    // Let the gateway finish whatever it started for them.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(fake.calls.authorizationCode).toBeLessThanOrEqual(5);

    await gw.stop();
    const logs = gw.logs();
    expect(logs.filter((line) => line.level === 'error' || line.level === 'fatal')).toEqual([]);
    // How many of them the gateway still saw as aborted depends on timing (the next test pins
    // that accounting); each one it did is a client outcome at debug.
    const aborted = logs.filter((line) => line.outcome === 'client_aborted');
    for (const line of aborted) {
      expect(line).toMatchObject({ level: 'debug', route: '/swap' });
      // A connection reset before it was even accepted has no address left to read: such a
      // request is refused, never waved through without a bucket.
      expect([undefined, '127.0.0.1']).toContain(line.clientIp);
    }
  });

  it('is accounted once as client_aborted, at debug, when it resets while the gateway waits for upstream', async () => {
    const gw = await gateway({});
    fake.reset();
    fake.state.acceptAnyCode = true;
    fake.state.delayMs = 1500;
    await sendAndReset(gw.url, formPost('/swap', 'code=reset-while-waiting'), 300);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    fake.reset();
    fake.state.acceptAnyCode = true;
    await gw.stop();
    const lines = gw.logs().filter((line) => line.route === '/swap');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'debug', outcome: 'client_aborted', clientIp: '127.0.0.1' });
  });
});

describe('TRUST_PROXY', () => {
  it('as a hop count takes the address that many hops back, so clients behind one load balancer get their own buckets', async () => {
    const gw = await gateway({ RATE_LIMIT_SWAP_PER_IP: '1/1m', TRUST_PROXY: '1' });
    expect(await swapFrom(gw, '198.51.100.1')).toBe(200);
    expect(await swapFrom(gw, '198.51.100.2')).toBe(200);
    expect(await swapFrom(gw, '203.0.113.9, 198.51.100.1')).toBe(429);
    // Two hops trusted: the entry before the last one.
    const two = await gateway({ RATE_LIMIT_SWAP_PER_IP: '1/1m', TRUST_PROXY: '2' });
    expect(await swapFrom(two, '198.51.100.3, 10.0.0.1')).toBe(200);
    expect(await swapFrom(two, '198.51.100.4, 10.0.0.1')).toBe(200);
    expect(await swapFrom(two, '198.51.100.3, 10.0.0.2')).toBe(429);
  });

  it('reads a forwarded address with a port or brackets as the address itself, and ignores one that is not an address', async () => {
    const gw = await gateway({ RATE_LIMIT_SWAP_PER_IP: '1/1m', TRUST_PROXY: '127.0.0.1' });
    expect(await swapFrom(gw, '198.51.100.7')).toBe(200);
    expect(await swapFrom(gw, '198.51.100.7:40000')).toBe(429);
    expect(await swapFrom(gw, '[2001:db8::7]')).toBe(200);
    expect(await swapFrom(gw, '[2001:db8::7]:443')).toBe(429);
    // Not an address: the socket's (127.0.0.1) is used, one bucket for all such requests.
    expect(await swapFrom(gw, 'unknown')).toBe(200);
    expect(await swapFrom(gw, 'not-an-ip')).toBe(429);
    expect(await post(`${gw.url}/swap`, { code: 'c' }).then((result) => result.status)).toBe(429);

    await gw.stop();
    const clientIps = new Set(gw.logs().flatMap((line) => (line.route === '/swap' ? [line.clientIp] : [])));
    expect(clientIps).toEqual(new Set(['198.51.100.7', '2001:db8::7', '127.0.0.1']));
  });
});
