import type { KeyObject } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import { AppError } from '../../errors.js';
import { ResponseTooLarge, readLimited } from '../read-limited.js';
import { type AnswerFailure, verifyAnswer } from './answer.js';
import { formatBeijingTimestamp } from './beijing-time.js';
import { publicKeyBase64 } from './keys.js';

/**
 * Alipay web authorisation (支付宝网页授权) seen from Unified ID: the browser
 * redirect, the auth_code exchange, and the user's (实名) profile. The login
 * flow depends on the interface only, so tests and development use a fake.
 */
export interface AlipayClient {
  /** Where to send the browser; Alipay comes back with `auth_code` and `state`. */
  authorizeUrl(state: string, redirectUri: string): string;
  /** `alipay.system.oauth.token` with `grant_type=authorization_code`. */
  exchangeCode(authCode: string): Promise<AlipayToken>;
  /** `alipay.user.info.share` with the access token. */
  userInfo(accessToken: string): Promise<AlipayUserInfo>;
}

export interface AlipayToken {
  /** `2088…`; older apps get it, newer ones get `openId` instead. */
  userId?: string;
  openId?: string;
  accessToken: string;
  /** Seconds. */
  expiresIn?: number;
  refreshToken?: string;
  /** Seconds the refresh token lives. */
  reExpiresIn?: number;
}

export interface AlipayUserInfo {
  userId?: string;
  openId?: string;
  nickName?: string;
  avatar?: string;
  /** Real name (实名), only with the app's 实名 permission. */
  userName?: string;
  /** `0` is the resident ID card (身份证). */
  certType?: string;
  certNo?: string;
  /** `is_certified = T`; false when absent. */
  isCertified: boolean;
  mobile?: string;
}

/** Alipay's `cert_type` for the resident ID card (居民身份证). */
export const ALIPAY_CERT_TYPE_ID_CARD = '0';

/**
 * Whether Alipay vouches for a real name on a resident ID card: only that may
 * raise an account to L2 (README.md, 支付宝 (Alipay)). A passport-certified user, or one whose
 * name or number the app may not see, does not count.
 */
export function isRealNameCertified(info: AlipayUserInfo): boolean {
  return (
    info.isCertified &&
    info.certType === ALIPAY_CERT_TYPE_ID_CARD &&
    (info.userName ?? '').trim() !== '' &&
    (info.certNo ?? '').trim() !== ''
  );
}

export type AlipayErrorKind =
  /** The answer was unsigned or its signature did not verify: nothing in it is trusted. */
  | 'signature'
  /** Alipay answered, signed, with an error (`error_response`, `code` ≠ 10000) or a malformed node. */
  | 'gateway'
  /** Connection refused or reset, or an HTTP error status. */
  | 'unavailable'
  | 'timeout';

const USER_MESSAGES: Record<AlipayErrorKind, string> = {
  signature: '支付宝登录暂不可用，请稍后重试或使用其他方式登录',
  gateway: '支付宝授权未成功，请重新登录',
  unavailable: '支付宝服务暂不可用，请稍后重试或使用其他方式登录',
  timeout: '支付宝服务响应超时，请稍后重试',
};

const STATUS: Record<AlipayErrorKind, number> = {
  signature: 502,
  gateway: 502,
  unavailable: 503,
  timeout: 504,
};

/** Any failure talking to Alipay. An AppError, so an unhandled one still renders a proper page. */
export class AlipayError extends AppError {
  override name = 'AlipayError';
  readonly kind: AlipayErrorKind;
  readonly method: string | undefined;
  /** Alipay's `code`, e.g. `40002`; only on signed gateway errors. */
  readonly alipayCode: string | undefined;
  readonly alipayMsg: string | undefined;
  /** e.g. `isv.code-invalid`. */
  readonly subCode: string | undefined;
  readonly subMsg: string | undefined;

  constructor(
    kind: AlipayErrorKind,
    detail: string,
    options: {
      method?: string;
      code?: string;
      msg?: string;
      subCode?: string;
      subMsg?: string;
      cause?: unknown;
    } = {},
  ) {
    const where = options.method ? `${options.method}: ` : '';
    const codes = [options.code, options.subCode, options.subMsg].filter(Boolean).join(' ');
    super(STATUS[kind], `alipay_${kind}`, USER_MESSAGES[kind], {
      cause: options.cause,
      detail: `Alipay ${kind}: ${where}${detail}${codes ? ` (${codes})` : ''}`,
    });
    this.kind = kind;
    this.method = options.method;
    this.alipayCode = options.code;
    this.alipayMsg = options.msg;
    this.subCode = options.subCode;
    this.subMsg = options.subMsg;
  }
}

