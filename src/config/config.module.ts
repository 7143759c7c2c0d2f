import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { GatewayConfig } from './gateway-config.js';

/** Injection token of the validated configuration object. */
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

@Global()
@Module({})
export class ConfigModule {
  static forConfig(config: GatewayConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: GATEWAY_CONFIG, useValue: config }],
      exports: [GATEWAY_CONFIG],
    };
  }
}
