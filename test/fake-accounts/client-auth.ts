export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/**
 * RFC 6749 section 2.3.1: HTTP Basic (preferred) or client_id/client_secret in the body. Basic
 * wins when both are sent, but a body client_id must then name the same client.
 */
export function isAuthenticatedClient(
  authorization: string | undefined,
  form: Record<string, string>,
  expected: ClientCredentials,
): boolean {
  const presented = authorization === undefined ? fromBody(form) : fromBasicHeader(authorization);
  if (presented === undefined) return false;
  const bodyClientId = form['client_id'];
  if (bodyClientId !== undefined && bodyClientId !== presented.clientId) return false;
  return presented.clientId === expected.clientId && presented.clientSecret === expected.clientSecret;
}

function fromBody(form: Record<string, string>): ClientCredentials | undefined {
  const clientId = form['client_id'];
  const clientSecret = form['client_secret'];
  if (clientId === undefined || clientSecret === undefined) return undefined;
  return { clientId, clientSecret };
}

function fromBasicHeader(authorization: string): ClientCredentials | undefined {
  const match = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const clientId = formDecode(decoded.slice(0, colon));
  const clientSecret = formDecode(decoded.slice(colon + 1));
  if (clientId === undefined || clientSecret === undefined) return undefined;
  return { clientId, clientSecret };
}

// RFC 6749 has the id and secret form-encoded before they go into the Basic header.
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}
