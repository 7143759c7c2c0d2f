/** Headers of every answer (DESIGN §2), besides X-Request-Id. */
export const CONTRACT_HEADERS = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'x-content-type-options': 'nosniff',
} as const;
