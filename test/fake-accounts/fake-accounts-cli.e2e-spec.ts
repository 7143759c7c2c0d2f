import { afterEach, describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CLIENT, GOOD_AUTH, postForm } from './spec-helpers.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

describe('fake Spotify accounts: main.ts', () => {
  let child: ChildProcess | undefined;

  afterEach(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
  });

  function run(env: Record<string, string>, args: string[] = []): ChildProcess {
    child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return child;
  }

  async function firstLine(started: ChildProcess): Promise<string> {
    const lines = createInterface({ input: started.stdout! });
    const [line] = (await once(lines, 'line')) as [string];
    lines.close();
    return line;
  }

  it('starts from env, prints its URL as one JSON line, answers, and stops on SIGTERM', async () => {
    const fake = run({
      FAKE_CLIENT_ID: CLIENT.clientId,
      FAKE_CLIENT_SECRET: CLIENT.clientSecret,
      FAKE_PORT: '0',
      FAKE_ACCEPT_ANY_CODE: 'true',
      FAKE_DELAY_MS: '100',
    });
    const { fakeAccounts: url } = JSON.parse(await firstLine(fake)) as { fakeAccounts: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const started = performance.now();
    const answer = await postForm(
      `${url}/api/token`,
      { grant_type: 'authorization_code', code: 'any', redirect_uri: 'x' },
      GOOD_AUTH,
    );
    expect(answer.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);

    fake.kill('SIGTERM');
    const [exitCode] = (await once(fake, 'exit')) as [number | null];
    expect(exitCode).toBe(0);
  });

  it('takes arguments over env', async () => {
    const fake = run({ FAKE_CLIENT_ID: 'ignored', FAKE_CLIENT_SECRET: 'ignored' }, [
      '--client-id',
      CLIENT.clientId,
      '--client-secret',
      CLIENT.clientSecret,
      '--port',
      '0',
      '--rotate',
    ]);
    const { fakeAccounts: url } = JSON.parse(await firstLine(fake)) as { fakeAccounts: string };
    const control = (await (await fetch(`${url}/__control`)).json()) as { state: { rotateRefreshTokens: boolean } };
    expect(control.state.rotateRefreshTokens).toBe(true);
    const answer = await postForm(`${url}/api/token`, { grant_type: 'refresh_token', refresh_token: 'x' }, GOOD_AUTH);
    expect(answer.json).toEqual({ error: 'invalid_grant', error_description: 'Invalid refresh token' });
    fake.kill('SIGINT');
    expect((await once(fake, 'exit'))[0]).toBe(0);
  });

  it('exits 2 without client credentials', async () => {
    const fake = run({});
    const [exitCode] = (await once(fake, 'exit')) as [number | null];
    expect(exitCode).toBe(2);
  });
});
