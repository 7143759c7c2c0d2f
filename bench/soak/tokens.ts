/**
 * The sealed tokens the soak's clients hold: a pool of live ones (each used by one request at a
 * time, replaced by the answer's token, since rotation is on), the revoked ones, and tokens the
 * harness seals itself with its copy of the keys (v1, expired, another client's).
 */
import { CompactEncrypt } from 'jose';
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

export interface PooledToken {
  token: string;
  /** Requests the limiter admitted with this token's family (its per-token budget is 20/1h). */
  admitted: number;
}

// Under the per-token limit (20/1h), so a live token's refresh never meets it by accident.
const RETIRE_AFTER_ADMITTED = 15;
const POOL_CAP = 3000;

/** Live tokens, oldest-used first: take one, use it, give back the one the answer carries. */
export class TokenPool {
  private readonly queue: PooledToken[] = [];

  get size(): number {
    return this.queue.length;
  }

  add(token: string): void {
    this.giveBack({ token, admitted: 0 });
  }

  take(): PooledToken | undefined {
    return this.queue.shift();
  }

  giveBack(entry: PooledToken): void {
    if (entry.admitted >= RETIRE_AFTER_ADMITTED) return;
    this.queue.push(entry);
    if (this.queue.length > POOL_CAP) this.queue.shift();
  }

  /** A token to alter (tampering), left in the pool. */
  peek(): string | undefined {
    return this.queue[Math.floor(Math.random() * this.queue.length)]?.token;
  }
}

export interface RevokedToken {
  token: string;
  /** How many times Redis had been killed when the revocation was recorded (a restart forgets it). */
  epoch: number;
  uses: number;
}

/**
 * Revoked tokens; each is tried a few times only: it still has its per-token bucket, and with the
 * pool's 15 admitted requests at most, 4 more stay under the limit of 20.
 */
export class RevokedTokens {
  private readonly tokens: RevokedToken[] = [];

  add(token: string, epoch: number): void {
    this.tokens.push({ token, epoch, uses: 0 });
    if (this.tokens.length > 500) this.tokens.shift();
  }

  take(): RevokedToken | undefined {
    const index = Math.floor(Math.random() * this.tokens.length);
    const entry = this.tokens[index];
    if (!entry) return undefined;
    entry.uses += 1;
    if (entry.uses >= 4) this.tokens.splice(index, 1);
    return entry;
  }

  drop(entry: RevokedToken): void {
    const index = this.tokens.indexOf(entry);
    if (index >= 0) this.tokens.splice(index, 1);
  }
}

export interface SealingKey {
  kid: string;
  secret: string;
  key: KeyObject;
}

export function newSealingKey(kid: string): SealingKey {
  const secret = randomBytes(32).toString('base64url');
  return { kid, secret, key: createSecretKey(Buffer.from(secret, 'base64url')) };
}

/** Seals a payload as the gateway does (alg dir, A256GCM, kid only in the header). */
export async function sealPayload(key: SealingKey, payload: Record<string, unknown>): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: key.kid })
    .encrypt(key.key);
}

const DAY_SECONDS = 86_400;

export function v1Payload(rt: string, clientId: string): Record<string, unknown> {
  return { v: 1, rt, cid: clientId, iat: Math.floor(Date.now() / 1000) };
}

/** A v2 token signed in 200 days ago (past the 180-day lifetime), re-sealed just now. */
export function expiredPayload(rt: string, clientId: string): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { v: 2, rt, cid: clientId, iat: now, aut: now - 200 * DAY_SECONDS, fam: newFamily(), gen: 3 };
}

export function otherClientPayload(rt: string): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { v: 2, rt, cid: 'someone-elses-client', iat: now, aut: now, fam: newFamily(), gen: 0 };
}

function newFamily(): string {
  return randomBytes(16).toString('base64url');
}
