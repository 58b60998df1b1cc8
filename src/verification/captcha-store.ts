import type { Db } from '../db/database.js';
import { rowsOf } from '../db/database.js';

/** SQL for captchas: one current answer per browser. */
export class CaptchaStore {
  constructor(private readonly db: Db) {}

  async put(browserId: string, answer: string, ttlSeconds: number) {
    const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
    await this.db('captchas')
      .insert({ browser_id: browserId, answer, expires_at: expiresAt })
      .onConflict('browser_id')
      .merge(['answer', 'expires_at']);
  }

  /** Removes and returns the current answer: a captcha can be tried once. */
  async take(browserId: string): Promise<string | undefined> {
    const rows = rowsOf<{ answer: string }>(
      await this.db('captchas')
        .where({ browser_id: browserId })
        .andWhere('expires_at', '>', this.db.fn.now())
        .delete()
        .returning('answer'),
    );
    return rows[0]?.answer;
  }

  async peek(browserId: string): Promise<string | undefined> {
    const row = await this.db('captchas')
      .where({ browser_id: browserId })
      .andWhere('expires_at', '>', this.db.fn.now())
      .first();
    return row?.answer;
  }
}
