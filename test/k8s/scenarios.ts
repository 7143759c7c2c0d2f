/**
 * The scenarios of `npm run test:k8s` (issue 20, DESIGN §9), on the single-node cluster that
 * scripts/k8s/run.sh started: the chart installed with Helm, then the operations an operator
 * relies on, under steady load, each an assertion with its figures printed:
 *   1. helm install --wait (2 replicas, Redis, the fake accounts sidecar): pods Ready, helm test;
 *   2. the pod as promised: uid, read-only root, no capabilities, secrets as files only, probes
 *      on the ops port;
 *   3. rolling update (helm upgrade of a setting) under load: 0 failed requests, both clients;
 *   4. kubectl delete pod under load: 0 failed requests;
 *   5. Redis restart under load: answers by the configured outage policies (DESIGN §4, §8), the
 *      revocations made before it survive (append-only file on a persistent volume), limits exact
 *      afterwards;
 *   6. replicaCount 2 -> 4 under load: 0 failed requests, the per-IP limit exact across 4 pods;
 *   7. a second release in another namespace beside the first (monitoring set: ServiceMonitor,
 *      PrometheusRule), and helm uninstall leaving nothing of either;
 *   8. Helm 3 and Helm 4 each install, test and upgrade the chart (release A: Helm 4, B: Helm 3).
 * Traffic goes only to ClusterIPs and pod IPs of this cluster. Exits 1 if any assertion fails.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyEntry } from '../../src/sealing/keygen.ts';
import {
  apply,
  helm,
  HELM,
  type HelmMajor,
  kubectl,
  kubectlJson,
  type Pod,
  pods,
  run,
  KUBECTL,
  settled,
  waitFor,
} from './cluster.ts';
import { describeFigures, type LoadFigures, SteadyLoad } from './steady-load.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHART = join(REPO_ROOT, 'helm/token-swap-gateway');
const CI_VALUES = join(REPO_ROOT, '.github/ci/kind-values.yaml');
const CI_MONITORING_VALUES = join(REPO_ROOT, '.github/ci/kind-monitoring-values.yaml');
const TEST_VALUES = join(REPO_ROOT, 'test/k8s/values.yaml');
const RUN_DIR = process.env['TSG_K8S_RUN'] ?? '/tmp/token-swap-gateway-k8s';
/** Iterations (a swap and a refresh) per second of each load client. */
const RATE = Number(process.env['TSG_K8S_RATE'] ?? '15');
const RELEASE = 'tsg';
const NS_A = 'tsg-a';
const NS_B = 'tsg-b';
const GATEWAY = `app.kubernetes.io/name=token-swap-gateway,app.kubernetes.io/instance=${RELEASE}`;
const FULLNAME = `${RELEASE}-token-swap-gateway`;
const OPS_PORT = 9464;
const HTTP_PORT = 8080;
// The CI install set's secrets (.github/ci/kind-values.yaml: CI-only values, not secrets).
const CLIENT_SECRET = 'ci-client-secret-not-a-secret';
const REDIS_URL = 'redis://redis:6379';
/** The gateway's default limits (DESIGN §4), which the test install leaves as they are. */
const SWAP_PER_IP = 30;
const REFRESH_PER_TOKEN = 20;
/** Seconds of load before and after each operation. */
const SETTLE_MS = 4000;

const failures: string[] = [];
const figures: string[] = [];
let addressBlock = 1;

function say(line: string): void {
  process.stdout.write(`test:k8s: ${line}\n`);
}

