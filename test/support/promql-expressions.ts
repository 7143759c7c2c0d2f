// Every PromQL expression the project ships (Grafana dashboard and Prometheus alert rules), so
// tests can parse them with promtool or evaluate them against a real Prometheus.
// No YAML library is a dependency: alerts.yml keeps every `expr:` either on one line or in a
// `|`/`>` block scalar, and readRuleExpressions() reads exactly that subset and rejects the rest.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface PromqlExpression {
  /** Where the expression comes from, e.g. `dashboard panel "CPU" A` or `alerts.yml TokenSwapUpstreamSlow`. */
  source: string;
  expr: string;
}

export const DASHBOARD_PATH = fileURLToPath(
  new URL('../../helm/token-swap-gateway/files/token-swap-gateway.json', import.meta.url),
);
export const ALERTS_PATH = fileURLToPath(new URL('../../helm/token-swap-gateway/files/alerts.yml', import.meta.url));

/** What the dashboard's variables stand for when an expression is evaluated outside Grafana. */
const CONCRETE_VARIABLES: Record<string, string> = {
  job: '.*',
  namespace: '.*',
  pod: '.*',
  app: '.*',
  __rate_interval: '1m',
  __interval: '1m',
  __range: '1m',
};

interface GrafanaTarget {
  expr?: string;
  refId?: string;
}
interface GrafanaPanel {
  type?: string;
  title?: string;
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
}
interface GrafanaVariable {
  name: string;
  type: string;
  query?: string | { query?: string };
}
export interface GrafanaDashboard {
  panels?: GrafanaPanel[];
  templating?: { list?: GrafanaVariable[] };
}

export function readDashboard(): GrafanaDashboard {
  return JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as GrafanaDashboard;
}

/** Panels in layout order, the panels of collapsed rows included; rows themselves left out. */
export function dashboardPanels(dashboard: GrafanaDashboard = readDashboard()): GrafanaPanel[] {
  const flat: GrafanaPanel[] = [];
  for (const panel of dashboard.panels ?? []) {
    if (panel.type !== 'row') flat.push(panel);
    flat.push(...(panel.panels ?? []).filter((nested) => nested.type !== 'row'));
  }
  return flat;
}

/** Panel queries as written, Grafana variables still in place. */
export function dashboardPanelExpressions(dashboard: GrafanaDashboard = readDashboard()): PromqlExpression[] {
  return dashboardPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? [])
      .filter((target) => typeof target.expr === 'string' && target.expr.trim() !== '')
      .map((target) => ({ source: `dashboard panel "${panel.title}" ${target.refId}`, expr: target.expr as string })),
  );
}

/** `label_values(<selector>, <label>)` variable queries, as the PromQL query they amount to. */
export function dashboardVariableExpressions(dashboard: GrafanaDashboard = readDashboard()): PromqlExpression[] {
  const found: PromqlExpression[] = [];
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    const labelValues = /^label_values\((.+),\s*(\w+)\)$/.exec(query?.trim() ?? '');
    if (!labelValues)
      throw new Error(`variable ${variable.name}: expected label_values(<selector>, <label>), got ${query}`);
    found.push({
      source: `dashboard variable ${variable.name}`,
      expr: `group by (${labelValues[2]}) (${labelValues[1]})`,
    });
  }
  return found;
}

/** Replaces Grafana variables (`$pod`, `${pod}`, `$__rate_interval`) by concrete values; unknown ones throw. */
export function withConcreteVariables(expr: string): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole: string, braced?: string, bare?: string) => {
    const name = (braced ?? bare) as string;
    const value = CONCRETE_VARIABLES[name];
    if (value === undefined) throw new Error(`unknown Grafana variable ${whole} in: ${expr}`);
    return value;
  });
}

/**
 * The `expr` of every rule in a Prometheus rule file, named after its alert or record.
 * Reads the subset alerts.yml is written in (one-line, quoted or block-scalar `expr:`) and throws
 * on anything else rather than return a truncated expression.
 */
export function readRuleExpressions(yaml: string, file = 'alerts.yml'): PromqlExpression[] {
  const lines = yaml.split(/\r?\n/);
  const found: PromqlExpression[] = [];
  // A rule is a sequence item; its name may come before or after its expr.
  let item: { name?: string; exprs: { expr: string; line: number }[] } = { exprs: [] };
  const endItem = (): void => {
    for (const { expr, line } of item.exprs) found.push({ source: `${file} ${item.name ?? `line ${line}`}`, expr });
    item = { exprs: [] };
  };
  const indentOf = (line: string): number => line.length - line.trimStart().length;
  for (let i = 0; i < lines.length; i++) {
    if (/^\s*-\s/.test(lines[i])) endItem();
    const name = /^\s*(?:-\s+)?(?:alert|record):\s*(\S+)\s*$/.exec(lines[i]);
    if (name) item.name = name[1];
    const entry = /^(\s*(?:-\s+)?)expr:\s*(.*?)\s*$/.exec(lines[i]);
    if (!entry) continue;
    const keyIndent = entry[1].length; // the column of `expr`, also after a sequence dash
    const value = entry[2];
    const where = `${file} line ${i + 1}`;
    const line = i + 1;
    let expr: string;
    if (/^[|>][-+]?$/.test(value)) {
      const block: string[] = [];
      while (i + 1 < lines.length && (lines[i + 1].trim() === '' || indentOf(lines[i + 1]) > keyIndent))
        block.push(lines[++i]);
      const indent = Math.min(...block.filter((text) => text.trim() !== '').map(indentOf));
      expr = block
        .map((text) => text.slice(indent))
        .join('\n')
        .trim();
    } else if (/^[|>]/.test(value) || value === '') {
      throw new Error(`${where}: unsupported expr form "${value}" (use one line or a plain | block)`);
    } else {
      expr = unquote(value.replace(/\s+#.*$/, ''), where);
      const next = lines.slice(i + 1).find((text) => text.trim() !== '' && !text.trim().startsWith('#'));
      if (next !== undefined && indentOf(next) > keyIndent) {
        throw new Error(`${where}: expr continues on the next line; write it on one line or as a | block`);
      }
    }
    if (expr === '') throw new Error(`${where}: empty expr`);
    item.exprs.push({ expr, line });
  }
  endItem();
  return found;
}

function unquote(value: string, source: string): string {
  if (value.startsWith('"')) {
    if (!value.endsWith('"') || value.length < 2) throw new Error(`${source}: unterminated "…" expr`);
    return JSON.parse(value) as string;
  }
  if (value.startsWith("'")) {
    if (!value.endsWith("'") || value.length < 2) throw new Error(`${source}: unterminated '…' expr`);
    return value.slice(1, -1).replaceAll("''", "'");
  }
  return value;
}

/**
 * Every expression of the dashboard (panels and variables, with job/namespace/pod as `.*` and
 * Grafana intervals as `1m`) and of alerts.yml, ready for Prometheus' `/api/v1/query`.
 */
export function dashboardAndAlertExpressions(): PromqlExpression[] {
  const dashboard = readDashboard();
  const fromDashboard = [...dashboardPanelExpressions(dashboard), ...dashboardVariableExpressions(dashboard)].map(
    ({ source, expr }) => ({ source, expr: withConcreteVariables(expr) }),
  );
  return [...fromDashboard, ...readRuleExpressions(readFileSync(ALERTS_PATH, 'utf8'))];
}
