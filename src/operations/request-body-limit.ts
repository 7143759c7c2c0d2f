/**
 * DESIGN §2: request bodies over 8 KiB are refused with 413. One constant for the two places that
 * depend on it: the HTTP edge enforces it (http/request-limits.ts), and sealing keeps every sealed
 * token short enough to be sent back inside it (sealing/sealed-token-size.ts). It lives here,
 * importing nothing, because sealing may not import the edge.
 */
export const MAX_BODY_BYTES = 8 * 1024;
