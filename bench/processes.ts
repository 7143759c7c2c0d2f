import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) the process has used so far, from its own kernel accounting. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Peak resident set size in MB (VmHWM). */
export function peakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** Starts a child and resolves once a stdout line matches; every other line is drained (as a container runtime would). */
export async function spawnUntil(
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: (line: string) => boolean,
  timeoutMs = 15_000,
): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${command} ${args.join(' ')} did not start:\n${tail}`)),
      timeoutMs,
    );
    createInterface({ input: child.stdout! }).on('line', (text) => {
      tail = (tail + text + '\n').slice(-4000);
      if (ready(text)) {
        clearTimeout(timer);
        resolve(text);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-4000)));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code}:\n${tail}`));
    });
  });
  child.removeAllListeners('exit');
  return { child, line };
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** The fake accounts service as the benchmarks' upstream: accepts any code, answer delay settable. */
export async function startFakeUpstream(
  clientId: string,
  clientSecret: string,
): Promise<{ child: ChildProcess; url: string; setDelay: (delayMs: number) => Promise<Response> }> {
  const fake = await spawnUntil(
    process.execPath,
    [
      'test/fake-accounts/main.ts',
      '--port',
      '0',
      '--accept-any-code',
      '--client-id',
      clientId,
      '--client-secret',
      clientSecret,
    ],
    {},
    (line) => line.includes('fakeAccounts'),
  );
  const url = (JSON.parse(fake.line) as { fakeAccounts: string }).fakeAccounts;
  const setDelay = (delayMs: number) =>
    fetch(`${url}/__control`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ delayMs }),
    });
  return { child: fake.child, url, setDelay };
}

/** Resident set size in MB now (VmRSS). */
export function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/**
 * A memory cgroup limited to `bytes`, as a container limit is, where this machine lets the bench
 * make one (cgroup v1 memory controller or cgroup v2, as root); undefined otherwise. A process
 * started through `wrap` runs inside it from its first instruction, so Node reads the limit at start.
 */
export function memoryCgroup(
  name: string,
  bytes: number,
): { wrap(command: string, args: string[]): [string, string[]]; oomKills(): number; remove(): void } | undefined {
  const candidates = [
    { dir: `/sys/fs/cgroup/memory/${name}`, limit: 'memory.limit_in_bytes' },
    { dir: `/sys/fs/cgroup/${name}`, limit: 'memory.max' },
  ];
  for (const { dir, limit } of candidates) {
    try {
      if (!existsSync(dirname(dir)) || !existsSync(join(dirname(dir), 'cgroup.procs'))) continue;
      if (!existsSync(dir)) mkdirSync(dir);
      writeFileSync(join(dir, limit), String(bytes));
      const procs = join(dir, 'cgroup.procs');
      return {
        wrap: (command, args) => ['/bin/sh', ['-c', `echo $$ > ${procs} && exec "$0" "$@"`, command, ...args]],
        oomKills: () => {
          for (const file of ['memory.oom_control', 'memory.events']) {
            const text = existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8') : '';
            const match = /oom_kill (\d+)/.exec(text);
            if (match) return Number(match[1]);
          }
          return 0;
        },
        remove: () => {
          try {
            rmdirSync(dir);
          } catch {
            // still has a process (killed late); the next run reuses it
          }
        },
      };
    } catch {
      // not allowed here: try the next layout
    }
  }
  return undefined;
}
