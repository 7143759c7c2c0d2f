// Loaded with `node --import`: writes one stderr line per OpenTelemetry module the process
// resolves (import or require), so a test can tell whether tracing code was loaded at all.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    if (resolved.url?.includes('/@opentelemetry/') || resolved.url?.includes('/dist/tracing/'))
      process.stderr.write(`module-load: ${resolved.url}\n`);
    return resolved;
  },
});
