/**
 * kubectl and Helm for `npm run test:k8s`, each call bounded in time. The binaries and the
 * kubeconfig come from scripts/k8s/run.sh: TSG_K8S_KUBECTL, TSG_K8S_HELM3, TSG_K8S_HELM4,
 * KUBECONFIG.
 */
import { execFile } from 'node:child_process';

const COMMAND_TIMEOUT_MS = 240_000;

export class CommandFailed extends Error {}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through scripts/k8s/run.sh (npm run test:k8s)`);
  return value;
}

export const KUBECTL = required('TSG_K8S_KUBECTL');
export const HELM = { 3: required('TSG_K8S_HELM3'), 4: required('TSG_K8S_HELM4') } as const;
export type HelmMajor = keyof typeof HELM;

export function run(
  command: string,
  args: string[],
  options: { timeoutMs?: number; input?: string } = {},
): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? COMMAND_TIMEOUT_MS;
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: unknown; killed?: boolean }) | null;
        let code = 0;
        if (failure) code = typeof failure.code === 'number' ? failure.code : 127;
        const note = failure?.killed ? `\n(killed after ${timeoutMs} ms)` : '';
        resolve({ code, stdout: String(stdout), stderr: `${String(stderr)}${note}` });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

async function must(command: string, args: string[], options: { timeoutMs?: number; input?: string } = {}) {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    const name = command.split('/').pop();
    throw new CommandFailed(`${name} ${args.slice(0, 3).join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  }
  return result.stdout;
}

export const kubectl = (args: string[], options: { timeoutMs?: number; input?: string } = {}) =>
  must(KUBECTL, args, options);

export async function kubectlJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

export const helm = (major: HelmMajor, args: string[], timeoutMs?: number) => must(HELM[major], args, { timeoutMs });

/** Applies Kubernetes objects given as plain objects. */
export async function apply(objects: object[]): Promise<void> {
  await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
}

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (${String(last)})` : ''}`);
}

export interface Pod {
  metadata: { name: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: {
    containers: {
      name: string;
      readinessProbe?: { httpGet?: { port: unknown } };
      livenessProbe?: { httpGet?: { port: unknown } };
    }[];
  };
  status: {
    podIP?: string;
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; ready: boolean; restartCount: number }[];
  };
}

export const isReady = (pod: Pod) =>
  !pod.metadata.deletionTimestamp &&
  (pod.status.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True');

export async function pods(namespace: string, selector: string): Promise<Pod[]> {
  return (await kubectlJson<{ items: Pod[] }>(['-n', namespace, 'get', 'pods', '-l', selector])).items;
}

/** Waits until exactly `count` pods match, all Ready, none terminating; returns them. */
export function settled(namespace: string, selector: string, count: number, timeoutMs = 180_000): Promise<Pod[]> {
  return waitFor(`${count} Ready pods (${selector}) and none terminating`, timeoutMs, async () => {
    const found = await pods(namespace, selector);
    return found.length === count && found.every(isReady) ? found : undefined;
  });
}
