// Warms V8's compile cache at image build time (Dockerfile, stage `compile-cache`): starts the
// gateway exactly as the image's entry point does (same node, same flags, same user, same paths),
// with throwaway configuration on loopback ports picked by the system, and stops it with SIGTERM
// once both listeners are up. The gateway's own graceful exit writes the cache to
// NODE_COMPILE_CACHE. No network access, no upstream call, nothing of it outlives the build but
// the cache directory.
import { randomBytes } from 'node:crypto';
import { Server } from 'node:net';
import { setImmediate, setTimeout } from 'node:timers';

const WARM_UP_TIMEOUT_MS = 60_000;
const gatewayMain = process.argv[2] ?? '/app/dist/main.js';

if (!process.env.NODE_COMPILE_CACHE) {
  console.error('warm-compile-cache: NODE_COMPILE_CACHE is not set');
  process.exit(1);
}
Object.assign(process.env, {
  HOST: '127.0.0.1',
  PORT: '0',
  OPS_PORT: '0',
  SPOTIFY_CLIENT_ID: 'compile-cache-warm-up',
  SPOTIFY_CLIENT_SECRET: 'compile-cache-warm-up',
  SPOTIFY_REDIRECT_URI: 'http://127.0.0.1/callback',
  SPOTIFY_TOKEN_URL: 'http://127.0.0.1:9/api/token',
  TOKEN_ENCRYPTION_KEYS: `warmup:${randomBytes(32).toString('base64url')}`,
  LOG_LEVEL: 'silent',
});

// Both listeners (ops, then public) up: the start-up path has run; stop as the cluster would.
let listeners = 0;
const emit = Server.prototype.emit;
Server.prototype.emit = function (event, ...args) {
  if (event === 'listening' && ++listeners === 2) setImmediate(() => process.kill(process.pid, 'SIGTERM'));
  return emit.call(this, event, ...args);
};
setTimeout(() => {
  console.error(`warm-compile-cache: the gateway did not start within ${WARM_UP_TIMEOUT_MS} ms`);
  process.exit(1);
}, WARM_UP_TIMEOUT_MS).unref();

await import(gatewayMain);