function check(ok: boolean, what: string): boolean {
  process.stdout.write(`  ${ok ? 'ok  ' : 'FAIL'} ${what}\n`);
  if (!ok) failures.push(what);
  return ok;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// --- what the install sets expect in a namespace -------------------------------------------

function redisObjects(namespace: string, persistent: boolean): object[] {
  const objects: object[] = [];
  let volume: object = { name: 'data', emptyDir: {} };
  if (persistent) {
    // A static PersistentVolume on the node (hostPath under the run directory, removed with the
    // cluster) bound to the claim: a Redis pod replaced by another finds the same data, as with
    // a cloud volume. The directory belongs to Redis's uid (999 in the image).
    const path = join(RUN_DIR, 'volumes', `redis-${namespace}`);
    mkdirSync(path, { recursive: true });
    chownSync(path, 999, 999);
    chmodSync(path, 0o700);
    objects.push(
      {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: `redis-data-${namespace}` },
        spec: {
          capacity: { storage: '256Mi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: 'local-node',
          hostPath: { path, type: 'Directory' },
          claimRef: { namespace, name: 'redis-data' },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'redis-data', namespace },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'local-node',
          volumeName: `redis-data-${namespace}`,
          resources: { requests: { storage: '256Mi' } },
        },
      },
    );
    volume = { name: 'data', persistentVolumeClaim: { claimName: 'redis-data' } };
  }
  objects.push(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'redis', namespace, labels: { app: 'redis' } },
      spec: {
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: { app: 'redis' } },
        template: {
          metadata: { labels: { app: 'redis' } },
          spec: {
            securityContext: { runAsUser: 999, runAsGroup: 999, runAsNonRoot: true },
            containers: [
              {
                name: 'redis',
                image: 'local/redis:7',
                imagePullPolicy: 'IfNotPresent',
                // Append-only file, fsync every second (the default of a persistent Redis); a
                // graceful stop (SIGTERM) writes it out. No password: --protected-mode no.
                args: ['--protected-mode', 'no', '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'],
                ports: [{ containerPort: 6379 }],
                readinessProbe: { tcpSocket: { port: 6379 }, periodSeconds: 1 },
                securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
                volumeMounts: [{ name: 'data', mountPath: '/data' }],
              },
            ],
            volumes: [volume],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'redis', namespace, labels: { app: 'redis' } },
      spec: { selector: { app: 'redis' }, ports: [{ port: 6379, targetPort: 6379 }] },
    },
  );
  return objects;
}

async function prepareNamespace(namespace: string, persistentRedis: boolean): Promise<void> {
  await apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }]);
  // test/fake-accounts, run by the sidecar of the CI install sets (extraContainers, extraVolumes).
  const configMap = await kubectl([
    '-n',
    namespace,
    'create',
    'configmap',
    'fake-accounts',
    `--from-file=${REPO_ROOT}test/fake-accounts/`,
    '--dry-run=client',
    '-o',
    'json',
  ]);
  await kubectl(['apply', '-f', '-'], { input: configMap });
  await apply(redisObjects(namespace, persistentRedis));
}

// --- Helm -------------------------------------------------------------------------------------

function secretValuesFile(): string {
  const path = join(RUN_DIR, 'secret-values.yaml');
  writeFileSync(path, `secret:\n  tokenEncryptionKeys: '${generateKeyEntry()}'\n`, { mode: 0o600 });
  return path;
}

/** `helm upgrade --reuse-values --set <setting> --wait` of the release in `namespace`. */
async function upgrade(major: HelmMajor, namespace: string, setting: string): Promise<void> {
  await helm(major, [
    'upgrade',
    RELEASE,
    CHART,
    '-n',
    namespace,
    '--reuse-values',
    '--set',
    setting,
    '--wait',
    '--timeout',
    '180s',
  ]);
}

async function helmTest(major: HelmMajor, namespace: string): Promise<boolean> {
  const started = Date.now();
  // Without --logs: the hook-delete-policy removes the passed pod before Helm could fetch them.
  const result = await run(HELM[major], ['test', RELEASE, '-n', namespace, '--timeout', '120s'], {
    timeoutMs: 150_000,
  });
  const phase = /Phase:\s+(\w+)/.exec(result.stdout)?.[1] ?? 'unknown';
  return check(
    result.code === 0 && phase === 'Succeeded',
    `helm ${major} test ${RELEASE} -n ${namespace}: ${phase} in ${((Date.now() - started) / 1000).toFixed(1)} s` +
      (result.code === 0 ? '' : ` (${result.stderr.trim().split('\n').pop()})`),
  );
}

