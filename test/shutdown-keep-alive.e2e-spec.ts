import { describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { startFixture } from './support/gateway-fixture.ts';

/** What one raw HTTP/1.1 exchange on a kept connection returned. */
interface RawAnswer {
  status: number;
  headers: Record<string, string>;
}

/**
 * Sends one POST /swap on an open socket and reads one answer (Content-Length framed), or
 * rejects when the server closes or resets the connection first.
 */
function exchange(socket: Socket, port: number, code: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = buffer.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      if (buffer.length - end - 4 < Number(headers['content-length'] ?? 0)) return;
      cleanup();
      resolve({ status: Number(statusLine!.split(' ')[1]), headers });
    };
    const onGone = (error?: Error) => {
      cleanup();
      reject(error ?? new Error('the server closed the connection without an answer'));
    };
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('close', onGone);
      socket.off('error', onGone);
    };
    if (socket.destroyed || !socket.writable) {
      reject(new Error('the server had already closed the connection'));
      return;
    }
    socket.on('data', onData);
    socket.once('end', onGone);
    socket.once('close', onGone);
    socket.once('error', onGone);
    const body = `code=${code}`;
    socket.write(
      `POST /swap HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        `Content-Length: ${body.length}\r\n\r\n${body}`,
    );
  });
}

describe('graceful shutdown with keep-alive clients', () => {
  it('does not cut a keep-alive connection idle at SIGTERM: its next request is answered, with Connection: close', async () => {
    const fx = await startFixture();
    try {
      const port = Number(new URL(fx.gateway.url).port);
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      const first = await exchange(socket, port, fx.code());
      expect(first.status).toBe(200);
      expect(first.headers['connection']).not.toBe('close');

      // The connection is idle when SIGTERM arrives (as between two requests of a steady client).
      const exitCode = fx.gateway.stop('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const last = await exchange(socket, port, fx.code());
      expect(last.status).toBe(200);
      expect(last.headers['connection']).toBe('close');
      await once(socket, 'close');

      expect(await exitCode).toBe(0);
    } finally {
      await fx.close();
    }
  });

  it('stops accepting new connections at SIGTERM while it drains the open ones', async () => {
    const fx = await startFixture();
    try {
      const port = Number(new URL(fx.gateway.url).port);
      const kept = connect(port, '127.0.0.1');
      await once(kept, 'connect');
      expect((await exchange(kept, port, fx.code())).status).toBe(200);
      const exitCode = fx.gateway.stop('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const fresh = connect(port, '127.0.0.1');
      const [error] = (await once(fresh, 'error')) as [NodeJS.ErrnoException];
      expect(error.code).toBe('ECONNREFUSED');
      kept.destroy();
      expect(await exitCode).toBe(0);
    } finally {
      await fx.close();
    }
  });
});
