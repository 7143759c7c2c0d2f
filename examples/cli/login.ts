import { spawn } from 'node:child_process';
import { startCallbackServer } from './callback-server.ts';
import { requestTokens } from './gateway.ts';
import { codeChallengeS256, createCodeVerifier, createState, stateMatches } from './pkce.ts';
import { writeTokens } from './token-file.ts';
import { tokensToStore } from './tokens.ts';

const CALLBACK_TIMEOUT_MS = 5 * 60_000;

export interface LoginOptions {
  gateway: string;
  clientId: string;
  authorizeUrl: string;
  scope: string | undefined;
  redirectPort: number;
  tokenFile: string;
  openBrowser: boolean;
}

/** The Authorization Code + PKCE request. `show_dialog=true` makes Spotify (and the fake) show the consent page. */
export function authorizeUrl(options: LoginOptions, redirectUri: string, state: string, challenge: string): string {
  const url = new URL(options.authorizeUrl);
  url.searchParams.set('client_id', options.clientId);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', redirectUri);
  if (options.scope) url.searchParams.set('scope', options.scope);
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('code_challenge', challenge);
  url.searchParams.set('show_dialog', 'true');
  return url.href;
}

/** Best effort: without a browser (or a desktop) the printed URL is the way in. */
function openInBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url.replaceAll('&', '^&')]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // ignored: the URL is printed
  }
}

export async function login(options: LoginOptions, print: (line: string) => void): Promise<void> {
  const verifier = createCodeVerifier();
  const state = createState();
  const server = await startCallbackServer(options.redirectPort, CALLBACK_TIMEOUT_MS);
  const url = authorizeUrl(options, server.redirectUri, state, codeChallengeS256(verifier));
  print('Open this address in a browser to sign in:');
  print(url);
  if (options.openBrowser) openInBrowser(url);

  const callback = await server.callback;
  const { query } = callback;
  if (!stateMatches(state, query.get('state'))) {
    await callback.finish(400, 'Sign-in failed', 'The answer does not belong to this sign-in (state mismatch).');
    throw new Error('the callback came back with a different state: not our sign-in, nothing stored');
  }
  const code = query.get('code');
  if (query.get('error') !== null || !code) {
    const reason = query.get('error') ?? 'no code';
    await callback.finish(400, 'Sign-in failed', `The accounts service said: ${reason}.`);
    throw new Error(`sign-in failed: ${reason}`);
  }
  try {
    const answer = await requestTokens(options.gateway, '/swap', {
      code,
      redirect_uri: server.redirectUri,
      code_verifier: verifier,
    });
    await writeTokens(options.tokenFile, tokensToStore(answer, Date.now()));
  } catch (error) {
    await callback.finish(502, 'Sign-in failed', 'The token swap failed; see the terminal.');
    throw error;
  }
  await callback.finish(200, 'Signed in', 'You are signed in. You can close this window now.');
  print(`Signed in; tokens stored in ${options.tokenFile}`);
}
