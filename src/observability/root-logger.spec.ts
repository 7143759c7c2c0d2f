import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { createRootLogger } from './root-logger.js';

describe('createRootLogger', () => {
  it('redacts every secret-bearing field should one ever be logged, the refresh-token lifecycle’s included', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createRootLogger('info', sink);
    const secrets = {
      token: 'sealed-token-1',
      rt: 'upstream-refresh-token-1',
      sealedRefreshToken: 'sealed-token-2',
      refresh_token: 'sealed-token-3',
      legacyTokenSecret: 'legacy-secret-1',
      config: { clientSecret: 'client-secret-1', lifecycle: { legacyTokenSecret: 'legacy-secret-2' } },
    };
    logger.info(secrets, 'a careless line');
    const output = lines.join('');
    expect(output).toContain('a careless line');
    for (const value of [
      'sealed-token-1',
      'upstream-refresh-token-1',
      'sealed-token-2',
      'sealed-token-3',
      'legacy-secret-1',
      'client-secret-1',
      'legacy-secret-2',
    ]) {
      expect(output).not.toContain(value);
    }
  });
});
