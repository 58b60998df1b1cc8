import { randomInt } from 'node:crypto';
import { idCheckCharacter } from '../../src/identifiers/id-number.js';
import type { OutboxMessage } from '../../src/outside/sms/dev-outbox.js';
import { randomPhone } from './relying-party.js';
import type { TestServer } from './server.js';
import { formAction, hiddenField, type PageResponse, type UserAgent } from './user-agent.js';

/**
 * A valid resident ID number nobody else in the test run has: random region and sequence (ten million
 * numbers per birth date, where a random sequence alone collided within one test file), real check
 * character.
 */
export function randomIdNumber(birth = '19900307'): string {
  const region = `11${String(randomInt(0, 10_000)).padStart(4, '0')}`;
  const body = `${region}${birth}${String(randomInt(0, 1000)).padStart(3, '0')}`;
  return body + idCheckCharacter(body);
}

/**
 * A citizen account made directly by the account service, for tests of what comes after
 * registration (registration walks its own pages in its own tests). Verified when given an identity.
 */
export async function addCitizen(
  server: Pick<TestServer, 'services'>,
  password: string,
  identity?: { realName: string; idNumber: string },
): Promise<{ phone: string; id: string }> {
  const phone = randomPhone();
  const { id } = await server.services.accounts.addCitizen({ phone, password });
  // From an address of its own (TEST-NET-2), so set-up never spends the per-address 实名认证 limit.
  if (identity)
    await server.services.realName.verify(id, { ...identity, ip: `198.51.100.${randomInt(0, 256)}` });
  return { phone, id };
}

/** The browser's current captcha answer, as automated tests read it in development. */
export async function captchaAnswer(ua: UserAgent, server: TestServer): Promise<string> {
  const res = await ua.request(`${server.url}/dev/captcha`, { headers: { accept: 'application/json' } });
  return (JSON.parse(res.body) as { answer: string }).answer;
}

/** The newest code in the development SMS outbox for a national phone number. */
export async function latestSmsCode(server: TestServer, phone: string): Promise<string | undefined> {
  return (await smsOutbox(server, phone))[0]?.code ?? undefined;
}

/** The development outbox of a national number (GET /dev/sms), newest first. */
export async function smsOutbox(server: TestServer, phone: string): Promise<OutboxMessage[]> {
  const res = await fetch(`${server.url}/dev/sms?phone=${phone}`);
  return (await res.json()) as OutboxMessage[];
}

/** Submits the form whose action contains `fragment`, with its CSRF token, following to the next page. */
export async function submit(
  ua: UserAgent,
  page: PageResponse,
  fragment: string,
  fields: Record<string, string>,
  stopAt?: string,
): Promise<PageResponse> {
  const res = await ua.post(formAction(page.body, fragment, page.url), {
    _csrf: hiddenField(page.body, '_csrf'),
    ...fields,
  });
  return ua.follow(res, stopAt);
}

/** The text of the page's alert (error) or status (notice) message. */
export function messageOf(page: PageResponse): string {
  return alertOf(page) || (/role="status">([^<]*)</.exec(page.body)?.[1] ?? '');
}

/**
 * The page's error summary (views/_errors.eta) as one line: the message about the whole form,
 * then each field's, joined by '；'; '' when there is none.
 */
export function alertOf(page: PageResponse): string {
  const summary = /<div class="message error error-summary" role="alert"[^>]*>(.*?)<\/div>/s.exec(page.body);
  if (summary) {
    const whole = /^<p>([^<]*)/.exec(summary[1]!)?.[1];
    const fields = [...summary[1]!.matchAll(/<li><a [^>]*>([^<]*)<\/a><\/li>/g)].map((m) => m[1]);
    return [whole, ...fields].filter(Boolean).join('；');
  }
  return /role="alert">([^<]*)</.exec(page.body)?.[1] ?? '';
}

/** Loads the captcha image so the browser has one, then returns the answer. */
export async function solveCaptcha(ua: UserAgent, server: TestServer, page: PageResponse): Promise<string> {
  const src = /<img src="([^"]+)" alt="图片验证码/.exec(page.body)?.[1];
  await ua.get(new URL(src ?? '/captcha', server.url));
  return captchaAnswer(ua, server);
}

/** A page that says what succeeded (实名认证成功) before the sign-in goes on: its 继续, followed. */
export async function continueFrom(
  ua: UserAgent,
  page: PageResponse,
  stopAt?: string,
): Promise<PageResponse> {
  const href = /<a href="([^"]+)" class="button primary">继续<\/a>/.exec(page.body)?.[1];
  if (!href) throw new Error(`no 继续 on the page: ${page.status} ${page.body.slice(0, 300)}`);
  return ua.follow(await ua.get(new URL(href.replaceAll('&amp;', '&'), page.url)), stopAt);
}
