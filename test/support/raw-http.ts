import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  /** Status of the first response line, or undefined when the server closed without answering. */
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from connecting until the server closed the connection. */
  closedAfterMs: number;
}

function parse(raw: string): Pick<RawAnswer, 'status' | 'headers' | 'body'> {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const status = /^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1];
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: status === undefined ? undefined : Number(status), headers, body: rest.join('\r\n\r\n') };
}

function open(url: string): Socket {
  const { hostname, port } = new URL(url);
  return connect({ host: hostname, port: Number(port) });
}

/**
 * Writes bytes as they are (no client-side HTTP library that would refuse malformed requests)
 * and reads until the server closes the connection or `timeoutMs` passes.
 */
export async function rawExchange(
  url: string,
  write: (socket: Socket) => void | Promise<void>,
  timeoutMs = 10_000,
): Promise<RawAnswer> {
  const socket = open(url);
  const started = Date.now();
  let raw = '';
  socket.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')));
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  await write(socket);
  let timer: NodeJS.Timeout | undefined;
  const closedAfterMs = await Promise.race([
    closed,
    new Promise<number>((resolve) => {
      timer = setTimeout(() => resolve(Infinity), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  socket.destroy();
  return { ...parse(raw), closedAfterMs };
}

/**
 * Sends a complete request and resets the connection (TCP RST) without reading the answer: at
 * once, or after `afterMs` (e.g. while the gateway waits for upstream).
 */
export async function sendAndReset(url: string, request: string, afterMs = 0): Promise<void> {
  const socket = open(url);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  await new Promise<void>((resolve) => socket.write(request, () => resolve()));
  if (afterMs > 0) await new Promise((resolve) => setTimeout(resolve, afterMs));
  socket.resetAndDestroy();
}

/** A form POST as raw HTTP/1.1 text. */
export function formPost(path: string, form: string, extraHeaders: Record<string, string> = {}): string {
  const headers = {
    host: 'gateway.test',
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': String(Buffer.byteLength(form)),
    ...extraHeaders,
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `POST ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n${form}`;
}
