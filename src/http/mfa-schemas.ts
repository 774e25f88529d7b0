import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { z } from 'zod';
import type { MfaFactorSummary } from '../domain/mfa/index.js';
import type { SignInPreferencesUpdate } from '../domain/account/preferences.js';

/**
 * Wire schemas of the second factors shared by the surfaces that take them: the native sign-in MFA step
 * (`/api/auth/sign-in/mfa`), the hosted page's MFA step (`/oidc`), the Account API's MFA routes and
 * the Management API's factor list. One module, so no surface imports another.
 */

const b64url = z.string().max(16_384).regex(/^[A-Za-z0-9_-]*={0,2}$/, 'base64url');

/** A WebAuthn assertion as browsers serialise it (AuthenticationResponseJSON, WebAuthn L3 §5.1). */
export const authenticationResponseSchema = z.object({
  id: b64url,
  rawId: b64url,
  type: z.enum(['public-key', 'WebAuthn']).transform(() => 'public-key' as const).describe("'public-key' (Logto sends 'WebAuthn')"),
  response: z.object({
    clientDataJSON: b64url,
    authenticatorData: b64url,
    signature: b64url,
    userHandle: b64url.optional(),
  }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
});

/** A WebAuthn attestation as browsers serialise it (RegistrationResponseJSON, WebAuthn L3 §5.1). */
export const registrationResponseSchema = z.object({
  id: b64url,
  rawId: b64url,
  type: z.enum(['public-key', 'WebAuthn']).transform(() => 'public-key' as const).describe("'public-key' (Logto sends 'WebAuthn')"),
  response: z.object({
    clientDataJSON: b64url,
    attestationObject: b64url,
    authenticatorData: b64url.optional(),
    transports: z.array(z.string().max(32)).max(10).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: b64url.optional(),
  }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
});

/** The zod-parsed assertion as the library's type (the schema checks the same fields). */
export const asAuthenticationResponse = (value: z.infer<typeof authenticationResponseSchema>) => value as unknown as AuthenticationResponseJSON;
/** The zod-parsed attestation as the library's type. */
export const asRegistrationResponse = (value: z.infer<typeof registrationResponseSchema>) => value as unknown as RegistrationResponseJSON;

/** Logto's factor type names (spec logto.md §1.5), by our factor kinds. */
const LOGTO_FACTOR_TYPE = { totp: 'Totp', backup_codes: 'BackupCode', webauthn: 'WebAuthn' } as const satisfies Record<MfaFactorSummary['kind'], string>;

/** A factor as Logto's route 16 shows it (Account and Management APIs): Logto's type names, ISO 8601 times. */
export function toLogtoFactor(factor: MfaFactorSummary): z.infer<typeof mfaFactorSchema> {
  const out: z.infer<typeof mfaFactorSchema> = { id: factor.id, type: LOGTO_FACTOR_TYPE[factor.kind], createdAt: new Date(factor.createdAt).toISOString() };
  if (factor.lastUsedAt !== null) out.lastUsedAt = new Date(factor.lastUsedAt).toISOString();
  if (factor.name !== null) out.name = factor.name;
  if (factor.agent !== null) out.agent = factor.agent;
  if (factor.remainingCodes !== null) out.remainCodes = factor.remainingCodes;
  return out;
}

/** One factor as Logto's route 16 shows it (never a secret). */
export const mfaFactorSchema = z
  .object({
    id: z.string(),
    type: z.enum(['Totp', 'BackupCode', 'WebAuthn']),
    createdAt: z.string().describe('ISO 8601'),
    lastUsedAt: z.string().optional().describe('ISO 8601'),
    name: z.string().optional().describe('WebAuthn: display name'),
    agent: z.string().optional().describe('WebAuthn: User-Agent at enrolment'),
    remainCodes: z.number().int().optional().describe('BackupCode: unused codes'),
  })
  .meta({ id: 'MfaVerification' });

/** A user's sign-in preferences as Logto's `logto-configs` routes show them (spec logto.md §1.5 route 26). */
export const logtoConfigsSchema = z
  .object({
    mfa: z.object({
      enabled: z.boolean().optional(),
      skipped: z.boolean(),
      skipMfaOnSignIn: z.boolean(),
      additionalBindingSuggestionSkipped: z.boolean().optional(),
    }),
    passkeySignIn: z.object({ skipped: z.boolean() }),
  })
  .meta({ id: 'LogtoConfigs' });

/** A change of the preferences: any of the keys (route 27; unknown keys refused). */
export const logtoConfigsUpdateSchema = z
  .object({
    mfa: z
      .object({
        enabled: z.boolean().optional(),
        skipped: z.boolean().optional(),
        skipMfaOnSignIn: z.boolean().optional(),
        additionalBindingSuggestionSkipped: z.boolean().optional(),
      })
      .strict()
      .optional(),
    passkeySignIn: z.object({ skipped: z.boolean().optional() }).strict().optional(),
  })
  .strict();

/** Drops the keys a parsed update left undefined (the domain takes only given booleans). */
export function definedPreferences(body: z.infer<typeof logtoConfigsUpdateSchema>): SignInPreferencesUpdate {
  const keep = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    ...(body.mfa ? { mfa: keep(body.mfa) as SignInPreferencesUpdate['mfa'] } : {}),
    ...(body.passkeySignIn ? { passkeySignIn: keep(body.passkeySignIn) as SignInPreferencesUpdate['passkeySignIn'] } : {}),
  };
}
