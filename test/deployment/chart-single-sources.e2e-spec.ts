// One source for each shipped artefact: the chart's appVersion is the gateway's version, and the
// Grafana dashboard and the alert rules exist once, in the chart's files/, where the chart, the
// compose set-up and the tests all read them. No helm binary needed.
import { describe, it, expect } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHART = 'helm/token-swap-gateway';
const DASHBOARD = `${CHART}/files/token-swap-gateway.json`;
const ALERTS = `${CHART}/files/alerts.yml`;
const THIS_TEST = 'test/deployment/chart-single-sources.e2e-spec.ts';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Tracked files, and new ones not ignored (so a copy is caught before it is committed). */
function repositoryFiles(): string[] {
  const output = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return [...new Set(output.split('\0').filter((path) => path.length > 0))];
}

const readIfText = (path: string): string | undefined => {
  try {
    const text = read(path);
    return text.includes('\0') ? undefined : text;
  } catch {
    return undefined; // listed but deleted in the work tree
  }
};

describe('Helm chart sources', () => {
  it('has apiVersion v2 and the gateway version as appVersion', () => {
    const chart = parseYaml(read(`${CHART}/Chart.yaml`)) as Record<string, unknown>;
    const packageJson = JSON.parse(read('package.json')) as { version: string };
    expect(chart.apiVersion).toBe('v2');
    expect(chart.appVersion).toBe(packageJson.version);
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('reads the dashboard and the alert rules from files/ through .Files.Get', () => {
    const templates = readdirSync(join(ROOT, CHART, 'templates'), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => readFileSync(join(entry.parentPath, entry.name), 'utf8'));
    expect(templates.some((text) => text.includes('.Files.Get "files/token-swap-gateway.json"'))).toBe(true);
    expect(templates.some((text) => text.includes('.Files.Get "files/alerts.yml"'))).toBe(true);
  });

  it('keeps files/alerts.test.yml out of the packaged chart', () => {
    const ignored = read(`${CHART}/.helmignore`).split('\n');
    expect(ignored).toContain('files/alerts.test.yml');
  });

  it('has exactly one Grafana dashboard and one alert rule file in the repository', () => {
    const dashboard = JSON.parse(read(DASHBOARD)) as { uid: string; title: string };
    const alertNames = [...read(ALERTS).matchAll(/^\s*- alert: (\w+)$/gm)].map((match) => match[1]!);
    expect(dashboard.uid).toBe('token-swap-gateway');
    expect(alertNames.length).toBeGreaterThan(0);

    // A copy of the dashboard names its uid (JSON or YAML); a copy of the rules defines an alert.
    const dashboardCopy = new RegExp(`uid["']?\\s*:\\s*["']?${dashboard.uid}\\b`);
    const ruleCopy = new RegExp(`^\\s*-?\\s*alert:\\s*["']?(${alertNames.join('|')})\\b`, 'm');
    const holders = { dashboard: [] as string[], rules: [] as string[] };
    for (const path of repositoryFiles()) {
      // Prose may quote them; this test names them on purpose.
      if (path.endsWith('.md') || path === THIS_TEST) continue;
      const text = readIfText(path);
      if (text === undefined) continue;
      if (dashboardCopy.test(text)) holders.dashboard.push(path);
      if (ruleCopy.test(text)) holders.rules.push(path);
    }
    expect(holders).toEqual({ dashboard: [DASHBOARD], rules: [ALERTS] });
  });
});
