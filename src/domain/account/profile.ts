import { z } from 'zod';

const claim = z.string().max(2048);

/** OIDC standard address claim (OpenID Connect Core §5.1.1), camelCase. */
export const addressSchema = z
  .object({
    formatted: claim,
    streetAddress: claim,
    locality: claim,
    region: claim,
    postalCode: claim,
    country: claim,
  })
  .partial()
  .strict();

/**
 * The user profile: OIDC standard claims (Core §5.1) that are not identifiers, camelCase as in Logto.
 * Unknown keys are rejected (no mass assignment through the profile).
 */
export const profileSchema = z
  .object({
    familyName: claim,
    givenName: claim,
    middleName: claim,
    nickname: claim,
    preferredUsername: claim,
    profile: claim,
    website: claim,
    gender: claim,
    birthdate: claim,
    zoneinfo: claim,
    locale: claim,
    address: addressSchema,
  })
  .partial()
  .strict();

/** Free-form custom data: a JSON object (arrays and scalars are refused), at most 64 KiB serialised. */
export const customDataSchema = z
  .record(z.string(), z.unknown())
  .refine((v) => JSON.stringify(v).length <= 65_536, { message: 'customData must serialise to at most 64 KiB' });
