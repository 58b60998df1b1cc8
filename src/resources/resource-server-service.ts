import { z } from 'zod';
import { isUniqueViolation } from '../db/unique-violation.js';
import { BadInput, Conflict, NotFound } from '../errors.js';
import { SUPPORTED_SCOPES } from '../oidc/scopes.js';
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
  // Seconds an access token for this API lives: JWTs can not be revoked, so keep it short.
  ttl: z.coerce.number().int().min(1).max(86_400).default(600),
});

export type ResourceServerInput = z.input<typeof resourceServerInputSchema>;

export interface ResourceServerView {
  identifier: string;
  scopes: string[];
  format: 'jwt' | 'opaque';
  ttl: number;
  created_at: string;
}

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

  constructor(
    private readonly store: ResourceServerStore,
    private readonly production: boolean,
  ) {}

  async add(input: ResourceServerInput): Promise<ResourceServerView> {
    const parsed = resourceServerInputSchema.safeParse(input);
    if (!parsed.success) throw BadInput.of(parsed.error);
    const r = parsed.data;
    if (this.production && new URL(r.identifier).protocol !== 'https:') {
      throw new BadInput(`a resource identifier must use https in production: ${r.identifier}`);
    }
    try {
      await this.store.insert({
        identifier: r.identifier,
        scopes: [...new Set(r.scopes)].join(' '),
        format: r.format,
        access_token_ttl: r.ttl,
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict(`already registered: ${r.identifier}`);
      throw err;
    }
    this.#cache.delete(r.identifier);
    return this.show(r.identifier);
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
    const removed = await this.store.remove(identifier);
    this.#cache.delete(identifier);
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
}

function view(row: ResourceServerRow): ResourceServerView {
  return {
    identifier: row.identifier,
    scopes: row.scopes.split(' '),
    format: row.format,
    ttl: Number(row.access_token_ttl),
    created_at: new Date(row.created_at).toISOString(),
  };
}
