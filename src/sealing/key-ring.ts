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
    /** The protected header each key seals with, base64url, to its key: known without parsing. */
    private readonly byOwnHeader: Map<string, KeyObject>,
    readonly currentKid: string,
    readonly currentKey: KeyObject,
    /** base64url of the protected header the current key seals with. */
    readonly currentHeader: string,
  ) {}

  static async create(entries: EncryptionKeyEntry[]): Promise<KeyRing> {
    const first = entries[0];
    if (!first) throw new Error('the key ring needs at least one key');
    const byKid = new Map(entries.map(({ kid, key }) => [kid, createSecretKey(key)] as const));
    const headerOf = (kid: string) => Buffer.from(JSON.stringify(sealedHeader(kid))).toString('base64url');
    const byOwnHeader = new Map([...byKid].map(([kid, key]) => [headerOf(kid), key] as const));
    return new KeyRing(byKid, byOwnHeader, first.kid, byKid.get(first.kid)!, headerOf(first.kid));
  }

  /**
   * The key of a token whose protected header is exactly the one this gateway writes for that key
   * (every token it sealed): no need to decode and parse it. Undefined for any other spelling,
   * which the sealer then parses and checks.
   */
  findByOwnHeader(encodedHeader: string): KeyObject | undefined {
    return this.byOwnHeader.get(encodedHeader);
  }

  find(kid: string): KeyObject | undefined {
    return this.byKid.get(kid);
  }
}
