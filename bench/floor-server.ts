/**
 * The floor of issue 13: the least work a Node token swap can do, to measure the gateway against.
 * Plain node:http, the form parsed with URLSearchParams, one keep-alive http.Agent to upstream,
 * AES-256-GCM from node:crypto for the sealed refresh token, JSON out. No framework, limits,
 * logs, metrics, validation beyond what the job needs, or error contract: never deploy this.
 *
 * Env: FLOOR_UPSTREAM (token URL, http), FLOOR_CLIENT_ID, FLOOR_CLIENT_SECRET, FLOOR_REDIRECT_URI.
 * Prints `{"floor listening","port":N}` on stdout.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';

const upstream = new URL(process.env.FLOOR_UPSTREAM!);
const clientId = process.env.FLOOR_CLIENT_ID!;
const basic = `Basic ${Buffer.from(`${clientId}:${process.env.FLOOR_CLIENT_SECRET}`).toString('base64')}`;
const redirectUri = process.env.FLOOR_REDIRECT_URI!;
// A KeyObject made once: createCipheriv with raw key bytes measured about 3× the cost (17-20 µs
// against 6 µs per cipher here), work the least-work server must not do.
const key = createSecretKey(randomBytes(32));
const agent = new Agent({ keepAlive: true });

function seal(refreshToken: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const plaintext = JSON.stringify({ rt: refreshToken, cid: clientId, iat: Math.floor(Date.now() / 1000) });
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
}

function unseal(sealed: string): string | undefined {
  const [iv, ciphertext, tag] = sealed.split('.');
  if (!iv || !ciphertext || !tag) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    const plaintext = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
    const payload = JSON.parse(plaintext.toString('utf8')) as { rt: string; cid: string };
    return payload.cid === clientId ? payload.rt : undefined;
  } catch {
    return undefined;
  }
}

function readBody(message: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    message.on('data', (chunk: Buffer) => chunks.push(chunk));
    message.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    message.on('error', reject);
  });
}

function callUpstream(form: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const outgoing = request(
      upstream,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: basic,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      },
      (answer) => {
        readBody(answer).then((text) => resolve({ status: answer.statusCode ?? 0, json: JSON.parse(text) }), reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

const server = createServer(async (message, response) => {
  try {
    const fields = new URLSearchParams(await readBody(message));
    let answer: { status: number; json: Record<string, unknown> };
    let sealed: string | undefined;
    if (message.url === '/swap') {
      answer = await callUpstream({
        grant_type: 'authorization_code',
        code: fields.get('code') ?? '',
        redirect_uri: redirectUri,
      });
      if (answer.status === 200) sealed = seal(String(answer.json.refresh_token));
    } else if (message.url === '/refresh') {
      const sent = fields.get('refresh_token') ?? '';
      const refreshToken = unseal(sent);
      if (refreshToken === undefined) return send(response, 400, { error: 'invalid_grant' });
      answer = await callUpstream({ grant_type: 'refresh_token', refresh_token: refreshToken });
      if (answer.status === 200) {
        sealed = typeof answer.json.refresh_token === 'string' ? seal(answer.json.refresh_token) : sent;
      }
    } else {
      return send(response, 404, { error: 'invalid_request' });
    }
    if (answer.status !== 200) return send(response, 502, { error: 'server_error' });
    send(response, 200, { ...answer.json, refresh_token: sealed });
  } catch {
    send(response, 502, { error: 'server_error' });
  }
});

server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `${JSON.stringify({ msg: 'floor listening', port: typeof address === 'object' ? address?.port : 0 })}\n`,
  );
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
