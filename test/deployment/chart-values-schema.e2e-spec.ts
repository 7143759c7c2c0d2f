// The chart's values.schema.json (draft-07, as Helm applies it) accepts the chart's own value sets
// and rejects wrong ones for the reason each says. Helm validates the merge of values.yaml and the
// user's values, so every set here is checked merged onto values.yaml the same way.
// No helm binary needed: `npm run test:chart` renders the same sets with the real Helm.
import { describe, it, expect } from '@jest/globals';
import { Ajv, type ErrorObject } from 'ajv';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHART = join(ROOT, 'helm/token-swap-gateway');
const INVALID = join(ROOT, 'test/deployment/invalid-values');
// The chart-install CI job's sets (ct install on kind); the job adds a fresh encryption key.
const INSTALL_SETS = join(ROOT, '.github/ci');

type Values = Record<string, unknown>;

const readYaml = (path: string): Values => (parseYaml(readFileSync(path, 'utf8')) ?? {}) as Values;
const isMap = (value: unknown): value is Values => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Helm's coalescing: maps merge key by key, anything else replaces, null removes the key. */
function merge(base: Values, overlay: Values): Values {
  const merged: Values = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    if (value === null) delete merged[key];
    else merged[key] = isMap(value) && isMap(merged[key]) ? merge(merged[key], value) : value;
  }
  return merged;
}

const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Values;
const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
const validate = ajv.compile(schema);
const defaults = readYaml(join(CHART, 'values.yaml'));
const minimal = readYaml(join(CHART, 'ci/minimal-values.yaml'));

function errorsOf(values: Values): ErrorObject[] {
  return validate(values) ? [] : [...(validate.errors ?? [])];
}
const describeErrors = (errors: ErrorObject[]) =>
  errors.map((error) => `${error.instancePath || '/'} ${error.message ?? ''}`).join('\n');
/** Where each error is, an unknown key included (`if` only summarises the errors of its `then`). */
const errorPaths = (errors: ErrorObject[]) =>
  [
    ...new Set(
      errors
        .filter((error) => error.keyword !== 'if')
        .map((error) =>
          error.keyword === 'additionalProperties'
            ? `${error.instancePath}/${String(error.params.additionalProperty)}`
            : error.instancePath,
        ),
    ),
  ].sort();

const ciSets = readdirSync(join(CHART, 'ci'))
  .filter((name) => name.endsWith('-values.yaml'))
  .sort();
const installSets = readdirSync(INSTALL_SETS)
  .filter((name) => name.endsWith('-values.yaml'))
  .sort();
const invalidSets = readdirSync(INVALID)
  .filter((name) => name.endsWith('.yaml'))
  .sort();

describe('Helm chart values schema', () => {
  it('is a draft-07 schema that closes every object of the chart itself', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.additionalProperties).toBe(false);
    expect(ajv.validateSchema(schema)).toBe(true);
  });

  it('covers every top-level value of values.yaml, and no more', () => {
    const declared = Object.keys(schema.properties as Values).filter((key) => key !== 'global');
    expect(declared.sort()).toEqual(Object.keys(defaults).sort());
  });

  it('rejects values.yaml alone only for the four settings without a default', () => {
    expect(errorPaths(errorsOf(defaults))).toEqual([
      '/config/spotify/clientId',
      '/config/spotify/redirectUris',
      '/secret/clientSecret',
      '/secret/tokenEncryptionKeys',
    ]);
  });

  it('accepts values.yaml with the minimum settings (what test:chart passes with --set)', () => {
    expect(describeErrors(errorsOf(merge(defaults, minimal)))).toBe('');
  });

  it.each(ciSets)('accepts the CI value set ci/%s', (name) => {
    const values = merge(defaults, readYaml(join(CHART, 'ci', name)));
    expect(describeErrors(errorsOf(values))).toBe('');
  });

  it.each(installSets)('accepts the kind install set .github/ci/%s with the key the job adds', (name) => {
    const values = merge(merge(defaults, readYaml(join(INSTALL_SETS, name))), {
      secret: { tokenEncryptionKeys: (minimal.secret as Values).tokenEncryptionKeys },
    });
    expect(describeErrors(errorsOf(values))).toBe('');
  });

  it('has CI value sets for each deployment shape', () => {
    expect(ciSets).toEqual([
      'apps-values.yaml',
      'cluster-tls-values.yaml',
      'existing-secret-values.yaml',
      'hpa-pdb-values.yaml',
      'minimal-values.yaml',
      'monitoring-values.yaml',
      'sentinel-values.yaml',
      'tracing-values.yaml',
    ]);
  });

  it.each(invalidSets)('rejects invalid-values/%s for the reason its comment gives, and no other', (name) => {
    const text = readFileSync(join(INVALID, name), 'utf8');
    const expectedPaths = [...text.matchAll(/^# rejected-at: (\S+)$/gm)].map((match) => match[1]!);
    expect(text).toMatch(/^# [A-Z]/); // says what is wrong, in words
    expect(expectedPaths.length).toBeGreaterThan(0);
    // On top of a valid install, so that the file's own mistake is the only one.
    const errors = errorsOf(merge(merge(defaults, minimal), parseYaml(text) as Values));
    expect(errorPaths(errors)).toEqual(expectedPaths.sort());
  });

  it('checks at least the mistakes the chart promises to catch', () => {
    const kinds = ['wrong-type', 'unknown', 'bad-', 'two-redis-topologies', 'missing-secrets'];
    for (const kind of kinds) expect(invalidSets.some((name) => name.startsWith(kind))).toBe(true);
  });
});
