import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startFixture, type GatewayFixture } from './support/gateway-fixture.ts';
import { formPost, rawExchange, type RawAnswer } from './support/raw-http.ts';

// What the server answers on its own, before any route runs: malformed requests, oversized heads,
// and clients too slow to send their request (DESIGN §2: same JSON shape and headers).

let fx: GatewayFixture;
beforeAll(async () => {
  fx = await startFixture({ LOG_LEVEL: 'trace' });
});
afterAll(async () => {
  await fx?.close();
});

function expectContractAnswer(answer: RawAnswer, status: number): void {
  expect(answer.status).toBe(status);
  expect(JSON.parse(answer.body)).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(answer.headers.pragma).toBe('no-cache');
  expect(answer.headers['x-content-type-options']).toBe('nosniff');
  expect(answer.headers['x-request-id']).toMatch(/^[A-Za-z0-9._~-]{1,128}$/);
}

const BODY_SECRET = 'code=AQD-raw-packet-secret-9f3e';

describe("the HTTP server's own refusals", () => {
  it('answers a malformed request with 400 in the contract shape and headers', async () => {
    const answer = await rawExchange(fx.gateway.url, (socket) => {
      socket.write(`POST /swap HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n${BODY_SECRET}`);
    });
    expectContractAnswer(answer, 400);
  });

  it('answers a URL it cannot decode with 400 in the contract shape and headers', async () => {
    const answer = await rawExchange(fx.gateway.url, (socket) => {
      socket.write('POST /swap%zz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    expectContractAnswer(answer, 400);
  });

  it('answers request headers over the limit with 431 in the contract shape and headers', async () => {
    const answer = await rawExchange(fx.gateway.url, (socket) => {
      socket.write(formPost('/swap', 'code=x', { 'x-filler': 'a'.repeat(20_000) }));
    });
    expectContractAnswer(answer, 431);
  });

  it('answers a URL over the limit in the contract shape and headers', async () => {
    const answer = await rawExchange(fx.gateway.url, (socket) => {
      socket.write(formPost(`/swap?${'q'.repeat(20_000)}`, 'code=x'));
    });
    expect([414, 431]).toContain(answer.status);
    expectContractAnswer(answer, answer.status!);
  });

  it('cuts off a client that sends its body too slowly, with 408 in the contract shape', async () => {
    let stop = false;
    const answer = await rawExchange(
      fx.gateway.url,
      (socket) => {
        socket.write('POST /swap HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n');
        socket.write('Content-Length: 1000\r\n\r\ncode=');
        const drip = setInterval(() => {
          if (stop || socket.destroyed) clearInterval(drip);
          else socket.write('a');
        }, 500);
      },
      25_000,
    );
    stop = true;
    // The request timeout is 10 s, checked every second.
    expect(answer.closedAfterMs).toBeLessThan(15_000);
    expectContractAnswer(answer, 408);
  }, 40_000);

  it('logs no raw request (err.rawPacket) at trace level', async () => {
    await fx.gateway.stop();
    const output = fx.gateway.lines.join('\n');
    // The refusals were logged (at debug), without the request they refused.
    expect(output).toContain('"msg":"request refused by the HTTP server"');
    expect(output).not.toContain('raw-packet-secret');
    expect(output).not.toContain('rawPacket');
  });
});