export const DEFAULT_ALIPAY_GATEWAY_URL = 'https://openapi.alipay.com/gateway.do';
export const DEFAULT_ALIPAY_AUTHORIZE_URL = 'https://openauth.alipay.com/oauth2/publicAppAuthorize.htm';
const DEFAULT_TIMEOUT_MS = 10_000;
// Gateway answers are a few hundred bytes; a body this large is not Alipay talking.
const MAX_RESPONSE_BYTES = 256 * 1024;
const SUCCESS_CODE = '10000';

/**
 * Public-key-certificate mode (公钥证书模式): the three PEM files Alipay's console issues.
 * The SDK derives `app_cert_sn` and `alipay_root_cert_sn` from them and takes Alipay's
 * public key out of its certificate.
 */
export interface AlipayCertificates {
  /** 应用公钥证书 (appCertPublicKey_<APPID>.crt). */
  appCert: string;
  /** 支付宝公钥证书 (alipayCertPublicKey_RSA2.crt). */
  alipayPublicCert: string;
  /** 支付宝根证书 (alipayRootCert.crt), several certificates in one file. */
  alipayRootCert: string;
}

export interface HttpAlipayClientOptions {
  appId: string;
  /** The app's private key (应用私钥), signs requests. */
  privateKey: KeyObject;
  /** Exactly one of these verifies Alipay's answers. 公钥模式: Alipay's public key (支付宝公钥). */
  alipayPublicKey?: KeyObject | undefined;
  /** 公钥证书模式: the three certificates. */
  certificates?: AlipayCertificates | undefined;
  gatewayUrl?: string;
  authorizeUrl?: string;
  /** For each gateway call, the whole exchange including the body. */
  timeoutMs?: number;
  /** The clock for the `timestamp` parameter. */
  now?: () => Date;
}

/**
 * Alipay's Node SDK signs each request (in certificate mode with `app_cert_sn` and
 * `alipay_root_cert_sn`) and checks the signature on each answer. The exchange itself is
 * ours: the SDK's `exec` gives its HTTP client one timeout per phase, not one for the
 * whole answer, reads a body of any size, and hands back the body parsed whole rather
 * than the text its signature check covered (answer.ts says why that matters).
 */
export class HttpAlipayClient implements AlipayClient {
  readonly #appId: string;
  readonly #sdk: AlipaySdk;
  readonly #gatewayUrl: string;
  readonly #authorizeUrl: string;
  readonly #timeoutMs: number;
  readonly #now: () => Date;

