import { describe, expect, it } from '@jest/globals';
import { parseAppsDocument, type AppDefaults } from './apps-file.js';

const DEFAULTS: AppDefaults = {
  limits: {
    swapPerIp: { limit: 30, windowSeconds: 60 },
    refreshPerIp: { limit: 120, windowSeconds: 60 },
    refreshPerToken: { limit: 20, windowSeconds: 3600 },
  },
  refreshToken: { maxAgeSeconds: 180 * 86_400, rotation: false, reuseGraceSeconds: 60 },
};
const FILES: Record<string, string> = { '/run/secrets/ios': 'ios-secret-value\n' };
const SOURCES = {
  environment: { WEB_SECRET: 'web-secret-value' },
  readFile: (path: string) => {
    if (!(path in FILES)) throw new Error('ENOENT');
    return FILES[path]!;
  },
};

describe('parseAppsDocument (APPS_FILE, DESIGN §11)', () => {
  it('reads YAML and JSON alike, resolves each app over the global defaults, and reads secrets from a file or a variable', () => {
    const yaml = `
apps:
  - id: ios
    provider: spotify
    clientId: ios-client
    clientSecretFile: /run/secrets/ios
    redirectUris: [app://cb, https://example.com/cb]
    limits: { refreshPerToken: 5/1h }
    refreshToken: { maxAge: 30d, rotation: true, reuseGrace: 0s }
  - id: web
    provider: oauth2
    clientId: web-client
    clientSecretEnv: WEB_SECRET
    redirectUris: [https://web.example.com/cb]
    tokenUrl: https://login.example.com/oauth/token
    tokenAuthMethod: client_secret_post
    passThroughFields: [id_token]
`;
    const { apps, problems } = parseAppsDocument(yaml, DEFAULTS, SOURCES);
    expect(problems).toEqual([]);
    expect(apps.map((app) => [app.id, app.clientSecret, app.tokenUrl.href, app.tokenAuthMethod])).toEqual([
      ['ios', 'ios-secret-value', 'https://accounts.spotify.com/api/token', 'client_secret_basic'],
      ['web', 'web-secret-value', 'https://login.example.com/oauth/token', 'client_secret_post'],
    ]);
    expect(apps[0]!.limits).toEqual({ ...DEFAULTS.limits, refreshPerToken: { limit: 5, windowSeconds: 3600 } });
    expect(apps[0]!.refreshToken).toEqual({ maxAgeSeconds: 30 * 86_400, rotation: true, reuseGraceSeconds: 0 });
    expect(apps[1]!.refreshToken).toEqual(DEFAULTS.refreshToken);
    expect(apps[1]!.passThroughFields).toEqual(['id_token']);
    const json = JSON.stringify({
      apps: [{ id: 'a', provider: 'spotify', clientId: 'c', clientSecretEnv: 'WEB_SECRET', redirectUris: ['x://y'] }],
    });
    expect(parseAppsDocument(json, DEFAULTS, SOURCES).apps.map((app) => app.id)).toEqual(['a']);
  });

  it('names each problem by place and rule, never by a secret or the source text', () => {
    const broken = parseAppsDocument('apps: [ {id: a, clientSecret: "p@ssw0rd-inline"', DEFAULTS, SOURCES);
    expect(broken.problems).toEqual(['APPS_FILE: is not valid YAML or JSON (line 1)']);
    const { problems } = parseAppsDocument(
      `
apps:
  - id: a
    provider: oauth2
    clientId: c
    clientSecretEnv: UNSET_SECRET
    redirectUris: []
    passThroughFields: [refresh_token]
    refreshToken: { reuseGrace: 2h, rotation: "yes" }
  - id: b
    provider: spotify
    clientId: c
    clientSecretFile: /run/secrets/ios
    clientSecretEnv: WEB_SECRET
    redirectUris: [x://y]
`,
      DEFAULTS,
      SOURCES,
    );
    expect(problems).toEqual([
      'APPS_FILE: apps[0] ("a").redirectUris: must list at least one redirect URI',
      'APPS_FILE: apps[0] ("a").passThroughFields[0]: is a field the gateway answers itself',
      'APPS_FILE: apps[0] ("a").refreshToken.rotation: must be true or false',
      'APPS_FILE: apps[0] ("a").refreshToken.reuseGrace: must be a duration from 0s to 1h, such as 60s',
      'APPS_FILE: apps[0] ("a").clientSecretEnv: the variable UNSET_SECRET is not set',
      'APPS_FILE: apps[0] ("a").tokenUrl: is required for the provider oauth2',
      'APPS_FILE: apps[1] ("b"): set either clientSecretFile or clientSecretEnv, not both',
    ]);
    expect(parseAppsDocument('apps: []', DEFAULTS, SOURCES).problems).toEqual([
      'APPS_FILE: apps: must list at least one app',
    ]);
  });
});
