import type Router from '@koa/router';
import { z } from 'zod';
import { maskPhone } from '../accounts/phone.js';
import { proofOf } from '../certificates/proof-input.js';
import { AppError, SmsCodeWrong } from '../errors.js';
import { codeSentNotice } from '../flows/code-sending.js';
import { textField } from '../web/form-fields.js';
import { formInput, jsonAnswer } from '../web/page-kit.js';
import { accountCodeStep } from './account-code-step.js';
import {
  type AccountPageDeps,
  type AccountSession,
  type AccountSpaceDeps,
  accountAudit,
} from './account-context.js';
import { act, sessionOf, show } from './account-page.js';

const onlyLegalPersons = () => new AppError(403, 'not_legal_person', '只有法人用户可以绑定数字证书');

/** 绑定证书 first proves the account's phone; 解绑 names the certificate by its fingerprint. */
const unbindForm = z.object({ fingerprint: textField(200, '请求格式不正确') });

/** 认证等级 → 高级认证 → CA认证: bound certificates, 解除绑定, and binding another after an SMS code. */
export function certificateSpaceRoutes(
  router: Router,
  deps: AccountPageDeps & Pick<AccountSpaceDeps, 'bridgeUrl' | 'certificates' | 'flowStates' | 'sms'>,
) {
  const listing = async (accountId: string) => ({
    title: 'CA认证',
    softwareCertificates: deps.certificates.softwareAllowed,
    certificates: (await deps.certificates.list(accountId)).map((c) => ({
      fingerprint: c.fingerprint,
      subject: c.subject,
      serial: c.serial_hex,
      notAfter: new Date(c.not_after).toLocaleDateString('zh-CN', { timeZone: 'Asia/Shanghai' }),
    })),
  });

  const codeStep = accountCodeStep(deps, 'cert-bind');
  /** 证书管理 as a refused step shows it again: the certificates and where the code stands. */
  const certificatesPage = async (session: AccountSession) => ({
    ...(await listing(session.account.id)),
    ...(await codeStep.sent(session)),
    smsPhoneMasked: maskPhone(session.smsPhone),
  });

  router.get('/certificates', async (ctx) => {
    const session = sessionOf(ctx);
    if (session.account.user_type !== 'legal_person') throw onlyLegalPersons();
    const page = await certificatesPage(session);
    show(ctx, deps, 'account-certificates', {
      ...page,
      notice: ctx.query['bound']
        ? '证书绑定成功，认证等级已提升为高级认证用户（L3）。已登录的网站在下次获取用户信息时即可看到新的认证等级。'
        : ctx.query['sent'] && page.smsSent
          ? codeSentNotice(session.smsPhone, '联系手机')
          : undefined,
    });
  });

  // Each step answers with a redirect to a GET page, so reloading a page never posts again.
  router.post('/certificates/send-sms', async (ctx) => {
    const session = sessionOf(ctx);
    if (session.account.user_type !== 'legal_person') throw onlyLegalPersons();
    return act(
      ctx,
      deps,
      'account-certificates',
      () => certificatesPage(session),
      () => codeStep.send(ctx, session, '/account/certificates?sent=1'),
    );
  });

  router.post('/certificates/check-sms', async (ctx) => {
    const session = sessionOf(ctx);
    if (session.account.user_type !== 'legal_person') throw onlyLegalPersons();
    return act(
      ctx,
      deps,
      'account-certificates',
      () => certificatesPage(session),
      () => codeStep.check(ctx, session, '/account/certificates/bind'),
    );
  });

  router.get('/certificates/bind', async (ctx) => {
    const session = sessionOf(ctx);
    if (session.account.user_type !== 'legal_person') throw onlyLegalPersons();
    const verified = await deps.flowStates.get('cert-bind', session.sessionUid);
    if (verified?.accountId !== session.account.id) return ctx.redirect('/account/certificates');
    show(ctx, deps, 'cert', {
      title: '绑定证书',
      mode: 'bind',
      uid: session.sessionUid,
      endpoint: '/account/certificates',
      bridgeUrl: deps.bridgeUrl,
      // A clerk who registered with a PKCS#12 file binds it here as at registration.
      softwareCertificates: deps.certificates.softwareAllowed,
      accountSpace: true,
    });
  });

  router.post('/certificates/challenge', async (ctx) => {
    const session = sessionOf(ctx);
    await jsonAnswer(ctx, async () => {
      if (!(await deps.flowStates.get('cert-bind', session.sessionUid))) throw new SmsCodeWrong();
      return deps.certificates.challenge('bind', session.sessionUid);
    });
  });

  router.post('/certificates/bind', async (ctx) => {
    const session = sessionOf(ctx);
    await jsonAnswer(ctx, async () => {
      // SOFTWARE_CERTIFICATES=false refuses an unmarked certificate here too (CertificateService).
      const bound = await deps.certificates.bind(session.account.id, proofOf(ctx), session.sessionUid);
      await deps.flowStates.remove('cert-bind', session.sessionUid);
      await accountAudit(deps, ctx, session, {
        type: 'certificate_bound',
        outcome: 'success',
        detail: { fingerprint: bound.fingerprint },
      });
      return { redirectTo: '/account/certificates?bound=1' };
    });
  });

  router.post('/certificates/unbind', async (ctx) => {
    const session = sessionOf(ctx);
    const { fingerprint } = formInput(ctx, unbindForm);
    await deps.certificates.unbind(session.account.id, fingerprint);
    await accountAudit(deps, ctx, session, {
      type: 'certificate_unbound',
      outcome: 'success',
      detail: { fingerprint },
    });
    ctx.redirect('/account/certificates');
  });
}
