import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import Koa, { type Context } from 'koa';
import { pino } from 'pino';
import { createServices, type Services } from '../../src/app/services.js';
import { type Config, loadConfig } from '../../src/config.js';
import { cookieKeys } from '../../src/crypto/cookie-keys.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { FactorTable } from '../../src/flows/assurance.js';
import { completeLogin, SECOND_FACTOR } from '../../src/flows/complete-login.js';
import type { FlowDeps } from '../../src/flows/flow-kit.js';
import type { Interaction } from '../../src/flows/interaction.js';
import { LOGIN_METHODS } from '../../src/flows/methods/index.js';
import {
  ANSWERED,
  type Answered,
  type AnyLoginMethod,
  type MethodForm,
  type Proven,
  type StepUpSubmission,
  type Submission,
} from '../../src/flows/methods/login-method.js';
import { Metrics } from '../../src/ops/metrics.js';
import { browserId } from '../../src/web/browser-id.js';
import { openEmbeddedCopy, runTempDir } from './embedded-template.js';
import { TEST_PASSWORD_COST } from './server.js';

/** What every failed password sign-in says, whatever the reason: nothing about the account. */
export const LOGIN_REFUSED = {
  name: 'LoginFailed',
  status: 401,
  code: 'login_failed',
  userMessage: '账号或密码错误',
};

/**
 * A sign-in method without a server: the application's own services on a copy of the run's
 * migrated embedded database, the method's dependencies built by its own `deps`, and browsers
 * whose form posts reach `prove` as the common form handler (src/flows/method-form.ts) hands them.
 */
export interface MethodBench {
  database: Database;
  services: Services;
  config: Config;
  /** Every registered method's factors, as the interaction router builds the table. */
  factors: FactorTable;
  /** What `method.deps` builds from the flows' wiring, the services and the settings. */
  depsOf<D>(method: { deps: (sources: never) => D }): D;
  /** A browser of its own (cookie jar, address). */
  browser(ip?: string): Browser;
  /**
   * What the common handler does with a proof: completeLogin, on an interaction that only
   * remembers its result. The result is what the site will see (acr, amr).
   */
  signIn(proven: Proven, uid?: string): Promise<{ next: string; result: Interaction['result'] }>;
  close(): Promise<void>;
}

/** Pages' parts that a method's proof must not touch: reading one fails the test. */
function notForProofs<T>(name: string): T {
  return new Proxy(
    {},
    {
      get(_, property) {
        throw new Error(`${name}.${String(property)} is not for a method's prove`);
      },
    },
  ) as T;
}

let nextAddress = 1;

/** `env`: settings beyond the defaults (an outside service's, say ALIPAY_* of a fake). */
export async function openMethodBench(options: { env?: Record<string, string> } = {}): Promise<MethodBench> {
  const database = openEmbeddedCopy();
  await migrate(database.db);
  const config = loadConfig({ DATA_DIR: runTempDir('config-'), ...options.env });
  const services = createServices(config, database.db, pino({ level: 'silent' }), {
    passwordCost: TEST_PASSWORD_COST,
  });
  const metrics = new Metrics();
  const factors = new FactorTable([SECOND_FACTOR, ...LOGIN_METHODS.flatMap((m) => m.factors)]);
  const flow: FlowDeps = {
    host: notForProofs('host'),
    views: notForProofs('views'),
    csrf: notForProofs('csrf'),
    revoker: notForProofs('revoker'),
    consents: services.consents,
    accounts: services.accounts,
    realName: services.realName,
    captcha: services.captcha,
    sms: services.sms,
    flowStates: services.flowStates,
    limiter: services.limiter,
    loginGuard: services.loginGuard,
    metrics,
    audit: services.audit,
    totp: services.totp,
    legalPersons: services.legalPersons,
    representativeConfirmations: services.representativeConfirmations,
    devVerifier: true,
    alipayConfigured: services.alipay.configured,
  };
  // As the interaction router does before any method runs.
  services.flowStates.declare(LOGIN_METHODS.flatMap((m: AnyLoginMethod) => m.flowStates ?? []));
  const app = new Koa({ keys: cookieKeys(config.cookieKeys, config.cryptoProfile) as unknown as string[] });
  return {
    database,
    services,
    config,
    factors,
    depsOf: (method) => (method.deps as (s: unknown) => never)({ flow, services, config, factors }),
    browser: (ip = `10.77.${Math.floor(nextAddress / 250)}.${(nextAddress++ % 250) + 1}`) =>
      new Browser(app, ip),
    async signIn(proven, uid = 'unit-interaction') {
      const interaction = {
        uid,
        prompt: { name: 'login', details: {}, reasons: [] },
        exp: Math.floor(Date.now() / 1000) + 600,
        returnTo: `/auth/${uid}`,
        lastSubmission: undefined,
        result: undefined,
        async save() {},
      } as unknown as Interaction;
      const { notice: _onPagesOnly, ...verified } = proven;
      const next = await completeLogin(
        {
          accounts: services.accounts,
          audit: services.audit,
          metrics,
          flowStates: services.flowStates,
          factors,
        },
        new Browser(app, '10.99.0.1').context({}),
        interaction,
        verified,
      );
      return { next, result: interaction.result };
    },
    close: () => database.close(),
  };
}

