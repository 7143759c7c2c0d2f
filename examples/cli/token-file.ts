import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { StoredTokens } from './tokens.ts';

/** `$XDG_CONFIG_HOME/token-swap-gateway-cli/tokens.json`, else under ~/.config (or %APPDATA% on Windows). */
export function defaultTokenFile(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  const configHome = env['XDG_CONFIG_HOME'] || (platform === 'win32' && env['APPDATA']) || join(homedir(), '.config');
  return join(configHome, 'token-swap-gateway-cli', 'tokens.json');
}

/** The stored tokens, or undefined when there is no token file. */
export async function readTokens(path: string): Promise<StoredTokens | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const tokens = JSON.parse(text) as Partial<StoredTokens>;
  if (typeof tokens.access_token !== 'string' || typeof tokens.refresh_token !== 'string') {
    throw new Error(`${path} holds no tokens; sign in again with login`);
  }
  return tokens as StoredTokens;
}

/**
 * Writes the tokens readable by the owner only (0600): a new file is created with that mode (the
 * directory 0700), then renamed over the old one, so the old file's mode never carries over.
 */
export async function writeTokens(path: string, tokens: StoredTokens): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  const file = await open(temporary, 'w', 0o600);
  try {
    await file.chmod(0o600); // open() applied the umask; this also covers a leftover temporary file
    await file.writeFile(`${JSON.stringify(tokens, null, 2)}\n`, 'utf8');
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  await chmod(path, 0o600);
}

/** Deletes the token file; false when there was none. */
export async function deleteTokens(path: string): Promise<boolean> {
  try {
    await rm(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
