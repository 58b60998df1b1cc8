import type Router from '@koa/router';
import type { Context } from 'koa';
import { proofOf } from '../../../certificates/proof-input.js';
import { SessionExpired } from '../../../errors.js';
import { parseBody } from '../../../web/body.js';
import { jsonAnswer } from '../../../web/page-kit.js';
import { completeLogin, recordLoginFailure } from '../../complete-login.js';
import { auditEvent, renderPage } from '../../flow-kit.js';
import { interactionOf } from '../../interaction.js';
import type { LoginMethod, MethodDeps } from '../login-method.js';

type Deps = Pick<
  MethodDeps,
  | 'host'
  | 'views'
  | 'csrf'
  | 'devVerifier'
  | 'alipayConfigured'
  | 'flowStates'
  | 'certificates'
  | 'bridgeUrl'
  | 'accounts'
  | 'audit'
  | 'metrics'
>;

/**
 * 证书登录 (法人): the page asks the bridge (USB key) or a PKCS#12 file to sign a single-use
 * challenge; CertificateService proves it and says whether the key is hardware. Also 绑定证书
 * right after 法人注册, whose proof is that sign-in's factor.
 */
export const certificateMethod: LoginMethod = {
  id: 'certificate',
  tab: 'legal',
  link: { label: '证书登录', path: 'cert/login', style: 'link' },
  routes: (router, deps) => certificateRoutes(router, deps),
};

function certificateRoutes(router: Router, deps: Deps) {
  const page = (ctx: Context, uid: string, mode: 'login' | 'bind', extra: Record<string, unknown> = {}) =>
    renderPage(ctx, deps, 'cert', {
      title: mode === 'login' ? '数字证书登录' : '绑定证书',
      uid,
      mode,
      endpoint: `/interaction/${uid}/cert`,
      bridgeUrl: deps.bridgeUrl,
      softwareCertificates: deps.certificates.softwareAllowed,
      ...extra,
    });

  const registeredAccount = async (uid: string) => {
    const state = await deps.flowStates.get('legal-register', uid);
    if (!state) throw new SessionExpired();
    return state.accountId;
  };

  // 证书助手使用说明: install, allow, sign in, and what each message means (docs/helper-clerk.md).
  router.get('/help/cert-bridge', (ctx) => {
    renderPage(ctx, deps, 'cert-bridge', { title: '证书助手使用说明', issuer: ctx.origin });
  });

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
      let proved: Awaited<ReturnType<typeof deps.certificates.login>>;
      try {
        proved = await deps.certificates.login(proofOf(ctx), interaction.uid);
      } catch (err) {
        await recordLoginFailure(deps, ctx, { method: 'certificate' });
        throw err;
      }
      const redirectTo = await completeLogin(deps, ctx, interaction, {
        accountId: proved.accountId,
        verified: [proved.factor],
        method: 'certificate',
        detail: { fingerprint: proved.fingerprint },
      });
      return { redirectTo };
    });
  });

  router.post('/interaction/:uid/cert/bind/skip', parseBody, async (ctx) => {
    const interaction = await interactionOf(deps, ctx);
    deps.csrf.verify(ctx, (ctx.request.body as { _csrf?: string })?._csrf);
    const accountId = await registeredAccount(interaction.uid);
    await deps.flowStates.remove('legal-register', interaction.uid);
    // The registration set the password a moment ago: that is this session's factor.
    ctx.redirect(
      await completeLogin(deps, ctx, interaction, { accountId, verified: ['pwd'], method: 'registration' }),
    );
    ctx.status = 303;
  });

  router.post('/interaction/:uid/cert/bind', parseBody, async (ctx) => {
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
}
