import { z } from 'zod';
import type { DataProtector } from '../crypto/sealed.js';
import { LEGAL_TYPES, type LegalType } from '../identifiers/credit-code.js';
import type { FlowStateStore } from './flow-state-store.js';

const accountOnly = z.object({ accountId: z.string().min(1) });
/**
 * A verified factor's amr value. Which values exist is the sign-in methods' to declare (a layer
 * above this one); what reads one back keeps only those (FactorTable.known), which can only
 * lower the assurance of a tampered row.
 */
const factor = z.string().regex(/^[a-z0-9_-]{1,32}$/);
/**
 * A sign-in's audit method (`password+otp`, `step_up_sms`). Which words exist is the server's
 * registry of methods to say (MethodWords): what reads one back keeps only those.
 */
const auditMethod = z.string().regex(/^(step_up_)?[a-z][a-z0-9_]{0,31}(\+[a-z][a-z0-9_]{0,31}){0,3}$/);

/**
 * One sign-in round trip of a site of the provider itself (用户空间, 管理后台): what its callback
 * needs to redeem the code as any relying party would, and to refuse a code it did not ask for.
 */
const firstPartyLogin = z.object({
  /** The page to return to, checked again on the way back (src/web/return-path.ts). */
  returnTo: z.string(),
  verifier: z.string().min(43),
  nonce: z.string().min(16),
  /** Epoch seconds: a sign-in that must be fresh may not have an auth_time before this. */
  begunAt: z.number().int(),
  fresh: z.boolean(),
  /** The browser that began it (its signed browser id): a callback in another browser fails. */
  browser: z.string().min(1),
});
/** A first-party site's own session: bound to the SSO session it came from and its acr. */
const firstPartySession = z.object({
  accountId: z.string().min(1),
  sessionUid: z.string().min(1),
  acr: z.string(),
});

/** How one kind of state is kept: see FLOW_STATES. */
export interface FlowStateSpec<S extends z.ZodType = z.ZodType> {
  ttlSeconds: number;
  sealed: boolean;
  schema: S;
}

/**
 * Every kind of state carried between pages that the product's own flows share, declared once:
 * its key prefix in flow_states, its schema (reads are validated, never cast), how long it lives,
 * and whether it is sealed (AES-GCM, bound to its key) because it carries a secret or personal
 * data. A sign-in method's own kinds are declared by the method (declareFlowState) instead.
 */
