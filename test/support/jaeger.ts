import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './redis.ts';

const SCRIPT = fileURLToPath(new URL('../../scripts/jaeger.sh', import.meta.url));

/**
 * The Jaeger binary scripts/jaeger.sh prints, building it when missing (minutes, once per
 * machine); `{ reason }` when it cannot be had, for the test to say why it skipped.
 */
export function locateJaeger(): { binary: string } | { reason: string } {
  const result = spawnSync('bash', [SCRIPT], { encoding: 'utf8', timeout: 20 * 60_000 });
  const binary = result.stdout?.trim().split('\n').at(-1);
  if (result.status === 0 && binary) return { binary };
  return {
    reason: `scripts/jaeger.sh failed (exit ${result.status}): ${result.stderr?.trim() || result.error?.message}`,
  };
}

/** One span as Jaeger's query API (/api/traces/<id>) returns it. */
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  tags: { key: string; type: string; value: unknown }[];
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: { key: string; value: unknown }[] }>;
}

/** The value of a span's tag (attribute), undefined when it has none. */
export function tag(span: JaegerSpan, key: string): unknown {
  return span.tags.find((entry) => entry.key === key)?.value;
}

/**
 * Jaeger all-in-one on loopback only: the OTLP/HTTP receiver and the query API on free ports,
 * traces in memory; its own telemetry off so it opens no other port.
 */
export class JaegerProcess {
  private constructor(
    private readonly child: ChildProcess,
    private readonly directory: string,
    readonly otlpEndpoint: string,
    readonly queryUrl: string,
    readonly output: string[],
  ) {}

  static async start(binary: string): Promise<JaegerProcess> {
    const [otlpPort, queryPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
    const directory = mkdtempSync(join(tmpdir(), 'tsg-jaeger-'));
    const config = join(directory, 'config.yaml');
    writeFileSync(
      config,
      `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${queryPort}
    grpc:
      endpoint: 127.0.0.1:${grpcPort}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${otlpPort}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`,
    );
    const child = spawn(binary, [`--config=file:${config}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const jaeger = new JaegerProcess(
      child,
      directory,
      `http://127.0.0.1:${otlpPort}`,
      `http://127.0.0.1:${queryPort}`,
      output,
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`jaeger exited with ${child.exitCode}:\n${output.join('')}`);
      const ready = await fetch(`${jaeger.queryUrl}/api/services`).then(
        (response) => response.ok,
        () => false,
      );
      if (ready) return jaeger;
      if (Date.now() > deadline) {
        await jaeger.stop();
        throw new Error(`jaeger did not answer in 30 s:\n${output.join('')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** The trace once it holds at least `spans` spans (export is batched), or the last answer after `timeoutMs`. */
  async trace(traceId: string, spans: number, timeoutMs = 20_000): Promise<JaegerTrace | undefined> {
    const deadline = Date.now() + timeoutMs;
    let last: JaegerTrace | undefined;
    for (;;) {
      const response = await fetch(`${this.queryUrl}/api/traces/${traceId}`);
      if (response.ok) {
        last = ((await response.json()) as { data: JaegerTrace[] }).data[0];
        if (last && last.spans.length >= spans) return last;
      }
      if (Date.now() > deadline) return last;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      await once(this.child, 'exit');
    }
    rmSync(this.directory, { recursive: true, force: true });
  }
}
