/**
 * One benchmark server for bench/adapters/run.ts: the gateway's token logic (TokenService →
 * RefreshTokenSealer → UpstreamTokenClient, compiled in dist/) behind a Nest controller, on the
 * Fastify or the Express adapter. No logging, no rate limiting, no metrics: only what differs
 * between the adapters is left to differ.
 *
 *   node bench/adapters/server.ts fastify|express      (started by run.ts with an IPC channel)
 *
 * Environment: BENCH_TOKEN_URL, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_REDIRECT_URI,
 * BENCH_ENCRYPTION_KEY (kid:base64url). Listens on 127.0.0.1, a free port, and tells the parent
 * {type:'listening', port}. Answers {type:'usage'} with its CPU time and request count, so the
 * parent can compute CPU per request from the server's own accounting (not wall time).
 *
 * Node runs this file by stripping types, which cannot run decorators; Nest's decorators are
 * plain functions, so they are applied by hand below.
 */
import 'reflect-metadata';
import { Body, Controller, Header, Headers, HttpCode, Inject, Module, Post, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import type { GatewayConfig } from '../../src/config/gateway-config.ts';
import type { RequestFields } from '../../src/http/token-request-body.ts';
import type { TokenResponseBody, TokenService as TokenServiceClass } from '../../src/tokens/token.service.ts';

type Dist = {
  TokenService: typeof import('../../src/tokens/token.service.ts').TokenService;
  RefreshTokenSealer: typeof import('../../src/sealing/refresh-token-sealer.ts').RefreshTokenSealer;
  KeyRing: typeof import('../../src/sealing/key-ring.ts').KeyRing;
  TokenLifecycle: typeof import('../../src/lifecycle/token-lifecycle.ts').TokenLifecycle;
  MemoryTokenStateStore: typeof import('../../src/lifecycle/memory-token-state-store.ts').MemoryTokenStateStore;
  UpstreamTokenClient: typeof import('../../src/upstream/upstream-token-client.ts').UpstreamTokenClient;
  CircuitBreaker: typeof import('../../src/upstream/circuit-breaker.ts').CircuitBreaker;
  DEFAULT_CIRCUIT: typeof import('../../src/upstream/circuit-breaker.ts').DEFAULT_CIRCUIT;
  parseEncryptionKeys: typeof import('../../src/config/encryption-keys.ts').parseEncryptionKeys;
  parseTokenRequestBody: typeof import('../../src/http/token-request-body.ts').parseTokenRequestBody;
  toSwapRequest: typeof import('../../src/tokens/token-requests.ts').toSwapRequest;
  toRefreshRequest: typeof import('../../src/tokens/token-requests.ts').toRefreshRequest;
  MAX_BODY_BYTES: number;
};

// The compiled app (npm run build): src/ itself has decorators Node cannot strip.
async function loadDist(): Promise<Dist> {
  const load = (path: string) => import(new URL(`../../dist/${path}`, import.meta.url).href);
  const [service, sealer, keyRing, upstream, circuit, keys, body, requests, edge, lifecycle, state] = await Promise.all(
    [
      load('tokens/token.service.js'),
      load('sealing/refresh-token-sealer.js'),
      load('sealing/key-ring.js'),
      load('upstream/upstream-token-client.js'),
      load('upstream/circuit-breaker.js'),
      load('config/encryption-keys.js'),
      load('http/token-request-body.js'),
      load('tokens/token-requests.js'),
      load('http/http-edge.js'),
      load('lifecycle/token-lifecycle.js'),
      load('lifecycle/memory-token-state-store.js'),
    ],
  );
  return {
    ...service,
    ...sealer,
    ...keyRing,
    ...upstream,
    ...circuit,
    ...keys,
    ...body,
    ...requests,
    ...edge,
    ...lifecycle,
    ...state,
  } as Dist;
}

const adapterName = process.argv[2];
if (adapterName !== 'fastify' && adapterName !== 'express') {
  process.stderr.write('usage: node bench/adapters/server.ts fastify|express\n');
  process.exit(2);
}
if (!process.send) {
  process.stderr.write('bench server: start me from bench/adapters/run.ts (I need an IPC channel)\n');
  process.exit(2);
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`bench server: ${name} is required\n`);
    process.exit(2);
  }
  return value;
}

