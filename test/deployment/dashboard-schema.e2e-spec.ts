/**
 * The dashboard file against Grafana's own published model (issue 22): Grafana cannot run here,
 * so the dashboard JSON is type-checked against `@grafana/schema`, the package Grafana generates
 * from its CUE schemas. It publishes TypeScript types only (no JSON Schema), so the check is the
 * TypeScript compiler's: the JSON, as an object literal, `satisfies` the `Dashboard` type (unknown
 * fields, wrong types and missing required fields are errors; an enum is matched by its values),
 * and each time series and stat
 * panel's options and custom field config satisfy that panel plugin's own types. A broken copy is
 * checked too, so the check is known to fail on what Grafana would refuse.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DASHBOARD_FILE = join(ROOT, 'helm/token-swap-gateway/files/token-swap-gateway.json');
const PANEL_TYPES = '@grafana/schema/dist/esm/raw/composable';

interface PanelJson {
  type: string;
  options?: unknown;
  fieldConfig?: { defaults?: { custom?: unknown } };
  panels?: PanelJson[];
}

/** TypeScript source that compiles exactly when the dashboard fits Grafana's types. */
function checkSource(dashboard: { panels?: PanelJson[] }): string {
  const lines = [
    "import type { Dashboard } from '@grafana/schema';",
    `import type { Options as TimeSeriesOptions, FieldConfig as TimeSeriesFieldConfig } from '${PANEL_TYPES}/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';`,
    `import type { Options as StatOptions } from '${PANEL_TYPES}/stat/panelcfg/x/StatPanelCfg_types.gen';`,
    // JSON holds an enum's value, never the TypeScript enum member: each string enum becomes the
    // union of its values; everything else stays as Grafana's types say.
    'type Json<T> = T extends string ? `${T}` : T extends readonly (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;',
    `export const dashboard = ${JSON.stringify(dashboard)} satisfies Json<Dashboard>;`,
  ];
  const panels = (dashboard.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  panels.forEach((panel, index) => {
    if (panel.type === 'timeseries') {
      lines.push(
        `export const options${index} = ${JSON.stringify(panel.options ?? {})} satisfies Json<TimeSeriesOptions>;`,
      );
      const custom = panel.fieldConfig?.defaults?.custom;
      if (custom)
        lines.push(`export const custom${index} = ${JSON.stringify(custom)} satisfies Json<TimeSeriesFieldConfig>;`);
    } else if (panel.type === 'stat') {
      lines.push(`export const options${index} = ${JSON.stringify(panel.options ?? {})} satisfies Json<StatOptions>;`);
    }
  });
  return lines.join('\n');
}

/** The compiler's errors for the source, as if it were a file of test/ (so node_modules resolve). */
function typeErrors(source: string): string[] {
  const fileName = join(ROOT, 'test/deployment/__dashboard_check__.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = (name) => name === fileName || ts.sys.fileExists(name);
  host.readFile = (name) => (name === fileName ? source : readFile(name));
  host.getSourceFile = (name, version, onError, create) =>
    name === fileName ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, onError, create);
  const program = ts.createProgram([fileName], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n').split('\n')[0]!);
}

describe('the Grafana dashboard against @grafana/schema', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: PanelJson[] } & Record<
    string,
    unknown
  >;

  it('type-checks as a Grafana Dashboard, with each panel plugin’s own options', () => {
    expect(typeErrors(checkSource(dashboard))).toEqual([]);
  }, 60_000);

  // One fault per copy: each alone must fail the check, with an error that names it.
  const faults: [string, (copy: typeof dashboard) => void, string][] = [
    ['an unknown top-level field', (copy) => (copy.refreshIntervalz = '5s'), 'refreshIntervalz'],
    [
      'a grid position that is no number',
      (copy) => ((copy.panels[1] as unknown as { gridPos: { w: unknown } }).gridPos.w = 'wide'),
      "'string' is not assignable to type 'number'",
    ],
    [
      'a legend mode Grafana does not know',
      (copy) => {
        const timeseries = copy.panels.find((panel) => panel.type === 'timeseries')!;
        (timeseries.options as { legend: { displayMode: string } }).legend.displayMode = 'sideways';
      },
      '"sideways"',
    ],
    [
      'a stat panel without a required option',
      (copy) =>
        delete (copy.panels.find((panel) => panel.type === 'stat')!.options as Record<string, unknown>).colorMode,
      'colorMode',
    ],
  ];
  it.each(faults)(
    'refuses a dashboard with %s',
    (_what, breakIt, named) => {
      const copy = structuredClone(dashboard);
      breakIt(copy);
      const errors = typeErrors(checkSource(copy));
      expect(errors.filter((error) => error.includes(named))).not.toEqual([]);
    },
    60_000,
  );
});