// --- the gateway's Service and pods -----------------------------------------------------------

interface Service {
  spec: { clusterIP: string; ports: { name: string; port: number }[] };
}

async function serviceOrigin(namespace: string): Promise<URL> {
  const service = await kubectlJson<Service>(['-n', namespace, 'get', 'service', FULLNAME]);
  const port = service.spec.ports.find((entry) => entry.name === 'http')?.port;
  return new URL(`http://${service.spec.clusterIP}:${port}`);
}

async function getText(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, text: await response.text() };
}

/** Sum of the samples of `name` whose labels include every given label. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function podMetrics(pod: Pod): Promise<string> {
  return (await getText(`http://${pod.status.podIP}:${OPS_PORT}/metrics`)).text;
}

async function form(
  origin: URL,
  path: string,
  fields: Record<string, string>,
  forwardedFor: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  // A connection per request (the Service then picks a pod for each).
  const response = await fetch(new URL(path, origin), {
    method: 'POST',
    headers: { 'x-forwarded-for': forwardedFor, connection: 'close' },
    body: new URLSearchParams(fields),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: left empty, the status says enough
  }
  return { status: response.status, body };
}

// --- load around an operation -----------------------------------------------------------------

/** Runs `operation` while both clients load the Service; returns their figures. */
async function underLoad(origin: URL, operation: () => Promise<void>): Promise<LoadFigures[]> {
  const loads = [
    new SteadyLoad(origin, 'connection-per-request', RATE, addressBlock++),
    new SteadyLoad(origin, 'keep-alive', RATE, addressBlock++),
  ];
  for (const load of loads) load.start();
  let problem: unknown;
  try {
    await sleep(SETTLE_MS);
    await operation();
    await sleep(SETTLE_MS);
  } catch (error) {
    problem = error;
  }
  const results = await Promise.all(loads.map((load) => load.stop()));
  for (const result of results) {
    say(`  load ${describeFigures(result)}`);
    for (const first of result.firstFailures) say(`    ${first}`);
  }
  if (problem) throw problem;
  return results;
}

function zeroFailures(name: string, results: LoadFigures[], keepAliveMustBeZero: boolean): void {
  for (const result of results) {
    const mustBeZero = result.kind === 'connection-per-request' || keepAliveMustBeZero;
    const line = `${name}: ${describeFigures(result)}`;
    figures.push(line);
    if (mustBeZero) check(result.failed === 0 && result.requests > 0, line);
    else say(`  (reported, not asserted) ${line}`);
  }
}

// --- the scenarios ----------------------------------------------------------------------------

