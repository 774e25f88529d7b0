import type { Account } from 'oidc-provider';
import type { UserService } from '../domain/users/index.js';
import type { IdentityRecord } from '../storage/identity-store.js';
import type { UserRecord } from '../storage/store.js';

/** Logto's scope of the `organizations` claim, also required of a refresh token asked for an organization token. */
export const ORGANIZATIONS_SCOPE = 'urn:logto:scope:organizations';

/** Logto's scope of the `organization_roles` claim. */
export const ORGANIZATION_ROLES_SCOPE = 'urn:logto:scope:organization_roles';

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
  // The user's organizations (Logto's `organizations` claim; `organization_data` in userinfo only) and their
  // organization roles (`<organizationId>:<roleName>`), as Logto's core-kit `idTokenClaims`/`userinfoClaims`.
  [ORGANIZATIONS_SCOPE]: ['organizations', 'organization_data'],
  [ORGANIZATION_ROLES_SCOPE]: ['organization_roles'],
};

/** A user's organizations with the user's roles in each (OrganizationService.userOrganizations). */
export type UserOrganizations = (userId: string) => Promise<Array<{ organization: { id: string; name: string; description: string | null }; roles: Array<{ name: string }> }>>;

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
 * suspended — the provider then refuses codes, refresh tokens and userinfo for it. The optional readers
 * supply the claims of the `identities`, `roles` and organization scopes (read when a token or userinfo is made).
 */
export async function findAccount(
  users: UserService,
  sub: string,
  identities?: (userId: string) => Promise<IdentityRecord[]>,
  roleNames?: (userId: string) => Promise<string[]>,
  organizations?: UserOrganizations,
): Promise<Account | undefined> {
  const user = await users.findById(sub);
  if (!user || user.isSuspended) return undefined;
  return {
    accountId: user.id,
    claims: async (use: string, scope: string) => {
      const claims = userClaims(user);
      const scopes = scope.split(' ');
      // `identities` (Logto's claim): the linked third-party accounts, `{target: {userId}}` — never the
      // provider data, which may hold tokens.
      if (identities && scopes.includes('identities')) {
        claims['identities'] = Object.fromEntries((await identities(user.id)).map((i) => [i.provider, { userId: i.subject }]));
      }
      // `roles` (Logto's claim): the names of the user's roles, read when the token or userinfo is made.
      if (roleNames && scopes.includes('roles')) claims['roles'] = await roleNames(user.id);
      // Logto's organization claims, read when the token or userinfo is made: `organizations` (ids),
      // `organization_roles` (`<organizationId>:<roleName>`) and, in userinfo only, `organization_data`
      // (`{id, name, description}` of each).
      const wantsOrganizations = scopes.includes(ORGANIZATIONS_SCOPE);
      const wantsRoles = scopes.includes(ORGANIZATION_ROLES_SCOPE);
      if (organizations && (wantsOrganizations || wantsRoles)) {
        const memberships = await organizations(user.id);
        if (wantsOrganizations) {
          claims['organizations'] = memberships.map((m) => m.organization.id);
          if (use === 'userinfo') {
            claims['organization_data'] = memberships.map(({ organization: o }) => ({ id: o.id, name: o.name, description: o.description }));
          }
        }
        if (wantsRoles) claims['organization_roles'] = memberships.flatMap((m) => m.roles.map((r) => `${m.organization.id}:${r.name}`));
      }
      return claims as { sub: string };
    },
  };
}
