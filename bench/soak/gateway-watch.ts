/**
 * What the soak watches on the gateway besides its answers: every log line (drained from the
 * pipe, counted by level, searched for secrets), and every 5 s its memory and event-loop delay
 * from /proc and the ops listener's /metrics (searched for secrets too).
 */
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';

/** Finds secrets in text by their shape (sealed tokens, the fake's codes and tokens) or their value. */
export class LeakDetector {
  private readonly recent: string[] = [];
  private readonly staticSecrets: string[];

  constructor(staticSecrets: string[]) {
    this.staticSecrets = staticSecrets;
  }

  /** A secret with no recognisable shape (a legacy Ruby token): its first 40 characters are looked for. */
  remember(secret: string): void {
    this.recent.push(secret.slice(0, 40));
    if (this.recent.length > 300) this.recent.shift();
  }

  /** What kind of secret the text holds, never the secret itself; undefined when none. */
  find(text: string): string | undefined {
    if (/[A-Za-z0-9_-]{10,}\.\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/.test(text))
      return 'a sealed token';
    if (/(?<![A-Za-z0-9_-])[AB]Q[A-Za-z0-9_-]{60,}/.test(text)) return 'an upstream code, access or refresh token';
    if (this.staticSecrets.some((secret) => text.includes(secret)))
      return 'a static secret (client secret, key, legacy secret, Authorization)';
    if (this.recent.some((prefix) => text.includes(prefix))) return 'a legacy Ruby token';
    return undefined;
  }
}

export interface LogSummary {
  lines: number;
  byLevel: Record<string, number>;
  /** Messages of warn and error lines with their counts. */
  messages: Record<string, number>;
  errorSamples: string[];
  leaks: { count: number; samples: string[] };
  notJson: number;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

export function drainLogs(streams: Readable[], detector: LeakDetector): LogSummary {
  const summary: LogSummary = {
    lines: 0,
    byLevel: {},
    messages: {},
    errorSamples: [],
    leaks: { count: 0, samples: [] },
    notJson: 0,
  };
  for (const stream of streams) {
    createInterface({ input: stream }).on('line', (line) => {
      summary.lines += 1;
      const leak = detector.find(line);
      if (leak) {
        summary.leaks.count += 1;
        if (summary.leaks.samples.length < 10) summary.leaks.samples.push(`log line with ${leak}`);
      }
      let entry: { level?: number | string; msg?: string };
      try {
        entry = JSON.parse(line) as { level?: number | string; msg?: string };
      } catch {
        summary.notJson += 1;
        return;
      }
      // The gateway writes level names; pino's default is numbers.
      const level =
        typeof entry.level === 'number' ? (LEVELS[entry.level] ?? String(entry.level)) : String(entry.level);
      summary.byLevel[level] = (summary.byLevel[level] ?? 0) + 1;
      if (['warn', 'error', 'fatal'].includes(level)) {
        const message = `${level}: ${String(entry.msg).slice(0, 120)}`;
        summary.messages[message] = (summary.messages[message] ?? 0) + 1;
        if (level !== 'warn' && summary.errorSamples.length < 10 && !leak)
          summary.errorSamples.push(line.slice(0, 400));
      }
    });
  }
  return summary;
}

export interface MemorySample {
  /** ms since the run started */
  t: number;
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
  activeHandles: number;
  cpuSeconds: number;
}

function metric(text: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

function procStatusMb(pid: number, field: string): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const MB = 1024 * 1024;

/**
 * One sample: RSS from /proc (VmRSS), V8's heap and the event-loop delay from /metrics.
 * prom-client resets its event-loop histogram at each scrape, so p99 and max cover the 5 s since
 * the previous sample (nothing else scrapes this gateway).
 */
export async function sampleGateway(
  pid: number,
  opsUrl: string,
  t: number,
  detector: LeakDetector,
  onLeak: (what: string) => void,
): Promise<{ sample: MemorySample; metrics: string }> {
  const text = await (await fetch(`${opsUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const leak = detector.find(text);
  if (leak) onLeak(`/metrics with ${leak}`);
  return {
    sample: {
      t,
      rssMb: procStatusMb(pid, 'VmRSS'),
      heapUsedMb: metric(text, 'nodejs_heap_size_used_bytes') / MB,
      heapTotalMb: metric(text, 'nodejs_heap_size_total_bytes') / MB,
      eventLoopP99Ms: metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1000,
      eventLoopMaxMs: metric(text, 'nodejs_eventloop_lag_max_seconds') * 1000,
      activeHandles: metric(text, 'nodejs_active_handles_total'),
      cpuSeconds: cpuSeconds(pid),
    },
    metrics: text,
  };
}

export interface Trend {
  start: number;
  end: number;
  max: number;
  /** Least-squares slope over the last half of the run, MB per minute. */
  lastHalfSlopePerMin: number;
  /** Mean of the last quarter over the mean of the second quarter. */
  lastQuarterOverSecond: number;
}

export function trendOf(samples: MemorySample[], pick: (sample: MemorySample) => number, runMs: number): Trend {
  const values = samples
    .map((sample) => ({ t: sample.t, v: pick(sample) }))
    .filter((point) => Number.isFinite(point.v));
  const mean = (points: { v: number }[]) =>
    points.reduce((sum, point) => sum + point.v, 0) / Math.max(points.length, 1);
  const half = values.filter((point) => point.t >= runMs / 2);
  const tMean = half.reduce((sum, point) => sum + point.t, 0) / Math.max(half.length, 1);
  const vMean = mean(half);
  let covariance = 0;
  let variance = 0;
  for (const point of half) {
    covariance += (point.t - tMean) * (point.v - vMean);
    variance += (point.t - tMean) ** 2;
  }
  const slopePerMs = variance > 0 ? covariance / variance : 0;
  const second = values.filter((point) => point.t >= runMs / 4 && point.t < runMs / 2);
  const last = values.filter((point) => point.t >= (runMs * 3) / 4);
  return {
    start: values[0]?.v ?? NaN,
    end: values.at(-1)?.v ?? NaN,
    max: Math.max(...values.map((point) => point.v)),
    lastHalfSlopePerMin: slopePerMs * 60_000,
    lastQuarterOverSecond: mean(last) / mean(second),
  };
}

/** The threshold of "levels off" this soak applies (stated in its report). */
export const LEVEL_OFF = { maxSlopeMbPerMin: 1, maxQuarterRatio: 1.05 };

export function levelsOff(trend: Trend): boolean {
  return (
    trend.lastHalfSlopePerMin < LEVEL_OFF.maxSlopeMbPerMin && trend.lastQuarterOverSecond <= LEVEL_OFF.maxQuarterRatio
  );
}
