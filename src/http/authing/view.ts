import type { CustomFieldValue } from '../../domain/account/custom-fields.js';
import type { UserRecord } from '../../storage/store.js';
import { phoneNumberParts } from '../../domain/users/identifiers.js';

/**
 * Authing's `User` (shared/specs/authing.md §2) of one of ours: every field the SDK's fixed documents
 * select (the selection set is not read: extra fields are harmless), `password` always null, times ISO
 * 8601, phones as Authing keeps them (national number + `phoneCountryCode`), typed custom data as
 * `[{key, value (text), dataType, label}]` (the SDK turns it into an object).
 */

/** `+8613800138000` → `{phone: '13800138000', phoneCountryCode: '+86'}` (null phone → nulls). */
export function authingPhone(e164: string | null): { phone: string | null; phoneCountryCode: string | null } {
  if (!e164) return { phone: null, phoneCountryCode: null };
  const parts = phoneNumberParts(e164);
  return parts ? { phone: parts.nationalNumber, phoneCountryCode: `+${parts.countryCallingCode}` } : { phone: e164, phoneCountryCode: null };
}

/** A phone as the SDK sends it (a national number, and maybe `phoneCountryCode` such as `+86`), for the domain's normaliser. */
export function phoneFromAuthing(phone: string, phoneCountryCode?: string | null): string {
  const code = typeof phoneCountryCode === 'string' ? phoneCountryCode.trim() : '';
  if (phone.startsWith('+') || !code) return phone;
  return `${code.startsWith('+') ? code : `+${code}`}${phone}`;
}

/** A typed value as Authing's wire text (SDK → `JSON.parse` for NUMBER/BOOLEAN/OBJECT; DATETIME epoch ms digits or ISO; STRING as is). */
function udvText(field: CustomFieldValue): string {
  if (field.value === null || field.value === undefined) return '';
  switch (field.type) {
    case 'STRING':
      return String(field.value);
    case 'DATETIME':
      return String(field.value);
    default:
      return JSON.stringify(field.value);
  }
}

/** Custom fields as Authing's `UserDefinedData` list (unset fields left out). */
export function authingUdv(fields: readonly CustomFieldValue[]): Array<{ key: string; dataType: string; value: string; label: string | null }> {
  return fields.filter((f) => f.value !== null && f.value !== undefined).map((f) => ({ key: f.key, dataType: f.type, value: udvText(f), label: f.label }));
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * The Authing `User` of `user`.
 * @param extra the token issued by this call and its expiry (ISO), and the typed custom data
 */
export function toAuthingUser(
  user: UserRecord,
  userPoolId: string,
  extra: { token?: string | null; tokenExpiredAt?: string | null; customData?: ReturnType<typeof authingUdv> } = {},
): Record<string, unknown> {
  const p = user.profile;
  const { phone, phoneCountryCode } = authingPhone(user.primaryPhone);
  return {
    id: user.id,
    arn: `arn:cn:authing:${userPoolId}:user:${user.id}`,
    status: user.isSuspended ? 'Suspended' : 'Activated',
    userPoolId,
    username: user.username,
    email: user.primaryEmail,
    emailVerified: user.emailVerified,
    phone,
    phoneVerified: user.phoneVerified,
    phoneCountryCode,
    unionid: null,
    openid: null,
    identities: [],
    nickname: p.nickname ?? null,
    registerSource: ['unknown'],
    photo: user.avatar,
    password: null,
    oauth: null,
    token: extra.token ?? null,
    tokenExpiredAt: extra.tokenExpiredAt ?? null,
    loginsCount: 0,
    lastLogin: iso(user.lastSignInAt),
    lastIP: null,
    signedUp: iso(user.createdAt),
    blocked: user.isSuspended,
    isDeleted: false,
    device: null,
    browser: null,
    company: null,
    name: user.name,
    givenName: p.givenName ?? null,
    familyName: p.familyName ?? null,
    middleName: p.middleName ?? null,
    profile: p.profile ?? null,
    preferredUsername: p.preferredUsername ?? null,
    website: p.website ?? null,
    gender: p.gender ?? 'U',
    birthdate: p.birthdate ?? null,
    zoneinfo: p.zoneinfo ?? null,
    locale: p.locale ?? null,
    address: p.address?.formatted ?? null,
    formatted: p.address?.formatted ?? null,
    streetAddress: p.address?.streetAddress ?? null,
    locality: p.address?.locality ?? null,
    region: p.address?.region ?? null,
    postalCode: p.address?.postalCode ?? null,
    city: null,
    province: null,
    country: p.address?.country ?? null,
    createdAt: iso(user.createdAt),
    updatedAt: iso(user.updatedAt),
    externalId: null,
    customData: extra.customData ?? [],
    newlyCreated: false,
  };
}
