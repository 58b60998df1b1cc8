import { createPublicKey, generateKeyPair, type KeyObject, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { responseNodeName } from './answer.js';
import { formatBeijingTimestamp } from './beijing-time.js';
import { alipayCertSn, type DevAlipayCertificates, issueDevAlipayCertificates } from './dev-certificates.js';
import { publicKeyBase64 } from './keys.js';
import { requestSigningContent, signText, verifyText } from './signing.js';

/**
 * A FAKE Alipay for development and tests: the authorisation page and the
 * gateway, speaking Alipay's wire format (signed requests, signed response
 * nodes) with a key pair of its own. It never talks to the real Alipay, and it
 * holds no real personal data: the test users below are invented.
 */

export interface DevAlipayUser {
  /** `2088…`, 16 digits, as Alipay's user ids. */
  userId: string;
  /** What newer apps get instead of user_id. */
  openId: string;
  nickName: string;
  avatar: string;
  userName?: string;
  certType?: string;
  certNo?: string;
  isCertified: boolean;
  mobile?: string;
  gender?: 'M' | 'F';
  /** Shown on the authorisation page so a developer knows whom they pick. */
  description: string;
}

// ID numbers carry a correct GB 11643 check character (see src/identifiers/id-number.ts).
export const DEV_ALIPAY_USERS: readonly DevAlipayUser[] = Object.freeze([
  {
    userId: '2088000000000001',
    openId: '074aDevZhangSan0000000000000000000000000000001',
    nickName: '三哥',
    avatar: 'https://tfs.alipayobjects.com/images/partner/dev-zhangsan',
    userName: '张三',
    certType: '0',
    certNo: '330106198506123515',
    isCertified: true,
    mobile: '13800138000',
    gender: 'M',
    description: '已实名认证（身份证），有手机号',
  },
  {
    userId: '2088000000000002',
    openId: '074aDevLiNa000000000000000000000000000000000002',
    nickName: '娜娜',
    avatar: 'https://tfs.alipayobjects.com/images/partner/dev-lina',
    userName: '李娜',
    certType: '0',
    certNo: '440305199203084621',
    isCertified: true,
    gender: 'F',
    description: '已实名认证（身份证），无手机号',
  },
  {
    userId: '2088000000000003',
    openId: '074aDevWangWu00000000000000000000000000000000003',
    nickName: '王五（未实名）',
    avatar: 'https://tfs.alipayobjects.com/images/partner/dev-wangwu',
    isCertified: false,
    description: '未实名认证',
  },
] satisfies DevAlipayUser[]);

/** Switches a test flips to make the gateway misbehave; they stay on until switched off. */
export interface DevAlipayFaults {
  /** Answers carry a signature that does not verify. */
  badSignature: boolean;
  /** Answers carry no `sign` at all. */
  unsigned: boolean;
  /** The gateway is down: see downMode. */
  down: boolean;
  /** `http-503`: an HTTP 503 page; `reset`: the connection is closed without an answer. */
  downMode: 'http-503' | 'reset';
  /** Every gateway call is refused with this sub_code, e.g. `isp.unknow-error`. */
  errorSubCode?: string;
  /** The gateway waits this long before answering. */
  delayMs: number;
}

export interface StartDevAlipayOptions {
  port?: number;
  /** Loopback by default: the fake must not be reachable from the network. */
  host?: string;
  appId: string;
  /** The app's public key (应用公钥), checks request signatures. */
  appPublicKey: KeyObject;
  /** The fake's own signing key; a fresh 2048-bit key when absent. */
  alipayPrivateKey?: KeyObject;
  /** The clock for auth_code and token expiry. */
  now?: () => Date;
  /** Whether answers identify users by `user_id` (older apps) or `open_id` (newer ones). */
  identity?: 'user_id' | 'open_id';
  users?: readonly DevAlipayUser[];
  /**
   * 公钥模式 (the default) or 公钥证书模式: in certificate mode every call must carry the
   * `app_cert_sn` and `alipay_root_cert_sn` of the certificates below, and every answer
   * names the certificate it is signed under (`alipay_cert_sn`).
   */
  keyMode?: 'public-key' | 'certificate';
  /** Certificates issued before (kept by `unified-id dev-alipay`); fresh ones when absent. */
  certificates?: DevAlipayCertificates;
}

export interface DevAlipay {
  url: string;
  authorizeUrl: string;
  gatewayUrl: string;
  alipayPublicKey: KeyObject;
  /** The bare base64 SPKI body, as the open-platform console shows it: ALIPAY_PUBLIC_KEY. */
  alipayPublicKeyBase64: string;
  keyMode: 'public-key' | 'certificate';
  /** In certificate mode: ALIPAY_APP_CERT, ALIPAY_PUBLIC_CERT and ALIPAY_ROOT_CERT. */
  certificates: DevAlipayCertificates | undefined;
  faults: DevAlipayFaults;
  close(): Promise<void>;
}

export const DEV_ALIPAY_AUTHORIZE_PATH = '/oauth2/publicAppAuthorize.htm';
export const DEV_ALIPAY_GATEWAY_PATH = '/gateway.do';

const AUTH_CODE_TTL_MS = 5 * 60 * 1000;
const ACCESS_TOKEN_TTL_S = 14 * 24 * 3600;
const REFRESH_TOKEN_TTL_S = 30 * 24 * 3600;
const MAX_BODY_BYTES = 64 * 1024;
const TOKEN_METHOD = 'alipay.system.oauth.token';
const USER_INFO_METHOD = 'alipay.user.info.share';
const SCOPES = new Set(['auth_user', 'auth_base']);

interface Grant {
  userId: string;
  expiresAt: number;
  used: boolean;
}

type Node = Record<string, unknown>;

export async function startDevAlipay(options: StartDevAlipayOptions): Promise<DevAlipay> {
  const alipayPrivateKey =
    options.alipayPrivateKey ?? (await promisify(generateKeyPair)('rsa', { modulusLength: 2048 })).privateKey;
  const alipayPublicKey = createPublicKey(alipayPrivateKey);
  const appPublicKey =
    options.appPublicKey.type === 'private' ? createPublicKey(options.appPublicKey) : options.appPublicKey;
  const now = options.now ?? (() => new Date());
  const users = options.users ?? DEV_ALIPAY_USERS;
  const keyMode = options.keyMode ?? 'public-key';
  const certificates =
    keyMode === 'certificate'
      ? (options.certificates ??
        (await issueDevAlipayCertificates({
          appId: options.appId,
          appPublicKey,
          alipayPublicKey,
          now: now(),
        })))
      : undefined;
  // What the open platform knows of the app: the serial numbers of the certificates it issued.
  const serials = certificates && {
    app: alipayCertSn(certificates.appCert),
    alipay: alipayCertSn(certificates.alipayPublicCert),
    root: alipayCertSn(certificates.alipayRootCert, true),
  };
  const identity = options.identity ?? 'user_id';
  const faults: DevAlipayFaults = {
    badSignature: false,
    unsigned: false,
    down: false,
    downMode: 'http-503',
    delayMs: 0,
  };
  const authCodes = new Map<string, Grant>();
  const accessTokens = new Map<string, Grant>();
  const sleepers = new Set<() => void>();
  let closed = false;

  const userById = (id: string) => users.find((user) => user.userId === id);
  const identify = (user: DevAlipayUser): Node =>
    identity === 'open_id' ? { open_id: user.openId } : { user_id: user.userId };

  /** The body Alipay would send: `{"<node>":<node text>,"sign":"…"}`, signed over the node text. */
  function signedBody(nodeName: string, node: Node): string {
    // Alipay escapes `/` in its JSON; doing the same here means a client that
    // re-serialises the parsed node instead of cutting out the text fails at once.
    const nodeText = JSON.stringify(node).replaceAll('/', '\\/');
    // In certificate mode Alipay names the certificate its signature is under.
    const certSn = serials ? `,"alipay_cert_sn":"${serials.alipay}"` : '';
    if (faults.unsigned) return `{"${nodeName}":${nodeText}${certSn}}`;
    let signature = signText(nodeText, alipayPrivateKey);
    if (faults.badSignature) signature = corrupt(signature);
    return `{"${nodeName}":${nodeText}${certSn},"sign":"${signature}"}`;
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleepers.add(wake);
    });
  }

  function prune(map: Map<string, Grant>): void {
    const t = now().getTime();
    for (const [key, grant] of map) if (grant.expiresAt <= t) map.delete(key);
  }

  async function handleGateway(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (faults.down) {
      if (faults.downMode === 'reset') {
        req.socket.destroy();
        return;
      }
      send(res, 503, 'text/html; charset=utf-8', '<h1>503 Service Unavailable</h1>', { connection: 'close' });
      return;
    }
    if (faults.delayMs > 0) {
      await sleep(faults.delayMs);
      if (closed) return;
    }
    // The SDKs put the common parameters in the query string and the rest in the
    // form body; Alipay reads both, and so does the fake.
    const params: Record<string, string> = { ...Object.fromEntries(url.searchParams) };
    Object.assign(params, Object.fromEntries(new URLSearchParams(await readBody(req))));
    const method = params['method'] ?? '';
    const { nodeName, node } = gatewayAnswer(params, method);
    send(res, 200, 'text/html; charset=utf-8', signedBody(nodeName, node));
  }

  function gatewayAnswer(params: Record<string, string>, method: string): { nodeName: string; node: Node } {
    const refuse = (code: string, subCode: string, subMsg: string) => ({
      nodeName: 'error_response',
      node: errorNode(code, subCode, subMsg),
    });
    if (!params['app_id']) return refuse('40001', 'isv.missing-app-id', '缺少AppID参数');
    if (!method) return refuse('40001', 'isv.missing-method', '缺少方法名参数');
    if (!params['sign']) return refuse('40001', 'isv.missing-signature', '缺少签名参数');
    if (!params['timestamp']) return refuse('40001', 'isv.missing-timestamp', '缺少时间戳参数');
    if (params['app_id'] !== options.appId) return refuse('40002', 'isv.invalid-app-id', '无效的AppID参数');
    if (params['sign_type'] !== 'RSA2')
      return refuse('40002', 'isv.invalid-signature-type', '无效的签名类型');
    if ((params['charset'] ?? 'utf-8').toLowerCase() !== 'utf-8') {
      return refuse('40002', 'isv.invalid-charset', '字符集错误');
    }
    if ((params['format'] ?? 'JSON').toUpperCase() !== 'JSON')
      return refuse('40002', 'isv.invalid-format', '无效的数据格式');
    if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(params['timestamp'])) {
      return refuse('40002', 'isv.invalid-timestamp', '非法的时间戳参数');
    }
    if (params['version'] !== '1.0') return refuse('40002', 'isv.invalid-version', 'API版本号无效');
    if (serials) {
      if (!params['app_cert_sn']) return refuse('40001', 'isv.missing-app-cert-sn', '缺少应用公钥证书序列号');
      if (!params['alipay_root_cert_sn'])
        return refuse('40001', 'isv.missing-alipay-root-cert-sn', '缺少支付宝根证书序列号');
      if (params['app_cert_sn'] !== serials.app)
        return refuse('40002', 'isv.invalid-app-cert-sn', '无效的应用公钥证书序列号');
      if (params['alipay_root_cert_sn'] !== serials.root)
        return refuse('40002', 'isv.invalid-alipay-root-cert-sn', '无效的支付宝根证书序列号');
    }
    if (!verifyText(requestSigningContent(params), params['sign'], appPublicKey)) {
      return refuse('40002', 'isv.invalid-signature', '验签出错，请确认应用私钥与上传的应用公钥是否匹配');
    }
    if (method !== TOKEN_METHOD && method !== USER_INFO_METHOD) {
      return refuse('40002', 'isv.invalid-method', '不存在的方法名');
    }
    if (faults.errorSubCode) {
      return refuse(codeForSubCode(faults.errorSubCode), faults.errorSubCode, '开发环境模拟的错误');
    }
    return method === TOKEN_METHOD
      ? oauthToken(params)
      : { nodeName: responseNodeName(USER_INFO_METHOD), node: userInfo(params) };
  }

  // Token errors come as error_response; success as the method's node without
  // any `code`, as Alipay answers alipay.system.oauth.token.
  function oauthToken(params: Record<string, string>): { nodeName: string; node: Node } {
    const refuse = (subCode: string, subMsg: string) => ({
      nodeName: 'error_response',
      node: errorNode('40002', subCode, subMsg),
    });
    if (params['grant_type'] !== 'authorization_code')
      return refuse('isv.grant-type-invalid', 'grant_type参数不正确');
    const t = now().getTime();
    const grant = authCodes.get(params['code'] ?? '');
    if (!grant || grant.used || grant.expiresAt <= t) return refuse('isv.code-invalid', '授权码code无效');
    // Single use: a replayed callback URL must not yield a second token.
    grant.used = true;
    const user = userById(grant.userId);
    if (!user) return refuse('isv.code-invalid', '授权码code无效');
    prune(accessTokens);
    const accessToken = `authusrB${randomBytes(16).toString('hex')}`;
    accessTokens.set(accessToken, {
      userId: user.userId,
      expiresAt: t + ACCESS_TOKEN_TTL_S * 1000,
      used: false,
    });
    return {
      nodeName: responseNodeName(TOKEN_METHOD),
      node: {
        ...identify(user),
        access_token: accessToken,
        // Strings, as in Alipay's own examples; the client accepts numbers too.
        expires_in: String(ACCESS_TOKEN_TTL_S),
        refresh_token: `authusrB${randomBytes(16).toString('hex')}`,
        re_expires_in: String(REFRESH_TOKEN_TTL_S),
        auth_start: formatBeijingTimestamp(new Date(t)),
      },
    };
  }

  function userInfo(params: Record<string, string>): Node {
    const token = accessTokens.get(params['auth_token'] ?? '');
    if (!token) return errorNode('20001', 'aop.invalid-auth-token', '无效的访问令牌');
    if (token.expiresAt <= now().getTime())
      return errorNode('20001', 'aop.auth-token-time-out', '访问令牌已过期');
    const user = userById(token.userId);
    if (!user) return errorNode('20001', 'aop.invalid-auth-token', '无效的访问令牌');
    const node: Node = {
      code: '10000',
      msg: 'Success',
      ...identify(user),
      avatar: user.avatar,
      nick_name: user.nickName,
      is_certified: user.isCertified ? 'T' : 'F',
      user_type: '2',
      user_status: 'T',
    };
    if (user.userName) node['user_name'] = user.userName;
    if (user.certType) node['cert_type'] = user.certType;
    if (user.certNo) node['cert_no'] = user.certNo;
    if (user.mobile) node['mobile'] = user.mobile;
    if (user.gender) node['gender'] = user.gender;
    return node;
  }

  async function handleAuthorize(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const form = req.method === 'POST' ? new URLSearchParams(await readBody(req)) : url.searchParams;
    const appId = form.get('app_id') ?? '';
    const scope = form.get('scope') ?? '';
    const redirectUri = form.get('redirect_uri') ?? '';
    const state = form.get('state') ?? '';
    const problem =
      appId !== options.appId
        ? '应用不存在：app_id 无效'
        : scope === '' || !scope.split(',').every((s) => SCOPES.has(s))
          ? '授权范围 scope 无效'
          : !isHttpUrl(redirectUri)
            ? '回调地址 redirect_uri 无效'
            : undefined;
    if (problem) {
      send(
        res,
        400,
        'text/html; charset=utf-8',
        page('授权失败', `<p class="error">${escapeHtml(problem)}</p>`),
        PAGE_HEADERS,
      );
      return;
    }
    if (req.method !== 'POST') {
      send(
        res,
        200,
        'text/html; charset=utf-8',
        authorizePage(users, { appId, scope, redirectUri, state }),
        PAGE_HEADERS,
      );
      return;
    }
    const user = userById(form.get('user_id') ?? '');
    if (!user) {
      send(
        res,
        400,
        'text/html; charset=utf-8',
        page('授权失败', '<p class="error">请选择一个测试用户</p>'),
        PAGE_HEADERS,
      );
      return;
    }
    prune(authCodes);
    const authCode = randomBytes(16).toString('hex');
    authCodes.set(authCode, {
      userId: user.userId,
      expiresAt: now().getTime() + AUTH_CODE_TTL_MS,
      used: false,
    });
    const target = new URL(redirectUri);
    target.searchParams.set('app_id', appId);
    target.searchParams.set('source', 'alipay_wallet');
    target.searchParams.set('scope', scope);
    target.searchParams.set('auth_code', authCode);
    target.searchParams.set('state', state);
    send(res, 302, 'text/plain; charset=utf-8', '', { location: target.href });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://dev-alipay.invalid');
    const route =
      url.pathname === DEV_ALIPAY_GATEWAY_PATH && req.method === 'POST'
        ? handleGateway
        : url.pathname === DEV_ALIPAY_AUTHORIZE_PATH && (req.method === 'GET' || req.method === 'POST')
          ? handleAuthorize
          : undefined;
    if (!route) {
      send(res, 404, 'text/plain; charset=utf-8', 'not found');
      return;
    }
    route(req, res, url).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const status = error instanceof BodyTooLarge ? 413 : 500;
      send(res, status, 'text/plain; charset=utf-8', status === 413 ? 'body too large' : 'internal error');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  const base = `http://${host}:${address.port}`;

  return {
    url: base,
    authorizeUrl: `${base}${DEV_ALIPAY_AUTHORIZE_PATH}`,
    gatewayUrl: `${base}${DEV_ALIPAY_GATEWAY_PATH}`,
    alipayPublicKey,
    alipayPublicKeyBase64: publicKeyBase64(alipayPublicKey),
    keyMode,
    certificates,
    faults,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const wake of [...sleepers]) wake();
      // Keep-alive connections (fetch keeps them) would otherwise hold close() open.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

function errorNode(code: string, subCode: string, subMsg: string): Node {
  return { code, msg: MESSAGES[code] ?? 'Business Failed', sub_code: subCode, sub_msg: subMsg };
}

const MESSAGES: Record<string, string> = {
  '20000': 'Service Currently Unavailable',
  '20001': 'Insufficient Token Permissions',
  '40001': 'Missing Required Arguments',
  '40002': 'Invalid Arguments',
  '40004': 'Business Failed',
};

/** Alipay's top-level code for a sub_code, by its prefix. */
function codeForSubCode(subCode: string): string {
  if (subCode.startsWith('isp.')) return '20000';
  if (subCode.startsWith('aop.')) return '20001';
  if (subCode.startsWith('isv.')) return '40002';
  return '40004';
}

/** A signature of the right shape that does not verify: one bit of the RSA block flipped. */
function corrupt(signature: string): string {
  const bytes = Buffer.from(signature, 'base64');
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x01;
  return bytes.toString('base64');
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge();
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// The pages need no script and load nothing; inline style only.
const PAGE_HEADERS = { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" };

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function page(title: string, content: string): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} - 支付宝（开发环境模拟）</title>
<style>
body { font-family: system-ui, "PingFang SC", "Microsoft YaHei", sans-serif; background: #f5f5f5; margin: 0; }
main { max-width: 32rem; margin: 2rem auto; background: #fff; padding: 1.5rem; border-radius: 8px; }
h1 { color: #1677ff; font-size: 1.4rem; }
.notice { background: #fffbe6; border: 1px solid #ffe58f; padding: .5rem .75rem; }
.error { color: #cf1322; }
ul { list-style: none; padding: 0; }
button { width: 100%; text-align: left; margin: .4rem 0; padding: .75rem; font-size: 1rem; cursor: pointer;
  border: 1px solid #1677ff; border-radius: 6px; background: #fff; }
button small { display: block; color: #666; }
</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p class="notice">这是开发环境的模拟支付宝，不连接真实支付宝，用户信息均为虚构。</p>
${content}
</main>
</body>
</html>
`;
}

function authorizePage(
  users: readonly DevAlipayUser[],
  request: { appId: string; scope: string; redirectUri: string; state: string },
): string {
  const hidden = (name: string, value: string) =>
    `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  const buttons = users
    .map(
      (user) =>
        `<li><button type="submit" name="user_id" value="${escapeHtml(user.userId)}">` +
        `${escapeHtml(user.userName ?? user.nickName)}（${escapeHtml(user.nickName)}）` +
        `<small>${escapeHtml(user.description)}</small></button></li>`,
    )
    .join('\n');
  return page(
    '支付宝登录授权',
    `<p>应用 <code>${escapeHtml(request.appId)}</code> 申请获取你的支付宝账户信息（头像、昵称、实名信息、手机号）。</p>
<p>请选择一个测试用户，同意授权：</p>
<form method="post" action="${DEV_ALIPAY_AUTHORIZE_PATH}">
${hidden('app_id', request.appId)}
${hidden('scope', request.scope)}
${hidden('redirect_uri', request.redirectUri)}
${hidden('state', request.state)}
<ul>
${buttons}
</ul>
</form>`,
  );
}
