import { randomBytes } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { acrSatisfies } from '../access/scopes.js';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { FlowStates } from '../state/flow-state.js';
import { field, parseBody } from '../web/body.js';
import type { Csrf } from '../web/csrf.js';
import { returnPath } from '../web/return-path.js';
import type { FirstPartySession, FirstPartySite } from './first-party-site.js';
import type { FirstPartySignIn } from './sign-in.js';

export interface GuardDeps {
  host: ProviderHost;
  flowStates: FlowStates;
  csrf: Csrf;
}

/** What one site decides about the people it lets in (its principal `P`). */
export interface SiteRules<P> {
  /**
   * Who the session's account is to the site, read afresh on every request; undefined when it
   * may no longer enter (a locked account, an operator no more), 'idle' when the site holds it
   * idle by a measure of its own.
   */
  admit(ctx: Context, session: FirstPartySession): Promise<P | 'idle' | undefined>;
  /** At the callback, before the session starts: throws to refuse it with a page of its own. */
  signingIn?(session: FirstPartySession): Promise<void>;
  /** Where the site's routes find the principal (ctx.state). */
  remember(ctx: Context, principal: P): void;
}

/**
 * The session of a site of the provider itself, one for 用户空间 and one for 管理后台: a signed
 * httpOnly cookie naming a row in the database. The row ends after the site's idle timeout
 * without a request, for every process alike and whatever the cookie says; it holds only while
 * the SSO session it came from (this browser's, the same account) does and its acr is the
 * site's. It is opened only at the callback, by a code redeemed as any relying party does.
 */
export class SessionGuard<P> {
  constructor(
    private readonly deps: GuardDeps,
    private readonly site: FirstPartySite,
    private readonly signIn: FirstPartySignIn,
    private readonly rules: SiteRules<P>,
  ) {}

  private get cookieOptions() {
    return { signed: true, httpOnly: true, sameSite: 'lax' as const, path: this.site.path };
  }

  /** This browser's principal; undefined without a session, 'idle' when its row has ended. */
  private async principalOf(ctx: Context): Promise<P | 'idle' | undefined> {
    const id = ctx.cookies.get(this.site.cookie, { signed: true });
    if (!id) return undefined;
    const session = await this.deps.flowStates.get(this.site.sessionKind, id);
    if (!session) return 'idle';
    const sso = await this.deps.host.provider.Session.get(ctx);
    // Another SSO session (signed out, or another account's) than the one it came from: the row
    // is left alone, so a copied cookie can not end its owner's session either.
    if (sso.uid !== session.sessionUid || sso.accountId !== session.accountId) return undefined;
    if (this.site.minimumAcr && !acrSatisfies(session.acr, this.site.minimumAcr)) return undefined;
    const principal = await this.rules.admit(ctx, session);
    if (principal === undefined || principal === 'idle') {
      await this.deps.flowStates.remove(this.site.sessionKind, id);
      return principal;
    }
    // Sliding: each request gives the session another idle timeout.
    await this.deps.flowStates.put(this.site.sessionKind, id, session, this.site.idleTimeoutSeconds);
    return principal;
  }

  private async start(ctx: Context, session: FirstPartySession): Promise<void> {
    await this.end(ctx);
    const id = randomBytes(24).toString('base64url');
    await this.deps.flowStates.put(this.site.sessionKind, id, session, this.site.idleTimeoutSeconds);
    ctx.cookies.set(this.site.cookie, id, { ...this.cookieOptions, secure: ctx.secure });
  }

  async end(ctx: Context): Promise<void> {
    const id = ctx.cookies.get(this.site.cookie, { signed: true });
    if (id) await this.deps.flowStates.remove(this.site.sessionKind, id);
    ctx.cookies.set(this.site.cookie, null, this.cookieOptions);
  }

  /**
   * Mounts the callback, then guards every route mounted after it: without a session the
   * browser is sent to sign in (fresh when the site or an idle session asks for it) and brought
   * back to the page it asked for; every POST must carry the page's CSRF token.
   */
  mount(router: Router): void {
    const { site } = this;
    router.get('/callback', async (ctx) => {
      const outcome = await this.signIn.finish(ctx);
      if (outcome === 'cancelled') return ctx.redirect(`${site.path}/signed-out`);
      if (!outcome) return ctx.redirect(site.refusedPath);
      await this.rules.signingIn?.(outcome.session);
      await this.start(ctx, outcome.session);
      ctx.redirect(returnPath(outcome.returnTo, { within: site.path, fallback: site.home }));
    });

    router.use(async (ctx, next) => {
      const principal = await this.principalOf(ctx);
      if (principal === undefined || principal === 'idle') {
        const returnTo =
          ctx.method === 'GET' && ctx.path !== `${site.path}/logout` ? ctx.originalUrl : site.home;
        const fresh = principal === 'idle' || (await site.freshSignIn(ctx));
        ctx.redirect(await this.signIn.begin(ctx, returnTo, fresh));
        return;
      }
      this.rules.remember(ctx, principal);
      if (ctx.method === 'POST') {
        await parseBody(ctx, async () => {});
        // Forms send the token as a field; a page script as the X-CSRF-Token header.
        this.deps.csrf.verify(ctx, field(ctx, '_csrf'));
      }
      await next();
    });
  }
}
