import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultTokenFile, deleteTokens, readTokens, writeTokens } from './token-file.ts';
import type { StoredTokens } from './tokens.ts';

const TOKENS: StoredTokens = {
  access_token: 'BQ-access',
  token_type: 'Bearer',
  expires_at: '2026-01-01T13:00:00.000Z',
  refresh_token: 'sealed',
};
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('token file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsg-cli-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is created readable by its owner only (0600), in a 0700 directory it creates', async () => {
    const path = join(dir, 'nested', 'tokens.json');
    await writeTokens(path, TOKENS);
    expect(await modeOf(path)).toBe(0o600);
    expect(await modeOf(join(dir, 'nested'))).toBe(0o700);
    expect(await readTokens(path)).toEqual(TOKENS);
  });

  it('tightens an existing file that others could read to 0600', async () => {
    const path = join(dir, 'tokens.json');
    await writeFile(path, '{}', { mode: 0o644 });
    expect(await modeOf(path)).toBe(0o644);
    await writeTokens(path, TOKENS);
    expect(await modeOf(path)).toBe(0o600);
    expect(await readTokens(path)).toEqual(TOKENS);
  });

  it('reads as undefined when missing, refuses a file without tokens, and deletes', async () => {
    const path = join(dir, 'tokens.json');
    expect(await readTokens(path)).toBeUndefined();
    await writeFile(path, '{"access_token":"x"}');
    await expect(readTokens(path)).rejects.toThrow(/login/);
    expect(await deleteTokens(path)).toBe(true);
    expect(await deleteTokens(path)).toBe(false);
  });

  it('defaults to the user config directory', () => {
    expect(defaultTokenFile({ XDG_CONFIG_HOME: '/cfg' }, 'linux')).toBe('/cfg/token-swap-gateway-cli/tokens.json');
    expect(defaultTokenFile({}, 'linux')).toMatch(/\/\.config\/token-swap-gateway-cli\/tokens\.json$/);
  });
});
