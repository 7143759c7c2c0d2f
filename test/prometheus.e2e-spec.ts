// The shipped monitoring against real data: the built gateway (three instances, see
// support/monitored-gateways.ts) and a real Prometheus that scrapes their ops listeners, traffic
// of every outcome (support/outcome-traffic.ts), then every PromQL expression of the Grafana
// dashboard and of the alert rules through Prometheus' HTTP API.
// Also, from the same run: the label values in /metrics and the one log line per request.
// Needs the `prometheus` binary (Debian/Ubuntu: `apt-get install prometheus`; or set PROMETHEUS).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { allGatewayLines } from './support/gateway-fixture.ts';
import { expectedLogFields, GatewayTraffic, loggedFields } from './support/gateway-traffic.ts';
import { CLOSED_LABEL_VALUES, THROTTLERS } from './support/metric-label-values.ts';
import { labelPairs } from './support/metrics-exposition.ts';
import {
  opsTargets,
  startMonitoredGateways,
  type GatewayName,
  type MonitoredGateways,
} from './support/monitored-gateways.ts';
import { driveRound, MAIN_ROUND, PLANTED_WORDS, WARM_UP } from './support/outcome-traffic.ts';
import { until } from './support/polling.ts';
import { PrometheusServer, sampleValues, type RuleState } from './support/prometheus-server.ts';
import { ALERTS_PATH, dashboardAndAlertExpressions } from './support/promql-expressions.ts';

const JOB = 'token-swap-gateway';

/**
 * Expressions that legitimately return nothing after this run's traffic, each with the reason.
 * Every other expression must return at least one finite sample; these must return none, so the
 * list cannot go stale.
 */
const EXPECTED_EMPTY: Record<string, string> = {
  'alerts.yml TokenSwapNoReadyInstance': 'absent(up == 1) has a sample only when no target is up; all three are',
  'alerts.yml TokenSwapRedisFlapping':
    'no instance loses a Redis connection it had in this run (test/redis-*.e2e-spec.ts do)',
};

const gateways = {} as MonitoredGateways;
const traffic = new GatewayTraffic(gateways);
let prometheus: PrometheusServer | undefined;

beforeAll(async () => {
  Object.assign(gateways, await startMonitoredGateways());
  prometheus = await PrometheusServer.start({ job: JOB, targets: opsTargets(gateways), ruleFiles: [ALERTS_PATH] });
  // A first scrape before any traffic, so counters are seen at zero and increase() sees all of it.
  await prometheus.scrapedSince(Date.now(), 1);
  await driveRound(traffic, WARM_UP, 1);
  await prometheus.scrapedSince(Date.now(), 2);
  await driveRound(traffic, MAIN_ROUND, 2);
  await prometheus.scrapedSince(Date.now(), 3);
}, 90_000);

afterAll(async () => {
  await prometheus?.stop();
  await Promise.all(Object.values(gateways).map((fx) => fx.close()));
});

/** Every secret the run handled, and the words its traffic planted in paths and query strings. */
function allSecrets(): string[] {
  const secrets = new Set<string>(PLANTED_WORDS);
  for (const fx of Object.values(gateways)) for (const secret of fx.secrets) secrets.add(secret);
  return [...secrets].filter((secret) => secret.length >= 6);
}

describe('the traffic', () => {
  it('got the status of its outcome on every request', () => {
    const wrong = traffic.sent
      .filter((request) => request.status !== request.expectedStatus)
      .map((request) => `${request.gateway} ${request.what}: ${request.status}, expected ${request.expectedStatus}`);
    expect(wrong).toEqual([]);
    expect(traffic.sent.length).toBeGreaterThan(500);
  });
});

describe('dashboard and alert expressions against Prometheus', () => {
  const expressions = dashboardAndAlertExpressions();

  it('finds expressions, and each exception names a real one', () => {
    expect(expressions.length).toBeGreaterThan(30);
    const sources = new Set(expressions.map((expression) => expression.source));
    expect(Object.keys(EXPECTED_EMPTY).filter((source) => !sources.has(source))).toEqual([]);
  });

  it('evaluates every expression without error, with data unless listed as legitimately empty', async () => {
    const problems: string[] = [];
    for (const { source, expr } of expressions) {
      const answer = await prometheus!.query(expr);
      if (answer.status !== 'success') {
        problems.push(`${source}: ${answer.errorType}: ${answer.error}\n    ${expr}`);
        continue;
      }
      const values = sampleValues(answer.data);
      if (source in EXPECTED_EMPTY) {
        if (values.length > 0) problems.push(`${source}: expected no data (${EXPECTED_EMPTY[source]}), got ${values}`);
      } else if (!values.some(Number.isFinite)) {
        problems.push(
          `${source}: ${values.length === 0 ? 'no data' : `no finite value (${values.join(', ')})`}\n    ${expr}`,
        );
      }
    }
    expect(problems).toEqual([]);
  });

  it('loads every alert rule, evaluates it healthily, and activates every alert the traffic feeds', async () => {
    const ruleNames = expressions.filter((e) => e.source.startsWith('alerts.yml ')).map((e) => e.source.slice(11));
    const expectedActive = ruleNames.filter((name) => !(`alerts.yml ${name}` in EXPECTED_EMPTY)).sort();
    let rules: RuleState[] = [];
    let active: string[] = [];
    // Rules are evaluated every second; poll rather than guess when the last evaluation ran.
    await until(
      async () => {
        rules = await prometheus!.rules();
        active = await prometheus!.activeAlertNames();
        return expectedActive.every((name) => active.includes(name));
      },
      'the alerts to become active',
      10_000,
    ).catch(() => undefined);
    expect(rules.map((rule) => rule.name).sort()).toEqual([...ruleNames].sort());
    expect(rules.filter((rule) => rule.health !== 'ok').map((rule) => `${rule.name}: ${rule.lastError}`)).toEqual([]);
    expect(active).toEqual(expectedActive);
  });
});

