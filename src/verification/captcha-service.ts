import svgCaptcha from 'svg-captcha';
import { CaptchaMissing, CaptchaWrong } from '../errors.js';
import type { CaptchaStore } from './captcha-store.js';

const TTL_SECONDS = 5 * 60;
// No look-alikes (0/O, 1/l/I), and case does not matter when answering.
const CHARSET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

/** Image captchas (图片验证码): made server-side, single use, five minutes, bound to one browser. */
export class CaptchaService {
  constructor(private readonly store: CaptchaStore) {}

  /**
   * A new captcha for this browser, as SVG. `large` (长辈模式) draws it bigger, in dark greys on
   * the page's white with one noise line, instead of many colours that are hard to tell apart.
   */
  async issue(browserId: string, options: { large?: boolean } = {}): Promise<string> {
    const captcha = svgCaptcha.create({
      size: 4,
      charPreset: CHARSET,
      ...(options.large
        ? { noise: 1, color: false, width: 200, height: 72, fontSize: 72 }
        : { noise: 2, color: true, width: 120, height: 44 }),
    });
    await this.store.put(browserId, captcha.text.toUpperCase(), TTL_SECONDS);
    return captcha.data;
  }

  /**
   * Throws CaptchaWrong unless `answer` matches; the captcha is used up either way. An empty
   * answer is CaptchaMissing and spends nothing: the page shows a new picture regardless.
   */
  async check(browserId: string, answer: string): Promise<void> {
    if (!answer.trim()) throw new CaptchaMissing();
    const expected = await this.store.take(browserId);
    if (!expected || expected !== answer.trim().toUpperCase()) throw new CaptchaWrong();
  }

  /** For automated tests in development only (GET /dev/captcha). */
  currentAnswer(browserId: string): Promise<string | undefined> {
    return this.store.peek(browserId);
  }
}
