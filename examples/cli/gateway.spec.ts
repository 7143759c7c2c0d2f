import { describe, expect, it } from '@jest/globals';
import { appRoutesBase } from './gateway.ts';

describe('--app (DESIGN §11)', () => {
  it("points the client at the app's routes under the gateway URL, BASE_PATH included", () => {
    expect(appRoutesBase('https://tsg.example.com/v1/', 'ios')).toBe('https://tsg.example.com/v1/apps/ios');
    expect(appRoutesBase('http://127.0.0.1:8080', 'android-staging')).toBe(
      'http://127.0.0.1:8080/apps/android-staging',
    );
    expect(appRoutesBase('http://127.0.0.1:8080', undefined)).toBe('http://127.0.0.1:8080');
  });

  it('refuses an id the gateway could not have, rather than building a path from it', () => {
    for (const bad of ['', 'IOS', '../swap', 'a/b', '-x', 'x'.repeat(33)]) {
      expect(() => appRoutesBase('http://127.0.0.1:8080', bad)).toThrow('--app must be');
    }
  });
});
