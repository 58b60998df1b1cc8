import type { KoaContextWithOIDC } from 'oidc-provider';
import { interactionPolicy } from 'oidc-provider';
import { ACR, ACR_VALUES, type Acr, acrSatisfies, hasScope } from '../access/scopes.js';
import type { CertificationLevel } from '../accounts/account-store.js';

const { Check, Prompt, base } = interactionPolicy;

const LEVELS: CertificationLevel[] = ['L1', 'L2', 'L3'];

export function levelSatisfies(have: string | undefined, want: string): boolean {
  return LEVELS.indexOf(have as CertificationLevel) >= LEVELS.indexOf(want as CertificationLevel);
}

/** The weakest acr that satisfies one constraint: any of the listed values will do. */
function weakestOf(values: unknown[]): Acr | undefined {
  const known = values.filter((v): v is Acr => ACR_VALUES.includes(v as Acr));
  return known.sort((a, b) => ACR_VALUES.indexOf(a) - ACR_VALUES.indexOf(b))[0];
}

/**
 * The strength a site asks for, by `acr_values` or by an essential `acr` claim (OIDC Core
 * 5.5.1.1), or that the scope needs (admin: mfa). Stronger sessions satisfy weaker requests; a
 * weaker one gets a step-up, never a silent downgrade.
 */
export function requiredAcr(oidc: KoaContextWithOIDC['oidc']): Acr | undefined {
  const constraints: (Acr | undefined)[] = [];
  const acrValues = oidc.params?.['acr_values'];
  if (typeof acrValues === 'string' && acrValues) constraints.push(weakestOf(acrValues.split(' ')));
  const claim = (
    oidc.claims as { id_token?: { acr?: { essential?: boolean; value?: string; values?: string[] } } }
  )?.id_token?.acr;
  if (claim?.essential) constraints.push(weakestOf(claim.values ?? (claim.value ? [claim.value] : [])));
  // The admin API's scope is for operators signed in with a second factor or a certificate.
  if (hasScope(oidc.params?.['scope'], 'admin')) constraints.push(ACR.mfa);
  // L3 is the certificate level: a site registered with --require-level L3 is not satisfied by a
  // session of an L3 account that signed in with a weaker method.
  if (oidc.client?.['require_level'] === 'L3') constraints.push(ACR.cert);
  const set = constraints.filter((c): c is Acr => !!c);
  return set.sort((a, b) => ACR_VALUES.indexOf(b) - ACR_VALUES.indexOf(a))[0];
}

/**
 * The prompt values a site may send (OIDC Core 3.1.2.1) besides none: each is a requestable
 * prompt of the policy below, and discovery lists them (prompt_values_supported).
 */
export const REQUESTABLE_PROMPTS = ['select_account', 'login', 'consent'] as const;

/**
 * oidc-provider's default policy, with our acr ordering instead of exact acr matching, and a
 * 实名认证 prompt for sites registered with a required certification level.
 */
export function unifiedIdPolicy(levelOf: (accountId: string) => Promise<string | undefined>) {
  const policy = base();
  const login = policy.get('login')!;
  login.checks.remove('essential_acrs');
  login.checks.remove('essential_acr');
  login.checks.add(
    new Check(
      'acr_step_up',
      'the site asks for a stronger authentication than this session has',
      'login_required',
      (ctx) => {
        const wanted = requiredAcr(ctx.oidc);
        if (!wanted || acrSatisfies(ctx.oidc.acr, wanted)) return Check.NO_NEED_TO_PROMPT;
        return Check.REQUEST_PROMPT;
      },
      (ctx) => ({ requiredAcr: requiredAcr(ctx.oidc) }),
    ),
  );

  policy.add(
    new Prompt(
      { name: 'realname', requestable: false },
      (ctx) => ({ requiredLevel: ctx.oidc.client?.['require_level'] }),
      new Check('level_required', 'the site requires a higher certification level', async (ctx) => {
        const required = ctx.oidc.client?.['require_level'] as string | undefined;
        const accountId = ctx.oidc.session?.accountId;
        if (!required || !accountId) return Check.NO_NEED_TO_PROMPT;
        return levelSatisfies(await levelOf(accountId), required)
          ? Check.NO_NEED_TO_PROMPT
          : Check.REQUEST_PROMPT;
      }),
    ),
    // Right after login: the level is asked of the account the login (or step-up) settled on.
    policy.indexOf(login) + 1,
  );

  // OIDC Core 3.1.2.1 select_account: a browser holds one session, so choosing an account is
  // signing in with it: the login page is shown (src/flows/interaction-routes.ts), as for
  // prompt=login. With prompt=none it can not be asked: oidc-provider refuses none with another
  // value (invalid_request), as OIDC Core says.
  policy.add(new Prompt({ name: 'select_account', requestable: true }), 0);
  return policy;
}