export const FLOW_STATES = {
  /** A citizen just registered in this interaction, on the way through 实名认证. */
  register: { ttlSeconds: 3600, sealed: false, schema: accountOnly },
  /** A legal person just registered in this interaction, on the way through 绑定证书. */
  'legal-register': { ttlSeconds: 3600, sealed: false, schema: accountOnly },
  /** A sign-in waiting for its TOTP code: what was verified so far and by which method. */
  totp: {
    ttlSeconds: 600,
    sealed: false,
    schema: z.object({
      accountId: z.string().min(1),
      verified: z.array(factor),
      method: auditMethod,
      stepUp: z.boolean(),
    }),
  },
  /** A step-up in progress: the factors proved so far in it. */
  'step-up': { ttlSeconds: 600, sealed: false, schema: z.object({ verified: z.array(factor) }) },
  /** One round trip to Alipay, under its `state`. */
  'alipay-state': {
    ttlSeconds: 600,
    sealed: false,
    schema: z.discriminatedUnion('purpose', [
      z.object({ purpose: z.enum(['login', 'realname']), uid: z.string(), browser: z.string() }),
      z.object({
        purpose: z.literal('certify'),
        accountId: z.string(),
        sessionUid: z.string(),
        returnTo: z.string(),
        browser: z.string(),
      }),
    ]),
  },
  /** A certificate challenge, single use, under its nonce. */
  'cert-challenge': {
    ttlSeconds: 120,
    sealed: false,
    schema: z.object({ purpose: z.enum(['login', 'bind']), binding: z.string(), text: z.string() }),
  },
  /** 用户空间: the SMS code before 绑定证书 was right. */
  'cert-bind': { ttlSeconds: 600, sealed: false, schema: accountOnly },
  /** 用户空间: the SMS code before 身份证认证 was right. */
  'id-verify': { ttlSeconds: 600, sealed: false, schema: accountOnly },
  /** 用户空间's sign-in round trip, under its `state` (see `console-login`). */
  'account-login': { ttlSeconds: 600, sealed: true, schema: firstPartyLogin },
  /** 用户空间's own session; each request writes it again, so it ends after ACCOUNT_IDLE_TIMEOUT. */
  'account-session': { ttlSeconds: 30 * 60, sealed: false, schema: firstPartySession },
  /**
   * 法人注册 waiting for its legal representative's code: the checked registration (password
   * hashed), the representative's account when name and ID number matched one (else null, and
   * nothing was sent), and what the page shows, the same either way.
   */
  'legal-confirm': {
    ttlSeconds: 900,
    sealed: true,
    schema: z.object({
      registration: z.object({
        legalType: z.enum(Object.keys(LEGAL_TYPES) as [LegalType, ...LegalType[]]),
        orgName: z.string(),
        creditCode: z.string(),
        representativeName: z.string(),
        representativeIdNumber: z.string(),
        contactPhone: z.string(),
        passwordHash: z.string(),
      }),
      representative: z.object({ accountId: z.string(), phone: z.string() }).nullable(),
      /** Random, per form: the representative's code confirms this registration and no other. */
      binding: z.string(),
      maskedPhone: z.string(),
      sentAt: z.number(),
      sends: z.number().int(),
      entries: z.number().int(),
    }),
  },
  /** A TOTP secret waiting for its first code. */
  'totp-enrol': { ttlSeconds: 600, sealed: true, schema: z.object({ secret: z.string() }) },
  /**
   * 管理后台's sign-in round trip, under its `state`: the PKCE verifier is a secret; `begunAt`
   * (epoch seconds) is what the sign-in's auth_time must not be older than.
   */
  'console-login': { ttlSeconds: 600, sealed: true, schema: firstPartyLogin },
  /**
   * 管理后台's own session; each request writes it again, so it ends after 15 idle minutes
   * (等保 2.0 §8.1.4.1 b, 登录连接超时自动退出), or the shorter CONSOLE_IDLE_TIMEOUT.
   */
  'console-session': { ttlSeconds: 15 * 60, sealed: false, schema: firstPartySession },
  /**
   * One 忘记密码 of one interaction, kept server-side so every step is a GET page that can be
   * reloaded and a wrong new password never costs the SMS code. Sealed: it holds a phone.
   */
  forgot: {
    ttlSeconds: 10 * 60,
    sealed: true,
    schema: z.object({
      kind: z.enum(['person', 'legal']),
      /** What the person typed, normalised: the national phone number or the credit code. */
      login: z.string(),
      /**
       * What the sends (and their waits and limits) are counted on: the account's phone, or for a
       * login that names no account a stand-in, so the pages and limits are the same either way.
       */
      sendTo: z.string().optional(),
      /** The account found; absent when the login names none (nothing was delivered). */
      accountId: z.string().optional(),
      sentAt: z.number(),
      /** Step 1 found a code sent moment before (another tab, going back): that one is typed. */
      earlier: z.boolean().optional(),
      step: z.enum(['code', 'password', 'done']),
    }),
  },
  /**
   * When this page's 获取验证码 last sent (or, for a number the page may not say is unknown,
   * pretended to send) a code, per interaction or account-space session. `target` is
   * `purpose:phone`, so sealed.
   */
  'sms-sent': {
    ttlSeconds: 5 * 60,
    sealed: true,
    schema: z.object({ target: z.string(), sentAt: z.number() }),
  },
  /** The demo site: a session its back-channel logout ended. */
  'demo-rp-logout': { ttlSeconds: 24 * 3600, sealed: false, schema: z.object({ at: z.number() }) },
} as const satisfies Record<string, FlowStateSpec>;

export type FlowStateKind = keyof typeof FLOW_STATES;

/**
 * A kind of state that a layer above this one keeps for itself (a sign-in method's pending step),
 * declared where it is used: the handle is how it is read and written, and its schema types the
 * data. FlowStates keeps it only once it was declared at registration (FlowStates.declare), so
 * two kinds can not share a key prefix.
 */
export interface DeclaredFlowState<S extends z.ZodType = z.ZodType> extends FlowStateSpec<S> {
  readonly name: string;
}

const KIND_NAME = /^[a-z][a-z0-9-]{0,39}$/;

/** A kind of state of its own, for a method to list at registration (LoginMethod.flowStates). */
export function declareFlowState<S extends z.ZodType>(
  name: string,
  spec: FlowStateSpec<S>,
): DeclaredFlowState<S> {
  if (!KIND_NAME.test(name)) throw new Error(`flow state kind "${name}": lower-case words and dashes only`);
  return Object.freeze({ name, ...spec });
}

