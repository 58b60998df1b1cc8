import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { OPERATOR_ROLES, type OperatorRole } from '../access/operator-roles.js';
import { SUPPORTED_SCOPES } from '../access/scopes.js';
import type { DataProtector } from '../crypto/sealed.js';
import { BadInput, NotFound } from '../errors.js';
import type { ClientRow, ClientStore } from './client-store.js';

const url = z.url({ protocol: /^https?$/ });
/** A redirect URI is checked by the rules of the client's application_type, below. */
const redirectUri = z.string().trim().min(1).max(2000);

const LOOPBACK_IPS = new Set(['127.0.0.1', '[::1]']);
/** Schemes no redirect may use, whatever the client (oidc-provider refuses them too). */
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'vbscript:', 'data:', 'blob:', 'file:', 'about:']);

/**
 * Why `uri` can not be a redirect URI of a client of this application type, or undefined when it
 * can. Web clients (OIDC Registration §2): http(s) only, matched exactly. Native apps (RFC 8252):
 * a loopback IP literal over http, on any port at run time (§7.3; "localhost" is not accepted,
 * §8.3); a private-use scheme in reverse-domain form such as com.example.app:/cb (§7.1); or a
 * claimed https URI (§7.2).
 */
export function redirectUriProblem(uri: string, applicationType: 'web' | 'native'): string | undefined {
  const parsed = URL.parse(uri);
  if (!parsed) return `not a URL: ${uri}`;
  if (uri.includes('#')) return `no fragments allowed: ${uri}`;
  const { protocol, hostname } = parsed;
  if ((protocol === 'https:' || protocol === 'http:') && !hostname) return `no host: ${uri}`;
  if (FORBIDDEN_SCHEMES.has(protocol)) return `the ${protocol} scheme is not allowed: ${uri}`;
  if (applicationType === 'web') {
    return protocol === 'https:' || protocol === 'http:'
      ? undefined
      : `a web client's redirect URIs are http(s) URLs (a native app registers with --application-type native): ${uri}`;
  }
  if (protocol === 'http:') {
    return LOOPBACK_IPS.has(hostname)
      ? undefined
      : `a native app's http redirect must be a loopback IP literal, 127.0.0.1 or [::1] (RFC 8252 §7.3, §8.3): ${uri}`;
  }
  if (protocol === 'https:') {
    return LOOPBACK_IPS.has(hostname) || hostname === 'localhost'
      ? `a native app's loopback redirect uses http (RFC 8252 §7.3): ${uri}`
      : undefined;
  }
  // A private-use scheme: the reverse of a domain the app's publisher controls (RFC 8252 §7.1).
  const scheme = protocol.slice(0, -1);
  if (!scheme.includes('.'))
    return `a native app's private-use scheme is a reverse domain name such as com.example.app (RFC 8252 §7.1): ${uri}`;
  return undefined;
}

