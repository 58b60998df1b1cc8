/**
 * `npm run lint` runs this over src/: dependencies point one way (routes → services → stores)
 * and nothing imports in a circle, type-only imports included (the swc parser does not tell
 * them apart, and a cycle of types is still a tangle to read).
 * test/lint/dependency-rules.test.ts plants a cycle, a loop between two top-level folders, a
 * folder nobody placed and a store that imports HTTP code, and checks that these rules catch them.
 */

/**
 * The top-level units of src/ (a folder, or a file directly in src/), highest first: each may
 * import only those below it, so no import loop between them can form. README's architecture
 * section draws the same order. A new folder gets its place here on purpose.
 */
const FOLDER_ORDER = [
  // entry points and the composition root: they wire everything below
  'cli',
  'helper',
  'bridge',
  'app',
  // first-party sites and APIs
  'console',
  'admin',
  'account-space',
  'dev',
  'downloads',
  // how the provider's own sites (用户空间, 管理后台) sign in and keep their sessions
  'first-party',
  // signing in
  'flows',
  // the OpenID provider
  'oidc',
  // domains
  'certificates',
  'federation',
  'resources',
  'clients',
  'accounts',
  'verification',
  // shared below the domains: page toolkit, flow state, audit, limits and metrics, settings,
  // outside services, certificates' PKI, identifier checks, scopes and roles, database, errors
  'web',
  'state',
  'audit',
  'ops',
  'config',
  'outside',
  'pki',
  'identifiers',
  'access',
  'db',
  'crypto',
  'errors',
];

/** A path pattern for the files of these units (`src/x/...` or `src/x.ts`). */
const unitsPath = (units) => `^src/(${units.join('|')})(/|\\.ts$)`;

const folderOrder = FOLDER_ORDER.slice(1).map((unit, i) => ({
  name: 'folder-order',
  severity: 'error',
  comment: `src/${unit} sits below ${FOLDER_ORDER.slice(0, i + 1).join(', ')} (FOLDER_ORDER): it may not import them. Move what both need below both.`,
  from: { path: unitsPath([unit]) },
  to: { path: unitsPath(FOLDER_ORDER.slice(0, i + 1)) },
}));

module.exports = {
  forbidden: [
    ...folderOrder,
    {
      name: 'folder-declared',
      severity: 'error',
      comment: 'A top-level unit of src/ missing from FOLDER_ORDER: give it its place in the order.',
      from: { path: '^src/', pathNot: unitsPath(FOLDER_ORDER) },
      to: {},
    },
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
