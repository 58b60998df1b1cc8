import { randomInt } from 'node:crypto';

/**
 * A small scripted browser over fetch: a cookie jar (with paths), manual redirects, and form
 * helpers, enough to walk the provider's real pages the way a person's browser does.
 */
interface StoredCookie {
  name: string;
  value: string;
  path: string;
  host: string;
}

export interface PageResponse {
  status: number;
  url: string;
  location?: string | undefined;
  body: string;
  headers: Headers;
}

export class UserAgent {
  readonly cookies: StoredCookie[] = [];

  cookieHeader(url: URL): string {
    return this.cookies
      .filter((c) => c.host === url.hostname && url.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  private store(url: URL, headers: Headers) {
    for (const line of headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      let cookiePath = '/';
      let expired = false;
      for (const attr of attrs) {
        const [k, v] = attr.split('=');
        if (k?.toLowerCase() === 'path' && v) cookiePath = v;
        if (k?.toLowerCase() === 'expires' && v && new Date(v).getTime() < Date.now()) expired = true;
        if (k?.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      }
      const i = this.cookies.findIndex(
        (c) => c.name === name && c.path === cookiePath && c.host === url.hostname,
      );
      if (i !== -1) this.cookies.splice(i, 1);
      if (!expired && value)
        // Like a browser: cookies belong to the host name, whatever the port.
        this.cookies.push({ name, value, path: cookiePath, host: url.hostname });
    }
  }

  async request(url: string | URL, init: RequestInit = {}): Promise<PageResponse> {
    const target = new URL(url);
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(target);
    if (cookie) headers.set('cookie', cookie);
    if (!headers.has('accept')) headers.set('accept', 'text/html,application/xhtml+xml');
    const res = await fetch(target, { ...init, headers, redirect: 'manual' });
    this.store(target, res.headers);
    const location = res.headers.get('location') ?? undefined;
    return {
      status: res.status,
      url: target.href,
      location: location ? new URL(location, target).href : undefined,
      body: await res.text(),
      headers: res.headers,
    };
  }

  get(url: string | URL) {
    return this.request(url);
  }

  post(url: string | URL, form: Record<string, string>) {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  }

  /** Follows redirects until one leaves for `stopAt` (the relying party) or a page is shown. */
  async follow(start: PageResponse, stopAt?: string): Promise<PageResponse> {
    let res = start;
    for (let i = 0; i < 20 && res.location; i++) {
      if (stopAt && res.location.startsWith(stopAt)) return res;
      res = await this.get(res.location);
    }
    return res;
  }
}

/** The value of a hidden input in a page. */
export function hiddenField(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no hidden field ${name} in page`);
  return match[1]!.replaceAll('&amp;', '&');
}

/** The action of the first form whose action contains `fragment`. */
export function formAction(html: string, fragment: string, base: string): string {
  // A form whose action ends with the fragment wins over one that merely contains it, and a form's
  // own action over a button's formaction (a 获取验证码 inside the form it belongs to).
  const match =
    new RegExp(`<form[^>]*action="([^"]*${fragment})"`).exec(html) ??
    new RegExp(`<form[^>]*action="([^"]*${fragment}[^"]*)"`).exec(html) ??
    new RegExp(`<button[^>]*formaction="([^"]*${fragment})"`).exec(html);
  if (!match) throw new Error(`no form with action containing ${fragment}`);
  return new URL(match[1]!.replaceAll('&amp;', '&'), base).href;
}

/** A browser at its own address behind the load balancer: for servers started with TRUST_PROXY=true. */
export class UserAgentAt extends UserAgent {
  constructor(readonly ip: string) {
    super();
  }

  override request(url: string | URL, init: RequestInit = {}): Promise<PageResponse> {
    const headers = new Headers(init.headers);
    headers.set('x-forwarded-for', this.ip);
    return super.request(url, { ...init, headers });
  }
}

/**
 * A browser from an address of its own, drawn at random, as the reverse proxy in front of a server
 * with TRUST_PROXY tells it (X-Forwarded-For): the per-address limits and captcha counts of one
 * browser do not reach the others on the same server.
 */
export class ProxiedUserAgent extends UserAgentAt {
  constructor() {
    super(`10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`);
  }
}
