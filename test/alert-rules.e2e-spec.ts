// The shipped monitoring: alert rules checked and unit-tested by promtool, the Grafana dashboard
// checked for the conventions that make it work on Kubernetes and on a plain scrape alike.
// Needs promtool (Debian/Ubuntu: `apt-get install prometheus`; or set PROMTOOL to its path).
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  ALERTS_PATH,
  DASHBOARD_PATH,
  dashboardAndAlertExpressions,
  dashboardPanelExpressions,
  dashboardPanels,
  dashboardVariableExpressions,
  readDashboard,
  readRuleExpressions,
} from './support/promql-expressions.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd: ROOT });
    return stdout + stderr;
  } catch (error) {
    const failed = error as { code?: string | number; stdout?: string; stderr?: string };
    if (failed.code === 'ENOENT') {
      throw new Error(`${PROMTOOL} not found: install prometheus (promtool) or set PROMTOOL`, { cause: error });
    }
    throw new Error(`promtool ${args.join(' ')} failed:\n${failed.stdout ?? ''}${failed.stderr ?? ''}`, {
      cause: error,
    });
  }
}

// DESIGN.md §5, plus the default prom-client metrics the "Runtime per pod" row is built on.
const DESIGN_METRICS = [
  'http_server_request_duration_seconds',
  'token_swap_requests_total',
  'token_swap_upstream_request_duration_seconds',
  'token_swap_unseal_failures_total',
  'token_swap_rate_limited_total',
  'token_swap_rate_limit_storage_errors_total',
  // DESIGN §8 and issue 11 (Redis topologies)
  'token_swap_revocations_total',
  'token_swap_legacy_tokens_total',
  'token_swap_token_state_storage_errors_total',
  'token_swap_redis_connection_state',
  'token_swap_redis_reconnects_total',
];
const RUNTIME_METRICS = [
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_heap_size_used_bytes',
  'nodejs_heap_size_total_bytes',
  'process_resident_memory_bytes',
  'nodejs_gc_duration_seconds',
  'process_cpu_seconds_total',
];
const ALERTS = [
  'TokenSwapHigh5xxRatio',
  'TokenSwapUpstreamFailureRatio',
  'TokenSwapUpstreamSlow',
  'TokenSwapUpstreamMisconfigured',
  'TokenSwapUnsealFailureSpike',
  'TokenSwapRateLimitStorageErrors',
  'TokenSwapRedisUnreachable',
  'TokenSwapRedisFlapping',
  'TokenSwapNoReadyInstance',
];
const POD_FILTERS = ['job=~"$job"', 'namespace=~"$namespace"', 'pod=~"$pod"'];
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

describe('Prometheus alert rules', () => {
  it('pass promtool check rules, one rule per alert', async () => {
    const output = await promtool('check', 'rules', 'helm/token-swap-gateway/files/alerts.yml');
    expect(output).toContain(`SUCCESS: ${ALERTS.length} rules found`);
    expect(readRuleExpressions(readFileSync(ALERTS_PATH, 'utf8')).map((rule) => rule.source)).toEqual(
      ALERTS.map((alert) => `alerts.yml ${alert}`),
    );
  });

  it('pass their promtool unit tests, which fire and stay quiet for every alert', async () => {
    const tests = readFileSync(join(ROOT, 'helm/token-swap-gateway/files/alerts.test.yml'), 'utf8');
    for (const alert of ALERTS) {
      expect(
        tests.match(new RegExp(`alertname: ${alert}\\n\\s+eval_time: \\w+\\n\\s+exp_alerts:\\n`, 'g'))?.length,
      ).toBeGreaterThan(0);
      expect(
        tests.match(new RegExp(`alertname: ${alert}\\n\\s+eval_time: \\w+\\n\\s+exp_alerts: \\[\\]`, 'g'))?.length,
      ).toBeGreaterThan(0);
    }
    const output = await promtool('test', 'rules', 'helm/token-swap-gateway/files/alerts.test.yml');
    expect(output).toContain('SUCCESS');
  });

  it('are loaded by the example plain-scrape configuration', async () => {
    // docker-compose mounts both files side by side in /etc/prometheus/; do the same here.
    const dir = mkdtempSync(join(tmpdir(), 'tsg-prometheus-'));
    try {
      copyFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), join(dir, 'prometheus.yml'));
      copyFileSync(ALERTS_PATH, join(dir, 'alerts.yml'));
      const output = await promtool('check', 'config', join(dir, 'prometheus.yml'));
      expect(output).toContain('SUCCESS: 1 rule files found');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')).toMatch(
      /job_name: token-swap-gateway[\s\S]*targets: \['[\w.-]+:9464'\]/,
    );
  });
});

