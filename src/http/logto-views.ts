import { z } from 'zod';
import type { ApplicationType } from '../domain/applications/index.js';
import type { IdentityRecord } from '../domain/social/identities.js';
import { type PublicUser, toPublicUser } from '../domain/users/index.js';
import type { UserRecord } from '../storage/store.js';
import { userSchema } from './schemas.js';

/**
 * Logto's shapes shared by its Management and Account APIs (spec logto.md §1.4, §4.1): phones digits
 * only, and the `identities` map. The domain keeps E.164 phones and identity records; these functions
 * render them for the two Logto surfaces (the native `/api/auth` surface keeps `+…`).
 */

/**
 * A stored E.164 phone as Logto writes it: digits only, the `+` dropped (`+8613800138000` →
 * `8613800138000`; Logto's `^\d+$`). The reverse of `logtoPhoneIn` (logto-phones.ts).
 */
export function logtoPhoneOut(phone: string | null): string | null {
  return phone === null ? null : phone.replace(/^\+/, '');
}

/** Logto's identities map: target (provider) → the external account id and the provider's data. */
export const identitiesSchema = z
  .record(
    z.string().describe('Target: the provider name (weixin, qq, a connector id…)'),
    z.object({
      userId: z.string().describe("The provider's id of the account (subject)"),
      details: z.record(z.string(), z.unknown()).describe('Provider data as received'),
    }),
  )
  .meta({ id: 'UserIdentities' });

/** The identities map of a user's identity records. `fromEntries` defines own properties, so even a provider named `__proto__` stays a plain key. */
export function toLogtoIdentities(records: readonly IdentityRecord[]): z.infer<typeof identitiesSchema> {
  return Object.fromEntries(records.map((i) => [i.provider, { userId: i.subject, details: i.data }]));
}

/** A user as the Management API shows it (logto.md §4.1): Tessera's user, phones digits only, and `identities`. */
export const logtoUserSchema = userSchema
  .extend({
    primaryPhone: z.string().nullable().describe("Digits only, as Logto writes phones (`8613800138000`); input may also be E.164"),
    identities: identitiesSchema,
  })
  .meta({ id: 'LogtoUser' });

/** Renders a user and its identity records for the Management API. */
export function toLogtoUser(user: UserRecord | PublicUser, identities: readonly IdentityRecord[]): z.infer<typeof logtoUserSchema> {
  const pub = 'passwordHash' in user ? toPublicUser(user) : user;
  return { ...pub, primaryPhone: logtoPhoneOut(pub.primaryPhone), identities: toLogtoIdentities(identities) };
}

/** Logto's application types (spec logto.md §4; `ApplicationType` in Logto's schemas) by Tessera's. */
export const LOGTO_APPLICATION_TYPE = { traditional: 'Traditional', spa: 'SPA', native: 'Native', m2m: 'MachineToMachine' } as const satisfies Record<ApplicationType, string>;

/** A connected application: an OAuth grant of the user (Account API `/my-account/grants`, Management API `/users/:id/grants`). Times in ms. */
export const grantSchema = z.object({
  id: z.string(),
  clientId: z.string().nullable(),
  scope: z.string(),
  createdAt: z.number().nullable(),
  expiresAt: z.number().nullable(),
});

/** The tenant of every Logto entity Tessera answers with (`tenantId`): Logto OSS's single tenant. */
export const LOGTO_TENANT_ID = 'default';