/** A browser's form posts as Koa contexts: its cookies kept between them, from one address. */
export class Browser {
  readonly #cookies = new Map<string, string>();

  constructor(
    private readonly app: Koa,
    readonly ip: string,
  ) {}

  /** A POST from this browser whose parsed body is `body`, as parseBody leaves it. */
  context(body: FormBody, headers: Record<string, string> = {}): Context {
    const req = new IncomingMessage(new Socket());
    req.method = 'POST';
    req.url = '/interaction/unit/form';
    req.headers = {
      host: 'localhost:3000',
      'user-agent': 'method-unit-test',
      ...(this.#cookies.size
        ? { cookie: [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ') }
        : {}),
      ...headers,
    };
    const ctx = this.app.createContext(req, new ServerResponse(req)) as unknown as Context;
    ctx.request.ip = this.ip;
    ctx.request.body = body;
    return ctx;
  }

  /** Keeps the cookies an answer set, as a browser would for its next request. */
  keep(ctx: Context) {
    const set = ctx.res.getHeader('set-cookie');
    for (const line of Array.isArray(set) ? set : set ? [String(set)] : []) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      this.#cookies.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
  }

  /** This browser's id (the signed cookie captchas are bound to), made on first use. */
  get id(): string {
    const ctx = this.context({});
    const id = browserId(ctx);
    this.keep(ctx);
    return id;
  }

  /** A submission of the method's form as the common handler opens it. */
  submission(body: FormBody, uid = 'unit-interaction'): SubmissionCall<Submission> {
    const { ctx, sent, opened } = this.#open(body, uid);
    return { ctx, sent, submission: { ...opened, page: {} } };
  }

  /** A submission of a factor's part of the step-up page, for a signed-in account. */
  stepUp(
    body: FormBody,
    account: StepUpSubmission['account'],
    uid = 'unit-interaction',
  ): SubmissionCall<StepUpSubmission> {
    const { ctx, sent, opened } = this.#open(body, uid);
    return { ctx, sent, submission: { ...opened, account } };
  }

  /** One press of the form's button: what `prove` proved, or its refusal, with the page it would show again. */
  async post<D>(form: MethodForm<D>, deps: D, fields: FormBody) {
    const { submission } = this.submission(fields);
    try {
      return { proven: await form.prove(submission, deps), page: submission.page };
    } catch (error) {
      return { error, page: submission.page };
    }
  }

  /** What both kinds of submission share: the request, the interaction, and 获取验证码's record. */
  #open(body: FormBody, uid: string) {
    const ctx = this.context(body);
    const sent: { target: string; notice: string }[] = [];
    const opened = {
      ctx,
      interaction: { uid } as Interaction,
      codeSent: async (codeSent: { target: string; notice: string }): Promise<Answered> => {
        sent.push(codeSent);
        return ANSWERED;
      },
    };
    return { ctx, sent, opened };
  }
}

export interface SubmissionCall<S> {
  ctx: Context;
  submission: S;
  /** What the method asked the handler to answer with 获取验证码 (target and notice). */
  sent: { target: string; notice: string }[];
}

/** A posted form's fields, or the certificate page's JSON. */
export type FormBody = Record<string, string | string[]>;
