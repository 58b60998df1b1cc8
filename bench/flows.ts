import { createHash, randomBytes } from 'node:crypto';
import { formAction, hiddenField, type PageResponse, UserAgent } from '../test/support/user-agent.js';
import { basicAuth, type ClientCredentials } from './setup.js';

/**
 * The steps of the browser flows the bench drives (password login, authorize with an SSO
 * session, code exchange, refresh, SMS-code issue), shared by the load run and the statement
 * count. Every answer is checked; anything else throws UnexpectedAnswer with what came back.
 */

/** Per request, like autocannon's timeout in the request scenarios. */
const REQUEST_TIMEOUT_MS = 10_000;

/** The provider answered something the flow does not expect (a failed iteration). */
export class UnexpectedAnswer extends Error {
  constructor(
    step: string,
    readonly status: number,
    body: string,
  ) {
    super(`${step}: ${status} ${body.replace(/\s+/g, ' ').slice(0, 300)}`);
    this.name = 'UnexpectedAnswer';
  }
}

/**
 * A new browser: its own cookie jar (test/support's UserAgent). With `forwardedFor`, every request
 * carries `X-Forwarded-For`, so a server with TRUST_PROXY=true sees the simulated citizen's own
 * address (the per-IP limits are per citizen, as behind a real reverse proxy).
 */
export class BenchBrowser extends UserAgent {
  constructor(private readonly forwardedFor?: string) {
    super();
  }

