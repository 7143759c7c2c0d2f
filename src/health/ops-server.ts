import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import { MetricsExposition } from '../observability/metrics-exposition.js';
import type { ReadinessCheck } from './readiness.js';

// A readiness check that does not answer in this time counts as not ready (Kubernetes probes time out at 1 s).
const CHECK_TIMEOUT_MS = 500;

/**
 * The operations listener (OPS_PORT): metrics and probes, never routed publicly and never rate
 * limited. A plain node:http server: it must answer even when the public stack is busy or broken.
 */
export class OpsServer {
  private readonly server: Server;
  private readonly exposition: MetricsExposition;
  private stopping = false;

  constructor(
    metrics: GatewayMetrics,
    private readonly checks: ReadinessCheck[],
  ) {
    this.exposition = new MetricsExposition(metrics.registry);
    this.server = createServer((request, response) => void this.handle(request, response));
    this.server.keepAliveTimeout = 65_000;
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  /** From now on /readyz answers 503, so load balancers stop sending traffic during shutdown. */
  markStopping(): void {
    this.stopping = true;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?', 1)[0];
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return send(response, 405, { status: 'method not allowed' });
    try {
      if (path === '/metrics') {
        // OpenMetrics when the scrape asks for it (the only format that carries exemplars).
        const { contentType, body } = await this.exposition.render(request.headers.accept);
        response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store', vary: 'accept' });
        response.end(body);
        return;
      }
      if (path === '/livez') return send(response, 200, { status: 'ok' });
      if (path === '/readyz') return await this.readiness(response);
      send(response, 404, { status: 'not found' });
    } catch {
      send(response, 500, { status: 'error' });
    }
  }

  private async readiness(response: ServerResponse): Promise<void> {
    if (this.stopping) return send(response, 503, { status: 'stopping' });
    const results = await Promise.all(
      this.checks.map(async (check) => [check.name, await withTimeout(check.isReady())] as const),
    );
    const failing = results.filter(([, ready]) => !ready).map(([name]) => name);
    send(
      response,
      failing.length === 0 ? 200 : 503,
      failing.length === 0 ? { status: 'ready' } : { status: 'not ready', failing },
    );
  }
}

function send(response: ServerResponse, status: number, body: object): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}

async function withTimeout(check: Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check.catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
