import type { Context } from 'koa';
import { type FlowDeps, type PageDeps, renderPage } from './flow-kit.js';
import { clientNameOf, type Interaction } from './interaction.js';
import type { AnyLoginMethod, LoginPage, UserTab } from './methods/login-method.js';
import { recoveredLogin } from './recovery-routes.js';

/** What the login page shows of one method. */
interface MethodEntry {
  id: string;
  tab: UserTab;
  form?: { label: string; view: string; query?: string };
  link?: AnyLoginMethod['link'];
}

/**
 * The login page, drawn from the registered methods: the two user tabs, a sub-tab per method
 * with a form on the chosen tab, and a link per method with a page of its own.
 */
export function loginPage(
  deps: PageDeps & Pick<FlowDeps, 'host' | 'loginGuard' | 'flowStates'>,
  methods: readonly { method: AnyLoginMethod; offered: boolean }[],
): LoginPage {
  const entries: MethodEntry[] = methods
    .filter((m) => m.offered)
    .map(({ method: { id, tab, form, link } }) => ({
      id,
      tab,
      ...(form?.tab ? { form: form.tab } : {}),
      ...(link ? { link } : {}),
    }));
  const withForm = entries.filter((m) => m.form);
  const defaultForm = withForm.find((m) => m.tab === 'natural') ?? withForm[0];

  const data = async (ctx: Context, interaction: Interaction, methodId: string) => {
    const chosen = entries.find((m) => m.id === methodId) ?? defaultForm;
    return {
      title: '登录',
      uid: interaction.uid,
      clientName: await clientNameOf(deps, interaction),
      methods: entries,
      userTab: chosen?.tab ?? 'natural',
      method: chosen?.id,
      captchaRequired: await deps.loginGuard.captchaRequired('', ctx.ip),
    } as Record<string, unknown>;
  };

  return {
    data,
    async render(ctx, interaction, extra = {}) {
      const query = ctx.query['tab'];
      const chosen =
        withForm.find((m) => m.form?.query !== undefined && m.form.query === query) ?? defaultForm;
      // After 忘记密码: the tab it was done on, with the login filled in.
      const recovered = ctx.query['reset'] === '1' ? await recoveredLogin(deps, interaction.uid) : undefined;
      const recoveredMethod = recovered?.tab === 'legal' ? 'credit-code' : 'password';
      renderPage(ctx, deps, 'login', {
        ...(await data(ctx, interaction, chosen?.id ?? '')),
        notice: ctx.query['reset'] === '1' ? '密码已重置，请使用新密码登录' : undefined,
        ...(recovered && chosen?.id === recoveredMethod ? { login: recovered.login } : {}),
        ...extra,
      });
    },
  };
}
