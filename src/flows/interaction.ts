import type { Context } from 'koa';
import { errors as oidcErrors } from 'oidc-provider';
import { SessionExpired } from '../errors.js';
import type { ProviderHost } from '../oidc/provider-host.js';

export type Interaction = Awaited<ReturnType<ProviderHost['provider']['interactionDetails']>>;

/** The browser's current sign-in, which must be the one in the URL, or a clear "expired" page. */
export async function interactionOf(deps: { host: ProviderHost }, ctx: Context): Promise<Interaction> {
  try {
    const interaction = await deps.host.provider.interactionDetails(ctx.req, ctx.res);
    if (ctx.params['uid'] && interaction.uid !== ctx.params['uid']) throw new SessionExpired();
    return interaction;
  } catch (err) {
    if (err instanceof oidcErrors.SessionNotFound) throw new SessionExpired();
    throw err;
  }
}

export async function clientNameOf(deps: { host: ProviderHost }, interaction: Interaction): Promise<string> {
  const client = await deps.host.provider.Client.find(String(interaction.params['client_id']));
  return client?.clientName ?? '';
}

/**
 * What oidc-provider's interactionResult does, on the interaction this request has already
 * loaded (interactionResult would look it up again): stores the result, returns where the
 * browser continues.
 */
export async function saveResult(
  interaction: Interaction,
  result: Interaction['result'],
  { mergeWithLastSubmission = false } = {},
): Promise<string> {
  interaction.result =
    mergeWithLastSubmission && result && !('error' in result)
      ? { ...interaction.lastSubmission, ...result }
      : result;
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  return interaction.returnTo;
}

/** interactionFinished on the loaded interaction: the result, then 303 to where it continues. */
export async function finishInteraction(
  ctx: Context,
  interaction: Interaction,
  result: Interaction['result'],
  options: { mergeWithLastSubmission?: boolean } = {},
) {
  ctx.redirect(await saveResult(interaction, result, options));
  ctx.status = 303;
}
