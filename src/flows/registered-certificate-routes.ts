import type Router from '@koa/router';
import type { Context } from 'koa';
import type { CertificateService } from '../certificates/certificate-service.js';
import { proofOf } from '../certificates/proof-input.js';
import { SessionExpired } from '../errors.js';
import { field, parseBody } from '../web/body.js';
import { jsonAnswer } from '../web/page-kit.js';
import { completeLogin, continueTo, type LoginRecorder } from './complete-login.js';
import { auditEvent, type FlowDeps, type PageDeps, renderPage } from './flow-kit.js';
import { interactionOf } from './interaction.js';
import { PASSWORD_FACTOR } from './methods/password/password-attempt.js';

type Deps = PageDeps &
  Pick<FlowDeps, 'host' | 'flowStates' | 'accounts' | 'audit' | 'metrics'> &
  Pick<LoginRecorder, 'factors'> & { certificates: CertificateService; bridgeUrl: string };

/**
 * 绑定证书 right after 法人注册 (not a sign-in method: the account was just made in this
 * interaction). Proving the key binds it and is that session's factor; 跳过此步骤 signs in with
 * the password the registration set a moment ago. The page's script posts to
 * /interaction/:uid/registered-certificate/{challenge,bind}.
 */
export function registeredCertificateRoutes(router: Router, deps: Deps) {
  const registeredAccount = async (uid: string) => {
    const state = await deps.flowStates.get('legal-register', uid);
    if (!state) throw new SessionExpired();
    return state.accountId;
  };

  router.get('/interaction/:uid/cert/bind', async (ctx) => {
    const { uid } = await interactionOf(deps, ctx);
    await registeredAccount(uid);
    // Only a registration just finished comes here: say that it succeeded.
    renderPage(ctx, deps, 'cert', {
      title: '绑定证书',
      uid,
      mode: 'bind',
      endpoint: `/interaction/${uid}/registered-certificate`,
      bridgeUrl: deps.bridgeUrl,
      softwareCertificates: deps.certificates.softwareAllowed,
      registered: true,
    });
  });

  router.post('/interaction/:uid/registered-certificate/challenge', parseBody, async (ctx) => {
    const { uid } = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, ctx.get('x-csrf-token'));
    await registeredAccount(uid);
    await jsonAnswer(ctx, () => deps.certificates.challenge('bind', uid));
  });

  router.post('/interaction/:uid/registered-certificate/bind', parseBody, async (ctx: Context) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, ctx.get('x-csrf-token'));
    const accountId = await registeredAccount(interaction.uid);
    await jsonAnswer(ctx, async () => {
      const bound = await deps.certificates.bind(accountId, proofOf(ctx), interaction.uid);
      await auditEvent(deps, ctx, {
        type: 'certificate_bound',
        outcome: 'success',
        accountId,
        detail: { fingerprint: bound.fingerprint },
      });
      await deps.flowStates.remove('legal-register', interaction.uid);
      // Proving the key just now is this session's authentication.
      const redirectTo = await completeLogin(deps, ctx, interaction, {
        accountId,
        verified: [bound.factor],
        method: 'certificate',
        detail: { fingerprint: bound.fingerprint },
      });
      return { redirectTo };
    });
  });

  router.post('/interaction/:uid/cert/bind/skip', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, field(ctx, '_csrf'));
    const accountId = await registeredAccount(interaction.uid);
    await deps.flowStates.remove('legal-register', interaction.uid);
    // The registration set the password a moment ago: that is this session's factor.
    continueTo(
      ctx,
      await completeLogin(deps, ctx, interaction, {
        accountId,
        verified: [PASSWORD_FACTOR.amr],
        method: 'registration',
      }),
    );
  });
}
