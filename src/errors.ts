/**
 * Errors as typed values. Each carries its HTTP status, a stable machine code for JSON
 * answers, and the Chinese sentence a page shows. They are turned into responses in one
 * place (src/web/error-handler.ts); services and stores never know about HTTP otherwise.
 */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly status: number,
    readonly code: string,
    /** Shown to users as is: Simplified Chinese, no internals. */
    readonly userMessage: string,
    options?: { cause?: unknown; detail?: string },
  ) {
    super(options?.detail ?? `${code}: ${userMessage}`, options);
  }
}

/**
 * An error a page shows itself, with the form kept: the person's mistake (4xx) or an outside
 * service that failed, is down or hung (502, 503, 504). Anything else is a fault for the error
 * handler. The one rule of the page kit (src/web/page-kit.ts).
 */
export function shownOnForm(err: unknown): err is AppError {
  return err instanceof AppError && (err.status < 500 || [502, 503, 504].includes(err.status));
}

export class BadInput extends AppError {
  override name = 'BadInput';
  constructor(message: string, code = 'invalid_request') {
    super(400, code, message);
  }

  /** A failed zod parse, each problem as `path: message`. */
  static of(error: { issues: { path: PropertyKey[]; message: string }[] }): BadInput {
    return new BadInput(error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; '));
  }
}

/** One problem of one form field: `field` is the field's name (and its element's id on the page). */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * A form refused for the problems of one or more of its fields, all found in one submit, so that
 * the page marks each beside its field and lists them at the top (WCAG 3.3.1, 3.3.3).
 */
export class FormInvalid extends BadInput {
  override name = 'FormInvalid';
  constructor(
    readonly problems: readonly FieldProblem[],
    code = 'form_invalid',
  ) {
    super(problems.map((p) => p.message).join('；') || '请求格式不正确', code);
  }

  /** One field's problem. */
  static field(field: string, message: string): FormInvalid {
    return new FormInvalid([{ field, message }]);
  }
}

export class NotFound extends AppError {
  override name = 'NotFound';
  constructor(message = '页面不存在') {
    super(404, 'not_found', message);
  }
}

export class Conflict extends AppError {
  override name = 'Conflict';
  constructor(message: string, code = 'conflict') {
    super(409, code, message);
  }
}

export class CsrfRejected extends AppError {
  override name = 'CsrfRejected';
  constructor() {
    super(403, 'csrf', '页面已过期或请求来源无效，请刷新页面后重试');
  }
}

export class TooManyRequests extends AppError {
  override name = 'TooManyRequests';
  constructor(
    message = '操作过于频繁，请稍后再试',
    readonly retryAfterSeconds?: number,
  ) {
    super(429, 'too_many_requests', message);
  }
}

/**
 * A code went to this phone for this purpose less than the resend interval ago: that code is
 * still valid, which a flow may use (忘记密码 goes on to the step where it is typed).
 */
export class ResendTooSoon extends TooManyRequests {
  override name = 'ResendTooSoon';
  constructor(
    retryAfterSeconds: number,
    /** When that code was sent (ms since the epoch). */
    readonly sentAt: number,
  ) {
    super(`请在${retryAfterSeconds}秒后重新获取验证码`, retryAfterSeconds);
  }
}

/** Never says whether the account exists. */
export class LoginFailed extends AppError {
  override name = 'LoginFailed';
  /** The account the login named, when there is one: for the audit log, never for the page. */
  constructor(readonly accountId?: string) {
    super(401, 'login_failed', '账号或密码错误');
  }
}

/** A signed-in person's password, asked for again before a sensitive change, was wrong. */
export class PasswordWrong extends AppError {
  override name = 'PasswordWrong';
  constructor(message = '密码错误') {
    super(401, 'password_wrong', message);
  }
}

export class ServiceUnavailable extends AppError {
  override name = 'ServiceUnavailable';
  constructor(message = '服务暂不可用，请稍后重试', options?: { cause?: unknown }) {
    // OAuth's name for it, so protocol clients recognise the condition.
    super(503, 'temporarily_unavailable', message, options);
  }
}

export class SessionExpired extends AppError {
  override name = 'SessionExpired';
  constructor() {
    super(400, 'session_expired', '登录页面已过期，请返回原网站重新登录');
  }
}

export class CaptchaWrong extends AppError {
  override name = 'CaptchaWrong';
  constructor() {
    super(400, 'captcha_wrong', '图片验证码错误或已过期，请重新输入');
  }
}

/** An empty 图片验证码 box: the person skipped it, which is not a wrong answer. */
export class CaptchaMissing extends AppError {
  override name = 'CaptchaMissing';
  constructor() {
    super(400, 'captcha_missing', '请输入图片验证码');
  }
}

/**
 * The newest code of this phone and purpose timed out unused: the person holds an old code and
 * needs a new one, which "错误" would not tell them. The sender button says 重新发送 by then.
 */
export class SmsCodeExpired extends AppError {
  override name = 'SmsCodeExpired';
  constructor() {
    super(400, 'sms_code_expired', '短信验证码已过期，请点击“重新发送”获取新的验证码');
  }
}

export class SmsCodeWrong extends AppError {
  override name = 'SmsCodeWrong';
  constructor() {
    super(400, 'sms_code_wrong', '短信验证码错误或已过期');
  }
}

/** A sign-in whose account is locked (by an operator) or closed: told once the factor is proved. */
export class AccountUnavailable extends AppError {
  override name = 'AccountUnavailable';
  constructor() {
    super(403, 'account_unavailable', '账号已被锁定或注销，请联系客服');
  }
}
