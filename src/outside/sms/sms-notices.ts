import type { SmsMessage } from './sms-gateway.js';

/**
 * Notices: messages that carry no code and tell the phone's owner that something was tried in
 * their name. Each is a template registered with the gateway operator, without parameters, and
 * renders exactly as `text` says (the development outbox shows the text).
 */
export const SMS_NOTICES = {
  /** Someone asked for a registration code for a number that already has an account. */
  phoneAlreadyRegistered: {
    templateId: 'UNIFIED_ID_NOTICE_PHONE_REGISTERED',
    text: '【统一身份认证】该手机号已注册，如忘记密码请使用忘记密码。如非本人操作，请忽略本短信。',
  },
  /** Another account tried 实名认证 with the ID number this phone's account is verified with. */
  idNumberTriedElsewhere: {
    templateId: 'UNIFIED_ID_NOTICE_ID_NUMBER_TRIED',
    text: '【统一身份认证】有人尝试使用您已实名认证的身份证号码为其他账号进行实名认证，未获通过。如非本人操作，请留意个人信息安全。',
  },
  /** 更换手机号 without the old phone: the old phone hears of it, success or refusal. */
  phoneChangedWithoutIt: {
    templateId: 'UNIFIED_ID_NOTICE_PHONE_CHANGED',
    text: '【统一身份认证】您的账号已通过实名信息核验将绑定手机号更换为新号码，本手机号不再接收该账号的验证码。如非本人操作，请立即联系客服。',
  },
  phoneChangeWithoutItRefused: {
    templateId: 'UNIFIED_ID_NOTICE_PHONE_CHANGE_REFUSED',
    text: '【统一身份认证】有人在您的账号中尝试不经本手机号验证更换绑定手机号，未获通过。如非本人操作，请尽快修改密码。',
  },
  /**
   * To every 审计管理员: an operator role was granted or removed. It names nobody; the 概览 page of
   * the console and the audit log say who, by whom and why.
   */
  operatorRoleChanged: {
    templateId: 'UNIFIED_ID_NOTICE_OPERATOR_ROLE_CHANGED',
    text: '【统一身份认证】管理后台的操作员角色发生变更，请登录管理后台在统计概览中核对。如非计划内变更，请立即处理。',
  },
} as const;

export type SmsNotice = (typeof SMS_NOTICES)[keyof typeof SMS_NOTICES];

export function noticeMessage(phone: string, notice: SmsNotice): SmsMessage {
  return { phone, templateId: notice.templateId, params: {}, text: notice.text };
}
