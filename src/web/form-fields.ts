import { z } from 'zod';

// The page forms' fields as zod schemas, read through `formInput` (src/web/page-kit.ts). A schema
// checks presence and shape and caps lengths far beyond anything a person types, so that over-long
// input is refused here with a Chinese message instead of reaching a service; the deeper checks
// (phone parsing, the password rule, ID-number check characters) stay in the services and parsers.

/** A password as typed (read raw): the rule allows 64 characters, so 65–1024 still get its own message. */
export const secretField = z.string().max(1024, '密码过长');

/** Codes the person types (短信验证码, 图片验证码), capped well beyond their 4–6 characters. */
export const smsCodeField = z.string().max(64, '短信验证码错误或已过期');
export const captchaField = z.string().max(64, '图片验证码错误或已过期，请重新输入');

/** A 手机号码 as typed (spaces and +86 allowed); parseMainlandMobile decides whether it is one. */
export const phoneField = z.string().max(64, '请输入正确的手机号码');

/** A login string: a phone number, an ID number or a credit code. */
export const loginField = z.string().max(128, '账号过长，请检查后重新输入');

/** Which button was pressed. */
export const actionField = z.string().max(32, '请求格式不正确');

/** Free text the person types (names, addresses), with the field's own words when it is too long. */
export const textField = (max: number, message: string) => z.string().max(max, message);

/** 身份证号码 and 统一社会信用代码 (18 characters): the parsers judge them, the cap only their size. */
export const idNumberField = z.string().max(64, '身份证号码格式不正确');
export const creditCodeField = z.string().max(64, '统一社会信用代码格式不正确');

/** A person's name: REAL_NAME allows 2–30 characters. */
export const realNameField = z.string().max(200, '请输入正确的真实姓名');

/** RealNameService's names for what it judges, as the 实名认证 forms name the fields. */
export const REAL_NAME_FIELDS = { realName: 'real_name', idNumber: 'id_number' } as const;

/** A checkbox such as 我已阅读并同意: `yes` when ticked. */
export const checkboxField = z.string().max(16, '请求格式不正确');

/** Just the button: each branch then reads only the fields it needs. */
export const actionForm = z.object({ action: actionField });

/** A 动态验证码 (6 digits) or a recovery code, with TotpWrong's words. */
export const totpCodeField = z.string().max(64, '动态验证码或恢复码错误');