async function scenarioInstall(secretValues: string): Promise<void> {
  say('1. helm install --wait: 2 replicas, Redis, the fake accounts sidecar; helm test (Helm 4)');
  const started = Date.now();
  await helm(4, [
    'install',
    RELEASE,
    CHART,
    '-n',
    NS_A,
    '-f',
    CI_VALUES,
    '-f',
    TEST_VALUES,
    '-f',
    secretValues,
    '--wait',
    '--timeout',
    '180s',
  ]);
  const ready = await settled(NS_A, GATEWAY, 2, 30_000);
  check(
    ready.length === 2 && ready.every((pod) => (pod.status.containerStatuses ?? []).every((status) => status.ready)),
    `helm 4 install --wait: ${ready.length} pods Ready, every container ready, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  await helmTest(4, NS_A);
}

const POD_PROBE = `
const fs = require('fs');
const out = { uid: process.getuid(), gid: process.getgid() };
try { fs.writeFileSync('/app-write-test', 'x'); out.rootWrite = 'written'; } catch (e) { out.rootWrite = e.code; }
try { fs.writeFileSync('/tmp/write-test', 'x'); fs.unlinkSync('/tmp/write-test'); out.tmpWrite = 'written'; } catch (e) { out.tmpWrite = e.code; }
const status = fs.readFileSync('/proc/1/status', 'utf8');
for (const key of ['Uid', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs'])
  out[key] = (status.match(new RegExp('^' + key + ':\\\\s*(\\\\S+)', 'm')) || [])[1];
out.pid1 = fs.readFileSync('/proc/1/cmdline', 'utf8').split('\\0').filter(Boolean)[0];
out.secretFiles = fs.readdirSync('/var/run/secrets/token-swap-gateway').filter((name) => !name.startsWith('..'));
out.environ = fs.readFileSync('/proc/1/environ', 'utf8');
process.stdout.write(JSON.stringify(out));
`;

async function scenarioPodSecurity(secretValues: string): Promise<void> {
  say('2. the pod as promised: non-root, read-only root, no capabilities, secrets as files, probes on ops');
  const [pod] = await pods(NS_A, GATEWAY);
  const name = pod.metadata.name;
  const seen = JSON.parse(
    await kubectl(['-n', NS_A, 'exec', name, '-c', 'gateway', '--', 'node', '-e', POD_PROBE]),
  ) as {
    uid: number;
    gid: number;
    rootWrite: string;
    tmpWrite: string;
    Uid: string;
    CapPrm: string;
    CapEff: string;
    CapBnd: string;
    CapAmb: string;
    NoNewPrivs: string;
    pid1: string;
    secretFiles: string[];
    environ: string;
  };
  check(
    seen.uid === 1000 && seen.gid === 1000 && seen.Uid.startsWith('1000'),
    `runs as uid ${seen.uid}, gid ${seen.gid} (PID 1: ${seen.pid1})`,
  );
  check(
    seen.rootWrite === 'EROFS' && seen.tmpWrite === 'written',
    `a write to / fails with ${seen.rootWrite}; /tmp is ${seen.tmpWrite === 'written' ? 'writable' : seen.tmpWrite}`,
  );
  const none = '0000000000000000';
  check(
    [seen.CapPrm, seen.CapEff, seen.CapBnd, seen.CapAmb].every((value) => value === none) && seen.NoNewPrivs === '1',
    `no capabilities (CapPrm ${seen.CapPrm}, CapEff ${seen.CapEff}, CapBnd ${seen.CapBnd}), NoNewPrivs ${seen.NoNewPrivs}`,
  );
  const key = /tokenEncryptionKeys: '([^']+)'/.exec(readFileSync(secretValues, 'utf8'))![1];
  const secrets = { 'client secret': CLIENT_SECRET, 'encryption key': key, 'Redis URL': REDIS_URL };
  const environment = seen.environ.split('\0').filter(Boolean);
  const names = environment.map((entry) => entry.split('=')[0]);
  const configMap = JSON.stringify((await kubectlJson(['-n', NS_A, 'get', 'configmap', FULLNAME]))['data']);
  check(
    ['spotify-client-secret', 'token-encryption-keys', 'redis-url'].every((file) => seen.secretFiles.includes(file)) &&
      ['SPOTIFY_CLIENT_SECRET_FILE', 'TOKEN_ENCRYPTION_KEYS_FILE', 'REDIS_URL_FILE'].every((entry) =>
        names.includes(entry),
      ),
    `secrets mounted as files (${seen.secretFiles.join(', ')}), named by *_FILE variables`,
  );
  const leaks = Object.entries(secrets).filter(
    ([, value]) => environment.some((entry) => entry.includes(value)) || configMap.includes(value),
  );
  check(
    leaks.length === 0 && !names.includes('SPOTIFY_CLIENT_SECRET') && !names.includes('TOKEN_ENCRYPTION_KEYS'),
    `no secret in the environment of PID 1 (${environment.length} variables) nor in the ConfigMap` +
      (leaks.length ? `: found ${leaks.map(([what]) => what).join(', ')}` : ''),
  );
  const gateway = pod.spec.containers.find((container) => container.name === 'gateway')!;
  const ip = pod.status.podIP;
  const answers = await Promise.all([
    getText(`http://${ip}:${OPS_PORT}/livez`),
    getText(`http://${ip}:${OPS_PORT}/readyz`),
    getText(`http://${ip}:${HTTP_PORT}/readyz`),
  ]);
  check(
    gateway.livenessProbe?.httpGet?.port === 'ops' &&
      gateway.readinessProbe?.httpGet?.port === 'ops' &&
      answers[0].status === 200 &&
      answers[1].status === 200 &&
      answers[2].status === 404,
    `probes on the ops port: /livez ${answers[0].status}, /readyz ${answers[1].status} on :${OPS_PORT}; /readyz on the public :${HTTP_PORT} ${answers[2].status}`,
  );
}

/** Waits until the release has `count` Ready pods and none terminating (a drain has ended). */
const drained = (count: number) => settled(NS_A, GATEWAY, count, 180_000);

async function scenarioRollingUpdate(origin: URL): Promise<void> {
  say(
    `3. rolling update under load (helm 4 upgrade: config.logLevel debug -> info), ${RATE} swaps + ${RATE} refreshes/s per client`,
  );
  const results = await underLoad(origin, async () => {
    await upgrade(4, NS_A, 'config.logLevel=info');
    await drained(2);
  });
  zeroFailures('rolling update', results, true);
}

async function scenarioDeletePod(origin: URL): Promise<void> {
  say('4. kubectl delete pod (default grace) under load');
  const results = await underLoad(origin, async () => {
    const [victim] = await pods(NS_A, GATEWAY);
    await kubectl(['-n', NS_A, 'delete', 'pod', victim.metadata.name, '--wait=false']);
    await waitFor('the deleted pod to be gone', 120_000, async () =>
      (await pods(NS_A, GATEWAY)).some((pod) => pod.metadata.name === victim.metadata.name) ? undefined : true,
    );
    await drained(2);
  });
  zeroFailures('pod deletion', results, true);
}

/** Exactly `limit` of `limit + extra` swaps from one new client address pass, over the Service. */
async function swapLimitExact(origin: URL, label: string): Promise<Record<string, number>> {
  const forwardedFor = `10.250.${addressBlock++}.1`;
  const statuses: number[] = [];
  const extra = 10;
  // Eight at a time, each on its own connection, so the Service spreads them over the pods.
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < SWAP_PER_IP + extra) {
        const n = next++;
        statuses.push((await form(origin, '/swap', { code: `limit-${forwardedFor}-${n}` }, forwardedFor)).status);
      }
    }),
  );
  const counts: Record<string, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  check(
    counts['200'] === SWAP_PER_IP && counts['429'] === extra,
    `${label}: ${SWAP_PER_IP + extra} swaps from one client address: ${counts['200'] ?? 0} × 200, ${counts['429'] ?? 0} × 429 (limit ${SWAP_PER_IP}/1m)`,
  );
  return counts;
}

