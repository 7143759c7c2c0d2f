import type { GatewayRedis } from '../redis/gateway-redis.js';
import { FAMILY_FIELDS, familyKey, familyRecordFrom, type FamilyRecord, type TokenStateStore } from './family-state.js';

// KEYS[1]: the family; ARGV: generation, now (ms), expiry (ms since the epoch). 0 when revoked.
const RECORD_GENERATION_SCRIPT = `
if redis.call('HGET', KEYS[1], 'r') == '1' then return 0 end
local recorded = tonumber(redis.call('HGET', KEYS[1], 'g') or '-1')
if recorded < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'g', ARGV[1], 't', ARGV[2]) end
if redis.call('HEXISTS', KEYS[1], 'a') == 1 then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIREAT', KEYS[1], ARGV[3]) end
return 1
`;

// KEYS[1]: the family of a legacy token; ARGV: now (ms). The first migration's time, kept for good.
const RECORD_MIGRATION_SCRIPT = `
redis.call('HSETNX', KEYS[1], 'a', ARGV[1])
redis.call('PERSIST', KEYS[1])
return redis.call('HGET', KEYS[1], 'a')
`;

// KEYS[1]: the family; ARGV: expiry (ms since the epoch, never shortened; 0: never), now (ms).
// PTTL rather than PEXPIRETIME, which needs Redis 7 (managed services still run 6).
const REVOKE_SCRIPT = `
redis.call('HSET', KEYS[1], 'r', '1')
if ARGV[1] == '0' or redis.call('HEXISTS', KEYS[1], 'a') == 1 then
  redis.call('PERSIST', KEYS[1])
  return 1
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 or tonumber(ARGV[2]) + ttl < tonumber(ARGV[1]) then redis.call('PEXPIREAT', KEYS[1], ARGV[1]) end
return 1
`;

type RedisWithFamilyScripts = GatewayRedis & {
  tsgRecordGeneration(key: string, generation: number, nowMs: number, expiresAtMs: number): Promise<number>;
  tsgRevoke(key: string, expiresAtMs: number, nowMs: number): Promise<number>;
  tsgRecordMigration(key: string, nowMs: number): Promise<string>;
};

/** Family records in Redis, shared by every replica; each write is one atomic script. */
export class RedisTokenStateStore implements TokenStateStore {
  private readonly redis: RedisWithFamilyScripts;

  constructor(
    redis: GatewayRedis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('tsgRecordGeneration', { numberOfKeys: 1, lua: RECORD_GENERATION_SCRIPT });
    redis.defineCommand('tsgRevoke', { numberOfKeys: 1, lua: REVOKE_SCRIPT });
    redis.defineCommand('tsgRecordMigration', { numberOfKeys: 1, lua: RECORD_MIGRATION_SCRIPT });
    this.redis = redis as RedisWithFamilyScripts;
  }

  async read(family: string): Promise<FamilyRecord | undefined> {
    return familyRecordFrom(await this.redis.hmget(familyKey(this.prefix, family), ...FAMILY_FIELDS));
  }

  async recordGeneration(family: string, generation: number, nowMs: number, expiresAtMs: number): Promise<boolean> {
    return (await this.redis.tsgRecordGeneration(familyKey(this.prefix, family), generation, nowMs, expiresAtMs)) === 1;
  }

  async recordMigration(family: string, nowMs: number): Promise<number> {
    return Number(await this.redis.tsgRecordMigration(familyKey(this.prefix, family), nowMs));
  }

  async revoke(family: string, expiresAtMs: number | undefined): Promise<void> {
    await this.redis.tsgRevoke(familyKey(this.prefix, family), expiresAtMs ?? 0, Date.now());
  }
}
