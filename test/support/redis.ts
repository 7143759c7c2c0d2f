import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';

let container: { getConnectionUrl(): string; stop(): Promise<unknown> } | undefined;

/**
 * The Redis the tests use: `REDIS_URL` where it is set (CI sets it and starts redis-server),
 * otherwise a container from testcontainers when a Docker engine is reachable.
 */
export async function testRedisUrl(): Promise<string> {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  if (!container) {
    const { RedisContainer } = await import('@testcontainers/redis');
    try {
      container = await new RedisContainer('redis:7-alpine').start();
    } catch (error) {
      throw new Error('no REDIS_URL and no Docker engine for testcontainers; run: source scripts/dev-env.sh --test', {
        cause: error,
      });
    }
  }
  return container.getConnectionUrl();
}

/** A key prefix of its own per suite, so suites sharing one Redis never see each other's buckets. */
export function uniquePrefix(suite: string): string {
  return `test:${suite}:${randomBytes(4).toString('hex')}:`;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A redis-server process of the test's own, to stop and start again (outage tests). */
export class RedisProcess {
  private child: ChildProcess | undefined;
  readonly port: number;

  constructor(port: number) {
    this.port = port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${output}`));
      });
    });
    child.removeAllListeners('exit');
  }

  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}