describe('Grafana dashboard', () => {
  const dashboard = readDashboard() as ReturnType<typeof readDashboard> & Record<string, unknown>;
  const variables = (dashboard.templating?.list ?? []) as unknown as Record<string, unknown>[];
  const variable = (name: string) => variables.find((candidate) => candidate.name === name);

  it('is importable anywhere: a datasource variable, no __inputs, a fixed uid', () => {
    expect(dashboard.__inputs).toBeUndefined();
    expect(dashboard.id).toBeNull();
    expect(dashboard.uid).toBe('token-swap-gateway');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(variable('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(readFileSync(DASHBOARD_PATH, 'utf8')).not.toMatch(
      /"uid":\s*"(?!\$\{datasource\}|token-swap-gateway"|-- Grafana --)/,
    );
  });

  it('has multi-value job, namespace, pod and app variables whose All also matches a missing label', () => {
    for (const name of ['job', 'namespace', 'pod', 'app']) {
      expect(variable(name)).toMatchObject({ type: 'query', multi: true, includeAll: true, datasource: DATASOURCE });
    }
    // job always exists; its All is the list of gateway jobs found, not every job in Prometheus.
    expect(variable('namespace')?.allValue).toBe('.*');
    expect(variable('pod')?.allValue).toBe('.*');
    expect(variable('app')?.allValue).toBe('.*');
    expect(dashboardVariableExpressions(dashboard).map((query) => query.source)).toEqual(
      ['job', 'namespace', 'pod', 'app'].map((name) => `dashboard variable ${name}`),
    );
  });

  it('queries ${datasource} from every panel, and every panel has a query', () => {
    const panels = dashboardPanels(dashboard) as unknown as {
      title: string;
      datasource: unknown;
      targets?: { expr?: string; datasource?: unknown }[];
    }[];
    expect(panels.length).toBeGreaterThan(10);
    for (const panel of panels) {
      const targets = (panel.targets ?? []).map((target) => ({
        expr: Boolean(target.expr?.trim()),
        datasource: target.datasource,
      }));
      expect({ panel: panel.title, datasource: panel.datasource, queries: targets.length > 0 }).toEqual({
        panel: panel.title,
        datasource: DATASOURCE,
        queries: true,
      });
      for (const target of targets)
        expect({ panel: panel.title, ...target }).toEqual({ panel: panel.title, expr: true, datasource: DATASOURCE });
    }
  });

  it('filters every series selector by job, namespace and pod', () => {
    for (const { source, expr } of dashboardPanelExpressions(dashboard)) {
      const selectors = expr.match(/\{[^}]*\}/g) ?? [];
      expect({ source, selectors: selectors.length }).not.toEqual({ source, selectors: 0 });
      for (const selector of selectors) {
        const missing = POD_FILTERS.filter((filter) => !selector.includes(filter));
        expect({ source, selector, missing }).toEqual({ source, selector, missing: [] });
      }
      // A metric written without a selector would escape the filters.
      const bare = expr.match(/\b(?:up|(?:token_swap|http_server|process|nodejs)_\w+)\b(?!\{)/g) ?? [];
      expect({ source, bare }).toEqual({ source, bare: [] });
    }
  });

  it('filters every selector of a metric labelled by app (DESIGN §11) by $app too', () => {
    const byApp =
      /\b(token_swap_(?:requests|unseal_failures|rate_limited|revocations)_total|token_swap_upstream_request_duration_seconds_(?:bucket|count|sum))\{[^}]*\}/g;
    let checked = 0;
    for (const { source, expr } of dashboardPanelExpressions(dashboard)) {
      for (const [selector] of expr.matchAll(byApp)) {
        checked += 1;
        expect({ source, selector, app: selector.includes('app=~"$app"') }).toEqual({ source, selector, app: true });
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('uses only the variables it defines and Grafana built-in intervals', () => {
    const defined = new Set([
      ...variables.map((candidate) => candidate.name),
      '__rate_interval',
      '__interval',
      '__range',
    ]);
    const queries = [...dashboardPanelExpressions(dashboard), ...dashboardVariableExpressions(dashboard)];
    for (const { source, expr } of queries) {
      const used = [...expr.matchAll(/\$\{?(\w+)\}?/g)].map((match) => match[1]);
      expect({ source, undefined: used.filter((name) => !defined.has(name)) }).toEqual({ source, undefined: [] });
    }
  });

  it('shows every metric of DESIGN §5 and the Node.js runtime metrics', () => {
    const exprs = dashboardPanelExpressions(dashboard).map((query) => query.expr);
    for (const metric of [...DESIGN_METRICS, ...RUNTIME_METRICS]) {
      expect({
        metric,
        shown: exprs.some((expr) => new RegExp(`\\b${metric}(_bucket|_count|_sum)?\\{`).test(expr)),
      }).toEqual({
        metric,
        shown: true,
      });
    }
  });

  it('has unique panel ids', () => {
    const all = (dashboard.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]) as unknown as {
      id: number;
    }[];
    const ids = all.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('dashboardAndAlertExpressions()', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsg-promql-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists every dashboard and alert expression with concrete values for the variables', () => {
    const expressions = dashboardAndAlertExpressions();
    expect(expressions.length).toBe(
      dashboardPanelExpressions().length + dashboardVariableExpressions().length + ALERTS.length,
    );
    for (const { source, expr } of expressions)
      expect({ source, expr: expr.includes('$') }).toEqual({ source, expr: false });
    expect(expressions.find((query) => query.source === 'dashboard panel "CPU" A')?.expr).toBe(
      'sum by (pod, instance) (rate(process_cpu_seconds_total{job=~".*", namespace=~".*", pod=~".*"}[1m]))',
    );
  });

  it('returns only valid PromQL (promtool parses each as a recording rule)', async () => {
    // A JSON string is a valid YAML double-quoted scalar, so the rule file needs no YAML library.
    const rules = dashboardAndAlertExpressions()
      .map(
        ({ expr }, index) => `      - record: tsg_expression_check_${index}\n        expr: ${JSON.stringify(expr)}\n`,
      )
      .join('');
    const file = join(dir, 'expressions.yml');
    writeFileSync(file, `groups:\n  - name: expressions\n    rules:\n${rules}`);
    const output = await promtool('check', 'rules', file);
    expect(output).toContain(`SUCCESS: ${dashboardAndAlertExpressions().length} rules found`);
  });
});

describe('readRuleExpressions()', () => {
  const rules = (body: string) => readRuleExpressions(`groups:\n  - name: g\n    rules:\n${body}`, 'test.yml');

  it('reads one-line, quoted and block-scalar expressions with their rule names', () => {
    const found = rules(
      [
        '      - alert: Plain',
        '        expr: up == 0 # a comment',
        '        for: 5m',
        '      - alert: Quoted',
        `        expr: 'up{job="a''b"} == 0'`,
        '      - record: double:quoted',
        '        expr: "sum(up{job=\\"x\\"})"',
        '      - alert: Block',
        '        expr: |',
        '          sum(rate(x[5m]))',
        '',
        '            > 1',
        '        labels:',
        '          severity: warning',
        '      - expr: >-',
        '          absent(up)',
        '        alert: DashFirst',
      ].join('\n'),
    );
    expect(found).toEqual([
      { source: 'test.yml Plain', expr: 'up == 0' },
      { source: 'test.yml Quoted', expr: `up{job="a'b"} == 0` },
      { source: 'test.yml double:quoted', expr: 'sum(up{job="x"})' },
      { source: 'test.yml Block', expr: 'sum(rate(x[5m]))\n\n  > 1' },
      { source: 'test.yml DashFirst', expr: 'absent(up)' },
    ]);
  });

  it('refuses forms it cannot read faithfully', () => {
    expect(() => rules('      - alert: A\n        expr: sum(x)\n          > 1\n')).toThrow(
      'continues on the next line',
    );
    expect(() => rules('      - alert: A\n        expr: |2\n            x\n')).toThrow('unsupported expr form');
    expect(() => rules('      - alert: A\n        expr:\n')).toThrow('unsupported expr form');
    expect(() => rules(`      - alert: A\n        expr: 'x\n`)).toThrow('unterminated');
  });
});
