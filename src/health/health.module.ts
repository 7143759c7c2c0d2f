import { Global, Module } from '@nestjs/common';
import { READINESS_CHECKS, type ReadinessCheck } from './readiness.js';

/** Collects the readiness checks; the throttling module contributes Redis when it is configured. */
@Global()
@Module({
  providers: [{ provide: READINESS_CHECKS, useValue: [] satisfies ReadinessCheck[] }],
  exports: [READINESS_CHECKS],
})
export class HealthModule {}
