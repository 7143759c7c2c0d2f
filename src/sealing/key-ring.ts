import { createSecretKey, type KeyObject } from 'node:crypto';
import type { EncryptionKeyEntry } from '../config/encryption-keys.js';

/**
 * The encryption keys as ready-made KeyObjects (imported once at start, not per request).
 * The first key seals; every key unseals, so a new key can be prepended while old tokens live on.
 */
export class KeyRing {
  private readonly byKid: Map<string, KeyObject>;
  readonly currentKid: string;
  readonly currentKey: KeyObject;

  constructor(entries: EncryptionKeyEntry[]) {
    const first = entries[0];
    if (!first) throw new Error('the key ring needs at least one key');
    this.byKid = new Map(entries.map(({ kid, key }) => [kid, createSecretKey(key)]));
    this.currentKid = first.kid;
    this.currentKey = this.byKid.get(first.kid)!;
  }

  find(kid: string): KeyObject | undefined {
    return this.byKid.get(kid);
  }
}
