import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './redis.ts';

const run = promisify(execFile);

// Every server a suite starts; killed when the test process exits, whatever happened before.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A fresh directory under the system's temporary one, removed by `removeDirectory`. */
export function scratchDirectory(name: string): string {
  return mkdtempSync(join(tmpdir(), `tsg-${name}-`));
}

export function removeDirectory(directory: string): void {
  rmSync(directory, { recursive: true, force: true });
}

export interface TestCa {
  /** PEM file of the private CA. */
  caFile: string;
  /** Server certificate (for 127.0.0.1 and localhost) and its key, signed by the CA. */
  certFile: string;
  keyFile: string;
}

/** A self-signed CA and a server certificate it signed, made with openssl in `directory`. */
export async function makeTestCa(directory: string): Promise<TestCa> {
  const file = (name: string) => join(directory, name);
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
    '-subj', '/CN=token-swap-gateway test CA',
    '-keyout', file('ca.key'), '-out', file('ca.crt'),
  ]); // prettier-ignore
  await run('openssl', [
    'req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1',
    '-keyout', file('server.key'), '-out', file('server.csr'),
  ]); // prettier-ignore
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', [
    'x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'),
    '-CAcreateserial', '-days', '1', '-extfile', file('server.ext'), '-out', file('server.crt'),
  ]); // prettier-ignore
  return { caFile: file('ca.crt'), certFile: file('server.crt'), keyFile: file('server.key') };
}

/** A redis-server (or sentinel) process of the test's own, on a free loopback port. */
export class RedisServer {
  private child: ChildProcess | undefined;
  output = '';

  private constructor(
    readonly port: number,
    private readonly args: string[],
    private readonly readyLine: string,
  ) {}

  /**
   * Starts `redis-server` with `settings` (name → value, as on its command line) in a scratch
   * directory of its own; `tls` serves TLS (only) on the port with the CA's server certificate.
   */
  static async start(
    directory: string,
    settings: Record<string, string | string[]> = {},
    options: { tls?: TestCa; sentinel?: boolean; port?: number } = {},
  ): Promise<RedisServer> {
    const port = options.port ?? (await freePort());
    const base: Record<string, string | string[]> = options.tls
      ? {
          port: '0',
          'tls-port': String(port),
          'tls-cert-file': options.tls.certFile,
          'tls-key-file': options.tls.keyFile,
          'tls-ca-cert-file': options.tls.caFile,
          'tls-auth-clients': 'no',
        }
      : { port: String(port) };
    const all = { bind: '127.0.0.1', save: '', appendonly: 'no', dir: directory, ...base, ...settings };
    let args: string[];
    if (options.sentinel) {
      // A sentinel needs a configuration file it can rewrite.
      const config = join(directory, `sentinel-${port}.conf`);
      writeFileSync(
        config,
        Object.entries(all)
          .filter(([name]) => !['save', 'appendonly'].includes(name))
          .map(([name, value]) => `${name} ${[value].flat().join(' ')}`)
          .join('\n') + '\n',
      );
      args = [config, '--sentinel'];
    } else {
      args = Object.entries(all).flatMap(([name, value]) => [`--${name}`, ...[value].flat()]);
    }
    const server = new RedisServer(port, args, options.sentinel ? 'Sentinel ID is' : 'Ready to accept connections');
    await server.restart();
    return server;
  }

  async restart(): Promise<void> {
    const child = spawn('redis-server', this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    running.add(child);
    this.output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${this.output}`)), 10_000);
      const onData = (chunk: Buffer) => {
        this.output += chunk.toString();
        if (this.output.includes(this.readyLine)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${this.output}`));
      });
    });
    child.removeAllListeners('exit');
  }

  /** SIGKILL: the way a crashed node or a lost machine looks to its clients. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child) return;
    running.delete(child);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }

  /** A client of the test's own (closed by the caller). */
  client(options: RedisOptions = {}): Redis {
    const client = new Redis({
      host: '127.0.0.1',
      port: this.port,
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      ...options,
    });
    client.on('error', () => {});
    return client;
  }
}

/** Runs one command against a server with a short-lived client. */
export async function withClient<T>(
  server: RedisServer,
  options: RedisOptions,
  use: (client: Redis) => Promise<T>,
): Promise<T> {
  const client = server.client(options);
  try {
    return await use(client);
  } finally {
    client.disconnect();
  }
}

/** Polls `check` every 100 ms until it holds or `timeoutMs` passed; returns whether it held. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** A Redis Cluster of `masters` masters and no replicas, made by `redis-cli --cluster create`. */
export async function startCluster(
  directory: string,
  masters: number,
  settings: Record<string, string> = {},
): Promise<RedisServer[]> {
  const nodes: RedisServer[] = [];
  for (let index = 0; index < masters; index++) {
    const busPort = await freePort();
    nodes.push(
      await RedisServer.start(directory, {
        ...settings,
        'cluster-enabled': 'yes',
        'cluster-config-file': `nodes-${index}.conf`,
        'cluster-node-timeout': '2000',
        'cluster-port': String(busPort),
      }),
    );
  }
  await run('redis-cli', [
    '--cluster',
    'create',
    ...nodes.map((node) => `127.0.0.1:${node.port}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
    ...(settings.requirepass ? ['-a', settings.requirepass, '--no-auth-warning'] : []),
  ]);
  const ok = await eventually(async () => {
    const states = await Promise.all(
      nodes.map((node) =>
        withClient(node, { password: settings.requirepass }, async (client) => String(await client.cluster('INFO'))),
      ),
    );
    return states.every((info) => info.includes('cluster_state:ok'));
  }, 15_000);
  if (!ok) throw new Error('the test cluster did not reach cluster_state:ok');
  return nodes;
}
