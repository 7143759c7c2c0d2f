// docker-compose.yml and .env.example (DESIGN §9): the file is valid for Docker Compose with and
// without the demo profile and whatever .env a developer has, it mounts only files of this
// repository (THE one rule file and THE one dashboard file), runs the gateway under the same
// constraints as the cluster, and .env.example lists every setting. Needs `docker compose` (v2
// plugin) or `docker-compose` (1.29+; `apt-get install docker-compose`); no Docker engine.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { CONFIGURATION_VARIABLES, SECRET_VARIABLES } from '../../src/config/gateway-config.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ALERTS_FILE = join(ROOT, 'helm/token-swap-gateway/files/alerts.yml');
const DASHBOARD_FILE = join(ROOT, 'helm/token-swap-gateway/files/token-swap-gateway.json');
const PROMETHEUS_CONFIG = join(ROOT, 'deploy/prometheus/prometheus.yml');
const GRAFANA_PROVISIONING = join(ROOT, 'deploy/grafana/provisioning');

// Every configuration name of DESIGN.md §6 and §8, as the gateway's configuration owns them:
// the names its schema reads and the documented ones it refuses for now.
const CONFIGURATION_NAMES = CONFIGURATION_VARIABLES;
// Read by docker-compose.yml itself (images, host ports, Grafana), not by the gateway.
const COMPOSE_NAMES = [
  'NODE_IMAGE',
  'RUNTIME_IMAGE',
  'REDIS_IMAGE',
  'PROMETHEUS_IMAGE',
  'GRAFANA_IMAGE',
  'GATEWAY_PUBLISH_PORT',
  'FAKE_ACCOUNTS_PUBLISH_PORT',
  'PROMETHEUS_PUBLISH_PORT',
  'GRAFANA_PUBLISH_PORT',
  'GRAFANA_ADMIN_PASSWORD',
  'JAEGER_IMAGE',
  'JAEGER_PUBLISH_PORT',
  'SECRETS_DIR',
];
// The secret files docker-compose.yml mounts, and the gateway variable each one feeds.
const COMPOSE_SECRETS: Record<string, string> = {
  client_secret: 'SPOTIFY_CLIENT_SECRET',
  token_encryption_keys: 'TOKEN_ENCRYPTION_KEYS',
  redis_password: 'REDIS_PASSWORD',
};
// Not a secret in compose: the redis service's address (its password comes from REDIS_PASSWORD_FILE).
const PLAIN_IN_COMPOSE = ['REDIS_URL'];

type Port = string | { target: number | string; published?: number | string; host_ip?: string };
type Volume = string | { type: string; source?: string; target: string; read_only?: boolean };
interface Service {
  image?: string;
  build?: string | { context: string; dockerfile?: string; args?: Record<string, string | null> | string[] };
  entrypoint?: string[];
  environment?: Record<string, string | null>;
  env_file?: string | string[];
  ports?: Port[];
  volumes?: Volume[];
  read_only?: boolean;
  user?: string;
  cap_drop?: string[];
  security_opt?: string[];
  mem_limit?: string | number;
  tmpfs?: string | string[];
  network_mode?: string;
  profiles?: string[];
  command?: string[] | string;
  healthcheck?: { test?: string[] | string };
  secrets?: (string | { source: string; target?: string })[];
}
interface ComposeProject {
  services: Record<string, Service>;
  secrets?: Record<string, { file?: string; external?: boolean }>;
  volumes?: Record<string, unknown>;
}

/** The secret names a service mounts (at /run/secrets/<name>), from either syntax. */
function secretsOf(service: Service): string[] {
  return (service.secrets ?? []).map((secret) => (typeof secret === 'string' ? secret : secret.source)).sort();
}

