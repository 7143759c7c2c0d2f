import { Module } from '@nestjs/common';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { KeyRing } from './key-ring.js';
import { RefreshTokenSealer } from './refresh-token-sealer.js';

@Module({
  providers: [
    {
      provide: RefreshTokenSealer,
      inject: [GATEWAY_CONFIG],
      useFactory: async (config: GatewayConfig) =>
        new RefreshTokenSealer(await KeyRing.create(config.encryptionKeys), {
          clientId: config.clientId,
          maxAgeSeconds: config.refreshTokenMaxAgeSeconds,
          legacySecret: config.lifecycle.legacyTokenSecret,
        }),
    },
  ],
  exports: [RefreshTokenSealer],
})
export class SealingModule {}
