import { REDIRECT_URI } from '../test/support/relying-party.js';
import type { FlowScenario } from './flow-load.js';
import { refresh } from './flows.js';
import type { Scenario } from './load.js';
import { requestScenarios } from './request-scenarios.js';
import { type ServerProcess, startServerProcess } from './server-process.js';
import { basicAuth, type ClientCredentials, discoverEndpoints, type Endpoints } from './setup.js';

/** Every scenario by name: the request scenarios (autocannon) and the flow scenarios (own driver). */
export type AnyScenario = { kind: 'requests'; scenario: Scenario } | { kind: 'flow'; scenario: FlowScenario };

/**
 * The scenario of the bare provider each of ours is measured against. A JWT for an API is
 * compared with the ceiling's opaque client-credentials token: the issue asks that skipping the
 * database make ours at least as fast as the bare provider storing in memory. The sign-in flows
 * (password, SSO, SMS) have no counterpart: the bare provider has no login pages.
 */
export const CEILING_OF: Record<string, string> = {
  'client credentials': 'client credentials',
  'client credentials (JWT resource)': 'client credentials',
  introspection: 'introspection',
  userinfo: 'userinfo',
  jwks: 'jwks',
  refresh: 'refresh',
};

/** The goals of the issue, as ratios to the ceiling's req/s per core. */
export const RATIO_GOALS: Record<'postgres' | 'pglite', Record<string, number>> = {
  postgres: {
    'client credentials': 0.6,
    'client credentials (JWT resource)': 1,
    introspection: 0.6,
    userinfo: 0.5,
    refresh: 0.4,
  },
  pglite: { 'client credentials': 0.3 },
};

interface CeilingFixtures {
  client: ClientCredentials;
  redirectUri: string;
  userinfo: string;
  refreshTokens: string[];
  introspection: string[];
}

export interface Ceiling {
  server: ServerProcess;
  /** Its version of a scenario of ours, with tokens made just now (its memory keeps the newest 1,000). */
  scenario(name: string): Promise<AnyScenario | undefined>;
}

const SCRIPT = new URL('./ceiling-server.mjs', import.meta.url);

/**
 * Starts bare oidc-provider (bench/ceiling-server.mjs) with the server's environment and
 * pinning, on its own port; a second port hands out fresh tokens between the runs.
 */
export async function startCeiling(options: {
  env: Record<string, string>;
  port: number;
  controlPort: number;
  logDir: string;
  cpus: string | undefined;
  refreshChains: number;
  /** Extra node flags (the profiler's hook) and environment for it. */
  nodeArgs?: string[];
  extraEnv?: Record<string, string>;
}): Promise<Ceiling> {
  const server = await startServerProcess({
    env: {
      ...options.env,
      PORT: String(options.port),
      ISSUER: `http://localhost:${options.port}`,
      CEILING_CONTROL_PORT: String(options.controlPort),
      CEILING_REFRESH_CHAINS: String(options.refreshChains),
      CEILING_REDIRECT_URI: REDIRECT_URI,
      ...options.extraEnv,
    },
    nodeArgs: options.nodeArgs ?? [],
    port: options.port,
    logDir: options.logDir,
    logName: 'ceiling.log',
    script: SCRIPT,
    readyPath: '/.well-known/openid-configuration',
    cpus: options.cpus,
  });
  const fixtures = async (): Promise<CeilingFixtures> => {
    const res = await fetch(`http://127.0.0.1:${options.controlPort}/fixtures`);
    if (res.status !== 200)
      throw new Error(`the ceiling made no fixtures: ${res.status} ${await res.text()}`);
    return (await res.json()) as CeilingFixtures;
  };
  const first = await fixtures();
  const { endpoints } = await discoverEndpoints(`http://localhost:${options.port}`, first.client);
  return {
    server,
    async scenario(name) {
      const made = await fixtures();
      if (name === 'refresh') return { kind: 'flow', scenario: refreshChains(server.url, endpoints, made) };
      const scenario = requestScenarios(endpoints, {
        // One client: the bare provider has no per-client limit to spread the load over.
        machines: [made.client],
        introspection: made.introspection.map((token) => ({ auth: basicAuth(made.client), token })),
        userinfo: made.userinfo,
      }).find((s) => s.name === name);
      return scenario && { kind: 'requests', scenario };
    },
  };
}

/** Our refresh scenario's iteration against the ceiling: each worker rotates its own chain. */
function refreshChains(base: string, endpoints: Endpoints, made: CeilingFixtures): FlowScenario {
  const tokens = [...made.refreshTokens];
  const site = {
    base,
    paths: { authorization: endpoints.authorization, token: endpoints.token },
    client: made.client,
    redirectUri: made.redirectUri,
  };
  return {
    name: 'refresh',
    async iterate(worker) {
      const token = tokens[worker.index];
      if (!token)
        throw new Error(`the ceiling made ${tokens.length} refresh chains, worker ${worker.index} has none`);
      tokens[worker.index] = (await refresh(site, token)).refresh_token;
      return undefined;
    },
  };
}
