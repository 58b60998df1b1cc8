// The one dictionary of what the audit log's codes mean in words: every page, chart and export
// that shows an event type, a sign-in method or an actor reads it here.

/**
 * Every event type the product writes. `AuditEvent.type` takes only these, so a new event
 * does not compile until it is listed here, and then not until it has a name below.
 */
export const AUDIT_EVENT_TYPES = [
  'login',
  'step_up',
  'logout',
  'registration',
  'verification',
  'password_reset',
  'password_change',
  'phone_change',
  'totp_enabled',
  'totp_disabled',
  'totp_recovery_codes',
  'consent',
  'consent_revoked',
  'session_ended',
  'identity_revealed',
  'certificate_bound',
  'certificate_unbound',
  'alipay_link',
  'alipay_unlink',
  'legal_representative_requested',
  'legal_representative_confirmed',
  'account_closed',
  'admin.operator_added',
  'admin.operator_removed',
  'admin.client_created',
  'admin.client_updated',
  'admin.client_disabled',
  'admin.client_enabled',
  'admin.client_secret_rotated',
  'admin.client_removed',
  'admin.resource_server_added',
  'admin.resource_server_removed',
  'admin.resource_server_secret_rotated',
  'admin.keys_rotated',
  'admin.crypto_migrated',
  'admin.audit_exported',
  'admin.account_locked',
  'admin.account_unlocked',
  'admin.account_signed_out',
  'admin.login_failures_cleared',
  'admin.identity_corrected',
  'admin.identity_revealed',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** An administrator's action, written as `admin.<action>`. */
export type AdminAction<T = AuditEventType> = T extends `admin.${infer A}` ? A : never;

const EVENT_NAMES: Record<AuditEventType, string> = {
  login: '登录',
  step_up: '安全验证',
  logout: '退出登录',
  registration: '注册',
  verification: '实名认证',
  password_reset: '重置密码',
  password_change: '修改密码',
  phone_change: '更换手机号',
  totp_enabled: '开启两步验证',
  totp_disabled: '关闭两步验证',
  totp_recovery_codes: '重新生成恢复码',
  consent: '授权网站',
  consent_revoked: '取消授权',
  session_ended: '退出登录设备',
  identity_revealed: '查看完整实名信息',
  certificate_bound: '绑定数字证书',
  certificate_unbound: '解除绑定数字证书',
  alipay_link: '关联支付宝账户',
  alipay_unlink: '解除支付宝绑定',
  legal_representative_requested: '有人申请以您为法定代表人注册法人账号（已发送验证码）',
  legal_representative_confirmed: '确认担任法定代表人（法人注册）',
  account_closed: '注销账号',
  'admin.operator_added': '新增操作员',
  'admin.operator_removed': '移除操作员',
  'admin.client_created': '登记接入网站',
  'admin.client_updated': '修改接入网站',
  'admin.client_disabled': '停用接入网站',
  'admin.client_enabled': '启用接入网站',
  'admin.client_secret_rotated': '重置网站密钥',
  'admin.client_removed': '删除接入网站',
  'admin.resource_server_added': '登记资源服务',
  'admin.resource_server_removed': '删除资源服务',
  'admin.resource_server_secret_rotated': '重置资源服务密钥',
  'admin.keys_rotated': '轮换签名密钥',
  'admin.crypto_migrated': '迁移存量数据的密码算法',
  'admin.audit_exported': '导出审计日志',
  'admin.account_locked': '锁定账号',
  'admin.account_unlocked': '解锁账号',
  'admin.account_signed_out': '退出账号全部登录',
  'admin.login_failures_cleared': '清除登录失败计数',
  'admin.identity_corrected': '更正身份信息',
  'admin.identity_revealed': '管理员查看完整身份信息',
};

/** The event's name; a type this version does not know (an older or newer row) shows as it is. */
export function eventName(type: string): string {
  return Object.hasOwn(EVENT_NAMES, type) ? EVENT_NAMES[type as AuditEventType] : type;
}

/**
 * The parts a sign-in or check method is written with: the login methods, the factors of a
 * step-up (RFC 8176 amr values), and the ways a registration, real-name check or phone change
 * was proved. A method joins parts with `+` in the order they were used (`password+otp`).
 */
export const METHOD_PARTS = [
  'password',
  'pwd',
  'sms',
  'otp',
  'totp',
  'recovery',
  'certificate',
  'hwk',
  'swk',
  'alipay',
  'legal_person',
  'id_card',
  'identity',
  'registration',
] as const;

export type KnownMethodPart = (typeof METHOD_PARTS)[number];

/**
 * Every part the log may hold, as the keys of an interface: the product's own (METHOD_PARTS),
 * and the words of a sign-in method in a folder of its own, which adds them where it is
 * declared by augmenting this interface (and names them in its `auditNames`):
 *
 *     declare module '<path to>/audit/audit-words.js' {
 *       interface MethodParts { pin: true }
 *     }
 *
 * So a misspelt part does not compile, while a new method edits no file of the product's. (A
 * test fixture's augmentation is seen by the type check of the tests, which reads src too; the
 * build reads src alone, where it is not.)
 */
export interface MethodParts extends Record<KnownMethodPart, true> {}

/** A part the log may hold: see MethodParts. */
export type MethodPart = keyof MethodParts & string;

/** What `AuditEvent.method` holds: one part, two joined, or a step-up's failed factor. */
export type AuditMethod = MethodPart | `${MethodPart}+${MethodPart}` | `step_up_${MethodPart}`;

const METHOD_NAMES: Record<KnownMethodPart, string> = {
  password: '密码',
  pwd: '密码',
  sms: '短信验证码',
  otp: '动态验证码',
  totp: '动态验证码',
  recovery: '恢复码',
  certificate: '数字证书',
  hwk: '数字证书（USB Key）',
  swk: '数字证书（证书文件）',
  alipay: '支付宝',
  legal_person: '法人注册核验',
  id_card: '身份证核验',
  identity: '实名信息核验',
  registration: '注册后自动登录',
};

const STEP_UP = 'step_up_';

/** A part's shape: lower-case words, as METHOD_PARTS are written. */
const METHOD_PART = /^[a-z][a-z0-9_]{0,31}$/;

/** What a registry of sign-in methods tells about itself here: the words each writes. */
export interface NamingMethod {
  /** The words it writes in the log beyond the product's own, with their Chinese names. */
  auditNames?: MethodPartNames;
}

/** The Chinese names of a method's own parts (those it added to MethodParts). */
export type MethodPartNames = Readonly<Partial<Record<MethodPart, string>>>;

/**
 * The words of the audit log's `method` as one server knows them: the product's own, and those
 * its registered sign-in methods name (a method of its own folder writes a word the product
 * does not know). Each server builds one from the methods it was built with, so two servers in
 * one process (tests) name only their own methods' words.
 */
export class MethodWords {
  readonly #registered = new Map<string, string>();

  /** Throws at start-up on a word that is not lower-case words; a known word keeps its name. */
  constructor(names: Readonly<Record<string, string | undefined>> = {}) {
    for (const [part, name] of Object.entries(names)) {
      if (name === undefined) continue;
      if (!METHOD_PART.test(part)) throw new Error(`audit method word "${part}" is not lower-case words`);
      if (!Object.hasOwn(METHOD_NAMES, part)) this.#registered.set(part, name);
    }
  }

  /** The words of these sign-in methods (a registry's), beside the product's. */
  static of(methods: readonly NamingMethod[]): MethodWords {
    return new MethodWords(Object.assign({}, ...methods.map((m) => m.auditNames ?? {})));
  }

  #partName(part: string): string | undefined {
    return Object.hasOwn(METHOD_NAMES, part)
      ? METHOD_NAMES[part as KnownMethodPart]
      : this.#registered.get(part);
  }

  /** `password+otp` reads 密码+动态验证码, `step_up_pwd` 安全验证（密码）; no method reads —. */
  name(method: string | null | undefined): string {
    if (!method) return '—';
    if (method.startsWith(STEP_UP)) return `安全验证（${this.name(method.slice(STEP_UP.length))}）`;
    return method
      .split('+')
      .map((part) => this.#partName(part) ?? part)
      .join('+');
  }

  /** Whether a stored value is a method this server writes (a flow state read back, say). */
  isMethod(value: string): value is AuditMethod {
    const parts = (value.startsWith(STEP_UP) ? value.slice(STEP_UP.length) : value).split('+');
    return parts.every((part) => this.#partName(part) !== undefined);
  }
}

/** A method used after another in the same sign-in (a second factor after the first). */
export function methodThen(first: AuditMethod, then: MethodPart): AuditMethod {
  // Three parts and more are not spelled out in AuditMethod; MethodWords.name reads any number.
  return `${first}+${then}` as AuditMethod;
}

/**
 * Who an event's actor is: the person themselves (`user`), the server (`system`), its command
 * line (`cli`), a console operator (`operator:<account id>`) or an admin-API client
 * (`admin:<client id>`). The part after the colon is kept: it says which one.
 */
export const ACTOR_KINDS = {
  user: '用户本人',
  system: '系统',
  cli: '服务器命令行',
  operator: '管理员',
  admin: '管理接口客户端',
} as const;

export type ActorKind = keyof typeof ACTOR_KINDS;

export function actorName(actor: string): string {
  const colon = actor.indexOf(':');
  const kind = colon < 0 ? actor : actor.slice(0, colon);
  if (!Object.hasOwn(ACTOR_KINDS, kind)) return actor;
  const name = ACTOR_KINDS[kind as ActorKind];
  return colon < 0 ? name : `${name}（${actor.slice(colon + 1)}）`;
}

const OUTCOME_NAMES: Record<string, string> = { success: '成功', failure: '失败', info: '信息' };

export function outcomeName(outcome: string): string {
  return OUTCOME_NAMES[outcome] ?? outcome;
}
