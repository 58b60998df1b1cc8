import type Router from '@koa/router';
import type { Context } from 'koa';
import type { CertificateService } from '../../certificates/certificate-service.js';
import type { AlipayLinkService } from '../../federation/alipay-link-service.js';
import type { SessionMetaStore } from '../../oidc/session-meta-store.js';
import type { FlowDeps } from '../flow-kit.js';
import type { Interaction } from '../interaction.js';

/** The two tabs of the login page. */
export type UserTab = 'natural' | 'legal';

/** Draws the login page (with the registered methods) for a method that shows it again. */
export interface LoginPage {
  render(ctx: Context, interaction: Interaction, data?: Record<string, unknown>): Promise<void>;
  /** The page's data for a method's form, to re-show it with an error. */
  data(ctx: Context, interaction: Interaction, method: string): Promise<Record<string, unknown>>;
}

/** What any login method may use; each declares the part it does use with Pick. */
export interface MethodDeps extends FlowDeps {
  loginPage: LoginPage;
  certificates: CertificateService;
  bridgeUrl: string;
  alipay: AlipayLinkService;
  /** Alipay sends the browser back to `${issuer}/alipay/callback`, one fixed address. */
  issuer: string;
  /** 用户空间's idle timeout applies to 支付宝认证 started there. */
  sessionMeta: Pick<SessionMetaStore, 'find'>;
  idleTimeoutSeconds: number;
}

/**
 * One way into an account (Kratos calls it a strategy). Its folder under src/flows/methods/
 * holds its routes; it proves factors and hands them to completeLogin, which finishes every
 * sign-in the same way. The registry (methods/index.ts) lists the methods, and the login page
 * draws its tabs, forms and links from that list.
 */
export interface LoginMethod {
  /** Stable name: the table test and the registry key. */
  id: string;
  /** The tab of the login page it belongs to. */
  tab: UserTab;
  /** A form of its own on that tab: a sub-tab (`?tab=<query>`), drawn by a partial in views/. */
  form?: { label: string; view: string; query?: string };
  /** A link under the forms, to the method's own page (a path under /interaction/:uid). */
  link?: { label: string; path: string; style: 'button' | 'link' };
  /** Whether this deployment offers it (Alipay needs its settings). */
  offered?(deps: Pick<MethodDeps, 'alipayConfigured'>): boolean;
  /** Mounts its routes. */
  routes(router: Router, deps: MethodDeps): void;
}
