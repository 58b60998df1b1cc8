/** Scopes a relying party may be registered for, and the claims each one releases. */
export const SCOPE_CLAIMS = {
  // acr and amr ride on openid so that every ID token says how the session was authenticated.
  openid: ['sub', 'user_type', 'certification_level', 'acr', 'amr'],
  profile: ['name', 'updated_at'],
  phone: ['phone_number', 'phone_number_verified'],
  identity: ['id_number', 'id_type'],
  enterprise: ['uscc', 'org_name', 'legal_type', 'legal_representative'],
} as const;

export const SUPPORTED_SCOPES = [
  'openid',
  'offline_access',
  'profile',
  'phone',
  'identity',
  'enterprise',
  // The admin API: operators' automation (client credentials) and operators themselves (acr mfa+).
  'admin',
] as const;
export type Scope = (typeof SUPPORTED_SCOPES)[number];

/** Scopes a client-credentials token may carry: those of a machine. The others are a person's. */
export const MACHINE_SCOPES: ReadonlySet<string> = new Set<Scope>(['admin']);

/** Whether a space-separated scope string (a request's, a token's) includes `scope`. */
export function hasScope(scopes: unknown, scope: Scope): boolean {
  return typeof scopes === 'string' && scopes.split(' ').includes(scope);
}

/** What the consent page says each scope shares, in the words a citizen reads. */
export const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  openid: '您的账号标识、用户类型和认证等级',
  offline_access: '在您离开后继续保持访问（长期授权）',
  profile: '您的姓名（实名认证后为真实姓名）',
  phone: '您的手机号码',
  identity: '您的身份证号码（敏感信息）',
  enterprise: '您的法人信息：统一社会信用代码、机构名称、法人类型、法定代表人',
  admin: '统一身份认证平台的管理接口（仅限运维）',
};

/**
 * Scopes that share nothing of such an account (a citizen has no enterprise, an enterprise no
 * phone or ID number of its own): the consent page and 已授权网站 do not list them, so nobody is
 * asked about data that is not theirs.
 */
const NOTHING_TO_SHARE: Record<'person' | 'legal_person', ReadonlySet<string>> = {
  person: new Set(['enterprise']),
  legal_person: new Set(['phone', 'identity']),
};

/** The scopes of `scopes` that share something of this kind of account, in the order given. */
export function scopesThatApply(scopes: readonly string[], legalPerson: boolean): Scope[] {
  const descriptions = legalPerson ? ENTERPRISE_SCOPE_DESCRIPTIONS : SCOPE_DESCRIPTIONS;
  const skip = NOTHING_TO_SHARE[legalPerson ? 'legal_person' : 'person'];
  return scopes.filter((s): s is Scope => s in descriptions && !skip.has(s));
}

/** The same for a legal person, whose data are the enterprise's (no phone or ID number of its own). */
export const ENTERPRISE_SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  ...SCOPE_DESCRIPTIONS,
  openid: '本单位的账号标识、用户类型（法人用户）和认证等级',
  profile: '本单位的名称（企业名称/机构名称）',
  phone: '手机号码（法人账号无此信息，不会提供）',
  identity: '身份证号码（法人账号无此信息，不会提供）',
  enterprise: '本单位的法人信息：统一社会信用代码、机构名称、法人类型、法定代表人姓名',
};

export const SENSITIVE_SCOPES: ReadonlySet<string> = new Set(['identity']);

export const ACR = {
  basic: 'urn:unified-id:acr:basic',
  mfa: 'urn:unified-id:acr:mfa',
  cert: 'urn:unified-id:acr:cert',
} as const;
export type Acr = (typeof ACR)[keyof typeof ACR];
export const ACR_VALUES: readonly Acr[] = [ACR.basic, ACR.mfa, ACR.cert];

/** Whether a session authenticated at `have` satisfies a request for `want`. */
export function acrSatisfies(have: string | undefined, want: string): boolean {
  const h = ACR_VALUES.indexOf(have as Acr);
  const w = ACR_VALUES.indexOf(want as Acr);
  return w !== -1 && h >= w;
}
