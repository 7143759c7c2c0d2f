import { Module } from '@nestjs/common';
import { LifecycleModule } from '../lifecycle/lifecycle.module.js';
import { SealingModule } from '../sealing/sealing.module.js';
import { UpstreamModule } from '../upstream/upstream.module.js';
import { TokenService } from './token.service.js';
import { TokensController } from './tokens.controller.js';

@Module({
  imports: [SealingModule, UpstreamModule, LifecycleModule],
  controllers: [TokensController],
  providers: [TokenService],
})
export class TokensModule {}
