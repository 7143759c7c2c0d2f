const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** Parses `90s`, `15m`, `12h`, `180d` into seconds; undefined when malformed. */
export function parseDurationSeconds(text: string): number | undefined {
  const match = /^(\d{1,9})([smhd])$/.exec(text.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
  return seconds > 0 ? seconds : undefined;
}

export interface RateLimit {
  /** Requests allowed per window. */
  limit: number;
  windowSeconds: number;
}

/** Parses a rate limit written `<count>/<window>`, e.g. `30/1m`; the window unit is s, m or h. */
export function parseRateLimit(text: string): RateLimit | undefined {
  const match = /^(\d{1,9})\/(\d{1,9}[smh])$/.exec(text.trim());
  if (!match) return undefined;
  const limit = Number(match[1]);
  const windowSeconds = parseDurationSeconds(match[2]);
  if (limit < 1 || windowSeconds === undefined) return undefined;
  return { limit, windowSeconds };
}
