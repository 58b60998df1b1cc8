import type { Context } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Views } from '../web/views.js';

/** What an OAuth error means to a citizen who landed on our page instead of the site's. */
const ERROR_MESSAGES: Record<string, string> = {
  invalid_request: '登录请求无效，请返回原网站重新发起登录。',
  invalid_request_uri: '登录请求已失效，或不属于发起登录的网站，请返回原网站重新发起登录。',
  invalid_request_object: '登录请求无效，请返回原网站重新发起登录。',
  invalid_client: '发起登录的网站未在统一身份认证平台登记或已停用。',
  invalid_redirect_uri: '发起登录的网站地址与登记的不一致，已拒绝以保护您的账号。',
  unauthorized_client: '该网站无权使用此登录方式。',
  access_denied: '您已拒绝授权。',
  invalid_scope: '该网站请求的数据超出了其登记的范围。',
  login_required: '请先登录。',
  consent_required: '需要您的授权确认。',
  session_not_found: '登录页面已过期，请返回原网站重新登录。',
  temporarily_unavailable: '服务暂不可用，请稍后重试。',
  server_error: '系统繁忙，请稍后重试。',
};

export async function errorPage(
  views: Views,
  ctx: Pick<Context, 'type' | 'body'>,
  out: { error: string; error_description?: string },
  _error?: unknown,
) {
  ctx.type = 'html';
  ctx.body = views.render('error', {
    title: '无法完成登录',
    message: ERROR_MESSAGES[out.error] ?? '登录请求无法完成，请返回原网站重试。',
    detail: out.error,
  });
}

export async function logoutPage(views: Views, ctx: KoaContextWithOIDC, form: string) {
  ctx.type = 'html';
  ctx.body = views.render('logout', {
    title: '退出登录',
    form,
    clientName: ctx.oidc.client?.clientName,
  });
}

export async function loggedOutPage(views: Views, ctx: KoaContextWithOIDC) {
  ctx.type = 'html';
  ctx.body = views.render('logged-out', { title: '已退出', clientName: ctx.oidc.client?.clientName });
}
