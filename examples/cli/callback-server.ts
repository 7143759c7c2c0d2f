import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The one request that reached /callback; `finish` answers it with a small page and stops the server. */
export interface Callback {
  query: URLSearchParams;
  finish(status: number, title: string, message: string): Promise<void>;
}

export interface CallbackServer {
  redirectUri: string;
  /** Resolves with the first request to /callback; rejects after `timeoutMs`. */
  callback: Promise<Callback>;
  close(): Promise<void>;
}

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

function page(response: ServerResponse, status: number, title: string, message: string): Promise<void> {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 3em auto"><h1>${escape(title)}</h1><p>${escape(message)}</p></body></html>\n`;
  return new Promise((resolve) => {
    response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    response.end(html, () => resolve());
  });
}

/**
 * A one-shot HTTP server on 127.0.0.1:<port> for the authorization redirect. Only GET /callback
 * counts (a browser also asks for /favicon.ico); after the first one every request gets a 404.
 */
export async function startCallbackServer(port: number, timeoutMs: number): Promise<CallbackServer> {
  let deliver: (callback: Callback) => void = () => {};
  let fail: (error: Error) => void = () => {};
  const callback = new Promise<Callback>((resolve, reject) => {
    deliver = resolve;
    fail = reject;
  });
  let taken = false;
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (taken || request.method !== 'GET' || url.pathname !== '/callback') {
      void page(response, 404, 'Not found', 'This is the sign-in callback of the command-line client.');
      return;
    }
    taken = true;
    deliver({
      query: url.searchParams,
      finish: async (status, title, message) => {
        await page(response, status, title, message);
        await close();
      },
    });
  });
  const close = () =>
    new Promise<void>((resolve) => {
      clearTimeout(timer);
      server.close(() => resolve());
      server.closeAllConnections();
    });
  const timer = setTimeout(() => {
    fail(new Error(`no sign-in arrived at the callback within ${Math.round(timeoutMs / 1000)} s; giving up`));
    void close();
  }, timeoutMs);

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        error.code === 'EADDRINUSE' ? new Error(`port ${port} is busy; pick another with --redirect-port`) : error,
      );
    });
    server.listen({ port, host: '127.0.0.1' }, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return { redirectUri: `http://127.0.0.1:${bound}/callback`, callback, close };
}
