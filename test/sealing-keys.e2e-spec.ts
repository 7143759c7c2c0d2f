import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CompactEncrypt } from 'jose';
import { createSecretKey } from 'node:crypto';
import { newKeyEntry } from './support/gateway-process.ts';
import {
  allGatewayLines,
  CLIENT_ID,
  leakedSecrets,
  startFixture,
  type GatewayFixture,
} from './support/gateway-fixture.ts';

/** Seals like the gateway does, with the test's copy of a key, to build tokens the gateway must refuse. */
async function sealAs(
  keyEntry: string,
  payload: Record<string, unknown>,
  extraHeader: Record<string, string> = {},
): Promise<string> {
  const [kid, encoded] = keyEntry.split(':') as [string, string];
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid, ...extraHeader })
    .encrypt(createSecretKey(Buffer.from(encoded, 'base64url')));
}

/** The value of one series in the gateway's /metrics, 0 when absent. */
async function metric(series: string): Promise<number> {
  const exposition = await (await fetch(`${fx.gateway.opsUrl}/metrics`)).text();
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

let fx: GatewayFixture;
// Every /refresh this suite sends, so the log check can tell that their request lines were written.
let refreshCalls = 0;
const refresh = (token: string) => {
  refreshCalls++;
  return fx.call('/refresh', { refresh_token: token });
};
beforeAll(async () => {
  fx = await startFixture({ REFRESH_TOKEN_MAX_AGE: '1h' });
});
afterAll(async () => {
  await fx?.close();
});

describe('sealed refresh tokens across keys and clients', () => {
  it('refuses a token of another client, an over-age one and one under an unknown kid, none reaching upstream', async () => {
    const key = fx.keyEntries[0]!;
    const upstreamToken = fx.fake.issueRefreshToken();
    fx.secrets.add(upstreamToken);
    const now = Math.floor(Date.now() / 1000);
    const valid = await sealAs(key, { v: 1, rt: upstreamToken, cid: CLIENT_ID, iat: now });
    const otherClient = await sealAs(key, { v: 1, rt: upstreamToken, cid: 'another-client', iat: now });
    const overAge = await sealAs(key, { v: 1, rt: upstreamToken, cid: CLIENT_ID, iat: now - 3601 });
    const unknownKid = await sealAs(newKeyEntry('never-configured'), {
      v: 1,
      rt: upstreamToken,
      cid: CLIENT_ID,
      iat: now,
    });
    for (const token of [valid, otherClient, overAge, unknownKid]) fx.secrets.add(token);

    expect((await refresh(valid)).status).toBe(200);
    fx.fake.reset();
    for (const token of [otherClient, overAge, unknownKid]) {
      const result = await refresh(token);
      expect({ status: result.status, error: result.json.error }).toEqual({ status: 400, error: 'invalid_grant' });
    }
    expect(fx.fake.calls.total).toBe(0);
  });

  it('refuses an authentic token whose header asks for compression (zip), as malformed, without reaching upstream', async () => {
    const key = fx.keyEntries[0]!;
    const upstreamToken = fx.fake.issueRefreshToken();
    fx.secrets.add(upstreamToken);
    const payload = { v: 1, rt: upstreamToken, cid: CLIENT_ID, iat: Math.floor(Date.now() / 1000) };
    const compressed = await sealAs(key, payload, { zip: 'DEF' });
    fx.secrets.add(compressed);
    const malformed = 'token_swap_unseal_failures_total{reason="malformed",app="default"}';
    const before = await metric(malformed);
    fx.fake.reset();

    const result = await refresh(compressed);
    expect({ status: result.status, error: result.json.error }).toEqual({ status: 400, error: 'invalid_grant' });
    expect(fx.fake.calls.total).toBe(0);
    expect(await metric(malformed)).toBe(before + 1);
  });

  it('keeps refreshing a token sealed under key A after B is prepended, and refuses it once A is removed', async () => {
    const keyA = fx.keyEntries[0]!;
    const sealedUnderA = await fx.sealedToken();
    const keyB = newKeyEntry('e2e-key-2');

    await fx.restart({ TOKEN_ENCRYPTION_KEYS: `${keyB},${keyA}` });
    const stillWorks = await refresh(sealedUnderA);
    expect(stillWorks.status).toBe(200);
    const sealedUnderB = await fx.sealedToken();
    expect(JSON.parse(Buffer.from(sealedUnderB.split('.')[0]!, 'base64url').toString()).kid).toBe('e2e-key-2');

    await fx.restart({ TOKEN_ENCRYPTION_KEYS: keyB });
    const refused = await refresh(sealedUnderA);
    expect({ status: refused.status, error: refused.json.error }).toEqual({ status: 400, error: 'invalid_grant' });
    expect((await refresh(sealedUnderB)).status).toBe(200);
  });

  it('logged none of the secrets of these runs', async () => {
    // Stopped first: log lines are written in batches, and a graceful stop writes out the rest.
    await fx.gateway.stop();
    // The check means something only if the request lines were written: one per /refresh sent.
    const requestLines = allGatewayLines(fx).flatMap((line) => {
      try {
        const entry = JSON.parse(line) as { route?: unknown; status?: unknown };
        return typeof entry.status === 'number' ? [entry.route] : [];
      } catch {
        return [];
      }
    });
    expect(requestLines.filter((route) => route === '/refresh')).toHaveLength(refreshCalls);
    expect(refreshCalls).toBeGreaterThanOrEqual(8);
    expect(requestLines).toContain('/swap');
    expect(leakedSecrets(fx)).toEqual([]);
  });
});
