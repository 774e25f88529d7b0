import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { MfaService, SecondFactorProof } from '../../domain/mfa/index.js';
import { toPublicUser } from '../../domain/users/index.js';
import { requestMeta } from '../principal.js';
import { asAuthenticationResponse, authenticationResponseSchema } from '../mfa-schemas.js';
import { errorSchema, signedInSchema } from '../schemas.js';

/** What the sign-in MFA routes need. */
export interface MfaAuthOptions {
  mfa: MfaService;
}

const errors = { '4xx': errorSchema };
const pendingSignInId = z.string().min(1).max(128).describe('data.pendingSignInId of auth.mfa_required');

/**
 * The MFA step of first-party sign-in (issue 7 §4), under `/api/auth`. Any sign-in (password, code,
 * sign-up, social) of a user with a factor answers 403 `auth.mfa_required` with
 * `data: {pendingSignInId, factors}`; then:
 * - `POST /sign-in/mfa` {pendingSignInId, type: totp|backup_code, code} or {pendingSignInId, type:
 *   webauthn, response} → 200 {user, session};
 * - `POST /sign-in/mfa/webauthn-options` {pendingSignInId} → 200 PublicKeyCredentialRequestOptionsJSON;
 * - under policy `required`, a user without factor gets 403 `auth.mfa_enrollment_required`:
 *   `POST /sign-in/mfa/totp-secret` {pendingSignInId} → {secret, secretQrCode} and
 *   `POST /sign-in/mfa/enroll` {pendingSignInId, secret, code} → 200 {user, session}.
 */
export const mfaAuthRoutes: FastifyPluginAsyncZod<MfaAuthOptions> = async (app, { mfa }) => {
  const signedIn = (result: Awaited<ReturnType<MfaService['completeSignIn']>>) => ({
    user: toPublicUser(result.user),
    session: { token: result.issued.token, expiresAt: new Date(result.issued.session.expiresAt).toISOString() },
  });

  app.post(
    '/sign-in/mfa',
    {
      schema: {
        tags: ['auth'],
        summary: 'Finish a sign-in that answered auth.mfa_required with a second factor',
        description:
          'TOTP code (6 digits, ±30 s, each code once), backup code (single use) or WebAuthn assertion (after ' +
          '/sign-in/mfa/webauthn-options). Every attempt is counted before the factor is checked: the pending sign-in ' +
          'allows 5 verifications within 5 minutes, wrong factors count towards the lockout, and after ' +
          'mfa.maxConsecutiveFailures (default 100) consecutive wrong factors the user is locked until an admin removes a ' +
          'factor. Errors: auth.mfa_sign_in_expired, session.mfa.invalid_totp_code, ' +
          'session.mfa.invalid_backup_code, session.mfa.webauthn_verification_failed, auth.too_many_failures (429), ' +
          'auth.mfa_locked (423), request.rate_limited (429), auth.password_reset_required (403, data: {resetToken, reason}: a user ' +
          'flagged for a forced password reset gets the reset token here, after the second factor, instead of a session).',
        body: z.discriminatedUnion('type', [
          z.object({ pendingSignInId, type: z.literal('totp'), code: z.string().min(1).max(16) }).strict(),
          z.object({ pendingSignInId, type: z.literal('backup_code'), code: z.string().min(1).max(32) }).strict(),
          z.object({ pendingSignInId, type: z.literal('webauthn'), response: authenticationResponseSchema }).strict(),
        ]),
        response: { 200: signedInSchema, ...errors },
      },
    },
    async (request) => {
      const body = request.body;
      const proof: SecondFactorProof =
        body.type === 'webauthn' ? { type: 'webauthn', response: asAuthenticationResponse(body.response) } : { type: body.type, code: body.code };
      return signedIn(await mfa.completeSignIn(body.pendingSignInId, proof, requestMeta(request)));
    },
  );

  app.post(
    '/sign-in/mfa/webauthn-options',
    {
      schema: {
        tags: ['auth'],
        summary: 'WebAuthn authentication options for the passkeys of a pending MFA sign-in',
        body: z.object({ pendingSignInId }).strict(),
        response: { 200: z.record(z.string(), z.unknown()).describe('PublicKeyCredentialRequestOptionsJSON'), ...errors },
      },
    },
    async (request) => mfa.webAuthnSignInOptions(request.body.pendingSignInId) as unknown as Record<string, unknown>,
  );

  app.post(
    '/sign-in/mfa/totp-secret',
    {
      schema: {
        tags: ['auth'],
        summary: 'A TOTP secret to enrol during a sign-in that answered auth.mfa_enrollment_required (policy required)',
        body: z.object({ pendingSignInId }).strict(),
        response: { 200: z.object({ secret: z.string(), secretQrCode: z.string().describe('otpauth:// URI') }), ...errors },
      },
    },
    async (request) => mfa.enrollmentTotpSecret(request.body.pendingSignInId),
  );

  app.post(
    '/sign-in/mfa/enroll',
    {
      schema: {
        tags: ['auth'],
        summary: 'Enrol the TOTP secret (proven by a code) and finish a sign-in that answered auth.mfa_enrollment_required',
        body: z.object({ pendingSignInId, type: z.literal('totp').default('totp'), secret: z.string().min(1).max(64), code: z.string().min(1).max(16) }).strict(),
        response: { 200: signedInSchema, ...errors },
      },
    },
    async (request) => {
      const { pendingSignInId: id, secret, code } = request.body;
      return signedIn(await mfa.enrollTotpAndSignIn(id, secret, code, requestMeta(request)));
    },
  );
};
