import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/** A Redis node or sentinel address. */
export interface RedisAddress {
  host: string;
  port: number;
}

/** The one Redis topology of DESIGN §6. */
export type RedisTopology =
  | { kind: 'standalone'; address: RedisAddress; db: number }
  | { kind: 'sentinel'; sentinels: RedisAddress[]; masterName: string; sentinelPassword: string | undefined }
  | { kind: 'cluster'; nodes: RedisAddress[] };

/** The Redis connection settings: one topology and the settings all three share. */
export interface RedisSettings {
  topology: RedisTopology;
  username: string | undefined;
  /** REDIS_PASSWORD, or the URL's own password when only the URL has one. */
  password: string | undefined;
  /** undefined: plain TCP. Otherwise TLS, trusting `ca` (a PEM) instead of the system CAs when given. */
  tls: { ca: string | undefined } | undefined;
  /** RESP version (REDIS_PROTOCOL, an addition to DESIGN §6): 3 is ioredis 6's default, 2 for servers without HELLO. */
  protocol: 2 | 3;
}

/** Every Redis variable of DESIGN §6, plus REDIS_PROTOCOL. */
export const REDIS_VARIABLES = [
  'REDIS_URL',
  'REDIS_SENTINELS',
  'REDIS_SENTINEL_MASTER',
  'REDIS_SENTINEL_PASSWORD',
  'REDIS_CLUSTER_NODES',
  'REDIS_USERNAME',
  'REDIS_PASSWORD',
  'REDIS_TLS',
  'REDIS_TLS_CA_FILE',
  'REDIS_PROTOCOL',
] as const;

const TOPOLOGY_NAMES = 'REDIS_URL (standalone), REDIS_SENTINELS with REDIS_SENTINEL_MASTER, or REDIS_CLUSTER_NODES';

// A host name of RFC 1123 labels (Kubernetes service names, managed-service endpoints).
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*$/;

/** `host:port` or `[v6]:port`; undefined when the entry is neither. */
export function parseRedisAddress(entry: string): RedisAddress | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(entry);
  if (!match) return undefined;
  const host = match[1] ?? match[2]!;
  const port = Number(match[3]);
  const hostValid = match[1] !== undefined ? isIP(host) === 6 : isIP(host) === 4 || HOST_NAME.test(host);
  return hostValid && port >= 1 && port <= 65535 ? { host, port } : undefined;
}

function addressList(name: string, text: string, problems: string[]): RedisAddress[] {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) problems.push(`${name}: must list at least one host:port`);
  const addresses: RedisAddress[] = [];
  for (const entry of entries) {
    const address = parseRedisAddress(entry);
    if (address) addresses.push(address);
    else problems.push(`${name}: "${entry}" is not host:port (e.g. redis-0.redis:6379 or [fd00::1]:6379)`);
  }
  return addresses;
}

interface ParsedUrl {
  address: RedisAddress;
  db: number;
  username: string | undefined;
  password: string | undefined;
  tls: boolean;
}

// The URL may hold a password: problems describe the rule, never the value.
function parseRedisUrl(text: string, problems: string[]): ParsedUrl | undefined {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || !['redis:', 'rediss:'].includes(url.protocol) || url.hostname === '') {
    problems.push('REDIS_URL: must be a redis:// or rediss:// URL, e.g. rediss://user:password@host:6379/0');
    return undefined;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const db = url.pathname === '' || url.pathname === '/' ? 0 : Number(url.pathname.slice(1));
  if (!Number.isInteger(db) || db < 0 || db > 15) {
    problems.push('REDIS_URL: the path must be empty or a database number (0-15)');
  }
  if (url.search !== '') {
    problems.push('REDIS_URL: query options are not read; use the REDIS_* settings (see docs/redis.md)');
  }
  return {
    address: { host, port: url.port === '' ? 6379 : Number(url.port) },
    db,
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    tls: url.protocol === 'rediss:',
  };
}

function flag(name: string, value: string | undefined, problems: string[]): boolean | undefined {
  if (value === undefined) return undefined;
  const normalized = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalized)) return true;
  if (['false', '0', 'no', 'off'].includes(normalized)) return false;
  problems.push(`${name}: must be true or false`);
  return undefined;
}

