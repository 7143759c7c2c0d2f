import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  body: string;
  headers?: Record<string, string>;
  connections: number;
  durationSeconds: number;
  /** Requests per second across all connections; absent: as fast as possible. */
  rate?: number;
  timeoutSeconds?: number;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** Drives one URL with autocannon (loopback only), bounded by duration. */
export async function drive(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...options.headers },
    body: options.body,
    connections: options.connections,
    duration: options.durationSeconds,
    overallRate: options.rate,
    timeout: options.timeoutSeconds ?? 10,
  });
  return {
    requests: result.requests.total,
    rps: Math.round(result.requests.total / options.durationSeconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  };
}