async function scenarioRedisRestart(origin: URL): Promise<void> {
  say('5. Redis restart under load (RATE_LIMIT_REDIS_FAILURE=local, TOKEN_STATE_REDIS_FAILURE=open: the defaults)');
  // Revocations before the restart: each token's family refused afterwards.
  const revoked: string[] = [];
  for (let n = 0; n < 5; n++) {
    const forwardedFor = `10.251.0.${n + 1}`;
    const swap = await form(origin, '/swap', { code: `revoke-${n}` }, forwardedFor);
    const token = String(swap.body['refresh_token']);
    const answer = await form(origin, '/revoke', { token }, forwardedFor);
    if (swap.status === 200 && answer.status === 200) revoked.push(token);
  }
  const refusedBefore = await Promise.all(
    revoked.map(async (token) => (await form(origin, '/refresh', { refresh_token: token }, '10.251.1.1')).status),
  );
  check(
    revoked.length === 5 && refusedBefore.every((status) => status === 400),
    `before: ${revoked.length} tokens revoked, their refreshes answered ${refusedBefore.join(' ')}`,
  );
  const gateways = await pods(NS_A, GATEWAY);
  const before = await Promise.all(gateways.map(podMetrics));
  let outageMs = 0;
  const results = await underLoad(origin, async () => {
    const [redis] = await pods(NS_A, 'app=redis');
    const started = Date.now();
    await kubectl(['-n', NS_A, 'delete', 'pod', redis.metadata.name, '--wait=false']);
    await waitFor('a new Redis pod Ready', 120_000, async () => {
      const found = await pods(NS_A, 'app=redis');
      return found.length === 1 &&
        found[0].metadata.name !== redis.metadata.name &&
        found.every((pod) =>
          (pod.status.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True'),
        )
        ? true
        : undefined;
    });
    // Every gateway connected again (token_swap_redis_reconnects_total went up).
    await waitFor('every gateway reconnected to Redis', 60_000, async () => {
      const now = await Promise.all(gateways.map(podMetrics));
      return now.every(
        (text, index) =>
          metric(text, 'token_swap_redis_reconnects_total') >
            metric(before[index], 'token_swap_redis_reconnects_total') &&
          metric(text, 'token_swap_redis_connection_state', { state: 'connected' }) === 1,
      )
        ? true
        : undefined;
    });
    outageMs = Date.now() - started;
  });
  const after = await Promise.all(gateways.map(podMetrics));
  const delta = (name: string) =>
    after.reduce((sum, text, index) => sum + metric(text, name) - metric(before[index], name), 0);
  const limitErrors = delta('token_swap_rate_limit_storage_errors_total');
  const stateErrors = delta('token_swap_token_state_storage_errors_total');
  const reconnects = delta('token_swap_redis_reconnects_total');
  figures.push(
    `Redis restart: ${outageMs / 1000} s from delete to every gateway reconnected; ${limitErrors} rate-limit and ${stateErrors} token-state storage errors answered by the policies`,
  );
  check(
    reconnects >= gateways.length && limitErrors > 0,
    `the outage was seen: ${limitErrors} rate-limit storage errors (answered with local limits), ${stateErrors} token-state errors (answered open), ${reconnects} reconnects over ${gateways.length} pods, ${(outageMs / 1000).toFixed(1)} s`,
  );
  // local and open: every request is answered as without an outage (no 5xx, no hang).
  zeroFailures('Redis restart', results, true);
  const refusedAfter = await Promise.all(
    revoked.map(async (token) => {
      const answer = await form(origin, '/refresh', { refresh_token: token }, '10.251.2.1');
      return `${answer.status} ${String(answer.body['error'] ?? '')}`.trim();
    }),
  );
  check(
    refusedAfter.every((answer) => answer === '400 invalid_grant'),
    `after: the ${revoked.length} revoked tokens still refused (${refusedAfter.join(', ')}): the revocations survived the restart`,
  );
  await swapLimitExact(origin, 'after the restart, per-IP swap limit');
  // The per-token refresh limit, on one new family.
  const forwardedFor = '10.251.3.1';
  const token = String((await form(origin, '/swap', { code: 'per-token-limit' }, forwardedFor)).body['refresh_token']);
  const statuses: number[] = [];
  for (let n = 0; n < REFRESH_PER_TOKEN + 5; n++) {
    statuses.push((await form(origin, '/refresh', { refresh_token: token }, forwardedFor)).status);
  }
  const passed = statuses.filter((status) => status === 200).length;
  const limited = statuses.filter((status) => status === 429).length;
  check(
    passed === REFRESH_PER_TOKEN && limited === 5,
    `after the restart, per-token refresh limit: ${REFRESH_PER_TOKEN + 5} refreshes of one token: ${passed} × 200, ${limited} × 429 (limit ${REFRESH_PER_TOKEN}/1h)`,
  );
}

async function scenarioScaleOut(origin: URL): Promise<void> {
  say('6. scale out under load: replicaCount 2 -> 4 (helm 4 upgrade)');
  const results = await underLoad(origin, async () => {
    await upgrade(4, NS_A, 'replicaCount=4');
    await drained(4);
  });
  zeroFailures('scale out 2 -> 4', results, true);
  // The load has stopped: the metrics' changes below are the probe's alone.
  const gateways = await pods(NS_A, GATEWAY);
  const before = await Promise.all(gateways.map(podMetrics));
  await swapLimitExact(origin, 'per-IP swap limit across 4 pods');
  const after = await Promise.all(gateways.map(podMetrics));
  const perPod = gateways.map((_, index) => {
    const count = (text: string, outcome?: string) =>
      metric(text, 'token_swap_requests_total', outcome ? { operation: 'swap', outcome } : { operation: 'swap' });
    return `${count(after[index]) - count(before[index])}`;
  });
  check(
    perPod.filter((count) => count !== '0').length >= 2,
    `the probe's swaps were spread over the pods: ${perPod.join(' / ')} (one Redis keeps the count exact)`,
  );
}

interface Listed {
  items: { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } }[];
}

