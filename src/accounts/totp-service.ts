import { randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import type { DataProtector } from '../crypto/sealed.js';
import { AppError, TooManyRequests } from '../errors.js';
import type { FlowStates } from '../state/flow-state.js';
import type { AccountRow } from './account-store.js';
import type { TotpStore } from './totp-store.js';

export class TotpWrong extends AppError {
  // Stryker disable next-line StringLiteral: nothing reads an AppError's name (the error handler answers by status and code and logs no 4xx; pino names an error by its constructor)
  override name = 'TotpWrong';
  constructor() {
    super(400, 'totp_wrong', '动态验证码或恢复码错误');
  }
}

const ISSUER_LABEL = '统一身份认证';
const RECOVERY_CODES = 10;
const PERIOD_SECONDS = 30;
/** Wrong TOTP or recovery codes an account may enter in a window before it must wait. */
const MAX_ATTEMPTS = 5;
const ATTEMPT_WINDOW_SECONDS = 15 * 60;

const newRecoveryCodes = () =>
  Array.from({ length: RECOVERY_CODES }, () =>
    randomBytes(5)
      .toString('hex')
      .toUpperCase()
      .replace(/(.{5})/, '$1-'),
  );

/** 两步验证 with an authenticator app (TOTP), and ten single-use recovery codes kept as hashes. */
export class TotpService {
  constructor(
    private readonly store: TotpStore,
    private readonly flowStates: FlowStates,
    private readonly protector: DataProtector,
  ) {}

  /** A new secret waiting for its first code; the QR code is a data: URL the page can show. */
  async beginEnrolment(accountId: string, label: string) {
    const secret = generateSecret();
    await this.flowStates.put('totp-enrol', accountId, { secret });
    const uri = generateURI({ issuer: ISSUER_LABEL, label, secret });
    return { secret, uri, qrDataUrl: await QRCode.toDataURL(uri, { margin: 1, width: 200 }) };
  }

  /** Turns two-step verification on with the first correct code; returns the recovery codes, shown once. */
  async confirmEnrolment(accountId: string, code: string): Promise<string[]> {
    const pending = await this.flowStates.get('totp-enrol', accountId);
    if (!pending) throw new AppError(400, 'totp_expired', '设置已过期，请重新开始');
    const { secret } = pending;
    const step = await this.matchingStep(secret, code);
    if (step === undefined) throw new TotpWrong();
    const codes = newRecoveryCodes();
    // The first code is accepted like any other: a sign-in in the same time-step may not use it
    // again (RFC 6238 §5.2, a code accepted once).
    await this.store.enable(
      accountId,
      this.protector.seal(secret, `totp:${accountId}`),
      codes.map((c) => this.recoveryHash(accountId, c)),
      step,
    );
    await this.flowStates.remove('totp-enrol', accountId);
    return codes;
  }

  /**
   * A current code from the app, accepted once (a code of a time-step already accepted is
   * refused), or an unused recovery code (which is then spent). Every attempt counts towards
   * MAX_ATTEMPTS in the window, atomically, before the code is looked at.
   */
  async check(
    account: AccountRow & { totp_secret?: string | null },
    input: string,
  ): Promise<'otp' | 'recovery'> {
    if (!(await this.store.countAttempt(account.id, MAX_ATTEMPTS, ATTEMPT_WINDOW_SECONDS))) {
      throw new TooManyRequests('动态验证码或恢复码错误次数过多，请15分钟后再试');
    }
    const value = input.trim().toUpperCase();
    if (account.totp_secret) {
      const secret = this.protector.open(account.totp_secret, `totp:${account.id}`);
      const step = await this.matchingStep(secret, value);
      if (step !== undefined && (await this.store.acceptStep(account.id, step))) return 'otp';
    }
    // Looked up by the keyed index of the whole entry, which only a code made for this account
    // matches: anything else (a TOTP code, a code mistyped) finds nothing.
    if (
      await this.store.useRecoveryCode(
        account.id,
        this.protector.blindIndexes('recovery', `${account.id}|${value}`),
      )
    ) {
      await this.store.clearAttempts(account.id);
      return 'recovery';
    }
    throw new TotpWrong();
  }

  /** Ten new recovery codes, shown once; the old ones stop working. */
  async regenerateRecoveryCodes(accountId: string): Promise<string[]> {
    const codes = newRecoveryCodes();
    await this.store.regenerateRecoveryCodes(
      accountId,
      codes.map((c) => this.recoveryHash(accountId, c)),
    );
    return codes;
  }

  disable(accountId: string) {
    return this.store.disable(accountId);
  }

  unusedRecoveryCodes(accountId: string) {
    return this.store.unusedRecoveryCodes(accountId);
  }

  /** The time-step the code belongs to, when it matches one near now. */
  private async matchingStep(secret: string, code: string): Promise<number | undefined> {
    if (!/^\d{6}$/.test(code.trim())) return undefined;
    // One step either side forgives a phone clock a little off.
    const epoch = Math.floor(Date.now() / 1000);
    const result = await verify({ secret, token: code.trim(), epoch, epochTolerance: PERIOD_SECONDS });
    return result.valid ? Math.floor(epoch / PERIOD_SECONDS) + result.delta : undefined;
  }

  private recoveryHash(accountId: string, code: string) {
    return this.protector.blindIndex('recovery', `${accountId}|${code}`);
  }
}