export const clientInputSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    /** web (a server-side site, the default) or native (an app on the person's device, RFC 8252). */
    applicationType: z.enum(['web', 'native']).default('web'),
    redirectUris: z.array(redirectUri).default([]),
    postLogoutRedirectUris: z.array(redirectUri).default([]),
    backchannelLogoutUri: url.optional(),
    grantTypes: z
      .array(z.enum(['authorization_code', 'refresh_token', 'client_credentials']))
      .min(1)
      .default(['authorization_code', 'refresh_token']),
    scopes: z.array(z.enum(SUPPORTED_SCOPES)).default(['openid', 'profile', 'phone', 'offline_access']),
    /** Default: client_secret_basic for a web client, none for a native app (a public client). */
    authMethod: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']).optional(),
    jwksUri: url.optional(),
    subjectType: z.enum(['public', 'pairwise']).default('public'),
    idTokenSigningAlg: z.enum(['ES256', 'RS256']).default('ES256'),
    firstParty: z.boolean().default(false),
    requireLevel: z.enum(['L1', 'L2', 'L3']).optional(),
    /** 三员分立: the one operator role a machine client (client_credentials, `admin`) acts for. */
    adminRole: z.enum(OPERATOR_ROLES).optional(),
  })
  .transform((c) => ({
    ...c,
    authMethod: c.authMethod ?? (c.applicationType === 'native' ? 'none' : 'client_secret_basic'),
  }))
  .superRefine((c, ctx) => {
    const codeFlow = c.grantTypes.includes('authorization_code');
    const machineAdmin = c.grantTypes.includes('client_credentials') && c.scopes.includes('admin');
    if (machineAdmin && !c.adminRole) {
      ctx.addIssue({
        code: 'custom',
        path: ['adminRole'],
        message:
          'a client_credentials client with the admin scope acts for one role: system, security or audit',
      });
    }
    if (!machineAdmin && c.adminRole) {
      ctx.addIssue({
        code: 'custom',
        path: ['adminRole'],
        message: 'only a client_credentials client with the admin scope acts for an operator role',
      });
    }
    if (codeFlow && c.redirectUris.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['redirectUris'],
        message: 'at least one redirect URI is required',
      });
    }
    if (c.authMethod === 'private_key_jwt' && !c.jwksUri) {
      ctx.addIssue({ code: 'custom', path: ['jwksUri'], message: 'private_key_jwt needs a jwks URI' });
    }
    if (c.authMethod === 'none' && c.grantTypes.includes('client_credentials')) {
      ctx.addIssue({
        code: 'custom',
        path: ['grantTypes'],
        message: 'a public client can not use client_credentials',
      });
    }
    if (c.applicationType === 'native') {
      // An app on a person's device can not keep a secret (RFC 8252 §8.4): it is a public
      // client, and PKCE (required of every client here) protects its code (§8.1).
      if (c.authMethod !== 'none') {
        ctx.addIssue({
          code: 'custom',
          path: ['authMethod'],
          message: 'a native app is a public client: its auth method is none (RFC 8252 §8.4)',
        });
      }
      if (!codeFlow) {
        ctx.addIssue({
          code: 'custom',
          path: ['grantTypes'],
          message: 'a native app signs people in with authorization_code (RFC 8252 §6)',
        });
      }
    }
    for (const [path, uris] of [
      ['redirectUris', c.redirectUris],
      ['postLogoutRedirectUris', c.postLogoutRedirectUris],
    ] as const) {
      for (const uri of uris) {
        const problem = redirectUriProblem(uri, c.applicationType);
        if (problem) ctx.addIssue({ code: 'custom', path: [path], message: problem });
      }
    }
    // Refinements run even when a URL above failed to parse, so only parseable ones count here.
    const hosts = new Set(c.redirectUris.filter((u) => URL.canParse(u)).map((u) => new URL(u).host));
    if (c.subjectType === 'pairwise' && hosts.size > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['subjectType'],
        message: 'a pairwise client must keep its redirect URIs on one host (its sector)',
      });
    }
  });

export type ClientInput = z.input<typeof clientInputSchema>;
type ParsedClient = z.output<typeof clientInputSchema>;

/** The registration as oidc-provider's client metadata (kept as JSON with the row). */
function metadataOf(c: ParsedClient): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    client_name: c.name,
    application_type: c.applicationType,
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    grant_types: c.grantTypes,
    response_types: c.grantTypes.includes('authorization_code') ? ['code'] : [],
    scope: c.scopes.join(' '),
    token_endpoint_auth_method: c.authMethod,
    subject_type: c.subjectType,
    id_token_signed_response_alg: c.idTokenSigningAlg,
  };
  if (c.backchannelLogoutUri) {
    metadata['backchannel_logout_uri'] = c.backchannelLogoutUri;
    metadata['backchannel_logout_session_required'] = true;
  }
  if (c.jwksUri) metadata['jwks_uri'] = c.jwksUri;
  return metadata;
}

export interface ClientSummary {
  client_id: string;
  name: string;
  application_type: string;
  redirect_uris: string[];
  grant_types: string[];
  scope: string;
  token_endpoint_auth_method: string;
  subject_type: string;
  first_party: boolean;
  require_level: string | null;
  /** The operator role a machine client with the admin scope acts for; null for every other client. */
  admin_role: OperatorRole | null;
  disabled: boolean;
  created_at: string;
}

