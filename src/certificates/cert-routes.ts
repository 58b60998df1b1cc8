import type Router from '@koa/router';
import type { Context } from 'koa';
import { SessionExpired } from '../errors.js';
import {
  auditEvent,
  type FlowDeps,
  finishLogin,
  interactionOf,
  renderPage,
  saveResult,
} from '../flows/flow-kit.js';
import { parseBody } from '../http/body.js';
import { jsonAnswer } from '../http/json-answer.js';
import { ACR } from '../oidc/scopes.js';
import type { CertificateService } from './certificate-service.js';
import { proofOf } from './proof-input.js';

export const legalRegistrationState = (uid: string) => `legal-register:${uid}`;

/** 证书登录 and 绑定证书 inside an interaction; the page obtains the signature from the bridge. */
export function certificateRoutes(
  router: Router,
  deps: FlowDeps & { certificates: CertificateService; bridgeUrl: string; softwareCertificates: boolean },
) {
  const page = (ctx: Context, uid: string, mode: 'login' | 'bind', extra: Record<string, unknown> = {}) =>
    renderPage(ctx, deps, 'cert', {
      title: mode === 'login' ? '数字证书登录' : '绑定证书',
      uid,
      mode,
      endpoint: `/interaction/${uid}/cert`,
      bridgeUrl: deps.bridgeUrl,
      softwareCertificates: deps.softwareCertificates,
      ...extra,
    });

  const registeredAccount = async (uid: string) => {
    const state = await deps.flowStates.get<{ accountId: string }>(legalRegistrationState(uid));
    if (!state) throw new SessionExpired();
    return state.accountId;
  };

  router.get('/interaction/:uid/cert/login', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    page(ctx, interaction.uid, 'login');
  });

  router.get('/interaction/:uid/cert/bind', async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    await registeredAccount(interaction.uid);
    // Only a registration just finished comes here: say that it succeeded.
    page(ctx, interaction.uid, 'bind', { registered: true });
  });

  router.post('/interaction/:uid/cert/challenge', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, ctx.get('x-csrf-token'));
    const purpose = (ctx.request.body as { purpose?: string })?.purpose === 'bind' ? 'bind' : 'login';
    if (purpose === 'bind') await registeredAccount(interaction.uid);
    await jsonAnswer(ctx, () => deps.certificates.challenge(purpose, interaction.uid));
  });

  router.post('/interaction/:uid/cert/login', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, ctx.get('x-csrf-token'));
    await jsonAnswer(ctx, async () => {
      const proof = proofOf(ctx, deps.softwareCertificates);
      try {
        const { accountId, fingerprint } = await deps.certificates.login(proof, interaction.uid);
        const amr = [proof.source === 'bridge' ? 'hwk' : 'swk'];
        deps.metrics.logins.inc({ method: 'certificate', outcome: 'success' });
        await auditEvent(deps, ctx, {
          type: 'login',
          method: 'certificate',
          outcome: 'success',
          accountId,
          detail: { fingerprint },
        });
        const redirectTo = await saveResult(interaction, {
          login: { accountId, acr: ACR.cert, amr, remember: true },
        });
        return { redirectTo };
      } catch (err) {
        deps.metrics.logins.inc({ method: 'certificate', outcome: 'failure' });
        await auditEvent(deps, ctx, { type: 'login', method: 'certificate', outcome: 'failure' });
        throw err;
      }
    });
  });

  router.post('/interaction/:uid/cert/bind/skip', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, (ctx.request.body as { _csrf?: string })?._csrf);
    const accountId = await registeredAccount(interaction.uid);
    await deps.flowStates.remove(legalRegistrationState(interaction.uid));
    return finishLogin(ctx, interaction, accountId, ACR.basic, ['pwd']);
  });

  router.post('/interaction/:uid/cert/bind', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, ctx.get('x-csrf-token'));
    const accountId = await registeredAccount(interaction.uid);
    await jsonAnswer(ctx, async () => {
      const proof = proofOf(ctx, deps.softwareCertificates);
      const bound = await deps.certificates.bind(accountId, proof, interaction.uid);
      await auditEvent(deps, ctx, {
        type: 'certificate_bound',
        outcome: 'success',
        accountId,
        detail: { fingerprint: bound.fingerprint },
      });
      await deps.flowStates.remove(legalRegistrationState(interaction.uid));
      // Proving the key just now is this session's authentication.
      const redirectTo = await saveResult(interaction, {
        login: { accountId, acr: ACR.cert, amr: [proof.source === 'bridge' ? 'hwk' : 'swk'], remember: true },
      });
      return { redirectTo };
    });
  });
}
