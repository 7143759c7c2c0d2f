// values.yaml and the templates agree: every value a template reads is declared (with its
// documentation) in values.yaml, and every value declared there reaches some template, so no
// setting is silently ignored. Templates are read as text, no helm binary needed.
import { describe, it, expect } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHART = join(ROOT, 'helm/token-swap-gateway');

// Kubernetes objects passed to the manifests whole (toYaml): their inner keys are Kubernetes'
// fields, not the chart's, so the template reads the object and not each leaf.
const PASSED_WHOLE = [
  'podSecurityContext',
  'probes.liveness',
  'probes.readiness',
  'probes.startup',
  'resources',
  'securityContext',
  'tests.resources',
];

const isMap = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every node of values.yaml by dotted path; leaves are scalars, lists and empty maps. */
function valuePaths(values: Record<string, unknown>, prefix = ''): { nodes: Set<string>; leaves: string[] } {
  const nodes = new Set<string>();
  const leaves: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    const path = prefix + key;
    nodes.add(path);
    if (isMap(value) && Object.keys(value).length > 0) {
      const inner = valuePaths(value, `${path}.`);
      inner.nodes.forEach((node) => nodes.add(node));
      leaves.push(...inner.leaves);
    } else {
      leaves.push(path);
    }
  }
  return { nodes, leaves };
}

/** Every file under templates/, the helm test hooks in templates/tests/ included. */
const templateFiles = () =>
  readdirSync(join(CHART, 'templates'), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(join(CHART, 'templates'), join(entry.parentPath, entry.name)));

/**
 * The value paths the templates read: `.Values.a.b` and `$.Values.a.b`, and `$x.c` where a
 * template said `$x := .Values.a` (the assignment itself is not a read of all of `a`).
 */
function templateReads(): { read: Set<string>; aliased: Set<string> } {
  const read = new Set<string>();
  const aliased = new Set<string>();
  const assignment = /(\$[A-Za-z]\w*)\s*:=\s*\.Values((?:\.\w+)+)/g;
  for (const file of templateFiles()) {
    const text = readFileSync(join(CHART, 'templates', file), 'utf8');
    for (const [, alias, target] of text.matchAll(assignment)) {
      const path = target!.slice(1);
      aliased.add(path);
      const uses = new RegExp(`\\${alias!}((?:\\.\\w+)*)(?![\\w.])(?!\\s*:=)`, 'g');
      for (const [, rest] of text.matchAll(uses)) read.add(path + rest!);
    }
    for (const [, path] of text.replace(assignment, '').matchAll(/\.Values((?:\.\w+)+)/g)) {
      read.add(path!.slice(1));
    }
  }
  return { read, aliased };
}

const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
const { nodes, leaves } = valuePaths(values);
const { read, aliased } = templateReads();

describe('Helm chart values and templates', () => {
  it('read only values that values.yaml declares', () => {
    const undeclared = [...read, ...aliased].filter((path) => !nodes.has(path));
    expect(undeclared).toEqual([]);
  });

  it('use every value that values.yaml declares', () => {
    const unused = leaves.filter((leaf) => !read.has(leaf) && ![...read].some((path) => leaf.startsWith(`${path}.`)));
    expect(unused).toEqual([]);
  });

  it('pass whole objects only where they are Kubernetes objects', () => {
    const readWhole = [...read].filter((path) => leaves.some((leaf) => leaf.startsWith(`${path}.`))).sort();
    expect(readWhole).toEqual(PASSED_WHOLE);
  });
});
