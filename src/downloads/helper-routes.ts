import Router from '@koa/router';
import type { Views } from '../web/views.js';
import type { HelperFiles } from './helper-files.js';

/**
 * 下载证书助手: GET /helper/ lists the installers with size and SHA-256 (so IT can check what
 * it deploys), GET /helper/<file> sends one. Names come only from that list (HelperFiles).
 */
export function helperRoutes(deps: { files: HelperFiles; views: Views }): Router {
  // strict: /helper and /helper/ are two routes (the first sends to the second).
  const router = new Router({ strict: true });

  router.get('/helper', (ctx) => {
    ctx.status = 301;
    ctx.redirect('/helper/');
  });

  router.get('/helper/', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = deps.views.render('helper-downloads', {
      title: '下载证书助手',
      files: await deps.files.list(),
    });
  });

  router.get('/helper/:name', async (ctx) => {
    const found = await deps.files.open(ctx.params['name'] ?? '');
    if (!found) return;
    ctx.type = 'application/octet-stream';
    ctx.length = found.file.size;
    ctx.attachment(found.file.name);
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('ETag', `"${found.file.sha256}"`);
    // RFC 9530's digest of the file, so a download script can check what it got.
    ctx.set('Repr-Digest', `sha-256=:${Buffer.from(found.file.sha256, 'hex').toString('base64')}:`);
    ctx.body = found.stream;
  });

  return router;
}