  constructor(options: HttpAlipayClientOptions) {
    if (options.appId.trim() === '') throw new TypeError('HttpAlipayClient: appId is empty');
    if (options.privateKey.type !== 'private')
      throw new TypeError('HttpAlipayClient: privateKey is not private');
    if (options.certificates && options.alipayPublicKey) {
      throw new TypeError('HttpAlipayClient: give alipayPublicKey or certificates, not both');
    }
    if (!options.certificates && options.alipayPublicKey?.type !== 'public') {
      throw new TypeError('HttpAlipayClient: alipayPublicKey is not a public key');
    }
    this.#appId = options.appId;
    // Parsed now so a mistyped URL fails at start-up, not at the first login.
    this.#gatewayUrl = new URL(options.gatewayUrl ?? DEFAULT_ALIPAY_GATEWAY_URL).href;
    this.#authorizeUrl = new URL(options.authorizeUrl ?? DEFAULT_ALIPAY_AUTHORIZE_URL).href;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#now = options.now ?? (() => new Date());
    const certificates = options.certificates;
    this.#sdk = new AlipaySdk({
      appId: options.appId,
      privateKey: options.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      keyType: 'PKCS8',
      signType: 'RSA2',
      gateway: this.#gatewayUrl,
      timeout: this.#timeoutMs,
      camelcase: false,
      ...(certificates
        ? {
            appCertContent: certificates.appCert,
            alipayPublicCertContent: certificates.alipayPublicCert,
            alipayRootCertContent: certificates.alipayRootCert,
          }
        : { alipayPublicKey: publicKeyBase64(options.alipayPublicKey as KeyObject) }),
    });
    if (certificates && !(this.#sdk.config.appCertSn && this.#sdk.config.alipayRootCertSn)) {
      // Without both serial numbers the SDK would quietly sign in public-key mode.
      throw new TypeError('HttpAlipayClient: no serial number from the app or root certificate');
    }
  }

  authorizeUrl(state: string, redirectUri: string): string {
    const url = new URL(this.#authorizeUrl);
    url.searchParams.set('app_id', this.#appId);
    url.searchParams.set('scope', 'auth_user');
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('state', state);
    return url.href;
  }

  async exchangeCode(authCode: string): Promise<AlipayToken> {
    const method = 'alipay.system.oauth.token';
    if (authCode === '') throw new AlipayError('gateway', 'empty auth_code', { method });
    const node = await this.#call(method, { grant_type: 'authorization_code', code: authCode });
    const accessToken = text(node['access_token']);
    const userId = text(node['user_id']);
    const openId = text(node['open_id']);
    if (!accessToken || (!userId && !openId)) {
      throw new AlipayError('gateway', 'answer lacks access_token or user_id/open_id', { method });
    }
    return dropUndefined({
      userId,
      openId,
      accessToken,
      expiresIn: seconds(node['expires_in']),
      refreshToken: text(node['refresh_token']),
      reExpiresIn: seconds(node['re_expires_in']),
    });
  }

  async userInfo(accessToken: string): Promise<AlipayUserInfo> {
    const method = 'alipay.user.info.share';
    if (accessToken === '') throw new AlipayError('gateway', 'empty auth_token', { method });
    const node = await this.#call(method, { auth_token: accessToken });
    const userId = text(node['user_id']);
    const openId = text(node['open_id']);
    if (!userId && !openId) throw new AlipayError('gateway', 'answer lacks user_id/open_id', { method });
    return dropUndefined({
      userId,
      openId,
      nickName: text(node['nick_name']),
      avatar: text(node['avatar']),
      userName: text(node['user_name']),
      certType: text(node['cert_type']),
      certNo: text(node['cert_no']),
      isCertified: text(node['is_certified'])?.toUpperCase() === 'T',
      mobile: text(node['mobile']),
    });
  }

  /** One signed gateway call; the verified response node of a successful answer. */
  async #call(method: string, ownParams: Record<string, string>): Promise<Record<string, unknown>> {
    // The SDK stamps local time; the gateway reads Beijing time (UTC+8), whatever TZ this host has.
    const form = this.#sdk.sdkExecute(method, {
      ...ownParams,
      format: 'JSON',
      timestamp: formatBeijingTimestamp(this.#now()),
    });
    const body = await this.#post(method, form);
    const verified = verifyAnswer(this.#sdk, body, method);
    if (!verified.ok) {
      throw new AlipayError('signature', SIGNATURE_FAILURES[verified.reason] + this.#certHint(body), {
        method,
      });
    }
    const { node, nodeName } = verified;
    const code = text(node['code']);
    // alipay.system.oauth.token answers success without any `code`; its errors
    // come as error_response. The other methods always carry code 10000 on success.
    if (nodeName === 'error_response' || (code !== undefined && code !== SUCCESS_CODE)) {
      throw new AlipayError('gateway', 'Alipay refused the call', {
        method,
        ...dropUndefined({
          code,
          msg: text(node['msg']),
          subCode: text(node['sub_code']),
          subMsg: text(node['sub_msg']),
        }),
      });
    }
    return node;
  }

  /**
   * Alipay renews its public certificate from time to time and names the one it signed under
   * (`alipay_cert_sn`); when that is not ALIPAY_PUBLIC_CERT the log should say so, since every
   * Alipay sign-in fails until the operator installs the new one.
   */
  #certHint(body: string): string {
    const configured = this.#sdk.config.alipayCertSn;
    if (!configured) return '';
    let named: unknown;
    try {
      named = (JSON.parse(body) as Record<string, unknown>)['alipay_cert_sn'];
    } catch {
      return '';
    }
    return typeof named === 'string' && named !== configured
      ? `; signed under Alipay certificate ${named.slice(0, 64)}, ALIPAY_PUBLIC_CERT is ${configured}`
      : '';
  }

  async #post(method: string, form: string): Promise<string> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    try {
      const response = await fetch(this.#gatewayUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
          accept: 'application/json',
        },
        body: form,
        signal,
        redirect: 'error',
      });
      if (!response.ok) {
        await response.body?.cancel().catch(() => {});
        throw new AlipayError('unavailable', `gateway answered HTTP ${response.status}`, { method });
      }
      // The gateway labels its JSON text/html at times; the charset we asked for is UTF-8 either way.
      return await readLimited(response, MAX_RESPONSE_BYTES);
    } catch (error) {
      if (error instanceof AlipayError) throw error;
      if (error instanceof ResponseTooLarge) {
        throw new AlipayError('gateway', `answer larger than ${error.limit} bytes`, { method });
      }
      if (signal.aborted) {
        throw new AlipayError('timeout', `no complete answer within ${this.#timeoutMs} ms`, {
          method,
          cause: error,
        });
      }
      throw new AlipayError('unavailable', 'gateway unreachable', { method, cause: error });
    }
  }
}

const SIGNATURE_FAILURES: Record<AnswerFailure, string> = {
  malformed: 'answer is not a JSON object',
  missing_node: 'answer has no response node',
  missing_sign: 'answer is not signed',
  bad_signature: 'answer’s signature does not verify with Alipay’s public key or certificate',
};

/** A non-empty string value (numbers as their text), else undefined. */
function text(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** Alipay documents these as numbers but has sent them as strings. */
function seconds(value: unknown): number | undefined {
  const raw = text(value);
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

// Absent rather than present-and-undefined, so logs and comparisons show only what Alipay sent.
function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
