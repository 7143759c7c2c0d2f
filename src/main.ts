import { enableCompileCache } from 'node:module';

// V8's code cache on disk (Node 22+) roughly halves start-up after the first run; where the cache
// directory cannot be written, Node just starts without it. It must be enabled before the
// application's modules load, hence this tiny entry point and the dynamic import.
enableCompileCache();
await import('./start-gateway.js');
