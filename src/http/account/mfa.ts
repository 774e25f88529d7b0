import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccountService } from '../../domain/account/index.js';
import { assertEditable, assertPasskeysEditable, canRead, passkeyMode } from '../../domain/account/center.js';
import type { SignInPreferenceService } from '../../domain/account/preferences.js';
import type { MfaService } from '../../domain/mfa/index.js';
import { AppError } from '../../errors/index.js';
import {
  asRegistrationResponse,
  definedPreferences,
  logtoConfigsSchema,
  logtoConfigsUpdateSchema,
  mfaFactorSchema,
  registrationResponseSchema,
  toLogtoFactor,
} from '../mfa-schemas.js';
import { errorSchema } from '../schemas.js';
import { type AccountContext, type AccountPolicy, IDENTITIES_SCOPE } from './policy.js';

/** What the Account API MFA routes need (registered inside `accountRoutes`, whose hook resolves the caller). */
export interface AccountMfaOptions {
  mfa: MfaService;
  /** Users' sign-in preferences (`/my-account/mfa-settings`, `/my-account/logto-configs`); absent: no such routes. */
  preferences?: SignInPreferenceService;
  account: AccountService;
  /** The named guard steps and the request context (policy.ts). */
  policy: AccountPolicy;
}

const errors = { '4xx': errorSchema };
const security = [{ bearerAuth: [] }];
const empty = z.null().describe('No content');


/**
 * Account API MFA routes (Logto's, spec logto.md §1.5 routes 16–23 and §2.2 routes 6–7), gated by the
 * account-center field `mfa` (reads need ReadOnly/Edit → else 400 `account_center.field_not_enabled`;
 * changes need Edit → else 400 `account_center.field_not_editable`) and, for changes and for reading
 * backup codes, by the `logto-verification-id` identity proof (401 `verification_record.permission_denied`).
 * OIDC tokens need scope `identities` (401 `auth.unauthorized`), and changes need a first-party client
 * (403 `auth.third_party_application_forbidden`), in Logto's order (spec logto.md §1.5):
 * - `GET /my-account/mfa-verifications` → 200 [{id, type, createdAt, lastUsedAt?, name?, agent?, remainCodes?}]
 * - `POST /my-account/mfa-verifications/totp-secret/generate` → 200 {secret, secretQrCode (otpauth:// URI)}
 * - `POST /my-account/mfa-verifications/backup-codes/generate` → 200 {codes: string[10]}
 * - `GET /my-account/mfa-verifications/backup-codes` → 200 {codes: [{usedAt}], remainCodes} | 404 `entity.not_found`
 * - `POST /my-account/mfa-verifications` {type:'Totp', secret, code?} | {type:'BackupCode', codes} |
 *   {type:'WebAuthn', newIdentifierVerificationRecordId, name?} → 204
 * - `PUT /my-account/mfa-verifications/totp` {secret, code} → 204 (replaces the TOTP factor, or enrols one)
 * - `PATCH /my-account/mfa-verifications/:verificationId/name` {name} → 200 (empty) | 400 `verification_record.not_found`
 * - `DELETE /my-account/mfa-verifications/:verificationId` → 204 | 400 `verification_record.not_found`
 * - `POST /verifications/web-authn/registration` → 200 {verificationRecordId, registrationOptions, expiresAt}
 * - `POST /verifications/web-authn/registration/verify` {verificationRecordId, payload} → 200 {verificationRecordId}
 */
