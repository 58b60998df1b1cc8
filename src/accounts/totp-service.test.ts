import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openEmbeddedCopy } from '../../test/support/embedded-template.js';
import { DataProtector } from '../crypto/sealed.js';
import type { Database } from '../db/database.js';
import { AppError, TooManyRequests } from '../errors.js';
import { FlowStates } from '../state/flow-state.js';
import { FlowStateStore } from '../state/flow-state-store.js';
import type { AccountRow } from './account-store.js';
import { TotpService, TotpWrong } from './totp-service.js';
import { TotpStore } from './totp-store.js';

// 两步验证 as an attacker meets it: a code accepted once, a step either side and no further,
// recovery codes single use, and a cap on guesses that a correct code does not lift.
let database: Database;
let protector: DataProtector;
let totp: TotpService;
let serial = 0;

beforeAll(async () => {
  database = openEmbeddedCopy();
  protector = new DataProtector(Buffer.alloc(32, 5));
  totp = new TotpService(
    new TotpStore(database.db),
    new FlowStates(new FlowStateStore(database.db), protector),
    protector,
  );
});
afterAll(() => database?.close());

const account = async (id: string) =>
  (await database.db('accounts').where({ id }).first()) as AccountRow & { totp_secret: string | null };
const codeAt = (secret: string, secondsFromNow: number) =>
  generate({ secret, epoch: Math.floor(Date.now() / 1000) + secondsFromNow });

/** A new account with two-step verification on: its id, secret and recovery codes. */
async function enrolled() {
  const id = `totp-${++serial}`;
  await database
    .db('accounts')
    .insert({ id, user_type: 'natural_person', phone: `1380000${String(serial).padStart(4, '0')}` });
  const { secret } = await totp.beginEnrolment(id, '138****0000');
  // The code of the step before now: the current one stays unspent for the checks that follow.
  const recovery = await totp.confirmEnrolment(id, await codeAt(secret, -30));
  return { id, secret, recovery };
}

