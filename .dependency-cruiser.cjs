// The architecture as rules, checked in CI (npm run deps): imports flow adapters -> core -> store,
// never back up; src/ knows no wire format; no import cycle, type-only imports included.
// (CommonJS because dependency-cruiser reads its configuration with require.)
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'An import cycle ties modules that should be layered.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'store-imports-no-core-runtime',
      severity: 'error',
      comment: 'The store knows the core only by its record types (a store never runs core code).',
      from: { path: '^src/store/' },
      to: { path: '^src/core/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'store-below-everything',
      severity: 'error',
      comment: 'The store imports only itself, the shared vocabulary and core types.',
      from: { path: '^src/store/' },
      to: { path: '^(src/(admin|config|net|security|ha)|adapters)/' },
    },
    {
      name: 'core-imports-no-outer-layer',
      severity: 'error',
      comment: 'The core is protocol-free and knows neither the network, configuration, admin plane nor adapters.',
      from: { path: '^src/(core|shared)/' },
      to: { path: '^(src/(admin|config|net|security|ha)|adapters)/' },
    },
    {
      name: 'shared-imports-nothing-of-ours',
      severity: 'error',
      comment: 'src/shared is the bottom layer every other one may use.',
      from: { path: '^src/shared/' },
      to: { path: '^(src|adapters)/', pathNot: '^src/shared/' },
    },
    {
      name: 'only-the-composition-root-knows-adapters',
      severity: 'error',
      comment: 'src/protocols.ts reads the adapter registry; nothing else in src/ may know an adapter.',
      from: { path: '^src/', pathNot: '^src/protocols\\.ts$' },
      to: { path: '^adapters/' },
    },
    {
      name: 'adapters-reach-the-store-through-the-core',
      severity: 'error',
      comment: 'An adapter speaks to the core; the store and its records reach it only through src/core/.',
      from: { path: '^adapters/' },
      to: { path: '^src/store/' },
    },
    {
      name: 'src-speaks-no-wire-format',
      severity: 'error',
      comment: 'Protocol libraries belong to adapters/ alone.',
      from: { path: '^src/' },
      to: { path: 'node_modules/(aedes|aedes-[^/]+|mqtt-packet|rhea)/' },
    },
    {
      name: 'mqtt-engines-meet-at-the-session-layer',
      severity: 'error',
      comment:
        'MQTT 5 (adapters/mqtt/v5/) builds on the shared session layer in adapters/mqtt/; of that layer only the service, which hosts both engines, knows v5.',
      from: { path: '^adapters/mqtt/[^/]+$', pathNot: '^adapters/mqtt/service\\.ts$' },
      to: { path: '^adapters/mqtt/v5/' },
    },
    {
      name: 'adapters-do-not-reach-into-each-other',
      severity: 'error',
      comment: 'Each protocol is a peer over the core; what they share lives in src/.',
      from: { path: '^adapters/([^/]+)/' },
      to: { path: '^adapters/', pathNot: ['^adapters/$1/', '^adapters/(adapter|message-mapping)\\.ts$'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|dist|data|coverage)/' },
  },
};