/** A kind of state: one of FLOW_STATES by name, or a declared kind by its handle. */
export type AnyFlowStateKind = FlowStateKind | DeclaredFlowState;

type CentralData = { [K in FlowStateKind]: z.output<(typeof FLOW_STATES)[K]['schema']> };

/** The data of a kind, as its schema types it. */
export type FlowStateOf<K extends AnyFlowStateKind> = K extends FlowStateKind
  ? CentralData[K]
  : K extends DeclaredFlowState<infer S>
    ? z.output<S>
    : never;

/** Typed access to flow_states: `put('totp', uid, …)`, `get('totp', uid)`, `get(declaredKind, uid)`. */
export class FlowStates {
  private readonly declared = new Map<string, DeclaredFlowState>();

  constructor(
    private readonly store: FlowStateStore,
    private readonly protector: DataProtector,
  ) {}

  /**
   * Takes the kinds the registered methods declare. A name already taken (by FLOW_STATES or by
   * another declaration) is refused at start-up: two kinds under one prefix would read each
   * other's rows. Declaring the same handle again (the routes mounted twice) is harmless.
   */
  declare(kinds: Iterable<DeclaredFlowState>): void {
    for (const kind of kinds) {
      const known = this.declared.get(kind.name);
      if (known === kind) continue;
      if (known || Object.hasOwn(FLOW_STATES, kind.name)) {
        throw new Error(`flow state kind "${kind.name}" is declared twice`);
      }
      this.declared.set(kind.name, kind);
    }
  }

  /** Stores `data` for its kind's lifetime, or for `ttlSeconds` when a setting shortens it. */
  async put<K extends AnyFlowStateKind>(
    kind: K,
    key: string,
    data: FlowStateOf<K>,
    ttlSeconds?: number,
  ): Promise<void> {
    const spec = this.specOf(kind);
    const value = spec.schema.parse(data) as Record<string, unknown>;
    const stored = spec.sealed
      ? { sealed: this.protector.seal(JSON.stringify(value), idOf(kind, key)) }
      : value;
    await this.store.put(idOf(kind, key), stored, ttlSeconds ?? spec.ttlSeconds);
  }

  async get<K extends AnyFlowStateKind>(kind: K, key: string): Promise<FlowStateOf<K> | undefined> {
    const spec = this.specOf(kind);
    return this.read(kind, key, spec, await this.store.get(idOf(kind, key)));
  }

  /** Reads and deletes in one statement: single-use values. */
  async take<K extends AnyFlowStateKind>(kind: K, key: string): Promise<FlowStateOf<K> | undefined> {
    const spec = this.specOf(kind);
    return this.read(kind, key, spec, await this.store.take(idOf(kind, key)));
  }

  remove(kind: AnyFlowStateKind, key: string): Promise<void> {
    this.specOf(kind); // an undeclared kind fails here too, not only on put and get
    return this.store.remove(idOf(kind, key));
  }

  /** A kind's spec; a declared kind only once declare() took it, so an unlisted kind fails loudly. */
  private specOf(kind: AnyFlowStateKind): FlowStateSpec {
    if (typeof kind === 'string') return FLOW_STATES[kind];
    if (this.declared.get(kind.name) !== kind) {
      throw new Error(`flow state kind "${kind.name}" was not declared at registration`);
    }
    return kind;
  }

  /** A row that does not match its schema (an older release's, or tampered) counts as absent. */
  private read<K extends AnyFlowStateKind>(
    kind: K,
    key: string,
    spec: FlowStateSpec,
    raw: Record<string, unknown> | undefined,
  ): FlowStateOf<K> | undefined {
    if (!raw) return undefined;
    let value: unknown = raw;
    if (spec.sealed) {
      if (typeof raw['sealed'] !== 'string') return undefined;
      try {
        value = JSON.parse(this.protector.open(raw['sealed'], idOf(kind, key)));
      } catch {
        return undefined;
      }
    }
    const parsed = spec.schema.safeParse(value);
    return parsed.success ? (parsed.data as FlowStateOf<K>) : undefined;
  }
}

function idOf(kind: AnyFlowStateKind, key: string): string {
  return `${typeof kind === 'string' ? kind : kind.name}:${key}`;
}
