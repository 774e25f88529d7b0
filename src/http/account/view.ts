import { z } from 'zod';
import { hasSecurityVerificationMethod, type IssuedRecord } from '../../domain/account/index.js';
import { type AccountCenterSettings, canRead } from '../../domain/account/center.js';
import { profileSchema } from '../../domain/account/profile.js';
import type { UserProfile, UserRecord } from '../../storage/store.js';
import { errorSchema } from '../schemas.js';
import type { IdentityRecord } from '../../domain/social/identities.js';
import { identitiesSchema, logtoPhoneOut, toLogtoIdentities } from '../logto-views.js';

/** Logto's shapes of the Account and Verification APIs (logto.md §1–§2), shared by the route files. */

export const errors = { '4xx': errorSchema };
export const security = [{ bearerAuth: [] }];
export const empty = z.null().describe('No content');

/** The account as `GET /api/my-account` shows it: fields the account center hides are left out. */
export const accountSchema = z
  .object({
    id: z.string(),
    username: z.string().nullable().optional(),
    name: z.string().nullable().optional(),
    avatar: z.string().nullable().optional(),
    primaryEmail: z.string().nullable().optional(),
    primaryPhone: z.string().nullable().optional().describe('Digits only, as Logto writes phones (`8613800138000`)'),
    profile: profileSchema.optional(),
    customData: z.record(z.string(), z.unknown()).optional(),
    identities: identitiesSchema.optional().describe('Scope identities and field social readable: linked third-party accounts'),
    hasPassword: z.boolean().optional().describe('Whether a password is set (field `password`); never the hash'),
    isSuspended: z.boolean().optional().describe('Scope profile'),
    hasSecurityVerificationMethod: z.boolean(),
    createdAt: z.number().optional().describe('Scope profile; ms since the epoch'),
    updatedAt: z.number().optional().describe('Scope profile; ms since the epoch'),
    lastSignInAt: z.number().nullable().optional().describe('Scope profile; ms since the epoch'),
  })
  .meta({ id: 'MyAccount' });

export const recordSchema = z.object({ verificationRecordId: z.string(), expiresAt: z.string().describe('ISO 8601') }).meta({ id: 'VerificationRecord' });

/** An issued verification record as Logto's Verification API answers it: `{verificationRecordId, expiresAt (ISO 8601)}`. */
export function toLogtoRecord(issued: IssuedRecord): z.infer<typeof recordSchema> {
  return { verificationRecordId: issued.recordId, expiresAt: new Date(issued.expiresAt).toISOString() };
}
export const identifierSchema = z.object({ type: z.enum(['email', 'phone']), value: z.string().min(1).max(256) });

/** The profile without `address` unless the scopes include `address`. */
export function scopedProfile(profile: UserProfile, scopes: ReadonlySet<string>): UserProfile {
  if (scopes.has('address') || profile.address === undefined) return profile;
  const { address: _address, ...rest } = profile;
  return rest;
}


/** Whether the account view shows `identities`: scope `identities` and the field `social` readable (logto.md §1.4). */
export function showsIdentities(settings: AccountCenterSettings, scopes: ReadonlySet<string>): boolean {
  return scopes.has('identities') && canRead(settings.fields.social);
}

/**
 * The account filtered by the account-center settings and, for OIDC access tokens, by the token's
 * scopes (logto.md §1.4): `profile` → username, name, avatar, profile (its `address` only with
 * `address`), hasPassword, isSuspended, createdAt, updatedAt, lastSignInAt; `email` → primaryEmail;
 * `phone` → primaryPhone (digits only, as Logto); `custom_data` → customData; `identities` → the
 * identities map (give the user's identity records when {@link showsIdentities}). A first-party session
 * holds every scope.
 */
export function filtered(
  user: UserRecord,
  settings: AccountCenterSettings,
  scopes: ReadonlySet<string>,
  identities: readonly IdentityRecord[] = [],
): z.infer<typeof accountSchema> {
  const s = (scope: string) => scopes.has(scope);
  const f = {
    ...settings.fields,
    ...(s('profile') ? {} : { username: 'Off', name: 'Off', avatar: 'Off', profile: 'Off', password: 'Off' } as const),
    ...(s('email') ? {} : { email: 'Off' } as const),
    ...(s('phone') ? {} : { phone: 'Off' } as const),
    ...(s('custom_data') ? {} : { customData: 'Off' } as const),
  };
  const out: z.infer<typeof accountSchema> = {
    id: user.id,
    hasSecurityVerificationMethod: hasSecurityVerificationMethod(user),
  };
  if (s('profile')) {
    out.isSuspended = user.isSuspended;
    out.createdAt = user.createdAt;
    out.updatedAt = user.updatedAt;
    out.lastSignInAt = user.lastSignInAt;
  }
  if (canRead(f.username)) out.username = user.username;
  if (canRead(f.name)) out.name = user.name;
  if (canRead(f.avatar)) out.avatar = user.avatar;
  if (canRead(f.email)) out.primaryEmail = user.primaryEmail;
  if (canRead(f.phone)) out.primaryPhone = logtoPhoneOut(user.primaryPhone);
  if (canRead(f.profile)) out.profile = scopedProfile(user.profile, scopes);
  if (canRead(f.customData)) out.customData = user.customData;
  if (canRead(f.password)) out.hasPassword = user.passwordHash !== null;
  if (showsIdentities(settings, scopes)) out.identities = toLogtoIdentities(identities);
  return out;
}
