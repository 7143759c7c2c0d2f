import { tmpdir } from 'node:os';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** A key entry for TOKEN_ENCRYPTION_KEYS, as `npm run keygen` prints. */
export function newKeyEntry(kid: string): string {
  return `${kid}:${randomBytes(32).toString('base64url')}`;
}

export interface GatewayProcess {
  url: string;
  opsUrl: string;
  child: ChildProcess;
  /** Every line the process wrote to stdout and stderr, in order. */
  lines: string[];
  /** The parsed JSON log lines. */
  logs(): Record<string, unknown>[];
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Starts the built gateway (`dist/main.js`) as its own process on ephemeral ports, the way
 * production runs it, and waits until it logs that it listens.
 */
export async function startGateway(
  env: Record<string, string>,
  options: { startTimeoutMs?: number; nodeArgs?: string[] } = {},
): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), MAIN], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', PORT: '0', OPS_PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  let resolveListening: (value: { port: number; opsPort: number }) => void;
  const listening = new Promise<{ port: number; opsPort: number }>((resolve) => {
    resolveListening = resolve;
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      if (line.includes('"gateway listening"')) {
        const entry = JSON.parse(line) as { port: number; opsPort: number };
        resolveListening({ port: entry.port, opsPort: entry.opsPort });
      }
    });
  }
  const timeoutMs = options.startTimeoutMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  const started = await Promise.race([
    listening,
    exited.then((code) => new Error(`gateway exited with ${code} before listening:\n${lines.join('\n')}`)),
    new Promise<Error>((resolve) => {
      timer = setTimeout(
        () => resolve(new Error(`gateway did not start in ${timeoutMs} ms:\n${lines.join('\n')}`)),
        timeoutMs,
      );
    }),
  ]);
  clearTimeout(timer);
  if (started instanceof Error) {
    child.kill('SIGKILL');
    throw started;
  }
  return {
    url: `http://127.0.0.1:${started.port}`,
    opsUrl: `http://127.0.0.1:${started.opsPort}`,
    child,
    lines,
    exited,
    logs: () =>
      lines.flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs the built gateway to completion (for start-up failures) and returns its exit code and output. */
export async function runGatewayToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    // Outside the repository, so a developer's own .env (read outside production) cannot fill in
    // the settings a start-up test leaves out.
    cwd: tmpdir(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}
