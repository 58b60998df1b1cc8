import type Router from '@koa/router';
import { z } from 'zod';
import type { AccountRow } from '../accounts/account-store.js';
import { levelName } from '../accounts/levels.js';
import { PasswordWrong, SmsCodeWrong } from '../errors.js';
import { codeSentNotice } from '../flows/code-sending.js';
import { field } from '../web/body.js';
import { idNumberField, REAL_NAME_FIELDS, realNameField, secretField } from '../web/form-fields.js';
import { asFormFields, formInput } from '../web/page-kit.js';
import { accountCodeStep } from './account-code-step.js';
import {
  type AccountPageDeps,
  type AccountSession,
  type AccountSpaceDeps,
  accountAudit,
} from './account-context.js';
import { act, sessionOf, show } from './account-page.js';
import { alipayCertifyUrl } from './alipay-routes.js';
import { usedSites } from './used-sites.js';

const LEVEL_EXPLANATIONS = [
  {
    level: 'L1',
    allows: '可以登录各政务服务网站、查询公开信息，但不能办理需要实名的网上业务。',
  },
  {
    level: 'L2',
    allows:
      '姓名和身份证号码已核验（或支付宝实名认证；法人为机构信息与法定代表人已核验），可以办理绝大多数网上业务。',
  },
  { level: 'L3', allows: '法人已绑定数字证书，可以办理要求数字证书的业务。' },
].map((l) => ({ ...l, name: levelName(l.level) }));

/** Where a new level reaches the sites: at once, wherever they ask for the person's data again. */
const LEVEL_REACHES_SITES =
  '已登录的网站无需您重新登录：网站再次获取您的信息或刷新登录状态时即可看到新的认证等级。';

/** 查看完整信息 asks the password again; 身份证认证 the SMS code, then the name and ID number. */
const revealForm = z.object({ password: secretField });
const realNameForm = z.object({ real_name: realNameField, id_number: idNumberField });

/** 基本信息 and 认证等级 (身份证认证). */
export function profileRoutes(
  router: Router,
  deps: AccountPageDeps &
    Pick<
      AccountSpaceDeps,
      | 'flowStates'
      | 'realName'
      | 'sms'
      | 'alipay'
      | 'legalPersons'
      | 'certificates'
      | 'clients'
      | 'consents'
      | 'models'
      | 'accountSpaceClientId'
      | 'issuer'
    >,
) {
  const levelPage = () => ({
    title: '认证等级',
    levels: LEVEL_EXPLANATIONS,
    alipayCertifyUrl: alipayCertifyUrl(deps),
  });
  // A citizen sees the enterprises registered with them as legal representative (each one
  // confirmed by their own SMS code), so one registered in their name would not go unnoticed.
  const representedOf = async (account: AccountRow) =>
    (await deps.legalPersons.representedBy(account.id)).map((e) => ({
      orgName: e.org_name,
      creditCode: e.credit_code,
      since: new Date(e.created_at).toLocaleDateString('zh-CN', { timeZone: 'Asia/Shanghai' }),
    }));
  /** 基本信息: a citizen's own facts, or the enterprise's, and the sites used (切换站点). */
  const profilePage = async (session: AccountSession) => ({
    title: '基本信息',
    levels: LEVEL_EXPLANATIONS,
    sites: await usedSites(deps, session.account.id),
    ...(session.account.user_type === 'legal_person'
      ? {
          enterprise: await deps.legalPersons.profileOf(session.account.id),
          certificateCount: (await deps.certificates.list(session.account.id)).length,
        }
      : { represented: await representedOf(session.account) }),
  });

  router.get('/', async (ctx) => show(ctx, deps, 'account-profile', await profilePage(sessionOf(ctx))));

  // The whole name and ID number, only after the password again.
  router.post('/reveal', async (ctx) => {
    const session = sessionOf(ctx);
    const page = () => profilePage(session);
    return act(ctx, deps, 'account-profile', page, async () => {
      const { password } = formInput(ctx, revealForm, ['password']);
      if (!(await deps.accounts.checkPasswordOf(session.account, password))) {
        throw new PasswordWrong();
      }
      const identity = deps.accounts.identityOf(session.account);
      await accountAudit(deps, ctx, session, { type: 'identity_revealed', outcome: 'success' });
      show(ctx, deps, 'account-profile', { ...(await page()), revealed: identity });
    });
  });

  const codeStep = accountCodeStep(deps, 'id-verify');

  /** Where 身份证认证 stands in this session: code sent (and when), code verified. */
  const levelSteps = async (session: AccountSession) => {
    const checked = await deps.flowStates.get('id-verify', session.sessionUid);
    return {
      ...levelPage(),
      ...(await codeStep.sent(session)),
      smsChecked: checked?.accountId === session.account.id,
    };
  };

  router.get('/level', async (ctx) => {
    const session = sessionOf(ctx);
    const steps = await levelSteps(session);
    show(ctx, deps, 'account-level', {
      ...steps,
      notice: ctx.query['done']
        ? `实名认证成功！您的认证等级已提升为${levelName('L2')}。${LEVEL_REACHES_SITES}`
        : ctx.query['sent'] && steps.smsSent && !steps.smsChecked
          ? codeSentNotice(session.smsPhone)
          : undefined,
    });
  });

  // 身份证认证: an SMS code to the account's phone first, then name + ID number. Each step
  // answers with a redirect to the GET page, so a reload never posts again.
  router.post('/level/send-sms', async (ctx) => {
    const session = sessionOf(ctx);
    return act(
      ctx,
      deps,
      'account-level',
      () => levelSteps(session),
      () => codeStep.send(ctx, session, '/account/level?sent=1'),
    );
  });

  router.post('/level/check-sms', async (ctx) => {
    const session = sessionOf(ctx);
    return act(
      ctx,
      deps,
      'account-level',
      () => levelSteps(session),
      () => codeStep.check(ctx, session, '/account/level'),
    );
  });

  router.post('/level/verify', async (ctx) => {
    const session = sessionOf(ctx);
    const page = async () => ({
      ...(await levelSteps(session)),
      realName: field(ctx, 'real_name'),
      idNumber: field(ctx, 'id_number'),
    });
    return act(ctx, deps, 'account-level', page, async () => {
      const checked = await deps.flowStates.get('id-verify', session.sessionUid);
      if (checked?.accountId !== session.account.id) throw new SmsCodeWrong();
      const { real_name: realName, id_number: idNumber } = formInput(ctx, realNameForm);
      await deps.realName
        .verify(session.account.id, { realName, idNumber, ip: ctx.ip })
        .catch(asFormFields(REAL_NAME_FIELDS));
      await deps.flowStates.remove('id-verify', session.sessionUid);
      await accountAudit(deps, ctx, session, { type: 'verification', method: 'id_card', outcome: 'success' });
      ctx.status = 303;
      ctx.redirect('/account/level?done=1');
    });
  });
}
