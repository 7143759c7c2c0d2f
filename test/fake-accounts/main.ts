/**
 * Runs the fake Spotify accounts service on its own, for benchmarks and demos:
 *   FAKE_CLIENT_ID=id FAKE_CLIENT_SECRET=secret node test/fake-accounts/main.ts [--port 4010]
 *     (or FAKE_CLIENT_SECRET_FILE=<path>: the secret is the file's content, trimmed, as the gateway reads it)
 *     [--personality spotify|oauth2]   (FAKE_PERSONALITY; see FakePersonality in fake-context.ts)
 * Prints {"fakeAccounts":"<url>"} on one line once listening; stops on SIGTERM or SIGINT.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startFakeAccounts } from './index.ts';

const { values: args } = parseArgs({
  options: {
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'delay-ms': { type: 'string' },
    'accept-any-code': { type: 'boolean' },
    rotate: { type: 'boolean' },
    personality: { type: 'string' },
  },
});
const env = process.env;

const clientId = args['client-id'] ?? env['FAKE_CLIENT_ID'];
const clientSecret =
  args['client-secret'] ?? env['FAKE_CLIENT_SECRET'] ?? secretFromFile(env['FAKE_CLIENT_SECRET_FILE']);
if (!clientId || !clientSecret) {
  process.stderr.write(
    'fake-accounts: FAKE_CLIENT_ID and FAKE_CLIENT_SECRET or FAKE_CLIENT_SECRET_FILE (or --client-id, --client-secret) are required\n',
  );
  process.exit(2);
}

const fake = await startFakeAccounts({
  clientId,
  clientSecret,
  port: wholeNumber('port', args.port ?? env['FAKE_PORT'] ?? '4010'),
  host: args.host ?? env['FAKE_HOST'] ?? '127.0.0.1',
  personality: personality(args.personality ?? env['FAKE_PERSONALITY'] ?? 'spotify'),
});
fake.state.delayMs = wholeNumber('delay', args['delay-ms'] ?? env['FAKE_DELAY_MS'] ?? '0');
fake.state.acceptAnyCode = args['accept-any-code'] ?? env['FAKE_ACCEPT_ANY_CODE'] === 'true';
fake.state.rotateRefreshTokens = args.rotate ?? env['FAKE_ROTATE'] === 'true';
process.stdout.write(`${JSON.stringify({ fakeAccounts: fake.url })}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void fake.close();
  });
}

function secretFromFile(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    process.stderr.write('fake-accounts: cannot read the file FAKE_CLIENT_SECRET_FILE names\n');
    process.exit(2);
  }
}

function personality(text: string): 'spotify' | 'oauth2' {
  if (text === 'spotify' || text === 'oauth2') return text;
  process.stderr.write(`fake-accounts: personality must be spotify or oauth2, got ${JSON.stringify(text)}\n`);
  process.exit(2);
}

function wholeNumber(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    process.stderr.write(`fake-accounts: ${name} must be a whole number >= 0, got ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return value;
}