/** `docker compose` when the v2 plugin exists, else `docker-compose`; the test fails without either. */
async function findCompose(): Promise<string[]> {
  for (const command of [['docker', 'compose'], ['docker-compose']]) {
    try {
      await run(command[0]!, [...command.slice(1), 'version'], { env: cleanEnvironment() });
      return command;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    'Neither `docker compose` (the Compose v2 plugin) nor `docker-compose` was found: install docker-compose ' +
      '(Debian/Ubuntu: apt-get install docker-compose; or `source scripts/dev-env.sh --test`) to check docker-compose.yml',
  );
}

/** Only what the Docker CLI needs to find its plugins: no COMPOSE_*, no configuration variables. */
function cleanEnvironment(): Record<string, string> {
  const environment: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const name of ['HOME', 'DOCKER_CONFIG']) {
    const value = process.env[name];
    if (value) environment[name] = value;
  }
  return environment;
}

let compose: string[];
let scratch: string;

/** The project as Compose resolves it, with `envFile` in place of any .env of the checkout. */
async function composeConfig(envFile: string, profiles: string[] = []): Promise<ComposeProject> {
  const args = [
    ...compose.slice(1),
    '--project-directory',
    ROOT,
    '--file',
    join(ROOT, 'docker-compose.yml'),
    '--env-file',
    envFile,
    ...profiles.flatMap((profile) => ['--profile', profile]),
    'config',
  ];
  try {
    const { stdout } = await run(compose[0]!, args, { cwd: ROOT, env: cleanEnvironment() });
    return parseYaml(stdout) as ComposeProject;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    throw new Error(`${compose.join(' ')} config rejected docker-compose.yml:\n${failed.stderr ?? ''}`, {
      cause: error,
    });
  }
}

const hostPath = (path: string) => (isAbsolute(path) ? path : join(ROOT, path));

/** Bind mounts as {source, target, readOnly}, from either Compose's short or long syntax. */
function bindMounts(service: Service): { source: string; target: string; readOnly: boolean }[] {
  return (service.volumes ?? []).flatMap((volume) => {
    if (typeof volume === 'string') {
      const [source = '', target = '', mode = ''] = volume.split(':');
      const isBind = source.startsWith('/') || source.startsWith('.');
      return isBind ? [{ source: hostPath(source), target, readOnly: mode.split(',').includes('ro') }] : [];
    }
    return volume.type === 'bind'
      ? [{ source: hostPath(volume.source ?? ''), target: volume.target, readOnly: volume.read_only === true }]
      : [];
  });
}

/** Published ports as {hostIp, published, target}, from either syntax. */
function publishedPorts(service: Service): { hostIp: string; published: string; target: string }[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'string') {
      const parts = port.replace(/\/\w+$/, '').split(':');
      const target = parts.pop() ?? '';
      const published = parts.pop() ?? '';
      return { hostIp: parts.join(':'), published, target };
    }
    return { hostIp: port.host_ip ?? '', published: String(port.published ?? ''), target: String(port.target) };
  });
}

function buildOf(service: Service): { context: string; dockerfile: string; args: Record<string, string | null> } {
  const build = typeof service.build === 'string' ? { context: service.build } : service.build!;
  const args = Array.isArray(build.args)
    ? Object.fromEntries(build.args.map((arg) => [arg.split('=')[0]!, arg.split('=')[1] ?? null]))
    : (build.args ?? {});
  return { context: hostPath(build.context), dockerfile: build.dockerfile ?? 'Dockerfile', args };
}

