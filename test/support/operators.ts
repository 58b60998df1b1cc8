import type { OperatorRole } from '../../src/access/operator-roles.js';
import { addCitizen, latestSmsCode, solveCaptcha, submit } from './citizen.js';
import { beginAuthorization, completeAuthorization, type RelyingParty } from './relying-party.js';
import type { TestServer } from './server.js';
import { type PageResponse, UserAgent } from './user-agent.js';

export const OPERATOR_PASSWORD = 'San-Yuan#2024';

/** A person made an operator of one role by the command line on the server (actor `cli`). */
export async function addOperator(server: TestServer, role: OperatorRole) {
  const person = await addCitizen(server, OPERATOR_PASSWORD);
  await server.services.operators.add(person.id, role, { actor: 'cli', reason: '初始化' });
  return person;
}

/** Password, then the SMS step-up the admin scope asks for, on the provider's pages. */
async function passwordAndSms(
  server: TestServer,
  ua: UserAgent,
  login: PageResponse,
  phone: string,
  stopAt: string,
) {
  // The page asks for the captcha after failed sign-ins from this address (another test's).
  const captcha: Record<string, string> = login.body.includes('图片验证码')
    ? { captcha: await solveCaptcha(ua, server, login) }
    : {};
  const afterPassword = await submit(ua, login, '/login', {
    login: phone,
    password: OPERATOR_PASSWORD,
    ...captcha,
  });
  const sent = await submit(ua, afterPassword, '/step-up', { action: 'send_sms' });
  const code = (await latestSmsCode(server, phone))!;
  return submit(ua, sent, '/step-up', { sms_code: code, action: 'verify' }, stopAt);
}

/**
 * A person's admin-API access token, signed in at acr mfa through a site holding the admin scope.
 * Given the browser of a console sign-in, the provider's session there serves (no new SMS code,
 * which the per-phone interval would hold back).
 */
export async function operatorToken(
  server: TestServer,
  site: RelyingParty,
  phone: string,
  ua = new UserAgent(),
): Promise<string> {
  const start = await beginAuthorization(ua, site, { scope: 'openid admin' });
  const done = start.page.location?.startsWith(site.redirectUri)
    ? start.page
    : await passwordAndSms(server, ua, start.page, phone, site.redirectUri);
  const { tokens } = await completeAuthorization(ua, site, start, done);
  if (!tokens) throw new Error('the operator got no token');
  return tokens.access_token;
}

/** A browser signed in to 管理后台 over HTTP, and the console page it landed on. */
export async function consoleSignIn(server: TestServer, phone: string) {
  const ua = new UserAgent();
  const login = await ua.follow(await ua.get(`${server.url}/console/`));
  const page = await passwordAndSms(server, ua, login, phone, `${server.url}/never`);
  if (!page.url.includes('/console/')) throw new Error(`not in the console: ${page.status} ${page.url}`);
  return { ua, page };
}

/**
 * Opens the console page `formPath` and posts `fields` to `postPath` with its CSRF token, as a
 * browser whose page was altered would; answers the page the server shows next.
 */
export async function consolePost(
  server: TestServer,
  ua: UserAgent,
  formPath: string,
  postPath: string,
  fields: Record<string, string | string[]>,
): Promise<PageResponse> {
  const form = await ua.get(`${server.url}${formPath}`);
  const csrf = /name="_csrf" value="([^"]*)"/.exec(form.body)?.[1];
  if (!csrf) throw new Error(`no CSRF token on ${form.url}: ${form.status}`);
  const body = new URLSearchParams({ _csrf: csrf.replaceAll('&amp;', '&') });
  for (const [name, value] of Object.entries(fields)) {
    for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  }
  return ua.follow(
    await ua.request(`${server.url}${postPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    }),
  );
}
