// Requests to the monitored gateways, each recorded with the status it must get and what its
// "request completed" log line must say.
import type { TokenCallResult } from './http-client.ts';
import { ROUTE_TEMPLATES } from './metric-label-values.ts';
import type { GatewayName, MonitoredGateways } from './monitored-gateways.ts';

/** Whether the request reaches the accounts service, and if so whether it answers in time. */
export type UpstreamExpectation = 'answered' | 'timeout' | 'none';

export interface SentRequest {
  gateway: GatewayName;
  what: string;
  method: string;
  route: string;
  clientIp: string;
  reqId: string | null;
  status: number;
  expectedStatus: number;
  upstream: UpstreamExpectation;
}

export interface SendOptions {
  /** The client address main's trusted proxy reports; a fresh one per request by default. */
  ip?: string;
  method?: string;
  contentType?: string | null;
  upstream?: UpstreamExpectation;
}

export class GatewayTraffic {
  readonly gateways: MonitoredGateways;
  readonly sent: SentRequest[] = [];
  /** Every client address main was told about, none of which may reach /metrics. */
  readonly usedIps = new Set<string>();
  private ipCounter = 0;

  constructor(gateways: MonitoredGateways) {
    this.gateways = gateways;
  }

  /** One request to a gateway, recorded with what its log line must say. */
  async send(
    gateway: GatewayName,
    what: string,
    expectedStatus: number,
    path: string,
    body: Record<string, string> | string | undefined,
    options: SendOptions = {},
  ): Promise<TokenCallResult> {
    // Only `main` trusts the loopback proxy; the others see the test's own address.
    const clientIp = gateway === 'main' ? (options.ip ?? this.nextIp()) : '127.0.0.1';
    if (gateway === 'main') this.usedIps.add(clientIp);
    const method = options.method ?? 'POST';
    const result = await this.gateways[gateway].call(path, body, {
      method,
      contentType: options.contentType,
      headers: gateway === 'main' ? { 'x-forwarded-for': clientIp } : {},
    });
    const template = path.split('?', 1)[0]!;
    this.sent.push({
      gateway,
      what,
      method,
      route: ROUTE_TEMPLATES.includes(template) ? template : 'unmatched',
      clientIp,
      reqId: result.headers.get('x-request-id'),
      status: result.status,
      expectedStatus,
      upstream: options.upstream ?? 'none',
    });
    return result;
  }

  /** A sealed refresh token of `main`, from a swap through the gateway (which counts as a success). */
  async sealedToken(): Promise<string> {
    const code = this.gateways.main.code();
    const result = await this.send('main', 'swap for a token', 200, '/swap', { code }, { upstream: 'answered' });
    if (typeof result.json.refresh_token !== 'string') throw new Error(`swap failed: ${result.status} ${result.text}`);
    return result.json.refresh_token;
  }

  sealedTokens(count: number): Promise<string[]> {
    return Promise.all(Array.from({ length: count }, () => this.sealedToken()));
  }

  /** The requests sent to one gateway. */
  to(gateway: GatewayName): SentRequest[] {
    return this.sent.filter((request) => request.gateway === gateway);
  }

  /** A client address of its own for each request, so only the throttling scenarios hit per-IP limits. */
  private nextIp(): string {
    this.ipCounter += 1;
    const n = this.ipCounter;
    return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  }
}

/** The fields of DESIGN §5 a request's log line must have, as checked by `loggedFields`. */
export function expectedLogFields(request: SentRequest): Record<string, unknown> {
  return {
    method: request.method,
    route: request.route,
    status: request.status,
    clientIp: request.clientIp,
    durationMsIsNumber: true,
    upstreamStatusIsNumber: request.upstream === 'answered',
    upstreamMsIsNumber: request.upstream !== 'none',
  };
}

/** What a "request completed" log line says, in the shape of `expectedLogFields`. */
export function loggedFields(line: Record<string, unknown>): Record<string, unknown> {
  return {
    method: line.method,
    route: line.route,
    status: line.status,
    clientIp: line.clientIp,
    durationMsIsNumber: typeof line.durationMs === 'number' && line.durationMs >= 0,
    upstreamStatusIsNumber: typeof line.upstreamStatus === 'number',
    upstreamMsIsNumber: typeof line.upstreamMs === 'number',
  };
}
