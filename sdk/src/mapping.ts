import { invalidArgument } from './errors.js';
import type { Address, IssuedSession, Profile, RegisterProfile, TesseraUser, UpdateProfileInput, User } from './types.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * Maps a native user (and the session issued with it, if any) to Authing's `User` shape; the
 * mapping is documented on {@link User}.
 */
export function toUser(raw: TesseraUser, session?: IssuedSession | null): User {
  const p = raw.profile ?? {};
  const a = p.address ?? {};
  return {
    id: raw.id,
    username: raw.username,
    email: raw.primaryEmail,
    emailVerified: raw.emailVerified,
    phone: raw.primaryPhone,
    phoneVerified: raw.phoneVerified,
    name: raw.name,
    nickname: p.nickname ?? null,
    photo: raw.avatar,
    givenName: p.givenName ?? null,
    familyName: p.familyName ?? null,
    middleName: p.middleName ?? null,
    preferredUsername: p.preferredUsername ?? null,
    profile: p.profile ?? null,
    website: p.website ?? null,
    gender: p.gender ?? null,
    birthdate: p.birthdate ?? null,
    zoneinfo: p.zoneinfo ?? null,
    locale: p.locale ?? null,
    address: a.formatted ?? null,
    streetAddress: a.streetAddress ?? null,
    locality: a.locality ?? null,
    region: a.region ?? null,
    postalCode: a.postalCode ?? null,
    country: a.country ?? null,
    customData: raw.customData ?? {},
    status: raw.isSuspended ? 'Suspended' : 'Activated',
    blocked: raw.isSuspended,
    hasPassword: raw.hasPassword,
    createdAt: iso(raw.createdAt)!,
    updatedAt: iso(raw.updatedAt)!,
    lastLogin: iso(raw.lastSignInAt),
    token: session?.token ?? null,
    tokenExpiredAt: session?.expiresAt ?? null,
    raw,
  };
}

const PROFILE_CLAIMS = ['nickname', 'givenName', 'familyName', 'middleName', 'preferredUsername', 'profile', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale'] as const;
const ADDRESS_PARTS = ['streetAddress', 'locality', 'region', 'postalCode', 'country'] as const;
const REFUSED_IN_UPDATE = ['email', 'phone', 'password', 'emailVerified', 'phoneVerified'] as const;

/** Native writable fields: `name`, `avatar`, `profile` (OIDC claims), plus `username`/`customData` on update. */
export interface NativeProfileFields {
  name?: string;
  avatar?: string;
  profile?: Profile;
  username?: string;
  customData?: Record<string, unknown>;
}

/**
 * Maps Authing's profile keys to Tessera's fields (see {@link RegisterProfile}). `null`/`undefined`
 * values are skipped.
 * @param extra keys allowed besides the profile (`username`, `customData` for updates)
 * @throws TesseraError `request.invalid` (status 400, before any request) for a key Tessera does not keep
 */
export function fromProfile(input: RegisterProfile | UpdateProfileInput | null | undefined, where: string, extra: readonly string[] = []): NativeProfileFields {
  const out: NativeProfileFields = {};
  if (!input) return out;
  const profile: Profile = {};
  const address: Address = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined || value === null) continue;
    if (key === 'name') out.name = value as string;
    else if (key === 'photo') out.avatar = value as string;
    else if (key === 'address') address.formatted = value as string;
    else if ((PROFILE_CLAIMS as readonly string[]).includes(key)) (profile as Record<string, unknown>)[key] = value;
    else if ((ADDRESS_PARTS as readonly string[]).includes(key)) (address as Record<string, unknown>)[key] = value;
    else if (key === 'username' && extra.includes(key)) out.username = value as string;
    else if (key === 'customData' && extra.includes(key)) out.customData = value as Record<string, unknown>;
    else if ((REFUSED_IN_UPDATE as readonly string[]).includes(key)) {
      throw invalidArgument(`${where}.${key}`, `${key} cannot be changed here; use the dedicated method (updateEmail, updatePhone, updatePassword)`);
    } else throw invalidArgument(`${where}.${key}`, `Tessera does not store the profile field ${key}`);
  }
  if (Object.keys(address).length > 0) profile.address = address;
  if (Object.keys(profile).length > 0) out.profile = profile;
  return out;
}

/** Prefixes Authing's `phoneCountryCode` (`+44`) to a national number; numbers starting with `+` are kept. */
export function withCountryCode(phone: string, countryCode?: string): string {
  if (!countryCode || phone.trim().startsWith('+')) return phone;
  return `${countryCode.startsWith('+') ? countryCode : `+${countryCode}`}${phone.trim()}`;
}
