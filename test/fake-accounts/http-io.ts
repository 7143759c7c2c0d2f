import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Reply } from './replies.ts';

/** The request body as text, or undefined when it is longer than maxBytes. */
export async function readBody(request: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    // Keep draining past the limit so the connection stays usable for the 413.
    if (size <= maxBytes) chunks.push(buffer);
  }
  return size > maxBytes ? undefined : Buffer.concat(chunks).toString('utf8');
}

/** Form fields of an application/x-www-form-urlencoded body; any other type reads as no fields. */
export function parseForm(body: string, contentType: string | undefined): Record<string, string> {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  const form: Record<string, string> = {};
  if (mediaType !== 'application/x-www-form-urlencoded') return form;
  for (const [name, value] of new URLSearchParams(body)) {
    if (!(name in form)) form[name] = value;
  }
  return form;
}

export function sendReply(response: ServerResponse, reply: Reply): void {
  if (response.destroyed || response.headersSent) return;
  response.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
  response.end(reply.body);
}