/** Every object of the release left in `namespace` (by label or by name), and cluster-wide by label. */
async function leftovers(namespace: string): Promise<string[]> {
  const kinds = (await kubectl(['api-resources', '--verbs=list', '--namespaced', '-o', 'name']))
    .split('\n')
    .filter((kind) => kind && !kind.startsWith('events'));
  const listed = await kubectlJson<Listed>(['-n', namespace, 'get', kinds.join(','), '--ignore-not-found']);
  const clusterKinds = (await kubectl(['api-resources', '--verbs=list', '--namespaced=false', '-o', 'name']))
    .split('\n')
    .filter((kind) => kind && !kind.startsWith('componentstatuses'));
  const cluster = await kubectlJson<Listed>([
    'get',
    clusterKinds.join(','),
    '-l',
    `app.kubernetes.io/instance=${RELEASE}`,
  ]);
  return [...listed.items, ...cluster.items]
    .filter(
      (item) =>
        item.metadata.labels?.['app.kubernetes.io/instance'] === RELEASE ||
        item.metadata.name.startsWith(`${RELEASE}-`) ||
        item.metadata.name.startsWith(`sh.helm.release.v1.${RELEASE}`),
    )
    .map((item) => `${item.kind}/${item.metadata.name}`);
}

async function scenarioSecondRelease(secretValues: string): Promise<void> {
  say('7+8. a second release (the monitoring set) in another namespace, with Helm 3: install, test, upgrade');
  const crds = join(REPO_ROOT, 'test/k8s/monitoring-crds.yaml');
  await kubectl(['apply', '-f', crds]);
  await kubectl([
    'wait',
    '--for=condition=established',
    '--timeout=60s',
    'crd/servicemonitors.monitoring.coreos.com',
    'crd/prometheusrules.monitoring.coreos.com',
  ]);
  const started = Date.now();
  await helm(3, [
    'install',
    RELEASE,
    CHART,
    '-n',
    NS_B,
    '-f',
    CI_MONITORING_VALUES,
    '-f',
    secretValues,
    '--wait',
    '--timeout',
    '180s',
  ]);
  const ready = await settled(NS_B, GATEWAY, 1, 30_000);
  check(
    ready.length === 1,
    `helm 3 install --wait beside release ${NS_A}/${RELEASE}: Ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  await helmTest(3, NS_B);
  await upgrade(3, NS_B, 'config.logLevel=info');
  await settled(NS_B, GATEWAY, 1);
  const revision = JSON.parse(await helm(3, ['status', RELEASE, '-n', NS_B, '-o', 'json'])) as { version: number };
  check(revision.version === 2, `helm 3 upgrade --reuse-values: revision ${revision.version}`);
  await helmTest(3, NS_B);
  // No clash: the same release name in two namespaces. The ServiceMonitor has no namespaceSelector,
  // so the operator looks in its own namespace only, where its selector matches its own Service.
  interface Monitor {
    metadata: { name: string; namespace: string };
    spec: {
      namespaceSelector?: unknown;
      selector: { matchLabels: Record<string, string> };
      endpoints: { relabelings?: { targetLabel: string; replacement: string }[] }[];
    };
  }
  const monitor = await kubectlJson<Monitor>(['-n', NS_B, 'get', 'servicemonitor', FULLNAME]);
  const selector = Object.entries(monitor.spec.selector.matchLabels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  const selected = (await kubectlJson<Listed>(['-n', NS_B, 'get', 'services', '-l', selector])).items.map(
    (item) => item.metadata.name,
  );
  const job = monitor.spec.endpoints[0].relabelings?.find((entry) => entry.targetLabel === 'job')?.replacement;
  const services = (await kubectlJson<Listed>(['get', 'services', '-A'])).items
    .filter((item) => item.metadata.name === FULLNAME)
    .map((item) => item.metadata.namespace);
  check(
    monitor.spec.namespaceSelector === undefined &&
      selected.length === 1 &&
      selected[0] === FULLNAME &&
      job === 'token-swap-gateway' &&
      services.length === 2,
    `two releases named ${RELEASE} (Services ${FULLNAME} in ${services.join(' and ')}); ServiceMonitor ${NS_B}/${monitor.metadata.name} selects only ${selected.join(', ')} in its namespace; job="${job}", the series told apart by namespace (the alert rules sum by job, namespace)`,
  );
  const helmA = JSON.parse(await helm(4, ['status', RELEASE, '-n', NS_A, '-o', 'json'])) as {
    version: number;
    info: { status: string };
  };
  check(
    helmA.info.status === 'deployed' && helmA.version >= 3,
    `release ${NS_A}/${RELEASE} untouched beside it: ${helmA.info.status}, revision ${helmA.version} (Helm 4: install + 2 upgrades)`,
  );
  await helmTest(4, NS_A);
}

async function scenarioUninstall(): Promise<void> {
  say('7. helm uninstall leaves nothing of the release');
  for (const [major, namespace] of [
    [3, NS_B],
    [4, NS_A],
  ] as const) {
    await helm(major, ['uninstall', RELEASE, '-n', namespace, '--wait', '--timeout', '120s']);
    const left = await waitFor(`nothing of ${namespace}/${RELEASE} left`, 60_000, async () => {
      const found = await leftovers(namespace);
      return found.length === 0 ? found : undefined;
    }).catch(async () => leftovers(namespace));
    check(
      left.length === 0,
      `helm ${major} uninstall ${RELEASE} -n ${namespace}: ${left.length ? `left ${left.join(', ')}` : 'nothing of the release left'}`,
    );
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  say(
    `kubectl ${(await run(KUBECTL, ['version', '--client', '-o', 'json'])).stdout.match(/"gitVersion":\s*"([^"]+)"/)?.[1]}, helm ${(await helm(3, ['version', '--template', '{{.Version}}'])).trim()} and ${(await helm(4, ['version', '--template', '{{.Version}}'])).trim()}`,
  );
  await prepareNamespace(NS_A, true);
  await prepareNamespace(NS_B, false);
  await settled(NS_A, 'app=redis', 1, 120_000);
  await settled(NS_B, 'app=redis', 1, 120_000);
  const secretValues = secretValuesFile();
  const steps: [string, () => Promise<void>][] = [
    ['install', () => scenarioInstall(secretValues)],
    ['pod security', () => scenarioPodSecurity(secretValues)],
  ];
  let origin: URL | undefined;
  const withOrigin = (step: (origin: URL) => Promise<void>) => async () => step((origin ??= await serviceOrigin(NS_A)));
  steps.push(
    ['rolling update', withOrigin(scenarioRollingUpdate)],
    ['pod deletion', withOrigin(scenarioDeletePod)],
    ['Redis restart', withOrigin(scenarioRedisRestart)],
    ['scale out', withOrigin(scenarioScaleOut)],
    ['second release', () => scenarioSecondRelease(secretValues)],
    ['uninstall', scenarioUninstall],
  );
  for (const [name, step] of steps) {
    try {
      await step();
    } catch (error) {
      check(false, `${name}: ${error instanceof Error ? error.message : String(error)}`);
      if (name === 'install') break;
    }
  }
  say('figures:');
  for (const line of figures) say(`  ${line}`);
  const seconds = Math.round((Date.now() - started) / 1000);
  if (failures.length > 0) {
    say(`FAILED: ${failures.length} check(s) in ${seconds} s:`);
    for (const failure of failures) say(`  - ${failure}`);
    process.exit(1);
  }
  say(`scenarios PASSED in ${seconds} s`);
}

await main();
