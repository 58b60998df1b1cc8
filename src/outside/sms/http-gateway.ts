import { randomBytes } from 'node:crypto';
import { SignedPostFailed, type SignedPostOptions, signedPost } from '../signed-request.js';
import { type SmsGateway, type SmsMessage, SmsSendFailed } from './sms-gateway.js';

/**
 * The SMS gateway over HTTP: JSON POST `{appId, phone, templateId, params, timestamp, nonce}`,
 * signed (see ../signed-request.ts), answered `{code: "OK", messageId}`.
 */
export class HttpSmsGateway implements SmsGateway {
  readonly kind = 'http' as const;

  constructor(private readonly options: SignedPostOptions) {}

  async send(message: SmsMessage): Promise<void> {
    let answer: unknown;
    try {
      answer = await signedPost(this.options, {
        appId: this.options.appId,
        phone: message.phone,
        templateId: message.templateId,
        params: message.params,
        timestamp: new Date().toISOString(),
        nonce: randomBytes(8).toString('hex'),
      });
    } catch (err) {
      if (err instanceof SignedPostFailed) throw new SmsSendFailed(err.message);
      throw err;
    }
    if ((answer as { code?: string })?.code !== 'OK') {
      throw new SmsSendFailed(`gateway refused: ${JSON.stringify(answer).slice(0, 200)}`);
    }
  }
}