async function failure(attempt: Promise<unknown>): Promise<unknown> {
  try {
    await attempt;
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('two-step verification', () => {
  it('turns on only with a correct first code, keeps the secret sealed, and gives ten recovery codes once', async () => {
    const id = 'totp-enrol';
    await database.db('accounts').insert({ id, user_type: 'natural_person', phone: '13900000000' });
    const { secret, uri, qrDataUrl } = await totp.beginEnrolment(id, '139****0000');
    expect(uri).toContain(`secret=${secret}`);
    expect(decodeURIComponent(uri)).toContain('统一身份认证');
    expect(qrDataUrl).toMatch(/^data:image\/png;base64,/);
    // The page shows it 200 pixels wide (the PNG's IHDR: width at byte 16).
    expect(Buffer.from(qrDataUrl.split(',')[1]!, 'base64').readUInt32BE(16)).toBe(200);
    expect(await failure(totp.confirmEnrolment(id, '000000'))).toBeInstanceOf(TotpWrong);
    expect(await failure(totp.confirmEnrolment(id, 'abcdef'))).toBeInstanceOf(TotpWrong);
    // A right code with a digit or a letter more is no code: refused as wrong, not a fault.
    for (const longer of [`${await codeAt(secret, 0)}7`, `7${await codeAt(secret, 0)}`])
      expect(await failure(totp.confirmEnrolment(id, longer))).toBeInstanceOf(TotpWrong);
    const wrong = (await failure(totp.confirmEnrolment(id, '000000'))) as AppError;
    expect([wrong.status, wrong.code]).toEqual([400, 'totp_wrong']);
    expect(wrong.message).toContain('动态验证码或恢复码错误');
    expect((await account(id)).totp_enabled_at).toBeNull();

    // Typed with spaces around it, as a code copied from the app often is.
    const codes = await totp.confirmEnrolment(id, ` ${await codeAt(secret, 0)} `);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9A-F]{5}-[0-9A-F]{5}$/);
    const row = await account(id);
    expect(row.totp_enabled_at).not.toBeNull();
    expect(row.totp_secret).not.toContain(secret);
    expect(await totp.unusedRecoveryCodes(id)).toBe(10);
    // The enrolment is spent: a second confirmation finds nothing to confirm.
    const again = await failure(totp.confirmEnrolment(id, await codeAt(secret, 0)));
    expect(again).toBeInstanceOf(AppError);
    expect((again as AppError).code).toBe('totp_expired');
    expect((again as AppError).message).toContain('设置已过期，请重新开始');
  });

  it('accepts a code of a step either side of now once, but not one two steps away', async () => {
    const { id, secret } = await enrolled();
    // A clock a step ahead is forgiven, once; after it, a code of an earlier step is a replay.
    const next = await codeAt(secret, 30);
    await expect(totp.check(await account(id), ` ${next} `)).resolves.toBe('otp');
    expect(await failure(totp.check(await account(id), next))).toBeInstanceOf(TotpWrong);
    // … and still a replay a moment later: what is spent is the code's time-step, not the second it came in.
    const second = Math.floor(Date.now() / 1000);
    await vi.waitFor(() => expect(Math.floor(Date.now() / 1000)).toBeGreaterThan(second), {
      interval: 50,
      timeout: 2_000,
    });
    expect(await failure(totp.check(await account(id), next))).toBeInstanceOf(TotpWrong);
    expect(await failure(totp.check(await account(id), await codeAt(secret, -30)))).toBeInstanceOf(TotpWrong);
    expect(await failure(totp.check(await account(id), await codeAt(secret, 0)))).toBeInstanceOf(TotpWrong);
    expect(await failure(totp.check(await account(id), await codeAt(secret, 75)))).toBeInstanceOf(TotpWrong);
    // A clock a step behind is forgiven too, on an account that has accepted nothing of late.
    const behind = await enrolled();
    const now = Math.floor(Date.now() / 1000 / 30);
    await database
      .db('accounts')
      .where({ id: behind.id })
      .update({ totp_last_step: now - 5 });
    await expect(totp.check(await account(behind.id), await codeAt(behind.secret, -30))).resolves.toBe('otp');
    expect(
      await failure(totp.check(await account(behind.id), await codeAt(behind.secret, -75))),
    ).toBeInstanceOf(TotpWrong);
  });

  it('refuses a right code with a digit more as wrong, and takes it as typed after', async () => {
    const { id, secret } = await enrolled();
    const code = await codeAt(secret, 0);
    for (const longer of [`${code}7`, `7${code}`])
      expect(await failure(totp.check(await account(id), longer))).toBeInstanceOf(TotpWrong);
    await expect(totp.check(await account(id), code)).resolves.toBe('otp');
  });

  it('does not take the code that turned it on again, at a sign-in in the same time-step', async () => {
    const id = `totp-${++serial}`;
    await database.db('accounts').insert({ id, user_type: 'natural_person', phone: '13900000009' });
    const { secret } = await totp.beginEnrolment(id, '139****0009');
    const first = await codeAt(secret, 0);
    await totp.confirmEnrolment(id, first);
    expect(await failure(totp.check(await account(id), first))).toBeInstanceOf(TotpWrong);
    await expect(totp.check(await account(id), await codeAt(secret, 30))).resolves.toBe('otp');
  });

  it("refuses another account's code, and any code once two-step verification is off", async () => {
    const first = await enrolled();
    const second = await enrolled();
    expect(
      await failure(totp.check(await account(second.id), await codeAt(first.secret, 30))),
    ).toBeInstanceOf(TotpWrong);
    expect(await failure(totp.check(await account(second.id), first.recovery[0]!))).toBeInstanceOf(TotpWrong);
    await totp.disable(first.id);
    expect(await failure(totp.check(await account(first.id), await codeAt(first.secret, 30)))).toBeInstanceOf(
      TotpWrong,
    );
    expect(await failure(totp.check(await account(first.id), first.recovery[1]!))).toBeInstanceOf(TotpWrong);
  });

  it('takes a recovery code once, in any case and with spaces around it', async () => {
    const { id, recovery } = await enrolled();
    await expect(totp.check(await account(id), ` ${recovery[0]!.toLowerCase()} `)).resolves.toBe('recovery');
    expect(await failure(totp.check(await account(id), recovery[0]!))).toBeInstanceOf(TotpWrong);
    expect(await totp.unusedRecoveryCodes(id)).toBe(9);
    // A recovery code with its hyphen dropped, or a digit changed, is not one.
    expect(await failure(totp.check(await account(id), recovery[1]!.replace('-', '')))).toBeInstanceOf(
      TotpWrong,
    );
    await expect(totp.check(await account(id), recovery[1]!)).resolves.toBe('recovery');
  });

  it('stops taking recovery codes once new ones are made, and takes the new ones', async () => {
    const { id, recovery } = await enrolled();
    const fresh = await totp.regenerateRecoveryCodes(id);
    expect(fresh).toHaveLength(10);
    expect(fresh.some((c) => recovery.includes(c))).toBe(false);
    expect(await failure(totp.check(await account(id), recovery[2]!))).toBeInstanceOf(TotpWrong);
    await expect(totp.check(await account(id), fresh[0]!)).resolves.toBe('recovery');
  });

  it('refuses even a correct code after five wrong ones in the window', async () => {
    const { id, secret, recovery } = await enrolled();
    for (let i = 0; i < 5; i++)
      expect(await failure(totp.check(await account(id), '000000'))).toBeInstanceOf(TotpWrong);
    const refused = await failure(totp.check(await account(id), await codeAt(secret, 30)));
    expect(refused).toBeInstanceOf(TooManyRequests);
    expect((refused as TooManyRequests).message).toContain('错误次数过多，请15分钟后再试');
    // … for the 15 minutes it says.
    const { totp_attempts_until: until } = await database.db('accounts').where({ id }).first();
    expect(new Date(until).getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);
    expect(await failure(totp.check(await account(id), recovery[0]!))).toBeInstanceOf(TooManyRequests);
    expect(await totp.unusedRecoveryCodes(id)).toBe(10);
  });

  it('lets the guesses start again after a correct code or recovery code', async () => {
    const { id, secret, recovery } = await enrolled();
    for (let i = 0; i < 4; i++) await failure(totp.check(await account(id), '000000'));
    await expect(totp.check(await account(id), await codeAt(secret, 30))).resolves.toBe('otp');
    for (let i = 0; i < 4; i++) await failure(totp.check(await account(id), '000000'));
    await expect(totp.check(await account(id), recovery[0]!)).resolves.toBe('recovery');
    for (let i = 0; i < 4; i++)
      expect(await failure(totp.check(await account(id), 'AAAAA-AAAAA'))).toBeInstanceOf(TotpWrong);
    await expect(totp.check(await account(id), recovery[1]!)).resolves.toBe('recovery');
  });

  it("changes no other account's two-step verification when one account turns it on, off or makes new recovery codes", async () => {
    const other = await enrolled();
    const withoutTotp = `totp-${++serial}`;
    await database
      .db('accounts')
      .insert({ id: withoutTotp, user_type: 'natural_person', phone: '13900000019' });
    const before = await account(other.id);

    const one = await enrolled();
    await totp.regenerateRecoveryCodes(one.id);
    await totp.disable(one.id);

    const after = await account(other.id);
    expect([after.totp_secret, after.totp_enabled_at]).toEqual([before.totp_secret, before.totp_enabled_at]);
    expect((await account(withoutTotp)).totp_enabled_at).toBeNull();
    expect(await totp.unusedRecoveryCodes(other.id)).toBe(10);
    await expect(totp.check(after, other.recovery[0]!)).resolves.toBe('recovery');
    await expect(totp.check(await account(other.id), await codeAt(other.secret, 30))).resolves.toBe('otp');
  });

  it('lifts the cap on guesses of its own account only when a recovery code is taken', async () => {
    const locked = await enrolled();
    for (let i = 0; i < 5; i++) await failure(totp.check(await account(locked.id), '000000'));
    const other = await enrolled();
    await failure(totp.check(await account(other.id), '000000'));
    await expect(totp.check(await account(other.id), other.recovery[0]!)).resolves.toBe('recovery');
    expect(
      await failure(totp.check(await account(locked.id), await codeAt(locked.secret, 30))),
    ).toBeInstanceOf(TooManyRequests);
  });

  it("does not spend another account's code of the same time-step", async () => {
    const first = await enrolled();
    const second = await enrolled();
    await expect(totp.check(await account(first.id), await codeAt(first.secret, 30))).resolves.toBe('otp');
    await expect(totp.check(await account(second.id), await codeAt(second.secret, 30))).resolves.toBe('otp');
  });

  it("does not take a recovery code for another account, even given that code's own index", async () => {
    // The index is keyed with the account id; the store looks in the account's own codes as well,
    // so a change to what the index covers can not let one account's code open another.
    const owner = await enrolled();
    const other = await enrolled();
    const store = new TotpStore(database.db);
    const ownersIndexes = protector.blindIndexes('recovery', `${owner.id}|${owner.recovery[0]!}`);
    expect(await store.useRecoveryCode(other.id, ownersIndexes)).toBe(false);
    expect(await totp.unusedRecoveryCodes(owner.id)).toBe(10);
    expect(await store.useRecoveryCode(owner.id, ownersIndexes)).toBe(true);
  });
});
