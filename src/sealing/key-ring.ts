import type { webcrypto } from 'node:crypto';
import type { EncryptionKeyEntry } from '../config/encryption-keys.js';

type CryptoKey = webcrypto.CryptoKey;

/**
 * The encryption keys as WebCrypto keys imported once at start: jose runs on WebCrypto, and
 * handing it a KeyObject or bytes would import the key again on every request.
 * The first key seals; every key unseals, so a new key can be prepended while old tokens live on.
 */
export class KeyRing {
  private constructor(
    private readonly byKid: Map<string, CryptoKey>,
    readonly currentKid: string,
    readonly currentKey: CryptoKey,
  ) {}

  static async create(entries: EncryptionKeyEntry[]): Promise<KeyRing> {
    const first = entries[0];
    if (!first) throw new Error('the key ring needs at least one key');
    const imported = await Promise.all(
      entries.map(
        async ({ kid, key }) =>
          [kid, await crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt'])] as const,
      ),
    );
    const byKid = new Map(imported);
    return new KeyRing(byKid, first.kid, byKid.get(first.kid)!);
  }

  find(kid: string): CryptoKey | undefined {
    return this.byKid.get(kid);
  }
}
