import { describe, expect, expectTypeOf, it } from 'vitest';
import { pinMethod } from '../../test/fixtures/pin-method/index.js';
import { LOGIN_METHODS } from '../flows/methods/index.js';
import type { Proven } from '../flows/methods/login-method.js';
import {
  ACTOR_KINDS,
  AUDIT_EVENT_TYPES,
  type AuditMethod,
  actorName,
  eventName,
  METHOD_PARTS,
  type MethodPart,
  type MethodPartNames,
  MethodWords,
  methodThen,
  outcomeName,
} from './audit-words.js';

/** The product's own words: no method of a folder of its own registered. */
const PRODUCT = MethodWords.of(LOGIN_METHODS);
const methodName = (method: string | null) => PRODUCT.name(method);

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
    expect(PRODUCT.isMethod('sms+otp')).toBe(true);
    expect(PRODUCT.isMethod('step_up_sms')).toBe(true);
    expect(PRODUCT.isMethod('password+magic')).toBe(false);
    expect(PRODUCT.isMethod('')).toBe(false);
    expect(PRODUCT.isMethod('constructor')).toBe(false);
  });

  it('names the words of a sign-in method registered beside the product’s, and takes them back', () => {
    const words = new MethodWords({ pin_test: '测试口令', sms: '不改名' });
    expect(words.isMethod('pin_test+otp')).toBe(true);
    expect(words.name('pin_test+otp')).toBe('测试口令+动态验证码');
    expect(words.name('step_up_pin_test')).toBe('安全验证（测试口令）');
    expect(words.name('sms')).toBe('短信验证码');
    expect(() => new MethodWords({ 'Pin Test': '口令' })).toThrow(/lower-case/);
  });

  it('keeps each registry’s words to the servers built with it, though they share a process', () => {
    const withPin = MethodWords.of([...LOGIN_METHODS, pinMethod]);
    const without = MethodWords.of(LOGIN_METHODS);
    expect(withPin.name('pin+otp')).toBe('口令+动态验证码');
    expect(withPin.isMethod('pin')).toBe(true);
    // Built after the other, and still blind to its word: nothing is registered process-wide.
    expect(MethodWords.of(LOGIN_METHODS).name('pin')).toBe('pin');
    expect(without.name('pin+otp')).toBe('pin+动态验证码');
    expect(without.isMethod('pin')).toBe(false);
    expect(without.isMethod('pin+otp')).toBe(false);
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

// Checked by the type checker (npx tsc --noEmit, which reads the tests): each @ts-expect-error
// line must fail to compile, or the check fails.
describe('the parts a method may write, as the compiler knows them', () => {
  it('takes the product’s parts and those a method of its own folder added, and no misspelt one', () => {
    expectTypeOf<'password'>().toExtend<MethodPart>();
    expectTypeOf<'step_up_sms'>().toExtend<AuditMethod>();
    // Added by test/fixtures/pin-method, which augments MethodParts where it is declared.
    expectTypeOf<'pin'>().toExtend<MethodPart>();
    expectTypeOf<'pin+otp'>().toExtend<AuditMethod>();
    expectTypeOf<'passwrod'>().not.toExtend<MethodPart>();
    expectTypeOf<'password+otpp'>().not.toExtend<AuditMethod>();
    expectTypeOf<string>().not.toExtend<MethodPart>();

    const proven: Proven = {
      accountId: 'a',
      verified: ['pwd'],
      // @ts-expect-error a misspelt method does not compile
      method: 'pasword',
    };
    // @ts-expect-error nor a misspelt part after the first
    const then = () => methodThen('password', 'recovry');
    // @ts-expect-error a method names only the parts it added to MethodParts
    const names: MethodPartNames = { pni: '口令' };
    const pinNames: MethodPartNames = { pin: '口令' };
    // At run time the words are only strings: MethodWords reads a misspelt one as it is.
    expect(PRODUCT.name(proven.method)).toBe('pasword');
    expect(PRODUCT.name(then())).toBe('密码+recovry');
    expect(new MethodWords(names).name('pni')).toBe('口令');
    expect(MethodWords.of([{ auditNames: pinNames }]).name('pin')).toBe('口令');
  });
});
