/** The soak's report: bench/results/soak.md for people, soak.json with every figure and sample. */
import type { OutsideSample } from './engine.ts';
import { LEVEL_OFF, type LogSummary, type MemorySample, type Trend } from './gateway-watch.ts';

export interface SoakResult {
  date: string;
  machine: {
    cpuModel: string;
    cores: number;
    memoryGiB: number;
    node: string;
    loadBefore: number[];
    loadAfter: number[];
    loadMax1m: number;
  };
  settings: {
    minutes: number;
    quick: boolean;
    rate: number;
    nodeOptions: string;
    gatewayEnv: Record<string, string>;
  };
  seedSwaps: number;
  durationSeconds: number;
  requests: {
    sent: number;
    answered: number;
    disconnects: number;
    skipped: number;
    noAnswer: number;
    perSecond: number;
  };
  byStatus: Record<string, number>;
  byRoute: Record<string, Record<string, number>>;
  byKind: Record<string, Record<string, number>>;
  outside: { count: number; unprescribed5xx: number; byKind: Record<string, number>; samples: OutsideSample[] };
  faults: { kind: string; fromSecond: number; toSecond: number }[];
  memory: { rss: Trend; heapUsed: Trend; rssLevelsOff: boolean; heapLevelsOff: boolean; samples: MemorySample[] };
  eventLoop: { p99MedianMs: number; p99MaxMs: number; maxMs: number };
  cpuMsPerRequest: number;
  logs: LogSummary;
  leaks: { count: number; samples: string[] };
  gatewayExit: { code: number | null; signal: string | null; afterMs: number };
  gatewayOutcomes: string[];
  acceptance: Record<string, boolean>;
}

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

function table(rows: Record<string, Record<string, number>>, first: string): string[] {
  const lines = [`| ${first} | outcome (status error) | count |`, '| --- | --- | ---: |'];
  for (const row of Object.keys(rows).sort()) {
    for (const [outcome, count] of Object.entries(rows[row]!).sort()) lines.push(`| ${row} | ${outcome} | ${count} |`);
  }
  return lines;
}

function trendRow(name: string, trend: Trend, levelsOff: boolean): string {
  return `| ${name} | ${fixed(trend.start)} | ${fixed(trend.end)} | ${fixed(trend.max)} | ${fixed(trend.lastHalfSlopePerMin, 2)} | ${fixed(trend.lastQuarterOverSecond, 3)} | ${levelsOff ? 'yes' : '**no**'} |`;
}

export function acceptanceLines(result: SoakResult): string[] {
  const a = result.acceptance;
  const mark = (ok: boolean | undefined) => (ok ? 'yes' : '**NO**');
  return [
    `- ran ≥ 10 minutes: ${mark(a['tenMinutes'])} (${fixed(result.durationSeconds / 60, 1)} min)`,
    `- zero responses outside the contract: ${mark(a['zeroOutside'])} (${result.outside.count})`,
    `- zero 5xx other than prescribed: ${mark(a['zeroUnprescribed5xx'])} (${result.outside.unprescribed5xx})`,
    `- RSS levels off: ${mark(a['rssLevelsOff'])}; V8 heap used levels off: ${mark(a['heapLevelsOff'])}`,
    `- no secret in a log line or /metrics: ${mark(a['noLeaks'])} (${result.leaks.count})`,
    `- **issue 12 acceptance 2 ${a['holds'] ? 'holds' : 'does NOT hold'}**`,
  ];
}

