import Router from '@koa/router';
import { parseMainlandMobile } from '../accounts/phone.js';
import type { Db } from '../db/database.js';
import { BadInput } from '../errors.js';
import { listOutbox } from '../outside/sms/dev-outbox.js';
import type { CaptchaService } from '../verification/captcha-service.js';
import { browserId } from '../web/browser-id.js';

/**
 * Development-only helpers for automated tests: the requesting browser's captcha answer and the
 * SMS outbox. Mounted only when NODE_ENV is not production.
 */
export function devRoutes(deps: { db: Db; captcha: CaptchaService; devSmsOutbox: boolean }): Router {
  const router = new Router({ prefix: '/dev' });

  router.get('/captcha', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { answer: (await deps.captcha.currentAnswer(browserId(ctx))) ?? null };
  });

  if (deps.devSmsOutbox) {
    router.get('/sms', async (ctx) => {
      const phone = parseMainlandMobile(String(ctx.query['phone'] ?? ''));
      if (!phone.ok) throw new BadInput(phone.message);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = await listOutbox(deps.db, phone.e164, 20);
    });
  }
  return router;
}
