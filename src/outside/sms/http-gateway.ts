import {
  checkClientOptions,
  postSignedJson,
  SignedCallFailed,
  type SignedJsonClientOptions,
} from './hmac.js';
import { type SmsGateway, type SmsMessage, SmsSendFailed } from './sms-gateway.js';

export type HttpSmsGatewayOptions = SignedJsonClientOptions;

const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * The SMS gateway over HTTP (wire format: ./README.md): a signed JSON POST of
 * `{appId, phone, templateId, params, timestamp, nonce}`, accepted only by `{"code": "OK", messageId}`.
 * Retries connection errors and 5xx within the time budget; never a 4xx or a timeout, after which the
 * message may well have been sent, and a second SMS would confuse the person more than a retry helps.
 */
export class HttpSmsGateway implements SmsGateway {
  readonly kind = 'http' as const;
  readonly #options: HttpSmsGatewayOptions;

  constructor(options: HttpSmsGatewayOptions) {
    checkClientOptions(options, 'SMS gateway');
    this.#options = { ...options };
  }

  async send(message: SmsMessage): Promise<void> {
    if (!E164.test(message.phone)) {
      // The number is not echoed: it is personal data and the detail goes to the log.
      throw new SmsSendFailed('phone number is not in E.164 form', { reason: 'invalid_message' });
    }
    let answer: unknown;
    try {
      answer = await postSignedJson(this.#options, ({ timestamp, nonce }) => ({
        appId: this.#options.appId,
        phone: message.phone,
        templateId: message.templateId,
        params: message.params,
        // The same values as the signature headers, so the signed body binds them too.
        timestamp: Number(timestamp),
        nonce,
      }));
    } catch (err) {
      if (err instanceof SignedCallFailed) {
        const code = err.details.answerCode ? ` (${err.details.answerCode})` : '';
        throw new SmsSendFailed(`SMS gateway: ${err.message}${code}, ${err.details.attempts} attempt(s)`, {
          reason: err.reason,
          cause: err,
        });
      }
      throw err;
    }
    const { code, messageId } = (answer ?? {}) as { code?: unknown; messageId?: unknown };
    if (code !== 'OK' || typeof messageId !== 'string' || messageId === '') {
      const shown = typeof code === 'string' ? code.slice(0, 64) : typeof code;
      throw new SmsSendFailed(`SMS gateway did not accept the message (code ${shown})`, {
        reason: 'refused',
      });
    }
  }
}