const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}\b/;
const IPV6 = /(?:[0-9A-Fa-f]{0,4}:){2,}/;
const SAFE_LABEL_VALUE = /^[A-Za-z0-9_./:+-]*$/;

describe('/metrics after the run', () => {
  it('has only label values from closed sets of our own words: no secret, code, token, IP or raw path', async () => {
    const secrets = allSecrets();
    const problems: string[] = [];
    for (const [name, fx] of Object.entries(gateways)) {
      const exposition = await (await fetch(`${fx.gateway.opsUrl}/metrics`)).text();
      for (const secret of secrets) if (exposition.includes(secret)) problems.push(`${name}: contains "${secret}"`);
      for (const ip of traffic.usedIps) {
        if (new RegExp(`\\b${ip.replaceAll('.', '\\.')}\\b`).test(exposition)) problems.push(`${name}: contains ${ip}`);
      }
      for (const { line, name: label, value } of labelPairs(exposition)) {
        const where = `${name}: ${label}="${value}" in ${line}`;
        if (!SAFE_LABEL_VALUE.test(value)) problems.push(`${where}: unexpected characters`);
        if (IPV4.test(value) || IPV6.test(value)) problems.push(`${where}: looks like an IP address`);
        if (CLOSED_LABEL_VALUES[label] && !CLOSED_LABEL_VALUES[label].has(value))
          problems.push(`${where}: not one of the known values`);
        if (label === 'status_code' && !/^[1-5]\d\d$/.test(value)) problems.push(`${where}: not a status code`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('counts the throttled requests of every throttler and the storage errors of both Redis-less instances', async () => {
    // Two requests over each limit, in each of the two rounds.
    for (const throttler of THROTTLERS) {
      expect(await prometheus!.firstValue(`sum(token_swap_rate_limited_total{throttler="${throttler}"})`)).toBe(4);
    }
    const perInstance = await prometheus!.vector('token_swap_rate_limit_storage_errors_total > 0');
    expect(perInstance.length).toBe(2);
    expect(await prometheus!.firstValue('sum(token_swap_requests_total{outcome="rate_limit_unavailable"})')).toBe(
      WARM_UP.storageClosed + MAIN_ROUND.storageClosed,
    );
  });
});

describe('request log lines of the run', () => {
  type LogLine = Record<string, unknown>;
  const completedLines = (gateway: GatewayName): LogLine[] =>
    gateways[gateway].gateway.logs().filter((line) => line.msg === 'request completed');
  const names = () => Object.keys(gateways) as GatewayName[];

  it('has exactly one "request completed" line per request, with the fields of DESIGN §5', async () => {
    // pino writes asynchronously: give the last lines a moment to arrive.
    await until(
      () => names().every((gateway) => completedLines(gateway).length >= traffic.to(gateway).length),
      'the request lines',
      5000,
    ).catch(() => undefined);
    const problems: string[] = [];
    for (const gateway of names()) {
      const lines = completedLines(gateway);
      const requests = traffic.to(gateway);
      if (lines.length !== requests.length)
        problems.push(`${gateway}: ${lines.length} request lines for ${requests.length} requests`);
      const byId = new Map<unknown, LogLine[]>();
      for (const line of lines) byId.set(line.reqId, [...(byId.get(line.reqId) ?? []), line]);
      for (const request of requests) {
        const where = `${gateway} ${request.what} (${request.reqId})`;
        const found = byId.get(request.reqId) ?? [];
        if (request.reqId === null || found.length !== 1) {
          problems.push(`${where}: ${found.length} request lines`);
          continue;
        }
        const expected = JSON.stringify(expectedLogFields(request));
        const actual = JSON.stringify(loggedFields(found[0]!));
        if (actual !== expected) problems.push(`${where}: got ${actual}, expected ${expected}`);
      }
    }
    expect(problems.slice(0, 20)).toEqual([]);
  });

  it('leaks no secret of the run, and no code from a query string, into any output', () => {
    const output = Object.values(gateways).flatMap(allGatewayLines).join('\n');
    expect(allSecrets().filter((secret) => output.includes(secret))).toEqual([]);
  });
});
