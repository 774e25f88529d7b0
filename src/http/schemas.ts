import { z } from 'zod';
import { addressSchema, customDataSchema, profileSchema } from '../domain/account/profile.js';

/**
 * Wire schemas shared by the native surfaces (request validation, response serialisation and the
 * OpenAPI document all come from these).
 */

/** A user as the native API returns it ({@link import('../domain/users/index.js').PublicUser}). */
export const userSchema = z
  .object({
    id: z.string().describe('24 lowercase hex characters; the same id on every surface'),
    username: z.string().nullable(),
    primaryEmail: z.string().nullable(),
    primaryPhone: z.string().nullable().describe('E.164, e.g. +14155550123 (the Management API also accepts Logto\'s digits-only form as input)'),
    name: z.string().nullable(),
    avatar: z.string().nullable(),
    profile: profileSchema,
    customData: z.record(z.string(), z.unknown()),
    emailVerified: z.boolean(),
    phoneVerified: z.boolean(),
    isSuspended: z.boolean(),
    hasPassword: z.boolean(),
    passwordResetRequired: z.boolean().describe('The next password sign-in must set a new password first'),
    createdAt: z.number().describe('ms since the epoch'),
    updatedAt: z.number().describe('ms since the epoch'),
    lastSignInAt: z.number().nullable().describe('ms since the epoch'),
  })
  .meta({ id: 'User' });

/** A session as issued: the bearer token appears only in this response. */
export const issuedSessionSchema = z
  .object({
    token: z.string().describe('Bearer token (256 random bits); shown once'),
    expiresAt: z.iso.datetime().describe('When the session ends if used regularly (absolute expiry)'),
  })
  .meta({ id: 'IssuedSession' });

/** `{user, session}` — the answer of sign-up and sign-in. */
export const signedInSchema = z.object({ user: userSchema, session: issuedSessionSchema });

/** The native error body. */
export const errorSchema = z
  .object({
    code: z.string(),
    message: z
      .string()
      .describe(
        "Human-readable, in the request's language: the first of en, zh-CN that Accept-Language accepts, else the server's default " +
          '(TESSERA_DEFAULT_LOCALE). A message carrying a detail (a key, a limit) may stay in English. Programs switch on code.',
      ),
    data: z.unknown().optional(),
  })
  .meta({ id: 'Error' });

const text = (max: number) => z.string().max(max);

/** Writable user fields at sign-up (no mass assignment: unknown keys are refused). */
export const userInputFields = {
  name: text(128).nullable().optional(),
  avatar: z.url({ protocol: /^https?$/ }).max(2048).nullable().optional(),
  profile: profileSchema.optional(),
  customData: customDataSchema.optional(),
};

export { addressSchema, customDataSchema, profileSchema };
