import { LIMITS } from '../src/ops/rate-limiter.js';
import { REDIRECT_URI } from '../test/support/relying-party.js';
import type { FlowScenario, FlowWorker } from './flow-load.js';
import {
  BenchBrowser,
  exchangeCode,
  type FlowSite,
  issueSmsCode,
  outboxCount,
  passwordSignIn,
  refresh,
  ssoAuthorize,
} from './flows.js';
import type { BenchCitizen, ClientCredentials, Endpoints } from './setup.js';

/**
 * Hands out citizens round-robin, each at most `maxUses` times in a run, so no per-account or
 * per-address limit is ever reached; when all are used up the iteration fails with a clear
 * message instead of meeting the provider's 429.
 */
export class CitizenPool {
  private taken = 0;

  constructor(
    private readonly citizens: BenchCitizen[],
    private readonly maxUses: number,
    private readonly setting: string,
  ) {}

  take(): BenchCitizen {
    const round = Math.floor(this.taken / Math.max(1, this.citizens.length));
    if (!this.citizens.length || round >= this.maxUses) {
      throw new Error(
        `all ${this.citizens.length} bench citizens were used ${this.maxUses} time(s) in this run (the provider's limit); raise ${this.setting}`,
      );
    }
    return this.citizens[this.taken++ % this.citizens.length]!;
  }

  get used(): number {
    return this.taken;
  }
}

/**
 * Sign-ins per citizen in one run: the per-account login limit (LIMITS.loginPerAccount), and the
 * per-address one, as each citizen has its own address.
 */
export const SIGN_INS_PER_CITIZEN = Math.min(LIMITS.loginPerAccount.max, LIMITS.loginPerIp.max);

export interface FlowContext {
  endpoints: Endpoints;
  sites: ClientCredentials[];
  loginCitizens: CitizenPool;
  smsCitizens: CitizenPool;
  /** A server to read the development SMS outbox from (GET /dev/sms); all share one database. */
  outboxServer: string;
}

/** Worker i signs in to site i mod n, on its own server process. */
function siteOf(context: FlowContext, worker: FlowWorker): FlowSite {
  return {
    base: worker.target.url,
    paths: { authorization: context.endpoints.authorization, token: context.endpoints.token },
    client: context.sites[worker.index % context.sites.length]!,
    redirectUri: REDIRECT_URI,
  };
}

const login = (c: BenchCitizen) => ({ login: c.phone, password: c.password });

/** The scenarios autocannon can not express, in the order they run. */
export function flowScenarios(context: FlowContext): FlowScenario[] {
  const ssoBrowsers: BenchBrowser[] = [];
  const refreshTokens: string[] = [];
  let smsSent: string[] = [];
  return [
    {
      // A new browser (cookie jar) each time: no SSO session, the real login page, argon2id.
      name: 'password login',
      async iterate(worker) {
        const citizen = context.loginCitizens.take();
        const signedIn = await passwordSignIn(
          new BenchBrowser(citizen.ip),
          siteOf(context, worker),
          login(citizen),
        );
        return { 'password POST → code': signedIn.passwordMs! };
      },
    },
    {
      // Each worker's browser has an SSO session: /auth redirects straight back with a code.
      name: 'authorize (SSO) + code exchange',
      async prepare(workers) {
        await Promise.all(
          workers.map(async (worker) => {
            const citizen = context.loginCitizens.take();
            const browser = new BenchBrowser(citizen.ip);
            await passwordSignIn(browser, siteOf(context, worker), login(citizen));
            ssoBrowsers[worker.index] = browser;
          }),
        );
      },
      async iterate(worker) {
        const site = siteOf(context, worker);
        const started = performance.now();
        const authorized = await ssoAuthorize(ssoBrowsers[worker.index]!, site);
        const redirected = performance.now();
        await exchangeCode(site, authorized);
        return { '/auth (SSO)': redirected - started, '/token': performance.now() - redirected };
      },
    },
    {
      // Each worker keeps its own chain: every refresh rotates the refresh token.
      name: 'refresh',
      async prepare(workers) {
        await Promise.all(
          workers.map(async (worker) => {
            const citizen = context.loginCitizens.take();
            const site = siteOf(context, worker);
            // offline_access is honoured only with prompt=consent (oidc-provider), so the consent page shows.
            const authorized = await passwordSignIn(new BenchBrowser(citizen.ip), site, login(citizen), {
              scope: 'openid profile phone offline_access',
              prompt: 'consent',
              consent: true,
            });
            const tokens = await exchangeCode(site, authorized);
            if (!tokens.refresh_token)
              throw new Error('the code exchange gave no refresh token (offline_access)');
            refreshTokens[worker.index] = tokens.refresh_token;
          }),
        );
      },
      async iterate(worker) {
        const answer = await refresh(siteOf(context, worker), refreshTokens[worker.index]!);
        refreshTokens[worker.index] = answer.refresh_token;
        return undefined;
      },
    },
    {
      // A new browser and a registered phone each time (one SMS per phone a minute, ten a day).
      name: 'SMS-code issue',
      async iterate(worker) {
        const citizen = context.smsCitizens.take();
        const { sendMs } = await issueSmsCode(
          new BenchBrowser(citizen.ip),
          siteOf(context, worker),
          citizen.phone,
        );
        smsSent.push(citizen.phone);
        return { 'POST 获取验证码': sendMs };
      },
      // The page says the same for unregistered numbers: each phone must have exactly one message.
      async verify() {
        const phones = smsSent;
        smsSent = [];
        const problems: string[] = [];
        const check = async () => {
          for (let phone = phones.pop(); phone !== undefined; phone = phones.pop()) {
            const n = await outboxCount(context.outboxServer, phone);
            if (n !== 1) problems.push(`${phone}: ${n} messages in the development SMS outbox, not 1`);
          }
        };
        await Promise.all(Array.from({ length: 8 }, check));
        return problems;
      },
    },
  ];
}
