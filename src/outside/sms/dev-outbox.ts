import type { Db } from '../../db/database.js';
import type { SmsGateway, SmsMessage } from './sms-gateway.js';

/**
 * The development SMS gateway: messages go to the table dev_sms_outbox instead of phones, so any
 * process (the server, the CLI, an automated test through GET /dev/sms) can read the codes.
 * Refused in production, where it would swallow every citizen's code.
 */
export class DevSmsOutbox implements SmsGateway {
  readonly kind = 'dev' as const;

  constructor(
    private readonly db: Db,
    production: boolean,
  ) {
    if (production) {
      throw new Error(
        'SMS_GATEWAY=dev: the development SMS outbox is refused in production (NODE_ENV=production)',
      );
    }
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

export interface OutboxMessage {
  /** E.164. */
  phone: string;
  /** The template's `code` parameter, null for a message without one. */
  code: string | null;
  text: string;
  /** ISO 8601, as /dev/sms shows it. */
  sentAt: string;
}

interface OutboxRow {
  phone: string;
  params: unknown;
  text: string;
  sent_at: Date | string;
}

/** The newest messages to `phone` (E.164), newest first. */
export async function listOutbox(db: Db, phone: string, limit = 20): Promise<OutboxMessage[]> {
  const rows: OutboxRow[] = await db('dev_sms_outbox')
    .select('phone', 'params', 'text', 'sent_at')
    .where({ phone })
    // sent_at is the inserting transaction's start, so two messages can share it; id breaks the tie.
    .orderBy([
      { column: 'sent_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(Math.min(Math.max(Math.trunc(limit), 1), 100));
  return rows.map((row) => {
    // pg and PGlite hand jsonb over parsed; a driver that does not gives the text.
    const params = (typeof row.params === 'string' ? JSON.parse(row.params) : row.params) as Record<
      string,
      unknown
    > | null;
    const code = params?.['code'];
    return {
      phone: row.phone,
      code: typeof code === 'string' ? code : null,
      text: row.text,
      sentAt: new Date(row.sent_at).toISOString(),
    };
  });
}