/**
 * How long a process reuses a relying party's metadata: every protocol request needs it, and a
 * change made by another process (disable, new secret) takes effect within this time.
 */
const METADATA_CACHE_MS = 5000;

/** Relying-party registry: what the CLI and admin API manage and what oidc-provider reads. */
export class ClientService {
  readonly #metadataCache = new Map<string, { at: number; metadata: Record<string, unknown> | undefined }>();

  constructor(
    private readonly store: ClientStore,
    private readonly protector: DataProtector,
    private readonly production: boolean,
  ) {}

  async add(input: ClientInput): Promise<{ client_id: string; client_secret?: string }> {
    const parsed = clientInputSchema.safeParse(input);
    if (!parsed.success) throw BadInput.of(parsed.error);
    const c = parsed.data;
    this.#assertProductionUris(c);
    const clientId = `rp_${randomBytes(12).toString('base64url')}`;
    const secret = ['client_secret_basic', 'client_secret_post'].includes(c.authMethod)
      ? randomBytes(32).toString('base64url')
      : undefined;
    const metadata = metadataOf(c);
    await this.store.insert({
      client_id: clientId,
      name: c.name,
      client_secret: secret ? this.protector.seal(secret, `client:${clientId}`) : null,
      metadata,
      first_party: c.firstParty,
      require_level: c.requireLevel ?? null,
      admin_role: c.adminRole ?? null,
    });
    return secret ? { client_id: clientId, client_secret: secret } : { client_id: clientId };
  }

  /**
   * A registration changed in place: the client id and its secret stay. The authentication
   * method can not change here (a secret would appear or vanish); register the site again.
   */
  async edit(clientId: string, input: ClientInput): Promise<{ changed: string[] }> {
    const row = await this.store.find(clientId);
    if (!row) throw new NotFound(`no such client: ${clientId}`);
    const parsed = clientInputSchema.safeParse(input);
    if (!parsed.success) throw BadInput.of(parsed.error);
    const c = parsed.data;
    if (c.authMethod !== row.metadata['token_endpoint_auth_method'])
      throw new BadInput('the authentication method of a registered site can not change');
    this.#assertProductionUris(c);
    const metadata = metadataOf(c);
    const changed = Object.keys({ ...row.metadata, ...metadata }).filter(
      (k) => JSON.stringify(row.metadata[k]) !== JSON.stringify(metadata[k]),
    );
    if (row.first_party !== c.firstParty) changed.push('first_party');
    if ((row.require_level ?? undefined) !== c.requireLevel) changed.push('require_level');
    if ((row.admin_role ?? undefined) !== c.adminRole) changed.push('admin_role');
    await this.store.update(clientId, {
      name: c.name,
      metadata,
      first_party: c.firstParty,
      require_level: c.requireLevel ?? null,
      admin_role: c.adminRole ?? null,
    });
    this.#forget(clientId);
    return { changed };
  }

  async list(): Promise<ClientSummary[]> {
    return (await this.store.list()).map(summary);
  }

  async show(clientId: string): Promise<ClientSummary & { metadata: Record<string, unknown> }> {
    const row = await this.store.find(clientId);
    if (!row) throw new NotFound(`no such client: ${clientId}`);
    return { ...summary(row), metadata: row.metadata };
  }

  /**
   * The role a machine client with the admin scope acts for, read on every admin-API call; none
   * once the client is disabled or removed, so its tokens stop at once.
   */
  async adminRoleOf(clientId: string): Promise<OperatorRole | undefined> {
    const row = await this.store.find(clientId);
    return row && !row.disabled ? (row.admin_role ?? undefined) : undefined;
  }

  async findByName(name: string) {
    const row = await this.store.findByName(name);
    return row ? summary(row) : undefined;
  }

  // Each change forgets the cached metadata after the write, so that a look-up running
  // meanwhile can not put the old secret or state back for the cache's lifetime.
  async remove(clientId: string): Promise<void> {
    const removed = await this.store.remove(clientId);
    this.#forget(clientId);
    if (!removed) throw new NotFound(`no such client: ${clientId}`);
  }

