import Router from '@koa/router';
import type { Context } from 'koa';
import { errors as oidcErrors } from 'oidc-provider';
import type { AccountService } from '../accounts/account-service.js';
import { LoginFailed, SessionExpired, TooManyRequests } from '../errors.js';
import { field, parseBody, rawField } from '../http/body.js';
import type { Csrf } from '../http/csrf.js';
import type { Views } from '../http/views.js';
import type { ConsentService } from '../oidc/consent-service.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import { ACR, SCOPE_DESCRIPTIONS, type Scope, SENSITIVE_SCOPES } from '../oidc/scopes.js';
import type { Metrics } from '../ops/metrics.js';
import { LIMITS, type RateLimiter } from '../ops/rate-limiter.js';

export interface InteractionDeps {
  host: ProviderHost;
  views: Views;
  csrf: Csrf;
  accounts: AccountService;
  consents: ConsentService;
  limiter: RateLimiter;
  metrics: Metrics;
}

/** The interaction details of the browser's current sign-in, or a clear "expired" page. */
async function details(deps: InteractionDeps, ctx: Context) {
  try {
    const interaction = await deps.host.provider.interactionDetails(ctx.req, ctx.res);
    if (ctx.params['uid'] && interaction.uid !== ctx.params['uid']) throw new SessionExpired();
    return interaction;
  } catch (err) {
    if (err instanceof oidcErrors.SessionNotFound) throw new SessionExpired();
    throw err;
  }
}

function render(ctx: Context, deps: InteractionDeps, view: string, data: Record<string, unknown>) {
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'html';
  ctx.body = deps.views.render(view, { csrf: deps.csrf.token(ctx), ...data });
}

export function interactionRoutes(deps: InteractionDeps): Router {
  const router = new Router({ prefix: '/interaction' });

  router.get('/:uid', async (ctx) => {
    const interaction = await details(deps, ctx);
    const client = await deps.host.provider.Client.find(String(interaction.params['client_id']));
    const clientName = client?.clientName ?? '';
    if (interaction.prompt.name === 'login') {
      return render(ctx, deps, 'login', { title: '登录', uid: interaction.uid, clientName });
    }
    if (interaction.prompt.name === 'consent') {
      const missing = (interaction.prompt.details['missingOIDCScope'] as string[] | undefined) ?? [];
      const scopes = missing
        .filter((s): s is Scope => s in SCOPE_DESCRIPTIONS)
        .map((s) => ({ description: SCOPE_DESCRIPTIONS[s], sensitive: SENSITIVE_SCOPES.has(s) }));
      return render(ctx, deps, 'consent', { title: '授权确认', uid: interaction.uid, clientName, scopes });
    }
    throw new SessionExpired();
  });

  router.post('/:uid/login', parseBody, async (ctx) => {
    const interaction = await details(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const login = field(ctx, 'login');
    const password = rawField(ctx, 'password');
    const client = await deps.host.provider.Client.find(String(interaction.params['client_id']));
    const page = { title: '登录', uid: interaction.uid, clientName: client?.clientName ?? '', login };
    try {
      await deps.limiter.consume(LIMITS.loginPerIp, ctx.ip);
      await deps.limiter.consume(LIMITS.loginPerAccount, login.toLowerCase());
      if (!login || !password) throw new LoginFailed();
      const account = await deps.accounts.authenticatePassword(login, password);
      deps.metrics.logins.inc({ method: 'password', outcome: 'success' });
      ctx.state.log.info({ accountId: account.id, method: 'password' }, 'login succeeded');
      return await deps.host.provider.interactionFinished(
        ctx.req,
        ctx.res,
        { login: { accountId: account.id, acr: ACR.basic, amr: ['pwd'], remember: true } },
        { mergeWithLastSubmission: false },
      );
    } catch (err) {
      if (!(err instanceof LoginFailed || err instanceof TooManyRequests)) throw err;
      deps.metrics.logins.inc({
        method: 'password',
        outcome: err instanceof LoginFailed ? 'failure' : 'throttled',
      });
      ctx.status = err.status;
      return render(ctx, deps, 'login', { ...page, error: err.userMessage });
    }
  });

  router.post('/:uid/confirm', parseBody, async (ctx) => {
    const interaction = await details(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    if (interaction.prompt.name !== 'consent') throw new SessionExpired();
    const { provider } = deps.host;
    if (field(ctx, 'decision') !== 'allow') {
      return provider.interactionFinished(
        ctx.req,
        ctx.res,
        { error: 'access_denied', error_description: '用户拒绝授权' },
        { mergeWithLastSubmission: false },
      );
    }
    const accountId = interaction.session!.accountId;
    const clientId = String(interaction.params['client_id']);
    const promptDetails = interaction.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
    };
    const grant = interaction.grantId
      ? ((await provider.Grant.find(interaction.grantId)) ?? new provider.Grant({ accountId, clientId }))
      : new provider.Grant({ accountId, clientId });
    const scopes = promptDetails.missingOIDCScope ?? [];
    const claims = promptDetails.missingOIDCClaims ?? [];
    if (scopes.length) grant.addOIDCScope(scopes.join(' '));
    if (claims.length) grant.addOIDCClaims(claims);
    const grantId = await grant.save();
    await deps.consents.remember(accountId, clientId, scopes, claims);
    ctx.state.log.info({ accountId, clientId, scopes }, 'consent given');
    return provider.interactionFinished(
      ctx.req,
      ctx.res,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    );
  });

  router.get('/:uid/abort', async (ctx) => {
    await details(deps, ctx);
    return deps.host.provider.interactionFinished(
      ctx.req,
      ctx.res,
      { error: 'access_denied', error_description: '用户取消登录' },
      { mergeWithLastSubmission: false },
    );
  });

  return router;
}
