import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { SUPPORTED_SCOPES } from '../access/scopes.js';
import type { DataProtector } from '../crypto/sealed.js';
import { isUniqueViolation } from '../db/unique-violation.js';
import { BadInput, Conflict, NotFound } from '../errors.js';
import type { ResourceServerRow, ResourceServerStore } from './resource-server-store.js';

/** RFC 6749 §3.3 scope-token: printable ASCII without space, `"` or `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/;
const OIDC_SCOPES: ReadonlySet<string> = new Set(SUPPORTED_SCOPES);

export const resourceServerInputSchema = z.object({
  // RFC 8707 §2: an absolute URI without a fragment. Compared as written, like a redirect URI.
  identifier: z
    .url({ protocol: /^https?$/ })
    .max(500)
    .refine((u) => !u.includes('#'), 'a resource identifier has no fragment'),
  scopes: z
    .array(
      z
        .string()
        .regex(SCOPE_TOKEN, 'a scope is printable ASCII without spaces, quotes or backslashes')
        // An API's scopes are its own: OpenID scopes stay with userinfo and the admin API.
        .refine((s) => !OIDC_SCOPES.has(s), 'an OpenID Connect or admin scope can not be an API scope'),
    )
    .min(1)
    .max(50),
  format: z.enum(['jwt', 'opaque']),
  // Seconds an access token for this API lives: an API that does not introspect accepts a JWT
  // until then, whatever happened to its grant (README: how long a JWT stays usable).
  ttl: z.coerce.number().int().min(1).max(86_400).default(600),
});

export type ResourceServerInput = z.input<typeof resourceServerInputSchema>;

export interface ResourceServerView {
  identifier: string;
  scopes: string[];
  format: 'jwt' | 'opaque';
  ttl: number;
  /** The API's own client id for introspection (RFC 7662 §2.1); null until it is given one. */
  client_id: string | null;
  created_at: string;
}

/** The API's credentials, shown once: only the sealed secret is kept. */
export interface ResourceServerCredentials {
  client_id: string;
  client_secret: string;
}

/**
 * The prefix of an API's client id. Sites' ids start with `rp_`, so the two registries never
 * answer for the same id (src/oidc/adapter.ts asks this one only for ids with this prefix).
 */
export const API_CLIENT_PREFIX = 'api_';

/** What oidc-provider needs of an API to issue a token for it (`getResourceServerInfo`). */
export interface ResourceServerInfo {
  scope: string;
  audience: string;
  accessTokenTTL: number;
  accessTokenFormat: 'jwt' | 'opaque';
}

/**
 * How long a process reuses a registered API: every /token with `resource` needs it, and a JWT
 * is issued without touching the database. A change by another process applies within this.
 */
const CACHE_MS = 5000;

/** The registry of APIs (resource servers) that access tokens may be issued for. */
export class ResourceServerService {
  readonly #cache = new Map<string, { at: number; info: ResourceServerInfo | undefined }>();
  readonly #clientCache = new Map<string, { at: number; metadata: Record<string, unknown> | undefined }>();

  constructor(
    private readonly store: ResourceServerStore,
    private readonly protector: DataProtector,
    private readonly production: boolean,
  ) {}

