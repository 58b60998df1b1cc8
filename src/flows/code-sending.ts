import type { Context } from 'koa';
import { maskPhone } from '../accounts/phone.js';
import type { FlowStates } from '../state/flow-state.js';
import { SMS_RULES, type SmsCodeService } from '../verification/sms-code-service.js';
import { type FormProblems, type PageData, passwordsTyped, wantsJson } from '../web/page-kit.js';

/** What a page says once a code is on its way: where (masked) and for how long it holds. */
export function codeSentNotice(phone: string, to = ''): string {
  return `验证码已发送至${to} ${maskPhone(phone)}，${SMS_RULES.ttlSeconds / 60}分钟内有效`;
}

/**
 * When this page's 获取验证码 last sent (or, for a number the page may not say is unknown,
 * pretended to send) a code, per interaction or account-space session (flow state `sms-sent`): a
 * page shown again after an error counts down from that moment, and only when there was one.
 * `target` is `purpose:phone`, so a code for one number never starts another's countdown.
 */
export async function rememberCodeSent(flowStates: FlowStates, scope: string, target: string) {
  await flowStates.put('sms-sent', scope, { target, sentAt: Date.now() });
}

/** Whether a code went to `target` in this flow, and the seconds left before 重新发送. */
export async function codeSentTo(
  flowStates: FlowStates,
  scope: string,
  target: string | undefined,
): Promise<{ smsSent: boolean; resendAfterSeconds: number }> {
  const state = target ? await flowStates.get('sms-sent', scope) : undefined;
  if (!state || state.target !== target) return { smsSent: false, resendAfterSeconds: 0 };
  const left = Math.ceil((state.sentAt + SMS_RULES.resendAfterSeconds * 1000 - Date.now()) / 1000);
  return { smsSent: true, resendAfterSeconds: Math.max(0, left) };
}

/**
 * The answer to 获取验证码 once the code is on its way: JSON to the page's script, which keeps
 * the form as typed; without the script, the page again (a browser does not get passwords back
 * from a server, so it says they must be typed again).
 */
export async function answerCodeSent(
  ctx: Context,
  flowStates: FlowStates,
  sent: { scope: string; target: string; notice: string },
  render: (extra: Record<string, unknown>) => void | Promise<void>,
) {
  await rememberCodeSent(flowStates, sent.scope, sent.target);
  const resendAfterSeconds = SMS_RULES.resendAfterSeconds;
  if (wantsJson(ctx)) {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { notice: sent.notice, resendAfterSeconds };
    return;
  }
  // Each cleared password field says 请重新输入密码 beside itself (field-marks.ts).
  await render({ smsSent: true, resendAfterSeconds, notice: sent.notice, retype: passwordsTyped(ctx) });
}

/**
 * The end of a registration form's judging: the SMS code sent to `phone` (undefined when the
 * phone itself was refused) is judged last, and used up only when every other field was right;
 * otherwise it is only compared (SmsCodeService.check), so a right code still serves the next
 * submit. A refused code is cleared on the page, and the form is refused with every problem.
 */
export async function judgeRegisterCodeLast(
  problems: FormProblems,
  sms: Pick<SmsCodeService, 'check' | 'verify'>,
  page: PageData,
  entered: { phone: string | undefined; code: string; ip: string },
): Promise<void> {
  const { phone, code, ip } = entered;
  if (code === '') problems.add('sms_code', '请输入短信验证码');
  else if (phone) {
    const entry = { phone, purpose: 'register' as const, code, ip };
    await problems.check('sms_code', () => (problems.found ? sms.check(entry) : sms.verify(entry)));
  }
  if (problems.has('sms_code')) page['smsCode'] = '';
  problems.throwIfAny();
}
