import { createSecretKey, type KeyObject } from 'node:crypto';
import type { EncryptionKeyEntry } from '../config/encryption-keys.js';
import { sealedHeader } from './sealed-token-size.js';

/**
 * The encryption keys as KeyObjects made once at start (not raw bytes handed over on every
 * request). The first key seals; every key unseals, so a new key can be prepended while old
 * tokens live on. The sealing key's protected header is encoded once, too.
 */
export class KeyRing {
  private constructor(
    private readonly byKid: Map<string, KeyObject>,
    readonly currentKid: string,
    readonly currentKey: KeyObject,
    /** base64url of the protected header the current key seals with. */
    readonly currentHeader: string,
  ) {}

  static async create(entries: EncryptionKeyEntry[]): Promise<KeyRing> {
    const first = entries[0];
    if (!first) throw new Error('the key ring needs at least one key');
    const byKid = new Map(entries.map(({ kid, key }) => [kid, createSecretKey(key)] as const));
    const header = Buffer.from(JSON.stringify(sealedHeader(first.kid))).toString('base64url');
    return new KeyRing(byKid, first.kid, byKid.get(first.kid)!, header);
  }

  find(kid: string): KeyObject | undefined {
    return this.byKid.get(kid);
  }
}
