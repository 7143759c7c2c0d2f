/* global module */
// The dependency rule of DESIGN.md §7, checked by `npm run lint` (depcruise src).
// Nest *.module.ts files wire anything, so the layer rules do not apply to them.
const MODULE_FILES = '\\.module\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-knows-no-edge',
      severity: 'error',
      comment: 'sealing/, upstream/ and config/ know neither the HTTP edge, nor throttling, tokens or observability.',
      from: { path: '^src/(sealing|upstream|config)/', pathNot: MODULE_FILES },
      to: { path: '^src/(http|throttling|tokens|observability)/' },
    },
    {
      name: 'config-is-self-contained',
      severity: 'error',
      comment: 'config/ imports nothing of the application outside itself.',
      from: { path: '^src/config/', pathNot: MODULE_FILES },
      to: { path: '^src/', pathNot: '^src/config/' },
    },
    {
      name: 'services-know-no-http',
      severity: 'error',
      comment: 'Services know no HTTP, throttling or observability code.',
      from: { path: '\\.service\\.ts$' },
      to: { path: '^src/(http|throttling|observability)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
