/** Why a sealed refresh token was refused; each reason is a metric label value. */
export type UnsealFailureReason = 'malformed' | 'unknown_key' | 'decrypt_failed' | 'wrong_client' | 'expired';

/** A sealed refresh token that cannot be used. Never carries the token itself. */
export class UnsealError extends Error {
  constructor(readonly reason: UnsealFailureReason) {
    super(`sealed refresh token refused: ${reason}`);
    this.name = 'UnsealError';
  }
}
