import { Module } from '@nestjs/common';
import { DEFAULT_APP_ID } from '../config/app-settings.js';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { KeyRing } from './key-ring.js';
import { APP_SEALERS, RefreshTokenSealer } from './refresh-token-sealer.js';

@Module({
  providers: [
    {
      provide: APP_SEALERS,
      inject: [GATEWAY_CONFIG],
      useFactory: async (config: GatewayConfig): Promise<ReadonlyMap<string, RefreshTokenSealer>> => {
        const keys = await KeyRing.create(config.encryptionKeys);
        return new Map(
          config.apps.map((app) => [
            app.id,
            new RefreshTokenSealer(keys, {
              clientId: app.clientId,
              app: app.id === DEFAULT_APP_ID ? undefined : app.id,
              maxAgeSeconds: app.refreshToken.maxAgeSeconds,
              // The older servers' tokens were Spotify tokens of the one app they served: `default`'s.
              legacySecret: app.id === DEFAULT_APP_ID ? config.lifecycle.legacyTokenSecret : undefined,
            }),
          ]),
        );
      },
    },
  ],
  exports: [APP_SEALERS],
})
export class SealingModule {}
