import { describe, expect, it } from '@jest/globals';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

// `npm test` builds dist/ first (pretest); the demo spawns dist/main.js.
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEMO = fileURLToPath(new URL('../scripts/demo.ts', import.meta.url));
// The one-go block of the banner needs curl and sh; without curl that one test is skipped.
const HAS_CURL = spawnSync('curl', ['--version']).status === 0;
const SEALED_JWE = /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

interface Demo {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts `node scripts/demo.ts` on free ports with only the environment given (not jest's NODE_ENV=test). */
function startDemo(env: Record<string, string>): Demo {
  const child = spawn(process.execPath, [DEMO], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', DEMO_FAKE_PORT: '0', DEMO_PORT: '0', DEMO_OPS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, output: () => output, exited };
}

async function waitForOutput(demo: Demo, marker: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!demo.output().includes(marker)) {
    if (demo.child.exitCode !== null || demo.child.signalCode !== null) {
      throw new Error(`the demo exited before printing ${JSON.stringify(marker)}:\n${demo.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(marker)} in ${timeoutMs} ms:\n${demo.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return demo.output();
}

/** The first capture group of the first printed line that matches, trimmed. */
function printed(output: string, pattern: RegExp): string {
  const match = pattern.exec(output);
  if (!match?.[1]) throw new Error(`the demo did not print a line matching ${pattern}:\n${output}`);
  return match[1];
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function postForm(
  url: string,
  form: Record<string, string>,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

function runShell(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', script], { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

describe('npm run demo (scripts/demo.ts)', () => {
  it('prints a DEMO MODE banner and commands that perform a swap and a refresh, and stops on SIGINT with 0', async () => {
    const demo = startDemo({});
    try {
      const output = await waitForOutput(demo, 'Ctrl-C stops the demo.', 20_000);
      expect(output).toContain('DEMO MODE - NEVER USE THIS FOR PRODUCTION');
      expect(output).toMatch(/^!{20,}$/m);
      expect(output).toContain('THROWAWAY');
      expect(output).toContain('UPSTREAM IS PLAIN HTTP ON LOOPBACK');

      // Follow the printed steps, with the URLs exactly as printed.
      const authorizeUrl = printed(output, /^ {3}curl -si '([^']+)'$/m);
      const swapUrl = printed(output, /^ {3}curl -s -X POST (\S+) -d code=CODE$/m);
      const refreshUrl = printed(output, /^ {3}curl -s -X POST (\S+) -d refresh_token=SEALED$/m);
      const revokeUrl = printed(output, /^ {3}curl -s -X POST (\S+) -d token=SEALED$/m);
      const metricsUrl = printed(output, /^ {3}curl -s (\S+) \| grep token_swap$/m);
      expect(new URL(authorizeUrl).hostname).toBe('127.0.0.1');
      expect(new URL(swapUrl).hostname).toBe('127.0.0.1');

      const authorize = await fetch(authorizeUrl, { redirect: 'manual' });
      expect(authorize.status).toBe(302);
      const code = new URL(authorize.headers.get('location')!).searchParams.get('code');
      expect(code).toBeTruthy();

      const swap = await postForm(swapUrl, { code: code! });
      expect(swap.status).toBe(200);
      expect(swap.json).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
      expect(typeof swap.json.access_token).toBe('string');
      const sealed = swap.json.refresh_token as string;
      expect(sealed).toMatch(SEALED_JWE);
      const header = JSON.parse(Buffer.from(sealed.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
      expect(header).toMatchObject({ alg: 'dir', enc: 'A256GCM' });

      const refresh = await postForm(refreshUrl, { refresh_token: sealed });
      expect(refresh.status).toBe(200);
      expect(typeof refresh.json.access_token).toBe('string');
      expect(refresh.json.access_token).not.toBe(swap.json.access_token);
      expect(refresh.json.refresh_token).toBe(sealed);

      const revoke = await postForm(revokeUrl, { token: sealed });
      expect({ status: revoke.status, json: revoke.json }).toEqual({ status: 200, json: {} });
      expect((await postForm(refreshUrl, { refresh_token: sealed })).json.error).toBe('invalid_grant');

      const metrics = await (await fetch(metricsUrl)).text();
      expect(metrics).toContain('token_swap_requests_total{operation="swap",outcome="success",app="default"} 1');
      expect(metrics).toContain('token_swap_requests_total{operation="refresh",outcome="success",app="default"} 1');

      demo.child.kill('SIGINT');
      expect(await withTimeout(demo.exited, 5000, 'stopping the demo')).toBe(0);
      // The gateway went with it: nothing answers on its port any more.
      await expect(fetch(swapUrl, { method: 'POST', body: 'code=x' })).rejects.toThrow();
      await expect(fetch(authorizeUrl, { redirect: 'manual' })).rejects.toThrow();
    } finally {
      demo.child.kill('SIGKILL');
    }
  }, 30_000);

  (HAS_CURL ? it : it.skip)(
    'prints a one-go shell block that works when pasted into sh',
    async () => {
      const demo = startDemo({});
      try {
        const output = await waitForOutput(demo, 'Ctrl-C stops the demo.', 20_000);
        const block = output.slice(output.indexOf('The same in one go'), output.indexOf('Ctrl-C stops the demo.'));
        const script = block
          .split('\n')
          .slice(1)
          .map((line) => line.trim())
          .filter((line) => line !== '')
          .join('\n');
        const answer = JSON.parse(await runShell(script)) as Record<string, unknown>;
        expect(answer).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
        expect(answer.refresh_token).toMatch(SEALED_JWE);

        demo.child.kill('SIGTERM');
        expect(await withTimeout(demo.exited, 5000, 'stopping the demo')).toBe(0);
      } finally {
        demo.child.kill('SIGKILL');
      }
    },
    30_000,
  );

  it('runs two apps with DEMO_TWO_APPS=true: the printed steps of the second go through /apps/web/', async () => {
    const demo = startDemo({ DEMO_TWO_APPS: 'true' });
    try {
      const output = await waitForOutput(demo, 'Ctrl-C stops the demo.', 20_000);
      const webAuthorizeUrl = printed(output, /^ {3}curl -si '([^']+demo-web-client-id[^']*)'$/m);
      const webSwapUrl = printed(output, /^ {3}curl -s -X POST (\S+\/apps\/web\/swap) -d code=CODE$/m);
      const webRefreshUrl = printed(output, /^ {3}curl -s -X POST (\S+\/apps\/web\/refresh) -d refresh_token=SEALED$/m);
      const code = new URL(
        (await fetch(webAuthorizeUrl, { redirect: 'manual' })).headers.get('location')!,
      ).searchParams.get('code');
      const swap = await postForm(webSwapUrl, { code: code! });
      expect(swap.status).toBe(200);
      expect(typeof swap.json.id_token).toBe('string');
      const refresh = await postForm(webRefreshUrl, { refresh_token: swap.json.refresh_token as string });
      expect(refresh.status).toBe(200);
      expect(refresh.json.refresh_token).not.toBe(swap.json.refresh_token);

      // The first app keeps the unprefixed routes of the one-app demo.
      const authorizeUrl = printed(output, /^ {3}curl -si '([^']+client_id=demo-client-id[^']*)'$/m);
      const swapUrl = printed(output, /^ {3}curl -s -X POST (http:\/\/[^/\s]+\/swap) -d code=CODE$/m);
      const defaultCode = new URL(
        (await fetch(authorizeUrl, { redirect: 'manual' })).headers.get('location')!,
      ).searchParams.get('code');
      expect((await postForm(swapUrl, { code: defaultCode! })).status).toBe(200);

      demo.child.kill('SIGINT');
      expect(await withTimeout(demo.exited, 5000, 'stopping the demo')).toBe(0);
    } finally {
      demo.child.kill('SIGKILL');
    }
  }, 30_000);

  it('refuses to run with NODE_ENV=production, before starting anything', async () => {
    const demo = startDemo({ NODE_ENV: 'production' });
    try {
      const code = await withTimeout(demo.exited, 10_000, 'the refusal');
      expect(code).not.toBe(0);
      expect(demo.output()).toContain('refusing to run with NODE_ENV=production');
      expect(demo.output()).not.toContain('gateway listening');
      expect(demo.output()).not.toContain('DEMO MODE starting');
      expect(demo.output()).not.toContain('curl');
    } finally {
      demo.child.kill('SIGKILL');
    }
  });
});