export const accountMfaRoutes: FastifyPluginAsyncZod<AccountMfaOptions> = async (app, { mfa, account, policy, preferences }) => {
  const { context, firstParty, scope, readable, editable, identityProof, guard } = policy;
  const identities = scope(IDENTITIES_SCOPE);
  const change = guard(identityProof, editable('mfa'), identities, firstParty);
  /** Passkeys follow the field `passkey` when it is set, else `mfa` (Logto's `passkey ?? mfa`). */
  const passkeysEditable = { name: 'editable:passkey', check: (_request: FastifyRequest, { settings }: AccountContext) => assertPasskeysEditable(settings) };
  /** Enrolment: the field of the factor's type (a WebAuthn body: passkeys; else `mfa`). */
  const enrolEditable = {
    name: 'editable:mfa|passkey',
    check: (request: FastifyRequest, ctx: AccountContext) =>
      (request.body as { type?: unknown } | undefined)?.type === 'WebAuthn' ? assertPasskeysEditable(ctx.settings) : assertEditable(ctx.settings, 'mfa'),
  };
  const audit = (request: FastifyRequest, action: string) => {
    const { caller } = context(request);
    return account.audit(caller.user.id, action, ['mfa'], { ip: request.ip, clientId: caller.clientId });
  };

  app.get(
    '/my-account/mfa-verifications',
    {
      schema: { tags: ['account'], summary: 'The caller\'s MFA factors (field `mfa` ReadOnly/Edit); never a secret', security, response: { 200: z.array(mfaFactorSchema), ...errors } },
      ...guard(readable('mfa'), identities),
    },
    async (request) => (await mfa.listFactors(context(request).caller.user.id)).map(toLogtoFactor),
  );

  app.post(
    '/my-account/mfa-verifications/totp-secret/generate',
    {
      schema: {
        tags: ['account'],
        summary: 'A new TOTP secret (base32, 32 characters) and its otpauth:// URI; nothing is stored until POST /my-account/mfa-verifications',
        security,
        response: { 200: z.object({ secret: z.string(), secretQrCode: z.string().describe('otpauth:// URI for a QR code') }), ...errors },
      },
    },
    async (request) => mfa.generateTotpSecret(context(request).caller.user),
  );

  app.post(
    '/my-account/mfa-verifications/backup-codes/generate',
    {
      schema: {
        tags: ['account'],
        summary: 'Ten new backup codes (10 characters of 0-9a-f); nothing is stored until POST /my-account/mfa-verifications',
        security,
        response: { 200: z.object({ codes: z.array(z.string()) }), ...errors },
      },
    },
    async (request) => {
      context(request);
      return { codes: mfa.generateBackupCodes() };
    },
  );

  app.get(
    '/my-account/mfa-verifications/backup-codes',
    {
      schema: {
        tags: ['account'],
        summary: 'Which backup codes are used (the codes are stored hashed and never shown again); needs logto-verification-id',
        security,
        response: {
          200: z.object({ codes: z.array(z.object({ usedAt: z.string().nullable().describe('ISO 8601') })), remainCodes: z.number().int() }),
          ...errors,
        },
      },
      ...guard(identityProof, identities),
    },
    async (request) => {
      const status = await mfa.backupCodeStatus(context(request).caller.user.id);
      return { codes: status.codes.map((c) => ({ usedAt: c.usedAt === null ? null : new Date(c.usedAt).toISOString() })), remainCodes: status.remaining };
    },
  );

  app.post(
    '/my-account/mfa-verifications',
    {
      schema: {
        tags: ['account'],
        summary: 'Enrol a factor: TOTP (secret + code), backup codes (10 codes) or a verified WebAuthn registration; needs logto-verification-id',
        description:
          'Errors: verification_record.permission_denied (401), account_center.field_not_editable, user.totp_already_in_use (422), ' +
          'user.totp_secret_invalid, session.mfa.invalid_totp_code, user.wrong_backup_code_format (422), ' +
          'user.backup_code_already_in_use (422), session.mfa.backup_code_can_not_be_alone (422), verification_record.not_found.',
        security,
        body: z.discriminatedUnion('type', [
          z.object({ type: z.literal('Totp'), secret: z.string().min(1).max(64), code: z.string().min(1).max(16).optional() }).strict(),
          z.object({ type: z.literal('BackupCode'), codes: z.array(z.string().max(32)).max(20) }).strict(),
          z.object({ type: z.literal('WebAuthn'), newIdentifierVerificationRecordId: z.string().min(1).max(64), name: z.string().min(1).max(256).optional() }).strict(),
        ]),
        response: { 204: empty, ...errors },
      },
      ...guard(identityProof, enrolEditable, identities, firstParty),
    },
    async (request, reply) => {
      const { caller } = context(request);
      const body = request.body;
      if (body.type === 'Totp') await mfa.addTotp(caller.user.id, body.secret, body.code);
      else if (body.type === 'BackupCode') await mfa.addBackupCodes(caller.user.id, body.codes);
      else {
        const ua = request.headers['user-agent'];
        await mfa.addWebAuthn(caller.user.id, body.newIdentifierVerificationRecordId, body.name, typeof ua === 'string' ? ua : null);
      }
      await audit(request, `add_mfa_${body.type.toLowerCase()}`);
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/my-account/mfa-verifications/totp',
    {
      schema: {
        tags: ['account'],
        summary: 'Replace the caller\'s TOTP authenticator by a new secret (or enrol one); the code of the new secret is mandatory; needs logto-verification-id',
        description:
          'Logto route 18. The old TOTP factor is replaced by the new one (a new id) in one statement. Errors: ' +
          'verification_record.permission_denied (401), account_center.field_not_editable, user.totp_secret_invalid, ' +
          'session.mfa.invalid_totp_code.',
        security,
        body: z.object({ secret: z.string().min(1).max(64), code: z.string().min(1).max(16) }).strict(),
        response: { 204: empty, ...errors },
      },
      ...change,
    },
    async (request, reply) => {
      const { caller } = context(request);
      await mfa.replaceTotp(caller.user.id, request.body.secret, request.body.code);
      await audit(request, 'replace_mfa_totp');
      return reply.code(204).send(null);
    },
  );

  app.patch(
    '/my-account/mfa-verifications/:verificationId/name',
    {
      schema: {
        tags: ['account'],
        summary: 'Rename one of the caller\'s WebAuthn factors (passkeys); needs logto-verification-id; 200 with an empty body',
        description:
          'Logto route 22. Errors: verification_record.permission_denied (401), account_center.field_not_editable, ' +
          'verification_record.not_found (not a WebAuthn factor of the caller).',
        security,
        params: z.object({ verificationId: z.string().min(1).max(64) }),
        body: z.object({ name: z.string().trim().min(1).max(256) }).strict(),
        response: { 200: z.undefined().describe('Empty body'), ...errors },
      },
      ...guard(identityProof, passkeysEditable, identities, firstParty),
    },
    async (request, reply) => {
      const { caller } = context(request);
      await mfa.renameWebAuthn(caller.user.id, request.params.verificationId, request.body.name);
      await audit(request, 'rename_mfa_webauthn');
      return reply.code(200).send();
    },
  );

  app.delete(
    '/my-account/mfa-verifications/:verificationId',
    {
      schema: {
        tags: ['account'],
        summary: 'Remove one of the caller\'s MFA factors (field `mfa` Edit); needs logto-verification-id',
        security,
        params: z.object({ verificationId: z.string().min(1).max(64) }),
        response: { 204: empty, ...errors },
      },
      ...guard(identityProof, identities, firstParty),
    },
    async (request, reply) => {
      const { caller, settings } = context(request);
      // Logto answers an unknown factor before the field mode, so this one check runs in the handler.
      const factor = await mfa.findFactor(caller.user.id, request.params.verificationId);
      if (!factor) throw new AppError('verification_record.not_found');
      // A passkey follows the field `passkey` when set, else `mfa`; other factors `mfa`.
      if (factor.kind === 'webauthn') assertPasskeysEditable(settings);
      else assertEditable(settings, 'mfa');
      if (!(await mfa.deleteFactor(caller.user.id, request.params.verificationId))) throw new AppError('verification_record.not_found');
      await audit(request, 'remove_mfa');
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/verifications/web-authn/registration',
    {
      schema: {
        tags: ['verification'],
        summary: 'Start a passkey registration: PublicKeyCredentialCreationOptions and a record to verify (10 minutes)',
        security,
        response: {
          200: z.object({ verificationRecordId: z.string(), registrationOptions: z.record(z.string(), z.unknown()), expiresAt: z.string().describe('ISO 8601') }),
          ...errors,
        },
      },
      ...guard(firstParty),
    },
    async (request) => {
      const { caller } = context(request);
      const started = await mfa.startRegistration(caller.user);
      return {
        verificationRecordId: started.recordId,
        registrationOptions: started.registrationOptions as unknown as Record<string, unknown>,
        expiresAt: new Date(started.expiresAt).toISOString(),
      };
    },
  );

  app.post(
    '/verifications/web-authn/registration/verify',
    {
      schema: {
        tags: ['verification'],
        summary: 'Verify the authenticator\'s attestation for a registration record; then bind it with POST /my-account/mfa-verifications',
        security,
        body: z.object({ verificationRecordId: z.string().min(1).max(64), payload: registrationResponseSchema }),
        response: { 200: z.object({ verificationRecordId: z.string() }), ...errors },
      },
      ...guard(firstParty),
    },
    async (request) => {
      const { caller } = context(request);
      return mfa.verifyRegistration(caller.user, request.body.verificationRecordId, asRegistrationResponse(request.body.payload));
    },
  );

  if (!preferences) return;
  /** Logto's `logto-configs` routes read with `passkey ?? mfa` readable. */
  const passkeysReadable = {
    name: 'readable:passkey',
    check: (_request: FastifyRequest, { settings }: AccountContext) => {
      if (!canRead(passkeyMode(settings))) throw new AppError('account_center.field_not_enabled');
    },
  };

  app.get(
    '/my-account/mfa-settings',
    {
      schema: {
        tags: ['account'],
        summary: "Whether the caller asks to skip the second factor at sign-in (field `mfa` ReadOnly/Edit; honoured only when the server allows it)",
        security,
        response: { 200: z.object({ skipMfaOnSignIn: z.boolean() }), ...errors },
      },
      ...guard(identities, readable('mfa')),
    },
    async (request) => ({ skipMfaOnSignIn: (await preferences.get(context(request).caller.user.id)).mfa.skipMfaOnSignIn }),
  );

  app.patch(
    '/my-account/mfa-settings',
    {
      schema: {
        tags: ['account'],
        summary: 'Ask to skip (or not) the second factor at sign-in (field `mfa` Edit); needs logto-verification-id. Honoured only under TESSERA_MFA_ALLOW_USER_SKIP',
        security,
        body: z.object({ skipMfaOnSignIn: z.boolean() }).strict(),
        response: { 200: z.object({ skipMfaOnSignIn: z.boolean() }), ...errors },
      },
      ...guard(identityProof, identities, firstParty, editable('mfa')),
    },
    async (request) => {
      const updated = await preferences.update(context(request).caller.user.id, { mfa: { skipMfaOnSignIn: request.body.skipMfaOnSignIn } });
      await audit(request, 'update_mfa_settings');
      return { skipMfaOnSignIn: updated.mfa.skipMfaOnSignIn };
    },
  );

  app.get(
    '/my-account/logto-configs',
    {
      schema: {
        tags: ['account'],
        summary: "The caller's sign-in preferences: MFA (enabled, skipped, skipMfaOnSignIn) and passkey sign-in (skipped); field `passkey` (else `mfa`) ReadOnly/Edit",
        security,
        response: { 200: logtoConfigsSchema, ...errors },
      },
      ...guard(identities, passkeysReadable),
    },
    async (request) => preferences.get(context(request).caller.user.id),
  );

  app.patch(
    '/my-account/logto-configs',
    {
      schema: {
        tags: ['account'],
        summary: 'Change the given sign-in preferences only; field `passkey` (else `mfa`) Edit; needs logto-verification-id',
        security,
        body: logtoConfigsUpdateSchema,
        response: { 200: logtoConfigsSchema, ...errors },
      },
      ...guard(identityProof, identities, firstParty, passkeysEditable),
    },
    async (request) => {
      const updated = await preferences.update(context(request).caller.user.id, definedPreferences(request.body));
      await audit(request, 'update_logto_configs');
      return updated;
    },
  );
};
