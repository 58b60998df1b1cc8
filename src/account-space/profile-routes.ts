import type Router from '@koa/router';
import type { AccountRow } from '../accounts/account-store.js';
import { maskPhone } from '../accounts/phone.js';
import { PasswordWrong, SmsCodeWrong } from '../errors.js';
import { alipayCertifyUrl } from '../flows/methods/alipay/account-space-routes.js';
import { field, rawField } from '../http/body.js';
import { type AccountPageDeps, type AccountSpaceDeps, accountAudit } from './account-context.js';
import { act, sessionOf, show } from './account-page.js';

const LEVEL_EXPLANATIONS = [
  {
    level: 'L1',
    name: '注册未实名',
    allows: '可以登录各政务服务网站、查询公开信息，但不能办理需要实名的网上业务。',
  },
  {
    level: 'L2',
    name: '实名',
    allows: '姓名和身份证号码已核验（或支付宝实名认证），可以办理绝大多数网上业务。',
  },
  { level: 'L3', name: '高级（CA）', allows: '法人已绑定数字证书，可以办理要求数字证书的业务。' },
];

/** 基本信息 and 认证等级 (身份证认证). */
export function profileRoutes(
  router: Router,
  deps: AccountPageDeps &
    Pick<AccountSpaceDeps, 'flowStates' | 'realName' | 'sms' | 'alipay' | 'legalPersons'>,
) {
  const levelPage = () => ({
    title: '认证等级',
    levels: LEVEL_EXPLANATIONS,
    alipayCertifyUrl: alipayCertifyUrl(deps),
  });

  // A citizen sees the enterprises registered with them as legal representative (each one
  // confirmed by their own SMS code), so one registered in their name would not go unnoticed.
  const profilePage = async (account: AccountRow) => ({
    title: '基本信息',
    levels: LEVEL_EXPLANATIONS,
    represented:
      account.user_type === 'natural_person'
        ? (await deps.legalPersons.representedBy(account.id)).map((e) => ({
            orgName: e.org_name,
            creditCode: e.credit_code,
            since: new Date(e.created_at).toLocaleDateString('zh-CN', { timeZone: 'Asia/Shanghai' }),
          }))
        : [],
  });

  router.get('/', async (ctx) =>
    show(ctx, deps, 'account-profile', await profilePage(sessionOf(ctx).account)),
  );

  // The whole name and ID number, only after the password again.
  router.post('/reveal', async (ctx) => {
    const session = sessionOf(ctx);
    const page = () => profilePage(session.account);
    return act(ctx, deps, 'account-profile', page, async () => {
      if (!(await deps.accounts.checkPasswordOf(session.account, rawField(ctx, 'password')))) {
        throw new PasswordWrong();
      }
      const identity = deps.accounts.identityOf(session.account);
      await accountAudit(deps, ctx, session, { type: 'identity_revealed', outcome: 'success' });
      show(ctx, deps, 'account-profile', { ...(await page()), revealed: identity });
    });
  });

  router.get('/level', async (ctx) =>
    show(ctx, deps, 'account-level', {
      ...levelPage(),
      notice: ctx.query['done'] ? '实名认证成功，您的认证等级已提升，各网站下次登录时生效' : undefined,
    }),
  );

  // 身份证认证: an SMS code to the account's phone first, then name + ID number.
  router.post('/level/send-sms', async (ctx) => {
    const session = sessionOf(ctx);
    const page = async () => ({ ...levelPage() });
    return act(ctx, deps, 'account-level', page, async () => {
      await deps.sms.send({ phone: session.smsPhone, purpose: 'account', ip: ctx.ip });
      show(ctx, deps, 'account-level', {
        ...(await page()),
        smsSent: true,
        notice: `验证码已发送至 ${maskPhone(session.smsPhone)}`,
      });
    });
  });

  router.post('/level/check-sms', async (ctx) => {
    const session = sessionOf(ctx);
    const page = async () => ({ ...levelPage(), smsSent: true });
    return act(ctx, deps, 'account-level', page, async () => {
      await deps.sms.verify({
        phone: session.smsPhone,
        purpose: 'account',
        code: field(ctx, 'sms_code'),
        ip: ctx.ip,
      });
      await deps.flowStates.put('id-verify', session.sessionUid, { accountId: session.account.id });
      show(ctx, deps, 'account-level', { ...(await page()), smsChecked: true });
    });
  });

  router.post('/level/verify', async (ctx) => {
    const session = sessionOf(ctx);
    const page = async () => ({
      ...levelPage(),
      smsChecked: true,
      realName: field(ctx, 'real_name'),
      idNumber: field(ctx, 'id_number'),
    });
    return act(ctx, deps, 'account-level', page, async () => {
      const checked = await deps.flowStates.get('id-verify', session.sessionUid);
      if (checked?.accountId !== session.account.id) throw new SmsCodeWrong();
      await deps.realName.verify(session.account.id, {
        realName: field(ctx, 'real_name'),
        idNumber: field(ctx, 'id_number'),
        ip: ctx.ip,
      });
      await deps.flowStates.remove('id-verify', session.sessionUid);
      await accountAudit(deps, ctx, session, { type: 'verification', method: 'id_card', outcome: 'success' });
      ctx.redirect('/account/level?done=1');
    });
  });
}
