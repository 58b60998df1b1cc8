import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadConfig } from '../../src/config.js';
import { addCitizen } from '../support/citizen.js';
import { createPostgresDatabase } from '../support/databases.js';
import { registerRelyingParty, signIn } from '../support/relying-party.js';
import { deploymentSecrets, freePort, startTestServer, type TestServer } from '../support/server.js';
import { UserAgent, UserAgentAt } from '../support/user-agent.js';

const ROOT = new URL('../../', import.meta.url);
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const PASSWORD = 'Behind-Nginx#2024';

interface ComposeService {
  image?: string;
  build?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: unknown;
}

const compose = YAML.parse(readFileSync(new URL('docker-compose.yml', ROOT), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const nginxConf = readFileSync(new URL('deploy/nginx.conf', ROOT), 'utf8');

/** `${VAR:-default}` as compose expands it with nothing set in the environment. */
const withDefaults = (env: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{\w+:-([^}]*)\}/g, '$1')]),
  );

const providerEnv = (name: string) => withDefaults(compose.services[name]?.environment ?? {});

describe('docker-compose.yml and deploy/nginx.conf', () => {
  it('run two identical providers the configuration accepts, behind nginx, on PostgreSQL', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['nginx', 'postgres', 'provider-a', 'provider-b']);
    const a = providerEnv('provider-a');
    expect(providerEnv('provider-b')).toEqual(a);
    const config = loadConfig({ ...a, DATA_DIR: mkdtempSync(path.join(tmpdir(), 'uid-compose-')) });
    expect(config.databaseUrl).toMatch(/@postgres:5432\//);
    // One proxy in front, and it replaces whatever X-Forwarded-For the client sent.
    expect(config.proxyHops).toBe(1);
    expect(nginxConf).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/);
    expect(new URL(config.issuer).port).toBe('8080');
    expect(compose.services['nginx']?.volumes).toContain('./deploy/nginx.conf:/etc/nginx/nginx.conf:ro');
    for (const name of ['provider-a', 'provider-b']) {
      expect(nginxConf).toContain(`server ${name}:${config.port} `);
    }
    expect(nginxConf).toMatch(/listen 8080;/);
  });
});

/**
 * The compose deployment without Docker: the same nginx.conf (its upstream addresses pointed at
 * loopback ports), two processes with the compose environment, and a PostgreSQL database.
 */
describe.skipIf(!process.env['TEST_DATABASE_URL'] || !NGINX)(
  'the compose deployment run for real: nginx in front of two processes on PostgreSQL',
  () => {
    let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
    const processes: TestServer[] = [];
    let nginx: ChildProcess | undefined;
    let nginxLog = '';
    let issuer: string;
    const dirs: string[] = [];

    beforeAll(async () => {
      database = await createPostgresDatabase();
      const pn = await freePort();
      issuer = `http://localhost:${pn}`;
      const secrets = deploymentSecrets();
      for (const name of ['provider-a', 'provider-b']) {
        processes.push(
          await startTestServer({
            env: { ...providerEnv(name), ...secrets, ISSUER: issuer, DATABASE_URL: database.url },
          }),
        );
      }
      const [pa, pb] = processes.map((p) => p.config.port);

      const dir = mkdtempSync(path.join(tmpdir(), 'uid-nginx-'));
      dirs.push(dir);
      // nginx's workers drop root privileges and still write their temporary files under it.
      chmodSync(dir, 0o755);
      const conf = nginxConf
        .replace('server provider-a:3000', `server 127.0.0.1:${pa}`)
        .replace('server provider-b:3000', `server 127.0.0.1:${pb}`)
        .replace('listen 8080;', `listen 127.0.0.1:${pn};`);
      writeFileSync(path.join(dir, 'nginx.conf'), conf);
      nginx = spawn(NGINX!, [
        '-p',
        dir,
        '-c',
        path.join(dir, 'nginx.conf'),
        '-g',
        `daemon off; pid ${dir}/nginx.pid;`,
      ]);
      nginx.stderr?.on('data', (chunk) => {
        nginxLog += String(chunk);
      });
      for (let i = 0; ; i++) {
        const ok = await fetch(`${issuer}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (i > 100 || nginx.exitCode !== null) throw new Error(`nginx did not come up: ${nginxLog}`);
        await sleep(100);
      }
    });

    afterAll(async () => {
      nginx?.kill('SIGQUIT');
      if (nginx && nginx.exitCode === null) await new Promise((resolve) => nginx!.once('exit', resolve));
      for (const p of processes) await p.close().catch(() => {});
      await database?.drop();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    const requestsServed = async (port: number) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return [...text.matchAll(/^unified_id_http_requests_total\{[^}]*\} (\d+)/gm)].reduce(
        (sum, m) => sum + Number(m[1]),
        0,
      );
    };

    async function signInThroughNginx(ua = new UserAgent()) {
      const [first] = processes;
      const { phone } = await addCitizen(first!, PASSWORD);
      const rp = await registerRelyingParty(first!, { firstParty: true });
      const { tokens } = await signIn(ua, rp, { login: { login: phone, password: PASSWORD } });
      return tokens.claims()!;
    }

    it('counts a client at the address nginx saw, whatever X-Forwarded-For the client sends', async () => {
      const claims = await signInThroughNginx(new UserAgentAt('203.0.113.66'));
      const login = await processes[0]!.database
        .db('audit_events')
        .where({ type: 'login', outcome: 'success', account_id: claims.sub })
        .first();
      expect(login?.ip).toBe('127.0.0.1');
    });

    it('signs a citizen in through the load balancer, with both processes serving the pages', async () => {
      const before = await Promise.all(processes.map((p) => requestsServed(p.config.port)));
      const claims = await signInThroughNginx();
      expect(claims.iss).toBe(issuer);
      expect(claims['certification_level']).toBe('L1');
      const after = await Promise.all(processes.map((p) => requestsServed(p.config.port)));
      // Round robin: each process served part of the sign-in (its pages, the code, the token).
      expect(after[0]! - before[0]!).toBeGreaterThan(1);
      expect(after[1]! - before[1]!).toBeGreaterThan(1);
    });

    it('keeps signing people in when one process has stopped', async () => {
      await processes[1]!.stop();
      const claims = await signInThroughNginx();
      expect(claims.iss).toBe(issuer);
    });
  },
);
