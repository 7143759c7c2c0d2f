// A throwaway Prometheus for end-to-end tests: a child process with a temporary config and
// storage that scrapes given targets every second and evaluates given rule files.
// Needs the `prometheus` binary (Debian/Ubuntu: `apt-get install prometheus`; or set PROMETHEUS).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep, until } from './polling.ts';
import { freePort } from './redis.ts';

const PROMETHEUS = process.env.PROMETHEUS ?? 'prometheus';

export interface PromResponse<T> {
  status: 'success' | 'error';
  data: T;
  errorType?: string;
  error?: string;
  warnings?: string[];
}
export interface QueryData {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  result: unknown;
}
export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}
export interface RuleState {
  name: string;
  health: string;
  lastError?: string;
  lastEvaluation: string;
}

export interface ScrapeSetup {
  job: string;
  /** host:port of every target, scraped at /metrics. */
  targets: string[];
  ruleFiles: string[];
}

function configYaml({ job, targets, ruleFiles }: ScrapeSetup): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'rule_files:',
    ...ruleFiles.map((file) => `  - ${JSON.stringify(file)}`),
    'scrape_configs:',
    `  - job_name: ${job}`,
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: ${JSON.stringify(targets)}`,
    '',
  ].join('\n');
}

/** The values of an instant query's result: one per vector sample, one for a scalar, none otherwise. */
export function sampleValues({ resultType, result }: QueryData): number[] {
  if (resultType === 'vector') return (result as VectorSample[]).map((sample) => Number(sample.value[1]));
  if (resultType === 'scalar') return [Number((result as [number, string])[1])];
  return [];
}

export class PrometheusServer {
  readonly url: string;
  private readonly setup: ScrapeSetup;
  private readonly child: ChildProcess;
  private readonly dir: string;
  private output = '';

  private constructor(setup: ScrapeSetup, child: ChildProcess, dir: string, url: string) {
    this.setup = setup;
    this.child = child;
    this.dir = dir;
    this.url = url;
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    }
  }

  static async start(setup: ScrapeSetup): Promise<PrometheusServer> {
    const dir = mkdtempSync(join(tmpdir(), 'tsg-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, configYaml(setup));
    const port = await freePort();
    const child = spawn(
      PROMETHEUS,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const server = new PrometheusServer(setup, child, dir, `http://127.0.0.1:${port}`);
    const spawned = await Promise.race([
      once(child, 'spawn').then(() => undefined),
      once(child, 'error').then(([error]) => error as NodeJS.ErrnoException),
    ]);
    if (spawned) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(
        spawned.code === 'ENOENT' ? `${PROMETHEUS} not found: install prometheus or set PROMETHEUS` : spawned.message,
      );
    }
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      const ready = await fetch(`${server.url}/-/ready`).catch(() => undefined);
      if (ready?.status === 200) return server;
      await sleep(100);
    }
    await server.stop();
    throw new Error(`prometheus did not become ready:\n${server.output}`);
  }

  async api<T>(path: string): Promise<PromResponse<T>> {
    const response = await fetch(`${this.url}${path}`);
    return (await response.json()) as PromResponse<T>;
  }

  query(expr: string): Promise<PromResponse<QueryData>> {
    return this.api<QueryData>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
  }

  /** An instant query that must succeed with a vector. */
  async vector(expr: string): Promise<VectorSample[]> {
    const answer = await this.query(expr);
    if (answer.status !== 'success' || answer.data.resultType !== 'vector') {
      throw new Error(`${expr}: ${answer.error ?? answer.data?.resultType}`);
    }
    return answer.data.result as VectorSample[];
  }

  /** The value of the first sample of a vector query, NaN when there is none. */
  async firstValue(expr: string): Promise<number> {
    return Number((await this.vector(expr))[0]?.value[1] ?? NaN);
  }

  /** Every rule of every loaded rule group, with the health of its last evaluation. */
  async rules(): Promise<RuleState[]> {
    const answer = await this.api<{ groups: { rules: RuleState[] }[] }>('/api/v1/rules');
    return answer.data.groups.flatMap((group) => group.rules);
  }

  /** The names of the alerts now pending or firing, each once, sorted. */
  async activeAlertNames(): Promise<string[]> {
    const answer = await this.api<{ alerts: { labels: { alertname: string }; state: string }[] }>('/api/v1/alerts');
    return [...new Set(answer.data.alerts.map((alert) => alert.labels.alertname))].sort();
  }

  /** Resolves once every target has been scraped at least `scrapes` times since `sinceMs`. */
  async scrapedSince(sinceMs: number, scrapes: number): Promise<void> {
    const { job, targets } = this.setup;
    await until(
      async () => {
        const samples = await this.vector(`timestamp(up{job="${job}"} == 1)`);
        // Scrapes are 1 s apart, so the latest one `scrapes - 1` s after `since` is the n-th.
        return (
          samples.length === targets.length && samples.every((s) => Number(s.value[1]) > sinceMs / 1000 + (scrapes - 1))
        );
      },
      `${scrapes} scrapes of every target`,
      15_000,
    );
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, 'exit');
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
