import Router from '@koa/router';
import type Koa from 'koa';
import {
  ENTERPRISE_SCOPE_DESCRIPTIONS,
  SCOPE_DESCRIPTIONS,
  SENSITIVE_SCOPES,
  scopesThatApply,
} from '../access/scopes.js';
import type { MethodWords } from '../audit/audit-words.js';
import type { CertificateService } from '../certificates/certificate-service.js';
import type { Config } from '../config.js';
import { SessionExpired } from '../errors.js';
import { field, parseBody } from '../web/body.js';
import { browserId } from '../web/browser-id.js';
import { currentDisplay } from '../web/display-mode.js';
import { FactorTable } from './assurance.js';
import { SECOND_FACTOR } from './complete-login.js';
import { auditEvent, type FlowDeps, renderPage } from './flow-kit.js';
import { clientNameOf, finishInteraction, interactionOf } from './interaction.js';
import { legalRegisterRoutes } from './legal-register-routes.js';
import { loginPage } from './login-page.js';
import { methodKit, mountMethodForm } from './method-form.js';
import type { LoginMethod, MethodSources } from './methods/login-method.js';
import { realNameRoutes, renderRealName } from './realname-routes.js';
import { recoveryRoutes } from './recovery-routes.js';
import { registerRoutes } from './register-routes.js';
import { registeredCertificateRoutes } from './registered-certificate-routes.js';
import { secondFactorRoutes } from './second-factor-routes.js';
import { needsStepUp, renderStepUp, type StepUpOffer, stepUpRoutes } from './step-up-routes.js';

/** The API scopes (RFC 8707 `resource`) the consent prompt asks about, per API. */
function missingResourceScopesOf(details: Record<string, unknown>): Record<string, string[]> {
  return (details['missingResourceScopes'] as Record<string, string[]> | undefined) ?? {};
}

/**
 * Every page of an interaction: which one shows depends on what oidc-provider's policy asks for.
 * The sign-in methods are the registry's (app/app.ts passes LOGIN_METHODS, a test may add one):
 * each builds its own dependencies from `sources`, its declared factors make the table of
 * factors every sign-in is judged by, and the kinds of flow state it declares are kept. The call
 * fails to compile when a method reads what the application does not have.
 */
export function interactionRoutes<S extends { certificates: CertificateService }>(
  // The log's method words are built by the caller from these same methods (its pages show them too).
  { writeBatch, methodWords, ...flow }: FlowDeps & { writeBatch: Koa.Middleware; methodWords: MethodWords },
  sources: { services: S; config: Config },
  // biome-ignore lint/suspicious/noExplicitAny: each method builds dependencies of its own type
  methods: readonly LoginMethod<NoInfer<MethodSources<S>>, any>[],
): Router {
  const router = new Router();
  const factors = new FactorTable([SECOND_FACTOR, ...methods.flatMap((m) => m.factors)]);
  flow.flowStates.declare(methods.flatMap((m) => m.flowStates ?? []));
  const built = methods.map((method) => {
    const methodDeps: unknown = method.deps({ ...sources, flow, factors });
    for (const [name, file] of Object.entries(method.views ?? {})) flow.views.add(name, file);
    return { method, methodDeps, offered: method.offered?.(methodDeps) ?? true };
  });
  const stepUps: StepUpOffer[] = built.flatMap(({ method, methodDeps }) =>
    method.stepUp ? [{ factor: method.stepUp, deps: methodDeps }] : [],
  );
  const deps = { ...flow, factors, stepUps, methodWords, loginPage: loginPage(flow, built) };
  // Every form post of a sign-in takes part in a write batch: its writes that nothing in it reads
  // back (the audit row, the interaction's result) go as one statement before its answer leaves
  // (src/db/write-batch.ts). A route of this router only: other paths never open one.
  router.use((ctx, next) => (ctx.method === 'POST' ? writeBatch(ctx, next) : next()));

  router.get('/interaction/:uid', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    switch (interaction.prompt.name) {
      // Choosing the account is signing in with it (src/oidc/policy.ts).
      case 'select_account':
        return deps.loginPage.render(ctx, interaction);
      case 'login':
        return needsStepUp(interaction)
          ? renderStepUp(ctx, deps, interaction)
          : deps.loginPage.render(ctx, interaction);
      case 'realname':
        return renderRealName(ctx, deps, interaction);
      case 'consent': {
        const missing = (interaction.prompt.details['missingOIDCScope'] as string[] | undefined) ?? [];
        // A legal person is asked about the enterprise's data, in the enterprise's words.
        const accountId = interaction.session?.accountId;
        const enterprise = accountId ? await deps.legalPersons.profileOf(accountId) : undefined;
        const descriptions = enterprise ? ENTERPRISE_SCOPE_DESCRIPTIONS : SCOPE_DESCRIPTIONS;
        const scopes = scopesThatApply(missing, Boolean(enterprise)).map((s) => ({
          description: descriptions[s],
          sensitive: SENSITIVE_SCOPES.has(s),
        }));
        // An API's scopes are its own words; the page names the API and lists them as they are.
        const apis = Object.entries(missingResourceScopesOf(interaction.prompt.details)).map(
          ([identifier, apiScopes]) => ({ identifier, scopes: apiScopes.join(' ') }),
        );
        return renderPage(ctx, deps, 'consent', {
          title: '授权确认',
          uid: interaction.uid,
          clientName: await clientNameOf(deps, interaction),
          scopes,
          apis,
          enterprise,
        });
      }
      default:
        throw new SessionExpired();
    }
  });

  // Mounted whether or not offered: a method this deployment does not offer answers so itself.
  const kit = methodKit(deps);
  for (const { method, methodDeps } of built) {
    if (method.form) mountMethodForm(router, deps, { id: method.id, form: method.form }, methodDeps);
    method.routes?.(router, methodDeps, kit);
  }
  registeredCertificateRoutes(router, {
    ...deps,
    certificates: sources.services.certificates,
    bridgeUrl: sources.config.certBridgeUrl,
  });
  secondFactorRoutes(router, deps);
  registerRoutes(router, deps);
  legalRegisterRoutes(router, deps);
  realNameRoutes(router, deps);
  recoveryRoutes(router, deps);
  stepUpRoutes(router, deps);

  router.post('/interaction/:uid/confirm', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    if (interaction.prompt.name !== 'consent') throw new SessionExpired();
    const { provider } = deps.host;
    if (field(ctx, 'decision') !== 'allow') {
      return finishInteraction(ctx, interaction, {
        error: 'access_denied',
        error_description: 'the user declined consent',
      });
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
    for (const [identifier, apiScopes] of Object.entries(missingResourceScopesOf(promptDetails))) {
      grant.addResourceScope(identifier, apiScopes.join(' '));
    }
    const grantId = await grant.save();
    await deps.consents.remember(accountId, clientId, scopes, claims);
    await auditEvent(deps, ctx, {
      type: 'consent',
      outcome: 'success',
      accountId,
      detail: { clientId, scopes },
    });
    return finishInteraction(ctx, interaction, { consent: { grantId } }, { mergeWithLastSubmission: true });
  });

  router.get('/interaction/:uid/abort', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    return finishInteraction(ctx, interaction, {
      error: 'access_denied',
      error_description: 'the user cancelled the sign-in',
    });
  });

  // The image of the browser's current captcha; each load makes a new one.
  router.get('/captcha', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'image/svg+xml';
    ctx.body = await deps.captcha.issue(browserId(ctx), { large: currentDisplay()?.elder ?? false });
  });

  return router;
}