const dist = await loadDist();
const clientId = requiredEnv('BENCH_CLIENT_ID');
const benchApp = {
  id: 'default',
  clientId,
  clientSecret: requiredEnv('BENCH_CLIENT_SECRET'),
  redirectUris: [requiredEnv('BENCH_REDIRECT_URI')],
  tokenUrl: new URL(requiredEnv('BENCH_TOKEN_URL')),
};
const config = { apps: [benchApp] } as unknown as GatewayConfig;
const { keys, problems } = dist.parseEncryptionKeys(requiredEnv('BENCH_ENCRYPTION_KEY'));
if (problems.length > 0) throw new Error(`BENCH_ENCRYPTION_KEY: ${problems.join('; ')}`);
const keyRing = await dist.KeyRing.create(keys);
const sealer = new dist.RefreshTokenSealer(keyRing, { clientId, maxAgeSeconds: 180 * 86_400 });
// No metrics in this comparison of adapters: the observer does nothing.
const upstream = new dist.UpstreamTokenClient(
  { ...benchApp, upstreamTimeoutMs: 5000 },
  { observeUpstream: () => {}, observeRetry: () => {} },
  new dist.CircuitBreaker(dist.DEFAULT_CIRCUIT),
  sealer,
);
// The lifecycle as the gateway has it without Redis and without rotation (the default).
const lifecycle = new dist.TokenLifecycle(
  sealer,
  new dist.MemoryTokenStateStore(),
  { rotation: false, reuseGraceSeconds: 60, redisPrefix: 'tsg:', sharedStore: false },
  { familyRevoked: () => {}, legacyToken: () => {} },
);
const tokenService = new dist.TokenService(
  config,
  new Map([['default', sealer]]),
  new Map([['default', upstream]]),
  new Map([['default', lifecycle]]),
);

const TOKEN_SERVICE = 'BENCH_TOKEN_SERVICE';
let completed = 0;
let failed = 0;

/** The two token routes as the gateway's controller has them, minus metrics and request state. */
class BenchTokensController {
  tokens: TokenServiceClass;

  constructor(tokens: TokenServiceClass) {
    this.tokens = tokens;
  }

  swap(body: unknown, contentType: string | undefined): Promise<TokenResponseBody> {
    return counted(() => this.tokens.swap('default', dist.toSwapRequest(fields(body, contentType))));
  }

  refresh(body: unknown, contentType: string | undefined): Promise<TokenResponseBody> {
    return counted(() => this.tokens.refresh('default', dist.toRefreshRequest(fields(body, contentType))));
  }
}

/** Counts completed requests; a failure (Nest answers 500) is counted too and the first few are told. */
async function counted(operation: () => Promise<TokenResponseBody>): Promise<TokenResponseBody> {
  try {
    return await operation();
  } catch (error) {
    failed++;
    if (failed <= 3) {
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      process.stderr.write(`bench server (${adapterName}): request failed: ${text}\n`);
    }
    throw error;
  } finally {
    completed++;
  }
}

/** Both adapters hand over the raw body as a string; the gateway's own parser makes the fields. */
function fields(body: unknown, contentType: string | undefined): RequestFields {
  return dist.parseTokenRequestBody(contentType, typeof body === 'string' ? body : '');
}

Controller()(BenchTokensController);
Inject(TOKEN_SERVICE)(BenchTokensController, undefined, 0);
for (const [method, path] of [
  ['swap', 'swap'],
  ['refresh', 'refresh'],
] as const) {
  const proto = BenchTokensController.prototype;
  const descriptor = Object.getOwnPropertyDescriptor(proto, method)!;
  // The same headers the gateway sends on every response.
  for (const decorator of [
    Post(path),
    HttpCode(200),
    Header('Cache-Control', 'no-store'),
    Header('Pragma', 'no-cache'),
    Header('X-Content-Type-Options', 'nosniff'),
  ]) {
    decorator(proto, method, descriptor);
  }
  Body()(proto, method, 0);
  Headers('content-type')(proto, method, 1);
}

class BenchModule {}
Module({
  controllers: [BenchTokensController],
  providers: [{ provide: TOKEN_SERVICE, useValue: tokenService }],
})(BenchModule);

async function createApp(): Promise<INestApplication> {
  const options = { logger: false as const, bodyParser: false, abortOnError: false };
  if (adapterName === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    const adapter = new FastifyAdapter({ logger: false, bodyLimit: dist.MAX_BODY_BYTES });
    const app = await NestFactory.create(BenchModule as Type, adapter, options);
    const fastify = adapter.getInstance();
    // As the gateway does: one parser for every media type, raw string in.
    fastify.removeAllContentTypeParsers();
    fastify.addContentTypeParser('*', { parseAs: 'string', bodyLimit: dist.MAX_BODY_BYTES }, (_request, body, done) =>
      done(null, body),
    );
    return app;
  }
  const { ExpressAdapter } = await import('@nestjs/platform-express');
  const adapter = new ExpressAdapter();
  // A no-store token response has no use for an ETag (a hash of every body) nor for X-Powered-By;
  // Fastify sends neither, so Express is measured as it would be deployed.
  adapter.getInstance().disable('etag');
  adapter.getInstance().disable('x-powered-by');
  const app = await NestFactory.create(BenchModule as Type, adapter, options);
  // express.text for every media type (and none): the raw string, same as the Fastify variant.
  (app as unknown as { useBodyParser(type: string, options: object): void }).useBodyParser('text', {
    type: () => true,
    limit: dist.MAX_BODY_BYTES,
  });
  return app;
}

const app = await createApp();
await app.listen(0, '127.0.0.1');
const port = (app.getHttpServer().address() as { port: number }).port;

process.on('message', (message: { type?: string }) => {
  if (message?.type === 'usage') {
    process.send!({ type: 'usage', cpu: process.cpuUsage(), completed, failed, rss: process.memoryUsage().rss });
  } else if (message?.type === 'stop') {
    void app
      .close()
      .then(() => upstream.close())
      .finally(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'listening', port, adapter: adapterName });