  async rotateSecret(clientId: string): Promise<{ client_id: string; client_secret: string }> {
    const row = await this.store.find(clientId);
    if (!row?.client_secret) throw new NotFound(`no confidential client: ${clientId}`);
    const secret = randomBytes(32).toString('base64url');
    await this.store.update(clientId, { client_secret: this.protector.seal(secret, `client:${clientId}`) });
    this.#forget(clientId);
    return { client_id: clientId, client_secret: secret };
  }

  async setDisabled(clientId: string, disabled: boolean): Promise<void> {
    const updated = await this.store.update(clientId, { disabled });
    this.#forget(clientId);
    if (!updated) throw new NotFound(`no such client: ${clientId}`);
  }

  #assertProductionUris(c: ParsedClient) {
    // A native app's loopback and private-use redirects never cross the network (RFC 8252 §8.3).
    if (!this.production || c.applicationType !== 'web') return;
    for (const uri of [...c.redirectUris, ...c.postLogoutRedirectUris]) {
      const u = new URL(uri);
      if (u.protocol !== 'https:' && u.hostname !== 'localhost') {
        throw new BadInput(`redirect URIs must use https in production: ${uri}`);
      }
    }
  }

  /** The metadata oidc-provider validates and uses; undefined for unknown or disabled clients. */
  async providerMetadata(clientId: string): Promise<Record<string, unknown> | undefined> {
    const cached = this.#metadataCache.get(clientId);
    if (cached && Date.now() - cached.at < METADATA_CACHE_MS) return cached.metadata;
    // Under load many requests of one client find its entry expired at once: one of them reads
    // the row and opens the secret, the others wait for it rather than each doing the same.
    const loading = this.#loading.get(clientId);
    if (loading) return loading;
    const load = this.loadMetadata(clientId).then((metadata) => {
      // A change made meanwhile forgot the load (#forget): its result is not kept.
      if (this.#loading.get(clientId) === load) {
        if (this.#metadataCache.size > 10_000) this.#metadataCache.clear();
        this.#metadataCache.set(clientId, { at: Date.now(), metadata });
      }
      return metadata;
    });
    this.#loading.set(clientId, load);
    const forgetLoad = () => {
      if (this.#loading.get(clientId) === load) this.#loading.delete(clientId);
    };
    load.then(forgetLoad, forgetLoad);
    return load;
  }

  readonly #loading = new Map<string, Promise<Record<string, unknown> | undefined>>();

  /** After a change: neither the cached metadata nor a look-up still running is used again. */
  #forget(clientId: string) {
    this.#metadataCache.delete(clientId);
    this.#loading.delete(clientId);
  }

  private async loadMetadata(clientId: string): Promise<Record<string, unknown> | undefined> {
    const row = await this.store.find(clientId);
    if (!row || row.disabled) return undefined;
    const metadata: Record<string, unknown> = {
      ...row.metadata,
      client_id: row.client_id,
      first_party: row.first_party,
    };
    if (row.require_level) metadata['require_level'] = row.require_level;
    if (row.client_secret)
      metadata['client_secret'] = this.protector.open(row.client_secret, `client:${row.client_id}`);
    return metadata;
  }
}

function summary(row: ClientRow): ClientSummary {
  const m = row.metadata as Record<string, unknown>;
  return {
    client_id: row.client_id,
    name: row.name,
    application_type: (m['application_type'] as string) ?? 'web',
    redirect_uris: (m['redirect_uris'] as string[]) ?? [],
    grant_types: (m['grant_types'] as string[]) ?? [],
    scope: (m['scope'] as string) ?? '',
    token_endpoint_auth_method: (m['token_endpoint_auth_method'] as string) ?? '',
    subject_type: (m['subject_type'] as string) ?? 'public',
    first_party: row.first_party,
    require_level: row.require_level,
    admin_role: row.admin_role,
    disabled: row.disabled,
    created_at: new Date(row.created_at).toISOString(),
  };
}
