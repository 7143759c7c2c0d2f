/**
 * A command-line client of the token swap gateway: signs in with Authorization Code + PKCE in the
 * system browser, keeps the tokens in a file only its owner can read, and hands out a valid access
 * token, refreshing it through the gateway. Node builtins only.
 *
 *   npm run client -- login  --gateway <url> [--app <id>] --client-id <id> [--authorize-url <url>] [--scope <scopes>]
 *                            [--redirect-port <port>] [--token-file <path>] [--no-browser]
 *   npm run client -- token  --gateway <url> [--app <id>] [--token-file <path>] [--min-validity <seconds>]
 *   npm run client -- logout --gateway <url> [--app <id>] [--token-file <path>]
 */
import { parseArgs } from 'node:util';
import { appRoutesBase, GatewayError } from './gateway.ts';
import { login } from './login.ts';
import { logout, validAccessToken } from './session.ts';
import { defaultTokenFile } from './token-file.ts';

const USAGE = `usage: npm run client -- <login|token|logout> --gateway <url> [options]
  login   --client-id <id> [--authorize-url <url>] [--scope <scopes>] [--redirect-port <port>] [--no-browser]
  token   [--min-validity <seconds>]   prints a valid access token
  logout                               revokes the sign-in at the gateway and deletes the stored tokens
  all     [--token-file <path>]        default: ${defaultTokenFile()}
          [--app <id>]                 the gateway's routes of that app (/apps/<id>/...); default: its DEFAULT_APP`;

class UsageError extends Error {}

function integer(text: string | undefined, fallback: number, name: string, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`--${name} must be ${min}-${max}`);
  return value;
}

async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      gateway: { type: 'string' },
      app: { type: 'string' },
      'client-id': { type: 'string' },
      'authorize-url': { type: 'string', default: 'https://accounts.spotify.com/authorize' },
      scope: { type: 'string' },
      'redirect-port': { type: 'string' },
      'token-file': { type: 'string' },
      'no-browser': { type: 'boolean', default: false },
      'min-validity': { type: 'string' },
    },
  });
  const [command, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(' ')}`);
  if (!values.gateway || URL.parse(values.gateway) === null) throw new UsageError('--gateway <url> is required');
  let gateway: string;
  try {
    gateway = appRoutesBase(values.gateway, values.app);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const tokenFile = values['token-file'] ?? defaultTokenFile();
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const note = (line: string) => process.stderr.write(`${line}\n`);

  switch (command) {
    case 'login': {
      const clientId = values['client-id'];
      if (!clientId) throw new UsageError('login needs --client-id <id>');
      const options = {
        gateway,
        clientId,
        authorizeUrl: values['authorize-url'],
        scope: values.scope,
        redirectPort: integer(values['redirect-port'], 8888, 'redirect-port', 1, 65535),
        tokenFile,
        openBrowser: !values['no-browser'],
      };
      if (URL.parse(options.authorizeUrl) === null) throw new UsageError('--authorize-url must be a URL');
      return login(options, out);
    }
    case 'token':
      out(
        await validAccessToken(gateway, tokenFile, integer(values['min-validity'], 60, 'min-validity', 0, 1e7), note),
      );
      return;
    case 'logout':
      return logout(gateway, tokenFile, note);
    default:
      throw new UsageError(command === undefined ? 'a command is required' : `unknown command ${command}`);
  }
}

try {
  await run(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError || String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`client: ${(error as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
  } else {
    const message = error instanceof GatewayError ? `${error.error}: ${error.message}` : (error as Error).message;
    process.stderr.write(`client: ${message}\n`);
    process.exitCode = 1;
  }
}