  override request(url: string | URL, init: RequestInit = {}): Promise<PageResponse> {
    const headers = new Headers(init.headers);
    if (this.forwardedFor) headers.set('x-forwarded-for', this.forwardedFor);
    return super.request(url, { ...init, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  }
}

/** Where a flow runs: one server process, and the site (client) it signs in to. */
export interface FlowSite {
  /** The server's base URL (http://127.0.0.1:port); every request of the flow goes there. */
  base: string;
  paths: { authorization: string; token: string };
  client: ClientCredentials;
  redirectUri: string;
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');

/** An authorization request with PKCE (S256) and state, as a site would build it. */
export function authorizationRequest(
  site: FlowSite,
  options: { scope?: string; prompt?: string } = {},
): { url: string; verifier: string; state: string } {
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(16));
  const url = new URL(site.paths.authorization, site.base);
  url.search = new URLSearchParams({
    client_id: site.client.clientId,
    redirect_uri: site.redirectUri,
    response_type: 'code',
    scope: options.scope ?? 'openid profile phone',
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
    state,
    ...(options.prompt ? { prompt: options.prompt } : {}),
  }).toString();
  return { url: url.href, verifier, state };
}

/** The code of a redirect back to the site, checked against the request's state. */
function codeOf(site: FlowSite, res: PageResponse, state: string, step: string): string {
  if (!res.location?.startsWith(site.redirectUri)) throw new UnexpectedAnswer(step, res.status, res.body);
  const callback = new URL(res.location);
  const code = callback.searchParams.get('code');
  if (!code || callback.searchParams.get('state') !== state) {
    throw new UnexpectedAnswer(`${step} (redirect without a code)`, res.status, res.location);
  }
  return code;
}

export interface Authorized {
  code: string;
  verifier: string;
  /** Milliseconds from submitting the password to the redirect back to the site (argon2id, session, code). */
  passwordMs?: number;
}

/**
 * A whole password sign-in in `browser`: /auth → login page → POST the password form (with its
 * CSRF token) → redirects until the provider sends the browser back to the site with a code.
 * Agrees on the consent page when one is shown and `consent` is set (the bench's sites are
 * first-party, so it is shown only for prompt=consent).
 */
export async function passwordSignIn(
  browser: BenchBrowser,
  site: FlowSite,
  citizen: { login: string; password: string },
  options: { scope?: string; prompt?: string; consent?: boolean } = {},
): Promise<Authorized> {
  const request = authorizationRequest(site, options);
  const page = await browser.follow(await browser.get(request.url), site.redirectUri);
  if (page.status !== 200 || !page.body.includes('/login" class="form"')) {
    throw new UnexpectedAnswer('/auth → login page', page.status, page.body);
  }
  const started = performance.now();
  let res = await browser.post(formAction(page.body, '/login', page.url), {
    _csrf: hiddenField(page.body, '_csrf'),
    login: citizen.login,
    password: citizen.password,
  });
  res = await browser.follow(res, site.redirectUri);
  const passwordMs = performance.now() - started;
  if (options.consent && res.status === 200 && res.body.includes('/confirm"')) {
    res = await browser.follow(
      await browser.post(formAction(res.body, '/confirm', res.url), {
        _csrf: hiddenField(res.body, '_csrf'),
        decision: 'allow',
      }),
      site.redirectUri,
    );
  }
  return {
    code: codeOf(site, res, request.state, 'password → site'),
    verifier: request.verifier,
    passwordMs,
  };
}

/** /auth in a browser that has an SSO session: no page, straight back to the site with a code. */
export async function ssoAuthorize(browser: BenchBrowser, site: FlowSite): Promise<Authorized> {
  const request = authorizationRequest(site);
  const res = await browser.follow(await browser.get(request.url), site.redirectUri);
  return { code: codeOf(site, res, request.state, '/auth with an SSO session'), verifier: request.verifier };
}

export interface TokenAnswer {
  access_token: string;
  id_token?: string;
  refresh_token?: string;
}

async function tokenRequest(
  site: FlowSite,
  form: Record<string, string>,
  step: string,
): Promise<TokenAnswer> {
  const res = await fetch(new URL(site.paths.token, site.base), {
    method: 'POST',
    headers: { authorization: basicAuth(site.client), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = await res.text();
  if (res.status !== 200) throw new UnexpectedAnswer(step, res.status, body);
  let answer: TokenAnswer;
  try {
    answer = JSON.parse(body) as TokenAnswer;
  } catch {
    throw new UnexpectedAnswer(`${step} (not JSON)`, res.status, body);
  }
  if (typeof answer.access_token !== 'string')
    throw new UnexpectedAnswer(`${step} (no access_token)`, 200, body);
  return answer;
}

/** The site redeems a code at /token (client_secret_basic, PKCE code_verifier); an ID token must come back. */
export async function exchangeCode(site: FlowSite, authorized: Authorized): Promise<TokenAnswer> {
  const answer = await tokenRequest(
    site,
    {
      grant_type: 'authorization_code',
      code: authorized.code,
      redirect_uri: site.redirectUri,
      code_verifier: authorized.verifier,
    },
    '/token authorization_code',
  );
  if (typeof answer.id_token !== 'string') {
    throw new UnexpectedAnswer('/token authorization_code (no id_token)', 200, JSON.stringify(answer));
  }
  return answer;
}

/** The site refreshes; the refresh token rotates, so the answer must carry the next one. */
export async function refresh(
  site: FlowSite,
  refreshToken: string,
): Promise<TokenAnswer & { refresh_token: string }> {
  const answer = await tokenRequest(
    site,
    { grant_type: 'refresh_token', refresh_token: refreshToken },
    '/token refresh_token',
  );
  if (typeof answer.refresh_token !== 'string') {
    throw new UnexpectedAnswer('/token refresh_token (no new refresh_token)', 200, JSON.stringify(answer));
  }
  return answer as TokenAnswer & { refresh_token: string };
}

/**
 * A citizen gets a login SMS code through the pages, in a new browser: /auth → login page → the
 * 短信验证码登录 tab → its captcha image → the answer from GET /dev/captcha (the bench's stand-in for
 * a person reading the image; development servers only) → POST 获取验证码 (action=send_sms). The
 * page says the same for unregistered numbers, so the caller checks the SMS outbox afterwards.
 */
export async function issueSmsCode(
  browser: BenchBrowser,
  site: FlowSite,
  phone: string,
): Promise<{ sendMs: number }> {
  const request = authorizationRequest(site);
  const login = await browser.follow(await browser.get(request.url), site.redirectUri);
  const tab = /href="([^"]*\?tab=sms)"/.exec(login.body)?.[1];
  if (login.status !== 200 || !tab)
    throw new UnexpectedAnswer('/auth → login page', login.status, login.body);
  const page = await browser.get(new URL(tab.replaceAll('&amp;', '&'), login.url));
  const image = /<img src="([^"]+)" alt="图片验证码/.exec(page.body)?.[1];
  if (page.status !== 200 || !image) throw new UnexpectedAnswer('SMS tab', page.status, page.body);
  const svg = await browser.get(new URL(image.replaceAll('&amp;', '&'), page.url));
  if (svg.status !== 200 || !svg.body.startsWith('<svg'))
    throw new UnexpectedAnswer('captcha image', svg.status, svg.body);
  const answer = await browser.request(new URL('/dev/captcha', site.base), {
    headers: { accept: 'application/json' },
  });
  const captcha =
    answer.status === 200 ? (JSON.parse(answer.body) as { answer: string | null }).answer : null;
  if (!captcha) throw new UnexpectedAnswer('GET /dev/captcha', answer.status, answer.body);
  const started = performance.now();
  const sent = await browser.post(formAction(page.body, '/login-sms', page.url), {
    _csrf: hiddenField(page.body, '_csrf'),
    phone,
    captcha,
    sms_code: '',
    action: 'send_sms',
  });
  const sendMs = performance.now() - started;
  if (sent.status !== 200 || sent.body.includes('role="alert"') || !sent.body.includes('验证码已发送')) {
    throw new UnexpectedAnswer('POST 获取验证码', sent.status, sent.body.replace(/^[\s\S]*?<main[^>]*>/, ''));
  }
  return { sendMs };
}

/** How many SMS messages the development outbox holds for a phone (GET /dev/sms). */
export async function outboxCount(base: string, phone: string): Promise<number> {
  const res = await fetch(new URL(`/dev/sms?phone=${encodeURIComponent(phone)}`, base), {
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = await res.text();
  if (res.status !== 200) throw new UnexpectedAnswer('GET /dev/sms', res.status, body);
  return (JSON.parse(body) as unknown[]).length;
}
