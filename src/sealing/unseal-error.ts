/** Why a sealed refresh token was refused; each reason is a metric label value. */
export const UNSEAL_FAILURE_REASONS = [
  'malformed',
  'unknown_key',
  'decrypt_failed',
  'wrong_client',
  'expired',
  // DESIGN §8: the token's family was revoked (POST /revoke, or a replay), or this token was replayed.
  'revoked',
  'reused',
] as const;
export type UnsealFailureReason = (typeof UNSEAL_FAILURE_REASONS)[number];

/** A sealed refresh token that cannot be used. Never carries the token itself. */
export class UnsealError extends Error {
  constructor(readonly reason: UnsealFailureReason) {
    super(`sealed refresh token refused: ${reason}`);
    this.name = 'UnsealError';
  }
}
