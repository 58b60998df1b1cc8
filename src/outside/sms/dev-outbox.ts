import type { Db } from '../../db/database.js';
import type { SmsGateway, SmsMessage } from './sms-gateway.js';

/**
 * The development SMS gateway: messages go to a table that GET /dev/sms shows, so any process
 * (and any automated test) can read the code. Refused in production.
 */
export class DevSmsOutbox implements SmsGateway {
  readonly kind = 'dev' as const;

  constructor(
    private readonly db: Db,
    production: boolean,
  ) {
    if (production) throw new Error('SMS_GATEWAY=dev: the development SMS outbox is refused in production');
  }

  async send(message: SmsMessage): Promise<void> {
    await this.db('dev_sms_outbox').insert({
      phone: message.phone,
      template_id: message.templateId,
      params: JSON.stringify(message.params),
      text: message.text,
    });
  }
}

export async function listOutbox(db: Db, phone: string, limit: number) {
  const rows = await db('dev_sms_outbox').where({ phone }).orderBy('id', 'desc').limit(limit);
  return rows.map((r: { phone: string; params: unknown; text: string; sent_at: Date }) => {
    const params = (typeof r.params === 'string' ? JSON.parse(r.params) : r.params) as Record<string, string>;
    return {
      phone: r.phone,
      code: params['code'] ?? null,
      text: r.text,
      sentAt: new Date(r.sent_at).toISOString(),
    };
  });
}