function insideRepository(path: string): boolean {
  const rel = relative(ROOT, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('node_modules');
}

function composeWithoutComments(): string {
  return readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

let withoutEnv: ComposeProject;
let withoutEnvDemo: ComposeProject;
let exampleDemo: ComposeProject;
let withTracing: ComposeProject;
let withApps: ComposeProject;
let withSecretsDir: ComposeProject;
let noEnvFile: string;
const envExample = readFileSync(join(ROOT, '.env.example'), 'utf8');

beforeAll(async () => {
  compose = await findCompose();
  scratch = mkdtempSync(join(tmpdir(), 'tsg-compose-'));
  noEnvFile = join(scratch, 'empty.env');
  writeFileSync(noEnvFile, '');
  // APPS_FILE: the apps name their own secret files, SPOTIFY_CLIENT_SECRET_FILE is emptied.
  const appsEnvFile = join(scratch, 'apps.env');
  writeFileSync(appsEnvFile, 'APPS_FILE=/config/apps.yaml\nSPOTIFY_CLIENT_SECRET_FILE=\nREDIS_PASSWORD_FILE=\n');
  const secretsDirEnvFile = join(scratch, 'secrets-dir.env');
  writeFileSync(secretsDirEnvFile, `SECRETS_DIR=${join(scratch, 'elsewhere')}\n`);
  // No secret file exists in a fresh clone (./secrets is gitignored): `config` must still pass.
  [withoutEnv, withoutEnvDemo, exampleDemo, withTracing, withApps, withSecretsDir] = await Promise.all([
    composeConfig(noEnvFile),
    composeConfig(noEnvFile, ['demo']),
    composeConfig(join(ROOT, '.env.example'), ['demo']),
    composeConfig(noEnvFile, ['tracing']),
    composeConfig(appsEnvFile),
    composeConfig(secretsDirEnvFile),
  ]);
}, 60_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('docker-compose.yml', () => {
  it('is accepted by Docker Compose without any .env: gateway, Redis, Prometheus, Grafana; the demo profile adds the fake accounts service', () => {
    // docker-compose 1.29 lists profiled services in `config` too; Compose v2 leaves them out.
    const started = (project: ComposeProject, profiles: string[]) =>
      Object.entries(project.services)
        // A service starts when it has no profile or one of the active ones.
        .filter(
          ([, service]) => !service.profiles?.length || service.profiles.some((profile) => profiles.includes(profile)),
        )
        .map(([name]) => name)
        .sort();
    expect(started(withoutEnv, [])).toEqual(['gateway', 'grafana', 'prometheus', 'redis']);
    expect(started(withoutEnvDemo, ['demo'])).toEqual(['fake-accounts', 'gateway', 'grafana', 'prometheus', 'redis']);
    expect(withoutEnvDemo.services['fake-accounts']?.profiles).toEqual(['demo']);
    // No ${VAR:?} anywhere: a fresh clone validates, the gateway lists missing settings itself.
    expect(composeWithoutComments()).not.toMatch(/\$\{\w+:?\?/);
  });

  it('is accepted with .env.example as the .env, which drives the gateway and the fake accounts service', () => {
    const gateway = exampleDemo.services['gateway']!;
    const fake = exampleDemo.services['fake-accounts']!;
    expect(gateway.environment).toMatchObject({
      SPOTIFY_CLIENT_ID: 'demo-client-id',
      SPOTIFY_TOKEN_URL: 'http://127.0.0.1:4010/api/token',
    });
    expect(fake.environment?.['FAKE_CLIENT_ID']).toBe(gateway.environment?.['SPOTIFY_CLIENT_ID']);
    // The fake reads the gateway's own client secret file.
    expect(fake.environment?.['FAKE_CLIENT_SECRET_FILE']).toBe(gateway.environment?.['SPOTIFY_CLIENT_SECRET_FILE']);
    expect(fake.environment?.['FAKE_CLIENT_SECRET_FILE']).toBe('/run/secrets/client_secret');
    expect(fake.environment).not.toHaveProperty('FAKE_CLIENT_SECRET');
    expect(secretsOf(fake)).toEqual(['client_secret']);
  });

  it('passes every configuration name of DESIGN §6 and §8 from the environment to the gateway', () => {
    const environment = withoutEnv.services['gateway']!.environment ?? {};
    // A secret counts as passed through its NAME_FILE.
    expect(CONFIGURATION_NAMES.filter((name) => !(name in environment) && !(`${name}_FILE` in environment))).toEqual(
      [],
    );
    for (const name of ['OVERLOAD_MAX_EVENT_LOOP_DELAY_MS', 'OVERLOAD_MAX_IN_FLIGHT', 'MAX_CONNECTIONS_PER_IP']) {
      expect({ name, value: environment[name] }).toEqual({ name, value: '' });
    }
    expect(environment['REDIS_URL']).toBe('redis://redis:6379');
  });

  it('gives the gateway its secrets only as NAME_FILE paths under /run/secrets, never as values', () => {
    for (const project of [withoutEnv, exampleDemo]) {
      const gateway = project.services['gateway']!;
      const environment = gateway.environment ?? {};
      for (const name of SECRET_VARIABLES.filter((name) => !PLAIN_IN_COMPOSE.includes(name))) {
        expect({ name, plain: name in environment, file: `${name}_FILE` in environment }).toEqual({
          name,
          plain: false,
          file: true,
        });
      }
      // The three files compose provides, mounted and named; the rest are empty pass-throughs.
      expect(secretsOf(gateway)).toEqual(Object.keys(COMPOSE_SECRETS).sort());
      for (const [secret, name] of Object.entries(COMPOSE_SECRETS)) {
        expect({ name, file: environment[`${name}_FILE`] }).toEqual({ name, file: `/run/secrets/${secret}` });
      }
      for (const name of SECRET_VARIABLES.filter(
        (name) => !PLAIN_IN_COMPOSE.includes(name) && !Object.values(COMPOSE_SECRETS).includes(name),
      )) {
        expect({ name, file: environment[`${name}_FILE`] }).toEqual({ name, file: '' });
      }
    }
    // The secrets are files of SECRETS_DIR (default ./secrets, gitignored), none exists here.
    for (const secret of Object.keys(COMPOSE_SECRETS)) {
      expect({ secret, file: withoutEnv.secrets?.[secret]?.file }).toEqual({
        secret,
        file: join(ROOT, 'secrets', secret),
      });
      expect({ secret, file: withSecretsDir.secrets?.[secret]?.file }).toEqual({
        secret,
        file: join(scratch, 'elsewhere', secret),
      });
    }
    expect(readFileSync(join(ROOT, '.gitignore'), 'utf8').split('\n')).toContain('/secrets/');
    // Nothing secret in the file itself: no value after a secret's name.
    for (const name of SECRET_VARIABLES) {
      expect({ name, line: composeWithoutComments().match(new RegExp(`^\\s*${name}:.*$`, 'm'))?.[0] }).toEqual({
        name,
        line: PLAIN_IN_COMPOSE.includes(name) ? expect.any(String) : undefined,
      });
    }
  });

  it('lets an empty NAME_FILE in .env remove a default path (APPS_FILE; a Redis without a password)', () => {
    const environment = withApps.services['gateway']!.environment ?? {};
    expect(environment).toMatchObject({
      APPS_FILE: '/config/apps.yaml',
      SPOTIFY_CLIENT_SECRET_FILE: '',
      REDIS_PASSWORD_FILE: '',
      TOKEN_ENCRYPTION_KEYS_FILE: '/run/secrets/token_encryption_keys',
    });
  });

  it('runs Redis with a password from the secret file and an append-only file on a named volume, health checked with it', () => {
    const redis = withoutEnv.services['redis']!;
    const command = [redis.command].flat().join(' ');
    // `config` prints a literal `$` as `$$`.
    expect(command).toMatch(/--requirepass "\$\$?\(cat \/run\/secrets\/redis_password\)"/);
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/^sh -c exec redis-server /);
    expect(secretsOf(redis)).toEqual(['redis_password']);
    const volumes = (redis.volumes ?? []).map((volume) =>
      typeof volume === 'string'
        ? volume.split(':').slice(0, 2).join(':')
        : `${volume.type === 'volume' ? (volume.source ?? '') : '?'}:${volume.target}`,
    );
    expect(volumes).toEqual(['redis-data:/data']);
    expect(withoutEnv.volumes).toHaveProperty('redis-data');
    expect([redis.tmpfs ?? []].flat()).toEqual([]);
    expect(redis).toMatchObject({ read_only: true, user: 'redis', cap_drop: ['ALL'] });
    expect(redis.security_opt).toContain('no-new-privileges:true');
    // An unauthenticated PING answers NOAUTH with status 0: the check authenticates and wants PONG.
    const test = redis.healthcheck?.test as string[];
    expect(test[0]).toBe('CMD-SHELL');
    expect(test[1]).toMatch(
      /^REDISCLI_AUTH="\$\$?\(cat \/run\/secrets\/redis_password\)" redis-cli ping \| grep -qx PONG$/,
    );
  });

  it('mounts, builds and reads only files and directories that exist in this repository', () => {
    for (const [name, service] of Object.entries(withoutEnvDemo.services)) {
      for (const mount of bindMounts(service)) {
        expect({ name, source: mount.source, inside: insideRepository(mount.source) }).toEqual({
          name,
          source: mount.source,
          inside: true,
        });
        expect({ name, source: mount.source, exists: existsSync(mount.source) }).toEqual({
          name,
          source: mount.source,
          exists: true,
        });
      }
      const envFiles = service.env_file === undefined ? [] : [service.env_file].flat();
      for (const file of envFiles)
        expect({ name, file, exists: existsSync(hostPath(file)) }).toEqual({ name, file, exists: true });
      if (service.build) {
        const build = buildOf(service);
        expect(statSync(build.context).isDirectory()).toBe(true);
        expect({ name, dockerfile: existsSync(join(build.context, build.dockerfile)) }).toEqual({
          name,
          dockerfile: true,
        });
      }
    }
  });

  it("builds the gateway with the Dockerfile's own default base images unless NODE_IMAGE/RUNTIME_IMAGE are set", () => {
    const build = buildOf(withoutEnv.services['gateway']!);
    const dockerfile = readFileSync(join(build.context, build.dockerfile), 'utf8');
    for (const arg of ['NODE_IMAGE', 'RUNTIME_IMAGE']) {
      const fallback = dockerfile.match(new RegExp(`^ARG ${arg}=(\\S+)`, 'm'))?.[1];
      // An empty build argument would replace the Dockerfile's default with nothing.
      expect({ arg, value: build.args[arg] }).toEqual({ arg, value: fallback });
    }
    expect(withoutEnv.services['gateway']!.image).toBe('token-swap-gateway:local');
  });

  it('runs the gateway read-only with a writable /tmp, non-root, without capabilities or privilege escalation, in 256 MiB', () => {
    const gateway = withoutEnv.services['gateway']!;
    expect(gateway.read_only).toBe(true);
    expect([gateway.tmpfs ?? []].flat().map((entry) => entry.split(':')[0])).toEqual(['/tmp']);
    expect(gateway.user).toBe('1000:1000');
    expect(gateway.cap_drop).toEqual(['ALL']);
    expect(gateway.security_opt).toContain('no-new-privileges:true');
    expect(String(gateway.mem_limit)).toMatch(/^(256m|268435456)$/);
    expect(gateway.environment?.['NODE_ENV']).toBe('production');
  });

  it('publishes the public port on 127.0.0.1 only and never the ops port (Prometheus scrapes it inside the network)', () => {
    const gateway = withoutEnv.services['gateway']!;
    const ports = publishedPorts(gateway);
    expect(ports).toContainEqual({ hostIp: '127.0.0.1', published: '8080', target: '8080' });
    for (const port of ports) expect({ port, loopback: port.hostIp === '127.0.0.1' }).toEqual({ port, loopback: true });
    expect(ports.map((port) => port.target)).not.toContain(gateway.environment?.['OPS_PORT']);
    expect(gateway.environment?.['OPS_PORT']).toBe('9464');
    for (const [name, service] of Object.entries(withoutEnvDemo.services)) {
      for (const port of publishedPorts(service)) {
        expect({ name, port, loopback: port.hostIp === '127.0.0.1' }).toEqual({ name, port, loopback: true });
      }
    }
  });

  it('checks health without a shell: exec-form node fetching /readyz on the ops listener', () => {
    const test = withoutEnv.services['gateway']!.healthcheck?.test;
    expect(Array.isArray(test)).toBe(true);
    expect((test as string[]).slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect((test as string[])[3]).toMatch(/fetch\(.*OPS_PORT.*\/readyz/);
    for (const name of ['prometheus', 'grafana']) {
      expect({ name, test: withoutEnv.services[name]!.healthcheck?.test?.[0] }).toEqual({ name, test: 'CMD' });
    }
  });

  it('mounts THE one alert rules file beside prometheus.yml, which loads it and scrapes the ops port', () => {
    const mounts = bindMounts(withoutEnv.services['prometheus']!);
    expect(mounts).toContainEqual({
      source: PROMETHEUS_CONFIG,
      target: '/etc/prometheus/prometheus.yml',
      readOnly: true,
    });
    expect(mounts).toContainEqual({ source: ALERTS_FILE, target: '/etc/prometheus/alerts.yml', readOnly: true });
    const config = parseYaml(readFileSync(PROMETHEUS_CONFIG, 'utf8')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    expect(config.rule_files).toEqual(['alerts.yml']);
    const job = config.scrape_configs.find((candidate) => candidate.job_name === 'token-swap-gateway');
    expect(job?.static_configs.flatMap((entry) => entry.targets)).toEqual(['gateway:9464']);
  });

  it('provisions Grafana with the Prometheus datasource as default and THE one dashboard file, mounted read-only', () => {
    const mounts = bindMounts(withoutEnv.services['grafana']!);
    expect(mounts).toContainEqual({
      source: GRAFANA_PROVISIONING,
      target: '/etc/grafana/provisioning',
      readOnly: true,
    });
    const dashboardMount = mounts.find((mount) => mount.source === DASHBOARD_FILE);
    expect(dashboardMount?.readOnly).toBe(true);

    const datasources = parseYaml(readFileSync(join(GRAFANA_PROVISIONING, 'datasources/prometheus.yml'), 'utf8')) as {
      datasources: Record<string, unknown>[];
    };
    // The dashboard's ${datasource} variable has no fixed value: Grafana selects the default one.
    expect(datasources.datasources).toEqual([
      expect.objectContaining({
        type: 'prometheus',
        uid: 'prometheus',
        url: 'http://prometheus:9090',
        isDefault: true,
      }),
    ]);
    const providers = parseYaml(
      readFileSync(join(GRAFANA_PROVISIONING, 'dashboards/token-swap-gateway.yml'), 'utf8'),
    ) as { providers: { type: string; options: { path: string } }[] };
    expect(providers.providers).toHaveLength(1);
    expect(providers.providers[0]!.type).toBe('file');
    expect(dashboardMount?.target).toBe(`${providers.providers[0]!.options.path}/token-swap-gateway.json`);
  });

  it('keeps no copy of the rule file or the dashboard under deploy/', () => {
    const copies = filesUnder(join(ROOT, 'deploy')).filter(
      (file) => file.endsWith('.json') || /^\s*groups:/m.test(readFileSync(file, 'utf8')),
    );
    expect(copies.map((file) => relative(ROOT, file))).toEqual([]);
  });

  it("demo: runs the fake accounts service on the gateway image in the gateway's network namespace, code mounted read-only", () => {
    const fake = withoutEnvDemo.services['fake-accounts']!;
    expect(fake.profiles).toEqual(['demo']);
    expect(fake.image).toBe(withoutEnvDemo.services['gateway']!.image);
    expect(fake.entrypoint).toEqual(['node', '/fake-accounts/main.ts']);
    // The gateway allows a plain-http upstream on loopback only.
    expect(fake.network_mode).toBe('service:gateway');
    expect(bindMounts(fake)).toEqual([
      { source: join(ROOT, 'test/fake-accounts'), target: '/fake-accounts', readOnly: true },
    ]);
    expect(fake).toMatchObject({ read_only: true, user: '1000:1000', cap_drop: ['ALL'] });
    expect(publishedPorts(withoutEnvDemo.services['gateway']!)).toContainEqual({
      hostIp: '127.0.0.1',
      published: '4010',
      target: fake.environment?.['FAKE_PORT'],
    });
  });
});

describe('docker-compose.yml, tracing profile', () => {
  it('adds Jaeger, its UI on 127.0.0.1 only, read-only and without capabilities; nothing else changes', () => {
    const jaeger = withTracing.services['jaeger']!;
    expect(jaeger.profiles).toEqual(['tracing']);
    expect(jaeger).toMatchObject({ read_only: true, cap_drop: ['ALL'] });
    expect(publishedPorts(jaeger)).toEqual([{ hostIp: '127.0.0.1', published: '16686', target: '16686' }]);
    // docker-compose 1.29 lists other profiles' services too; these are the ones that start.
    const started = Object.entries(withTracing.services)
      .filter(([, service]) => !service.profiles?.length || service.profiles.includes('tracing'))
      .map(([name]) => name)
      .sort();
    expect(started).toEqual(['gateway', 'grafana', 'jaeger', 'prometheus', 'redis']);
  });

  it('keeps exemplars in Prometheus and links them from Grafana to the Jaeger datasource', () => {
    expect([withoutEnv.services['prometheus']!.command].flat()).toContain('--enable-feature=exemplar-storage');
    const read = (file: string) =>
      parseYaml(readFileSync(join(GRAFANA_PROVISIONING, 'datasources', file), 'utf8')) as {
        datasources: { uid: string; type: string; url: string; jsonData?: Record<string, unknown> }[];
      };
    const [jaeger] = read('jaeger.yml').datasources;
    expect(jaeger).toMatchObject({ uid: 'jaeger', type: 'jaeger', url: 'http://jaeger:16686' });
    expect(read('prometheus.yml').datasources[0]!.jsonData?.exemplarTraceIdDestinations).toEqual([
      { name: 'trace_id', datasourceUid: jaeger!.uid },
    ]);
  });
});

describe('.env.example', () => {
  const lines = envExample.split('\n');
  const mentioned = (name: string) => lines.some((line) => new RegExp(`^(# )?${name}=`).test(line));
  const active = Object.fromEntries(
    lines
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.split('=')[0]!, line.slice(line.indexOf('=') + 1)]),
  );

  it('lists every configuration name of DESIGN §6 and §8 and every variable docker-compose.yml reads', () => {
    expect([...CONFIGURATION_NAMES, ...COMPOSE_NAMES].filter((name) => !mentioned(name))).toEqual([]);
    const interpolated = new Set([...composeWithoutComments().matchAll(/\$\{(\w+)/g)].map((match) => match[1]!));
    expect([...interpolated].filter((name) => !mentioned(name))).toEqual([]);
  });

  it('gives every variable a one-line comment above it', () => {
    lines.forEach((line, index) => {
      if (/^(# )?[A-Z_]+=/.test(line)) {
        const above = lines[index - 1] ?? '';
        expect({ line, commented: /^# (?![A-Z_]+=)\S/.test(above) }).toEqual({ line, commented: true });
      }
    });
  });

  it('sets only demo values and no key: the names this version refuses stay commented out', () => {
    // No secret at all: compose reads them from files (scripts/compose-secrets.sh writes the demo ones).
    expect(Object.keys(active).sort()).toEqual(['SPOTIFY_CLIENT_ID', 'SPOTIFY_REDIRECT_URI', 'SPOTIFY_TOKEN_URL']);
    expect(active['SPOTIFY_CLIENT_ID']).toMatch(/^demo-/);
    // Nothing that looks like a kid:base64url(32 bytes) key, even commented out.
    expect(envExample).not.toMatch(/[\w-]+:[A-Za-z0-9_-]{43}\b/);
  });
});