function readCa(file: string, readFile: (path: string) => string, problems: string[]): string | undefined {
  let pem: string;
  try {
    pem = readFile(file);
  } catch {
    problems.push('REDIS_TLS_CA_FILE: cannot read the file it names');
    return undefined;
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    problems.push('REDIS_TLS_CA_FILE: the file holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
    return undefined;
  }
  return pem;
}

/**
 * The Redis settings of DESIGN §6 from the environment (secrets already resolved from `_FILE`),
 * or undefined when no topology is set. Problems are appended, all of them, naming each variable;
 * the CA file is read here so that an unreadable one stops the start, not the first request.
 */
export function redisSettingsFrom(
  environment: Record<string, string | undefined>,
  problems: string[],
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): RedisSettings | undefined {
  // Empty variables count as unset, as everywhere in the configuration.
  const env = (name: (typeof REDIS_VARIABLES)[number]) => {
    const value = environment[name]?.trim();
    return value === '' ? undefined : value;
  };
  const url = env('REDIS_URL');
  const sentinels = env('REDIS_SENTINELS');
  const masterName = env('REDIS_SENTINEL_MASTER');
  const clusterNodes = env('REDIS_CLUSTER_NODES');
  const sentinelPassword = env('REDIS_SENTINEL_PASSWORD');

  const chosen = [
    url !== undefined && 'REDIS_URL',
    (sentinels !== undefined || masterName !== undefined) && (sentinels ? 'REDIS_SENTINELS' : 'REDIS_SENTINEL_MASTER'),
    clusterNodes !== undefined && 'REDIS_CLUSTER_NODES',
  ].filter((name): name is string => typeof name === 'string');
  if (chosen.length > 1) {
    problems.push(`${chosen.join(', ')}: set only one Redis topology: ${TOPOLOGY_NAMES}`);
  }
  if (sentinels !== undefined && masterName === undefined) {
    problems.push(
      'REDIS_SENTINEL_MASTER: is required with REDIS_SENTINELS (the name of the master the sentinels watch)',
    );
  }
  if (masterName !== undefined && sentinels === undefined) {
    problems.push('REDIS_SENTINELS: is required with REDIS_SENTINEL_MASTER (host:port of each sentinel)');
  }
  if (masterName !== undefined && !/^[A-Za-z0-9._-]{1,128}$/.test(masterName)) {
    problems.push('REDIS_SENTINEL_MASTER: must be 1-128 characters of A-Z a-z 0-9 . _ -');
  }
  if (sentinelPassword !== undefined && sentinels === undefined && masterName === undefined) {
    problems.push('REDIS_SENTINEL_PASSWORD: applies to Sentinel only; REDIS_SENTINELS is not set');
  }

  const parsedUrl = url === undefined ? undefined : parseRedisUrl(url, problems);
  const sentinelAddresses = sentinels === undefined ? [] : addressList('REDIS_SENTINELS', sentinels, problems);
  const nodeAddresses = clusterNodes === undefined ? [] : addressList('REDIS_CLUSTER_NODES', clusterNodes, problems);

  const tlsFlag = flag('REDIS_TLS', env('REDIS_TLS'), problems);
  if (tlsFlag === false && parsedUrl?.tls) {
    problems.push('REDIS_TLS: is false, but REDIS_URL is a rediss:// (TLS) URL');
  }
  const tls = tlsFlag ?? parsedUrl?.tls ?? false;
  const caFile = env('REDIS_TLS_CA_FILE');
  if (caFile !== undefined && !tls) {
    problems.push('REDIS_TLS_CA_FILE: needs TLS: set REDIS_TLS=true or use a rediss:// URL');
  }
  const ca = caFile === undefined ? undefined : readCa(caFile, readFile, problems);

  const protocolText = env('REDIS_PROTOCOL');
  if (protocolText !== undefined && !['2', '3'].includes(protocolText)) {
    problems.push('REDIS_PROTOCOL: must be 2 (RESP2) or 3 (RESP3)');
  }

  if (chosen.length === 0) {
    // Shared settings without a topology would leave the limits per pod without a word.
    for (const name of [
      'REDIS_USERNAME',
      'REDIS_PASSWORD',
      'REDIS_TLS',
      'REDIS_TLS_CA_FILE',
      'REDIS_PROTOCOL',
    ] as const) {
      if (env(name) !== undefined) problems.push(`${name}: is set, but no Redis topology is: set ${TOPOLOGY_NAMES}`);
    }
    return undefined;
  }

  const shared = {
    username: env('REDIS_USERNAME') ?? parsedUrl?.username,
    password: env('REDIS_PASSWORD') ?? parsedUrl?.password,
    tls: tls ? { ca } : undefined,
    protocol: protocolText === '2' ? (2 as const) : (3 as const),
  };
  if (parsedUrl) {
    return { ...shared, topology: { kind: 'standalone', address: parsedUrl.address, db: parsedUrl.db } };
  }
  if (clusterNodes !== undefined) return { ...shared, topology: { kind: 'cluster', nodes: nodeAddresses } };
  return {
    ...shared,
    topology: { kind: 'sentinel', sentinels: sentinelAddresses, masterName: masterName ?? '', sentinelPassword },
  };
}