export function markdown(result: SoakResult): string {
  const m = result.machine;
  const s = result.settings;
  const faultCounts = new Map<string, { n: number; seconds: number }>();
  for (const fault of result.faults) {
    const entry = faultCounts.get(fault.kind) ?? { n: 0, seconds: 0 };
    entry.n += 1;
    entry.seconds += fault.toSecond - fault.fromSecond;
    faultCounts.set(fault.kind, entry);
  }
  return [
    `# Soak ${result.date}`,
    '',
    `\`npm run soak${s.quick ? ' -- --quick' : ` -- --minutes ${s.minutes}`}\` (rate ${s.rate} req/s). Machine: ${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}. The gateway, the fake accounts service (in the soak's process), its Redis and the load generator share the machine, over loopback. Load average (1, 5, 15 min) before: ${m.loadBefore.map((x) => fixed(x, 2)).join(', ')}; after: ${m.loadAfter.map((x) => fixed(x, 2)).join(', ')}; highest 1-min load seen during the run: ${fixed(m.loadMax1m, 2)}${m.loadMax1m > m.cores ? " (more runnable work than cores: the machine was shared with other work, e.g. other engineers' test runs)" : ''}.`,
    '',
    '## Acceptance (issue 12, item 2)',
    '',
    ...acceptanceLines(result),
    '',
    `"Levels off" here: over the last half of the run, the least-squares slope is under ${LEVEL_OFF.maxSlopeMbPerMin} MB/min **and** the mean of the last quarter is at most ${Math.round((LEVEL_OFF.maxQuarterRatio - 1) * 100)} % above the mean of the second quarter (samples every 5 s).`,
    '',
    '## Settings',
    '',
    `Gateway: \`dist/main.js\`, \`NODE_ENV=production\`, \`NODE_OPTIONS=${s.nodeOptions}\`, info logs to a pipe drained by the soak. ` +
      "Refresh-token rotation **on** (every refresh answers a new token, replays detected: the heavier path, with one Redis write per refresh), so the clients replace their token with each answer's. " +
      'Many clients are simulated by `X-Forwarded-For` (`TRUST_PROXY=127.0.0.1/32`), each address rarely used; one hot client sends about 8 % of the traffic (over both per-IP limits) and one hot token is refreshed about 2 % of the time (over its per-token limit).',
    '',
    '| setting | value |',
    '| --- | --- |',
    ...Object.entries(s.gatewayEnv).map(([name, value]) => `| \`${name}\` | \`${value}\` |`),
    '',
    `Faults injected (a 120 s cycle${s.quick ? ' squeezed into 60 s' : ''}; a request is judged against every fault that overlapped it, plus 12 s after an upstream fault for the circuit breaker and 10 s after Redis is back for reconnection):`,
    '',
    '| fault | times | total seconds | contract outcomes it allows (for requests that reach upstream / touch Redis) |',
    '| --- | ---: | ---: | --- |',
    ...[...faultCounts].map(
      ([kind, entry]) => `| ${kind} | ${entry.n} | ${fixed(entry.seconds, 0)} | ${FAULT_OUTCOMES[kind] ?? ''} |`,
    ),
    '',
    '## Traffic',
    '',
    `${fixed(result.durationSeconds, 0)} s after a seed of ${result.seedSwaps} swaps; ${result.requests.sent} requests sent (**${fixed(result.requests.perSecond, 1)} req/s achieved**), ${result.requests.answered} answered, ${result.requests.disconnects} reset by the client on purpose, ${result.requests.noAnswer} without an answer, ${result.requests.skipped} skipped (in-flight cap). Gateway CPU: ${fixed(result.cpuMsPerRequest * 1000, 0)} µs per request.`,
    '',
    '| status | count |',
    '| --- | ---: |',
    ...Object.entries(result.byStatus)
      .sort()
      .map(([status, count]) => `| ${status} | ${count} |`),
    '',
    '### Per route, status and error',
    '',
    ...table(result.byRoute, 'route'),
    '',
    '### Per request kind',
    '',
    ...table(result.byKind, 'kind'),
    '',
    '## Responses outside the contract',
    '',
    result.outside.count === 0
      ? 'None.'
      : `${result.outside.count} (${result.outside.unprescribed5xx} of them 5xx the contract does not prescribe), by kind: ${JSON.stringify(result.outside.byKind)}. Samples:\n\n\`\`\`json\n${JSON.stringify(result.outside.samples, null, 1)}\n\`\`\``,
    '',
    '## Memory and event loop (gateway process, sampled every 5 s)',
    '',
    '| MB | start | end | max | slope over last half, MB/min | last quarter / second quarter | levels off |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    trendRow('RSS (VmRSS)', result.memory.rss, result.memory.rssLevelsOff),
    trendRow('V8 heap used (`nodejs_heap_size_used_bytes`)', result.memory.heapUsed, result.memory.heapLevelsOff),
    '',
    `Event-loop delay (\`nodejs_eventloop_lag_p99_seconds\` and \`_max_seconds\`, per 5 s interval): p99 median ${fixed(result.eventLoop.p99MedianMs)} ms, p99 worst ${fixed(result.eventLoop.p99MaxMs)} ms, max ${fixed(result.eventLoop.maxMs)} ms.`,
    '',
    '## Logs, leaks, shutdown',
    '',
    `${result.logs.lines} log lines: ${Object.entries(result.logs.byLevel)
      .map(([level, count]) => `${level} ${count}`)
      .join(', ')}${result.logs.notJson ? `, ${result.logs.notJson} not JSON` : ''}. Warn and error messages:`,
    '',
    ...Object.entries(result.logs.messages).map(([message, count]) => `- ${count} × ${message}`),
    '',
    `Secrets found in log lines or /metrics (by shape: sealed tokens, the fake's codes and tokens; by value: client secret, keys, legacy secret, Authorization, legacy tokens): **${result.leaks.count}**${result.leaks.samples.length ? ` (${result.leaks.samples.join('; ')})` : ''}.`,
    '',
    `SIGTERM at the end: exit code ${result.gatewayExit.code}${result.gatewayExit.signal ? ` (signal ${result.gatewayExit.signal})` : ''} after ${result.gatewayExit.afterMs} ms.`,
    '',
    "The gateway's own count (`token_swap_requests_total`) at the end:",
    '',
    '```',
    ...result.gatewayOutcomes,
    '```',
    '',
  ].join('\n');
}

const FAULT_OUTCOMES: Record<string, string> = {
  slow: 'upstream answers after `UPSTREAM_TIMEOUT_MS` + 500 ms: 504, or 503 once the circuit opens',
  error5xx: 'upstream answers 503 (HTML): 503 + Retry-After',
  rateLimited: 'upstream answers 429 with Retry-After: 503 + Retry-After',
  garbage: 'upstream answers 200 with a non-JSON body: 502, or 503 once the circuit opens',
  redisDown:
    'redis-server SIGKILLed, restarted empty: `/revoke` 503 + Retry-After; limits per instance (`local`); refresh unchecked (`open`), so revoked tokens may refresh',
};
