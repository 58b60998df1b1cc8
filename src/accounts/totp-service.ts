import { randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import type { DataProtector } from '../crypto/sealed.js';
import { AppError } from '../errors.js';
import type { FlowStateStore } from '../flows/flow-state-store.js';
import type { AccountRow } from './account-store.js';
import type { TotpStore } from './totp-store.js';

export class TotpWrong extends AppError {
  override name = 'TotpWrong';
  constructor() {
    super(400, 'totp_wrong', '动态验证码或恢复码错误');
  }
}

const ISSUER_LABEL = '统一身份认证';
const RECOVERY_CODES = 10;

/** 两步验证 with an authenticator app (TOTP), and ten single-use recovery codes kept as hashes. */
export class TotpService {
  constructor(
    private readonly store: TotpStore,
    private readonly flowStates: FlowStateStore,
    private readonly protector: DataProtector,
  ) {}

  /** A new secret waiting for its first code; the QR code is a data: URL the page can show. */
  async beginEnrolment(accountId: string, label: string) {
    const secret = generateSecret();
    await this.flowStates.put(
      `totp-enrol:${accountId}`,
      { secret: this.protector.seal(secret, `totp:${accountId}`) },
      600,
    );
    const uri = generateURI({ issuer: ISSUER_LABEL, label, secret });
    return { secret, uri, qrDataUrl: await QRCode.toDataURL(uri, { margin: 1, width: 200 }) };
  }

  /** Turns two-step verification on with the first correct code; returns the recovery codes, shown once. */
  async confirmEnrolment(accountId: string, code: string): Promise<string[]> {
    const pending = await this.flowStates.get<{ secret: string }>(`totp-enrol:${accountId}`);
    if (!pending) throw new AppError(400, 'totp_expired', '设置已过期，请重新开始');
    const secret = this.protector.open(pending.secret, `totp:${accountId}`);
    if (!(await this.codeMatches(secret, code))) throw new TotpWrong();
    const codes = Array.from({ length: RECOVERY_CODES }, () =>
      randomBytes(5)
        .toString('hex')
        .toUpperCase()
        .replace(/(.{5})/, '$1-'),
    );
    await this.store.enable(
      accountId,
      this.protector.seal(secret, `totp:${accountId}`),
      codes.map((c) => this.recoveryHash(accountId, c)),
    );
    await this.flowStates.remove(`totp-enrol:${accountId}`);
    return codes;
  }

  /** A current code from the app, or an unused recovery code (which is then spent). */
  async check(
    account: AccountRow & { totp_secret?: string | null },
    input: string,
  ): Promise<'otp' | 'recovery'> {
    const value = input.trim().toUpperCase();
    if (account.totp_secret && /^\d{6}$/.test(value)) {
      const secret = this.protector.open(account.totp_secret, `totp:${account.id}`);
      if (await this.codeMatches(secret, value)) return 'otp';
    }
    if (
      /^[0-9A-F]{5}-[0-9A-F]{5}$/.test(value) &&
      (await this.store.useRecoveryCode(account.id, this.recoveryHash(account.id, value)))
    ) {
      return 'recovery';
    }
    throw new TotpWrong();
  }

  disable(accountId: string) {
    return this.store.disable(accountId);
  }

  unusedRecoveryCodes(accountId: string) {
    return this.store.unusedRecoveryCodes(accountId);
  }

  private async codeMatches(secret: string, code: string): Promise<boolean> {
    if (!/^\d{6}$/.test(code.trim())) return false;
    // One step either side forgives a phone clock a little off.
    const result = await verify({ secret, token: code.trim(), epochTolerance: 30 });
    return result.valid;
  }

  private recoveryHash(accountId: string, code: string) {
    return this.protector.blindIndex('recovery', `${accountId}|${code}`);
  }
}
