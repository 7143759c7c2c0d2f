import { connect, type Socket } from 'node:net';

/** Statuses of the answers a burst got, by status (0: no answer before the connection closed). */
export type StatusCounts = Map<number, number>;

export interface BurstOptions {
  /** The gateway's base URL (loopback). */
  url: string;
  path: string;
  /** One connection per entry, opened from that local address (127.0.0.0/8). */
  sources: string[];
  /** Requests written back to back on each connection, before any answer is read. */
  perConnection: number;
  /** The form body of every request. */
  body: string;
  /** Stop waiting for answers after this long. */
  timeoutMs: number;
}

function request(path: string, host: string, body: string): string {
  return (
    `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** Reads HTTP/1.1 answers off a connection as they come, by their Content-Length. */
function countAnswers(socket: Socket, expected: number, counts: StatusCounts): Promise<void> {
  let buffer = Buffer.alloc(0);
  let answered = 0;
  return new Promise<void>((resolve) => {
    const done = () => {
      socket.destroy();
      if (answered < expected) counts.set(0, (counts.get(0) ?? 0) + expected - answered);
      answered = expected;
      resolve();
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const headEnd = buffer.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buffer.subarray(0, headEnd).toString('latin1');
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < headEnd + 4 + length) return;
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
        counts.set(status, (counts.get(status) ?? 0) + 1);
        buffer = buffer.subarray(headEnd + 4 + length);
        if (++answered === expected) {
          socket.destroy();
          resolve();
          return;
        }
      }
    });
    socket.on('close', done);
    socket.on('error', () => undefined);
  });
}

/**
 * A burst as a script would send it (DESIGN §10): many connections, each pipelining its requests
 * in one write. Bounded by the connections, the requests each and `timeoutMs`.
 */
export async function pipelinedBurst(options: BurstOptions): Promise<StatusCounts> {
  const { hostname, port } = new URL(options.url);
  const payload = request(options.path, `${hostname}:${port}`, options.body).repeat(options.perConnection);
  const counts: StatusCounts = new Map();
  const sockets: Socket[] = [];
  const answered = options.sources.map((localAddress) => {
    const socket = connect({ host: hostname, port: Number(port), localAddress });
    sockets.push(socket);
    socket.once('connect', () => socket.write(payload));
    return countAnswers(socket, options.perConnection, counts);
  });
  const timer = setTimeout(() => sockets.forEach((socket) => socket.destroy()), options.timeoutMs);
  await Promise.all(answered);
  clearTimeout(timer);
  return counts;
}

/** `count` loopback addresses 127.<second>.x.y, for sources of their own. */
export function loopbackSources(second: number, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `127.${second}.${Math.floor(index / 250)}.${(index % 250) + 1}`);
}
