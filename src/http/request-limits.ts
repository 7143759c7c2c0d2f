export { MAX_BODY_BYTES } from '../operations/request-body-limit.js';

// How long a client may take to send its request: headers, and headers plus body. A token request
// is under 8 KiB, so 10 s is generous even on a poor mobile link, and a client dripping its
// request byte by byte (slowloris) holds a connection for no longer.
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 10_000;
// Node checks the two timeouts above on an interval (default 30 s); checked every second, a
// request is cut off at most a second late.
export const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
// Idle keep-alive connections are kept longer than load balancers keep theirs (AWS ALB and GCP
// default to 60 s idle), so the balancer, not the gateway, closes them: otherwise a request sent
// on a connection the gateway is closing fails with a 502 at the balancer.
export const KEEP_ALIVE_TIMEOUT_MS = 72_000;
// Open connections per instance. Past it new connections are dropped at once; an idle connection
// costs a few KiB, so this stays far below a 256 MiB pod's memory.
export const MAX_CONNECTIONS = 4_096;
