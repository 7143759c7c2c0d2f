import { Module } from '@nestjs/common';
import { SealingModule } from '../sealing/sealing.module.js';
import { UpstreamModule } from '../upstream/upstream.module.js';
import { TokenService } from './token.service.js';
import { TokensController } from './tokens.controller.js';

@Module({
  imports: [SealingModule, UpstreamModule],
  controllers: [TokensController],
  providers: [TokenService],
})
export class TokensModule {}
