import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cruise, type IViolation } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

// The rules `npm run lint` applies to src/ (.dependency-cruiser.cjs), tried on a small tree
// planted here: a unit test of the rules, not of the project's tree.
const config = createRequire(import.meta.url)('../../.dependency-cruiser.cjs');

function plant(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'uid-cruise-'));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  return root;
}

async function violationsIn(root: string): Promise<IViolation[]> {
  const result = await cruise(['src'], {
    ...config.options,
    ruleSet: { forbidden: config.forbidden },
    validate: true,
    baseDir: root,
    tsConfig: undefined,
  });
  if (typeof result.output === 'string') throw new Error(result.output);
  return result.output.summary.violations;
}

describe('the dependency rules of npm run lint', () => {
  it('fail on an import cycle, and on a store that imports HTTP code', async () => {
    const root = plant({
      'src/flows/login-routes.ts':
        "import { helper } from './login-kit.js';\nexport const routes = () => helper();\n",
      'src/flows/login-kit.ts':
        "import { routes } from './login-routes.js';\nexport const helper = () => 1;\nexport const again = () => routes();\n",
      'src/web/body.ts': 'export const field = (name: string) => name;\n',
      'src/accounts/account-store.ts':
        "import { field } from '../web/body.js';\nexport const column = field('id');\n",
    });
    const violations = await violationsIn(root);
    expect(violations.map((v) => v.rule.name).sort()).toEqual(['no-circular', 'store-not-http']);
    expect(violations.find((v) => v.rule.name === 'store-not-http')?.from).toBe(
      'src/accounts/account-store.ts',
    );
  });

  it('fail on a loop between two top-level folders, though no file imports in a circle', async () => {
    // accounts sits below flows: flows may use the account store, accounts may not reach back
    // into a flow's kit, even through files that form no cycle of their own.
    const root = plant({
      'src/flows/login-kit.ts':
        "import { column } from '../accounts/account-store.js';\nexport const helper = () => column;\n",
      'src/accounts/account-store.ts': 'export const column = "id";\n',
      'src/accounts/account-service.ts':
        "import { helper } from '../flows/login-kit.js';\nexport const service = () => helper();\n",
    });
    const violations = await violationsIn(root);
    expect(violations.map((v) => `${v.rule.name} ${v.from} → ${v.to}`)).toEqual([
      'folder-order src/accounts/account-service.ts → src/flows/login-kit.ts',
    ]);
  });

  it('fail on a folder that has no place in the order, and on a lower file of src/ importing a higher one', async () => {
    const root = plant({
      'src/gadgets/widget.ts': "import { levels } from '../config.js';\nexport const widget = levels;\n",
      'src/config.ts': "import { field } from './web/body.js';\nexport const levels = field('x');\n",
      'src/web/body.ts': 'export const field = (name: string) => name;\n',
    });
    const violations = await violationsIn(root);
    expect(violations.map((v) => `${v.rule.name} ${v.from} → ${v.to}`).sort()).toEqual([
      'folder-declared src/gadgets/widget.ts → src/config.ts',
      'folder-order src/config.ts → src/web/body.ts',
    ]);
  });

  it('fail on the 证书助手 importing provider code, and let it use the PKI code', async () => {
    const root = plant({
      'src/helper/cli.ts':
        "import { token } from '../bridge/token.js';\nimport { parse } from '../pki/certificate.js';\nimport { settings } from '../config.js';\nexport const run = () => [token, parse, settings];\n",
      'src/bridge/token.ts': "import { issuer } from '../oidc/provider.js';\nexport const token = issuer;\n",
      'src/pki/certificate.ts': 'export const parse = 1;\n',
      'src/config.ts': 'export const settings = 1;\n',
      'src/oidc/provider.ts': 'export const issuer = 1;\n',
    });
    const violations = await violationsIn(root);
    expect(violations.map((v) => `${v.rule.name} ${v.from} → ${v.to}`).sort()).toEqual([
      'helper-not-server src/bridge/token.ts → src/oidc/provider.ts',
      'helper-not-server src/helper/cli.ts → src/config.ts',
    ]);
  });

  it('pass a tree that points one way: routes → kit → store', async () => {
    const root = plant({
      'src/flows/login-routes.ts':
        "import { helper } from './login-kit.js';\nexport const routes = () => helper();\n",
      'src/flows/login-kit.ts':
        "import { column } from '../accounts/account-store.js';\nexport const helper = () => column;\n",
      'src/accounts/account-store.ts': 'export const column = "id";\n',
    });
    expect(await violationsIn(root)).toEqual([]);
  });
});
