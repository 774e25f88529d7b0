import type { Account } from 'oidc-provider';
import type { UserService } from '../domain/users/index.js';
import type { IdentityRecord } from '../storage/identity-store.js';
import type { UserRecord } from '../storage/store.js';

/**
 * Claims per scope (OpenID Connect Core §5.4). `openid` yields `sub` only; the others are released
 * when their scope was granted.
 */
export const SCOPE_CLAIMS: Record<string, string[]> = {
  openid: ['sub'],
  profile: [
    'name',
    'family_name',
    'given_name',
    'middle_name',
    'nickname',
    'preferred_username',
    'profile',
    'picture',
    'website',
    'gender',
    'birthdate',
    'zoneinfo',
    'locale',
    'updated_at',
  ],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  address: ['address'],
  // Logto's extra scopes (logto.md §1.4), so Logto clients asking for them get what they expect.
  custom_data: ['custom_data'],
  identities: ['identities'],
  // The names of the user's roles (Logto's `roles` scope and claim; issue 18).
  roles: ['roles'],
  'urn:logto:scope:sessions': [],
};

/**
 * A user's OpenID Connect standard claims (Core §5.1): `sub` = user id; `email`/`phone_number` are
 * the primary email and E.164 phone; `picture` is the avatar; `preferred_username` is the profile's
 * value or else the username; `updated_at` is in **seconds** since the epoch (Core §5.1, unlike the
 * milliseconds used elsewhere); `custom_data` (Logto's claim, scope `custom_data`) is the customData
 * object. Absent values are omitted rather than null.
 */
export function userClaims(user: UserRecord): Record<string, unknown> {
  const p = user.profile;
  const address = p.address
    ? Object.fromEntries(
        Object.entries({
          formatted: p.address.formatted,
          street_address: p.address.streetAddress,
          locality: p.address.locality,
          region: p.address.region,
          postal_code: p.address.postalCode,
          country: p.address.country,
        }).filter(([, v]) => v !== undefined),
      )
    : undefined;
  const claims: Record<string, unknown> = {
    sub: user.id,
    name: user.name ?? undefined,
    family_name: p.familyName,
    given_name: p.givenName,
    middle_name: p.middleName,
    nickname: p.nickname,
    preferred_username: p.preferredUsername ?? user.username ?? undefined,
    profile: p.profile,
    picture: user.avatar ?? undefined,
    website: p.website,
    gender: p.gender,
    birthdate: p.birthdate,
    zoneinfo: p.zoneinfo,
    locale: p.locale,
    updated_at: Math.floor(user.updatedAt / 1000),
    email: user.primaryEmail ?? undefined,
    email_verified: user.primaryEmail ? user.emailVerified : undefined,
    phone_number: user.primaryPhone ?? undefined,
    phone_number_verified: user.primaryPhone ? user.phoneVerified : undefined,
    address: address && Object.keys(address).length ? address : undefined,
    custom_data: user.customData,
  };
  return Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
}

/**
 * node-oidc-provider's `findAccount`: the account for a subject, or undefined when the user is gone or
 * suspended — the provider then refuses codes, refresh tokens and userinfo for it.
 */
export async function findAccount(
  users: UserService,
  sub: string,
  identities?: (userId: string) => Promise<IdentityRecord[]>,
  roleNames?: (userId: string) => Promise<string[]>,
): Promise<Account | undefined> {
  const user = await users.findById(sub);
  if (!user || user.isSuspended) return undefined;
  return {
    accountId: user.id,
    claims: async (_use: string, scope: string) => {
      const claims = userClaims(user);
      // `identities` (Logto's claim): the linked third-party accounts, `{target: {userId}}` — never the
      // provider data, which may hold tokens.
      if (identities && scope.split(' ').includes('identities')) {
        claims['identities'] = Object.fromEntries((await identities(user.id)).map((i) => [i.provider, { userId: i.subject }]));
      }
      // `roles` (Logto's claim): the names of the user's roles, read when the token or userinfo is made.
      if (roleNames && scope.split(' ').includes('roles')) claims['roles'] = await roleNames(user.id);
      return claims as { sub: string };
    },
  };
}
