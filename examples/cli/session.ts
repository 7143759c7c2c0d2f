import { GatewayError, postForm, requestTokens } from './gateway.ts';
import { deleteTokens, readTokens, writeTokens } from './token-file.ts';
import { needsRefresh, tokensToStore } from './tokens.ts';

/** A valid access token, refreshed through the gateway first when it expires within `minValiditySeconds`. */
export async function validAccessToken(
  gateway: string,
  tokenFile: string,
  minValiditySeconds: number,
  note: (line: string) => void,
): Promise<string> {
  const stored = await readTokens(tokenFile);
  if (stored === undefined) throw new Error(`not signed in (no ${tokenFile}); sign in with login`);
  if (!needsRefresh(stored, minValiditySeconds, Date.now())) return stored.access_token;
  let answer;
  try {
    answer = await requestTokens(gateway, '/refresh', { refresh_token: stored.refresh_token });
  } catch (error) {
    if (error instanceof GatewayError && error.error === 'invalid_grant') {
      throw new Error(`the refresh token is no longer accepted (${error.message}); sign in again with login`, {
        cause: error,
      });
    }
    throw error;
  }
  const fresh = tokensToStore(answer, Date.now(), stored);
  await writeTokens(tokenFile, fresh);
  note(`Refreshed the access token through the gateway; it expires at ${fresh.expires_at}`);
  return fresh.access_token;
}

/** Revokes the sealed refresh token where the gateway has /revoke, then deletes the token file. */
export async function logout(gateway: string, tokenFile: string, note: (line: string) => void): Promise<void> {
  const stored = await readTokens(tokenFile);
  if (stored === undefined) {
    note(`Not signed in (no ${tokenFile}); nothing to do.`);
    return;
  }
  let failure: Error | undefined;
  try {
    await postForm(gateway, '/revoke', { token: stored.refresh_token });
    note('Revoked the refresh token at the gateway.');
  } catch (error) {
    if (error instanceof GatewayError && (error.status === 404 || error.status === 405)) {
      note('This gateway does not support /revoke; only deleting the local tokens.');
    } else if (error instanceof GatewayError && error.error === 'invalid_grant') {
      note(`The gateway no longer accepts the refresh token (${error.message}); deleting the local tokens.`);
    } else {
      failure = error as Error;
    }
  }
  await deleteTokens(tokenFile);
  note(`Deleted ${tokenFile}.`);
  if (failure !== undefined) {
    throw new Error(`revoking failed (${failure.message}); the local tokens are deleted`, { cause: failure });
  }
}
