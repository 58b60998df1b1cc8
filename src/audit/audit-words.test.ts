import { describe, expect, it } from 'vitest';
import {
  ACTOR_KINDS,
  AUDIT_EVENT_TYPES,
  actorName,
  eventName,
  isAuditMethod,
  METHOD_PARTS,
  methodName,
  methodThen,
  nameMethodParts,
  outcomeName,
} from './audit-words.js';

const CHINESE = /\p{Script=Han}/u;
// A name may mention a product (USB Key) but never reads as a code: no snake_case, no dots.
const CODE_LIKE = /[a-z]+[_.][a-z]+/i;

describe('the words of the audit log', () => {
  // AUDIT_EVENT_TYPES is what AuditEvent.type accepts: an event the code can write is one of these.
  it.each(AUDIT_EVENT_TYPES)('names the event type %s in Chinese', (type) => {
    const name = eventName(type);
    expect(name).not.toBe(type);
    expect(name).toMatch(CHINESE);
    expect(name).not.toMatch(CODE_LIKE);
  });

  it('gives no two event types the same name, so a reader can tell them apart', () => {
    const names = AUDIT_EVENT_TYPES.map(eventName);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(METHOD_PARTS)('names the method %s in Chinese', (part) => {
    expect(methodName(part)).toMatch(CHINESE);
    expect(methodName(part)).not.toMatch(CODE_LIKE);
  });

  it('reads joined methods and a step-up part by part', () => {
    expect(methodName('password+otp')).toBe('密码+动态验证码');
    expect(methodName(methodThen('alipay+sms', 'recovery'))).toBe('支付宝+短信验证码+恢复码');
    expect(methodName('step_up_pwd')).toBe('安全验证（密码）');
    expect(methodName(null)).toBe('—');
  });

  it('takes back from storage only methods it can name', () => {
    expect(isAuditMethod('sms+otp')).toBe(true);
    expect(isAuditMethod('step_up_sms')).toBe(true);
    expect(isAuditMethod('password+magic')).toBe(false);
    expect(isAuditMethod('')).toBe(false);
  });

  it('names the words of a sign-in method registered beside the product’s, and takes them back', () => {
    expect(isAuditMethod('pin_test+otp')).toBe(false);
    nameMethodParts({ pin_test: '测试口令', sms: '不改名' });
    expect(isAuditMethod('pin_test+otp')).toBe(true);
    expect(methodName('pin_test+otp')).toBe('测试口令+动态验证码');
    expect(methodName('sms')).toBe('短信验证码');
    expect(() => nameMethodParts({ 'Pin Test': '口令' })).toThrow(/lower-case/);
  });

  it.each(Object.keys(ACTOR_KINDS))('names the actor kind %s, keeping which one it was', (kind) => {
    expect(actorName(kind)).toMatch(CHINESE);
    expect(actorName(`${kind}:abc-123`)).toMatch(/^\p{Script=Han}+（abc-123）$/u);
  });

  it('shows a code it does not know as it is, rather than hiding the row', () => {
    expect(eventName('some_future_event')).toBe('some_future_event');
    expect(actorName('robot:7')).toBe('robot:7');
    expect(eventName('constructor')).toBe('constructor');
    expect(outcomeName('failure')).toBe('失败');
  });
});
