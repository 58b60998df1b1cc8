import { createPublicKey, type KeyObject } from 'node:crypto';
import { idCheckCharacter } from '../../src/identifiers/id-number.js';
import { type DevAlipay, type DevAlipayUser, startDevAlipay } from '../../src/outside/alipay/dev-server.js';
import { rsaKeys } from './signing-keys.js';
import type { PageResponse, UserAgent } from './user-agent.js';

export const TEST_ALIPAY_APP_ID = '2021000000000042';

/** A valid ID number, different for each `n` (a made-up person born in 1980). */
export function idNumberFor(n: number): string {
  const body = `330106${19800101 + (n % 28)}${String(100 + n)
    .padStart(3, '0')
    .slice(-3)}`;
  return body + idCheckCharacter(body);
}

/** An invented Alipay user; certified on a resident ID card with a mobile unless overridden. */
export function alipayUser(n: number, overrides: Partial<DevAlipayUser> = {}): DevAlipayUser {
  const serial = String(n).padStart(12, '0');
  return {
    userId: `2088${serial}`,
    openId: `074aTest${serial}`,
    nickName: `测试${n}`,
    avatar: `https://tfs.alipayobjects.com/images/partner/test-${n}`,
    userName: '赵六',
    certType: '0',
    certNo: idNumberFor(n),
    isCertified: true,
    mobile: `137${String(n).padStart(8, '0')}`,
    description: `测试用户 ${n}`,
    ...overrides,
  };
}

export interface AlipayFake {
  alipay: DevAlipay;
  /** The ALIPAY_* settings that point a test server at the fake. */
  env: Record<string, string>;
  /** Moves the fake's clock (auth_code expiry) forward by this many milliseconds. */
  skewMs: number;
}

export type AlipayKeyMode = 'public-key' | 'certificate';

/**
 * The key modes a suite runs in: 公钥模式 on every database, 公钥证书模式 once, on the last
 * (PostgreSQL when there is one). The mode changes only how the provider talks to Alipay.
 */
export function alipayCases<K>(kinds: readonly K[]): Array<[K, AlipayKeyMode]> {
  return [...kinds.map((kind): [K, AlipayKeyMode] => [kind, 'public-key']), [kinds.at(-1)!, 'certificate']];
}

/**
 * The fake Alipay on a loopback port, with a fresh key pair for the app and one of its own; in
 * certificate mode also the root, Alipay's certificate and the app's it issued.
 */
export async function startAlipayFake(
  users: DevAlipayUser[],
  keyMode: AlipayKeyMode = 'public-key',
): Promise<AlipayFake> {
  const [appKey, alipayKey] = rsaKeys(2) as [KeyObject, KeyObject];
  const app = { privateKey: appKey, publicKey: createPublicKey(appKey) };
  const fake = { skewMs: 0 } as AlipayFake;
  fake.alipay = await startDevAlipay({
    appId: TEST_ALIPAY_APP_ID,
    appPublicKey: app.publicKey,
    alipayPrivateKey: alipayKey,
    users,
    now: () => new Date(Date.now() + fake.skewMs),
    keyMode,
  });
  const certificates = fake.alipay.certificates;
  fake.env = {
    ALIPAY_APP_ID: TEST_ALIPAY_APP_ID,
    ALIPAY_PRIVATE_KEY: pem(app.privateKey),
    ...(certificates
      ? {
          ALIPAY_APP_CERT: certificates.appCert,
          ALIPAY_PUBLIC_CERT: certificates.alipayPublicCert,
          ALIPAY_ROOT_CERT: certificates.alipayRootCert,
        }
      : { ALIPAY_PUBLIC_KEY: fake.alipay.alipayPublicKeyBase64 }),
    ALIPAY_GATEWAY: fake.alipay.gatewayUrl,
    ALIPAY_AUTHORIZE_URL: fake.alipay.authorizeUrl,
  };
  return fake;
}

function pem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** Switches every fault of the fake off again. */
export function healthy(fake: AlipayFake) {
  Object.assign(fake.alipay.faults, {
    badSignature: false,
    unsigned: false,
    down: false,
    downMode: 'http-503',
    delayMs: 0,
  });
  delete fake.alipay.faults.errorSubCode;
  fake.skewMs = 0;
}

/**
 * From one of our pages' Alipay links (`/interaction/…/alipay`, `/alipay/certify/start…`) to
 * Alipay's authorisation page, where the person picks `userId` and agrees. Returns Alipay's
 * redirect back to us, not yet followed, so a test can replay or hold it.
 */
export async function authorizeAtAlipay(
  ua: UserAgent,
  startUrl: string,
  userId: string,
  beforeChoosing?: () => void,
): Promise<PageResponse> {
  const toAlipay = await ua.get(startUrl);
  if (!toAlipay.location)
    throw new Error(`no redirect to Alipay: ${toAlipay.status} ${toAlipay.body.slice(0, 300)}`);
  const authorize = new URL(toAlipay.location);
  const page = await ua.get(authorize);
  if (!page.body.includes('支付宝登录授权')) throw new Error(`not Alipay's page: ${page.body.slice(0, 300)}`);
  beforeChoosing?.();
  const back = await ua.post(`${authorize.origin}${authorize.pathname}`, {
    ...Object.fromEntries(authorize.searchParams),
    user_id: userId,
  });
  if (back.status !== 302 || !back.location)
    throw new Error(`Alipay did not send the browser back: ${back.status}`);
  return back;
}

/** Alipay's link on one of our pages. */
export function alipayLinkOf(page: PageResponse, label: '支付宝登录' | '支付宝认证'): string {
  const match = new RegExp(`<a href="([^"]+)"[^>]*>${label}</a>`).exec(page.body);
  if (!match) throw new Error(`no ${label} link on ${page.url}`);
  return new URL(match[1]!.replaceAll('&amp;', '&'), page.url).href;
}