  async add(input: ResourceServerInput): Promise<ResourceServerView & ResourceServerCredentials> {
    const parsed = resourceServerInputSchema.safeParse(input);
    if (!parsed.success) throw BadInput.of(parsed.error);
    const r = parsed.data;
    if (this.production && new URL(r.identifier).protocol !== 'https:') {
      throw new BadInput(`a resource identifier must use https in production: ${r.identifier}`);
    }
    const credentials = newCredentials();
    try {
      await this.store.insert({
        identifier: r.identifier,
        scopes: [...new Set(r.scopes)].join(' '),
        format: r.format,
        access_token_ttl: r.ttl,
        client_id: credentials.client_id,
        client_secret: this.#seal(credentials),
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict(`already registered: ${r.identifier}`);
      throw err;
    }
    this.#cache.delete(r.identifier);
    return { ...(await this.show(r.identifier)), ...credentials };
  }

  /**
   * A new client id and secret for the API, shown once; the old pair stops working at once (and
   * in other processes within the cache's lifetime). An API registered before it had
   * credentials gets its first pair this way.
   */
  async rotateSecret(identifier: string): Promise<ResourceServerCredentials> {
    const row = await this.store.find(identifier);
    if (!row) throw new NotFound(`no such resource server: ${identifier}`);
    // The id stays when there is one: the API's configuration changes in one value only.
    const credentials = newCredentials(row.client_id ?? undefined);
    if (!(await this.store.setCredentials(identifier, credentials.client_id, this.#seal(credentials))))
      throw new NotFound(`no such resource server: ${identifier}`);
    this.#clientCache.delete(credentials.client_id);
    return credentials;
  }

  async list(): Promise<ResourceServerView[]> {
    return (await this.store.list()).map(view);
  }

  async show(identifier: string): Promise<ResourceServerView> {
    const row = await this.store.find(identifier);
    if (!row) throw new NotFound(`no such resource server: ${identifier}`);
    return view(row);
  }

  // Forgotten after the write, so that a look-up running meanwhile can not keep the old row.
  async remove(identifier: string): Promise<void> {
    const row = await this.store.find(identifier);
    const removed = await this.store.remove(identifier);
    this.#cache.delete(identifier);
    if (row?.client_id) this.#clientCache.delete(row.client_id);
    if (!removed) throw new NotFound(`no such resource server: ${identifier}`);
  }

  /** The API as oidc-provider issues tokens for it; undefined when it is not registered. */
  async providerInfo(identifier: string): Promise<ResourceServerInfo | undefined> {
    const cached = this.#cache.get(identifier);
    if (cached && Date.now() - cached.at < CACHE_MS) return cached.info;
    const row = await this.store.find(identifier);
    const info: ResourceServerInfo | undefined = row && {
      scope: row.scopes,
      audience: row.identifier,
      accessTokenTTL: row.access_token_ttl,
      accessTokenFormat: row.format,
    };
    // Unknown identifiers are not kept: a client can not fill the memory with made-up ones.
    if (info) {
      if (this.#cache.size > 1000) this.#cache.clear();
      this.#cache.set(identifier, { at: Date.now(), info });
    }
    return info;
  }

  /**
   * The API as an oidc-provider client: it may authenticate (client_secret_basic, or
   * client_secret_post, which oidc-provider takes for each other) and introspect, nothing else.
   * No grant types and no response types: it can not get a token or send anyone to sign in.
   * Undefined for an unknown id.
   */
  async providerMetadata(clientId: string): Promise<Record<string, unknown> | undefined> {
    if (!clientId.startsWith(API_CLIENT_PREFIX)) return undefined;
    const cached = this.#clientCache.get(clientId);
    if (cached && Date.now() - cached.at < CACHE_MS) return cached.metadata;
    const row = await this.store.findByClientId(clientId);
    const metadata =
      row?.client_secret && row.client_id
        ? {
            client_id: row.client_id,
            client_secret: this.protector.open(row.client_secret, `client:${row.client_id}`),
            client_name: row.identifier,
            grant_types: [],
            response_types: [],
            redirect_uris: [],
            token_endpoint_auth_method: 'client_secret_basic',
            resource_server: row.identifier,
          }
        : undefined;
    if (this.#clientCache.size > 1000) this.#clientCache.clear();
    this.#clientCache.set(clientId, { at: Date.now(), metadata });
    return metadata;
  }

  #seal(credentials: ResourceServerCredentials): string {
    return this.protector.seal(credentials.client_secret, `client:${credentials.client_id}`);
  }
}

function newCredentials(clientId?: string): ResourceServerCredentials {
  return {
    client_id: clientId ?? `${API_CLIENT_PREFIX}${randomBytes(12).toString('base64url')}`,
    client_secret: randomBytes(32).toString('base64url'),
  };
}

function view(row: ResourceServerRow): ResourceServerView {
  return {
    identifier: row.identifier,
    scopes: row.scopes.split(' '),
    format: row.format,
    ttl: Number(row.access_token_ttl),
    client_id: row.client_id ?? null,
    created_at: new Date(row.created_at).toISOString(),
  };
}
