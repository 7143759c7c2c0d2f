import type { Reply } from './replies.ts';

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/**
 * The fake's sign-in and consent page: a signed-in fake user, the scopes asked for, and Agree and
 * Cancel buttons that post the authorization request back to /authorize with the decision.
 */
export function consentPage(fields: (readonly [string, string])[], scope: string, clientId: string): Reply {
  const hidden = fields
    .map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`)
    .join('\n      ');
  const scopes = scope
    .split(' ')
    .filter((s) => s !== '')
    .map((s) => `<li>${escape(s)}</li>`)
    .join('');
  const body = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Fake Spotify - Authorize</title></head>
  <body style="font-family: sans-serif; max-width: 32em; margin: 3em auto">
    <h1>Fake Spotify accounts</h1>
    <p>Signed in as <strong>Fake User</strong> (fake-user). This is the FAKE accounts service of the tests and the demo.</p>
    <p>The app <strong>${escape(clientId)}</strong> asks to:</p>
    <ul>${scopes}</ul>
    <form method="post" action="/authorize">
      ${hidden}
      <button type="submit" name="decision" value="agree">Agree</button>
      <button type="submit" name="decision" value="cancel">Cancel</button>
    </form>
  </body>
</html>
`;
  return {
    status: 200,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache' },
    body,
  };
}
