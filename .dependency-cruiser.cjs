/**
 * `npm run lint` runs this over src/: dependencies point one way (routes → services → stores)
 * and nothing imports in a circle, type-only imports included (the swc parser does not tell
 * them apart, and a cycle of types is still a tangle to read).
 * test/lint/dependency-rules.test.ts plants a cycle and a store that imports HTTP code, and
 * checks that these rules catch both.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'An import cycle: split out the shared leaf (constants, types, a small helper) both sides need.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'store-not-http',
      severity: 'error',
      comment: 'A store speaks SQL and knows nothing of HTTP (koa, routers, pages, src/web).',
      from: { path: '-store\\.ts$' },
      to: {
        path: ['(^|/)src/web/', '(^|/)node_modules/(koa|@koa/router|koa-body|koa-mount)/', '-routes\\.ts$'],
      },
    },
    {
      name: 'helper-not-server',
      severity: 'error',
      comment:
        'The 证书助手 (src/helper, src/bridge) is packaged alone into one executable: it may use the PKI code, never the provider.',
      from: { path: '^src/(helper|bridge)/' },
      to: { path: '^src/', pathNot: '^src/(helper|bridge|pki)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    parser: 'swc',
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
