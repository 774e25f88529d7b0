import type { FastifyRequest } from 'fastify';
import { requestLocale } from '../request-meta.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CaptchaService } from '../../domain/sign-in/captcha.js';
import { CUSTOM_FIELD_KEY, CUSTOM_FIELD_TYPES, type CustomFieldService } from '../../domain/account/custom-fields.js';
import type { ForcedResetService } from '../../domain/sign-in/forced-reset.js';
import { pickIdentifier } from '../../domain/users/identifiers.js';
import type { SdkAuthService } from '../../domain/sign-in/sdk-auth.js';
import type { SecurityLevelService } from '../../domain/account/security-level.js';
import type { SelfService } from '../../domain/account/self-service.js';
import type { IssuedSession, SessionService } from '../../domain/sessions/index.js';
import { toPublicUser } from '../../domain/users/index.js';
import { AppError } from '../../errors/index.js';
import type { UserRecord } from '../../storage/store.js';
import { requestMeta, requireSession } from '../principal.js';
import { customDataSchema, errorSchema, profileSchema, signedInSchema, userSchema } from '../schemas.js';

/** The domain services of the SDK surface (issue 6), built in app.ts. */
export interface SdkServices {
  self: SelfService;
  securityLevel: SecurityLevelService;
  customFields: CustomFieldService;
  forcedReset: ForcedResetService;
  sdkAuth: SdkAuthService;
  captcha: CaptchaService;
}

/** What the SDK routes need. */
export interface SdkRoutesOptions extends SdkServices {
  sessions: SessionService;
}

const errors = { '4xx': errorSchema, '5xx': errorSchema };
const bearer = [{ bearerAuth: [] }];
const password = z.string().min(1).max(4096);
const email = z.string().min(1).max(320);
const phone = z.string().min(1).max(32);
const code = z.string().min(1).max(16).describe('The 6-digit code');
const locale = z.enum(['en', 'zh-CN']).optional().describe('Message language; default from Accept-Language, else en');

/** Bodies of POST /me/email and /me/phone. */
const bindBodies = {
  email: z.object({ email, code, verifyOld: z.boolean().optional(), oldEmailCode: code.optional() }).strict(),
  phone: z.object({ phone, code, verifyOld: z.boolean().optional(), oldPhoneCode: code.optional() }).strict(),
};

const customFieldValueSchema = z.object({
  key: z.string(),
  type: z.enum(CUSTOM_FIELD_TYPES),
  label: z.string().nullable(),
  value: z.unknown().describe('null when unset'),
});

const securityLevelSchema = z
  .object({
    score: z.number().int().min(0).max(100),
    email: z.boolean(),
    phone: z.boolean(),
    password: z.boolean(),
    passwordSecurityLevel: z.union([z.literal(1), z.literal(2), z.literal(3)]).nullable().describe('null: not checked since the password was set'),
    mfa: z.boolean(),
  })
  .meta({ id: 'SecurityLevel' });

/**
 * The SDK surface under `/api/auth` (issue 6, seed 003 Authing AuthenticationClient; contract in
 * notes/sdk-contract.md): the signed-in user's profile, password, email and phone, typed custom
 * fields and security level (Bearer session token), plus user-exists, force-reset tokens, captchas and
 * account linking. Routes only parse, call the domain and shape; the rules live in the domain services.
 */
export const sdkRoutes: FastifyPluginAsyncZod<SdkRoutesOptions> = async (app, options) => {
  const { sessions, self, securityLevel, customFields, forcedReset, sdkAuth, captcha } = options;
  const sessionOut = (issued: IssuedSession) => ({ token: issued.token, expiresAt: new Date(issued.session.expiresAt).toISOString() });
  const signedIn = (user: UserRecord, issued: IssuedSession) => ({ user: toPublicUser(user), session: sessionOut(issued) });
  const me = async (request: FastifyRequest) => (await requireSession(request, sessions)).user;
  /** The request's session and user, for changes that need a recent sign-in. */
  const caller = (request: FastifyRequest) => requireSession(request, sessions);

  app.patch(
    '/me',
    {
      schema: {
        tags: ['auth'],
        summary: "Update the signed-in user's profile (Authing updateProfile)",
        description:
          'Email, phone and password cannot be changed here (unknown keys → 400 request.invalid): use /me/email, /me/phone, ' +
          '/me/password. `profile` and `customData` are shallow-merged; keys of defined custom fields are type-checked. ' +
          'Errors: request.invalid, user.invalid_username, user.username_taken (409), user.last_sign_in_method_required (username: null), ' +
          'custom_field.invalid_value, auth.unauthorized.',
        security: bearer,
        body: z
          .object({
            username: z.string().min(1).max(128).nullable().optional(),
            name: z.string().max(128).nullable().optional(),
            avatar: z.url({ protocol: /^https?$/ }).max(2048).nullable().optional(),
            profile: profileSchema.optional(),
            customData: customDataSchema.optional(),
          })
          .strict(),
        response: { 200: userSchema, ...errors },
      },
    },
    async (request) => toPublicUser(await self.updateProfile(await me(request), request.body)),
  );

  app.post(
    '/me/password',
    {
      schema: {
        tags: ['auth'],
        summary: 'Set a new password (Authing updatePassword); ends every session and returns a new one',
        description:
          '`oldPassword` is required when the user has a password; a user without one (code or social sign-up) sets one without it, ' +
          'through a session issued within the last 10 minutes. ' +
          'Errors: request.invalid (oldPassword missing), auth.invalid_credentials (401, wrong current password; counts towards ' +
          'the account lockout), auth.too_many_failures (429 + Retry-After, locked), ' +
          'auth.reauthentication_required (401: first password, older session; sign in again), password.rejected (422), ' +
          'request.rate_limited, auth.unauthorized.',
        security: bearer,
        body: z.object({ oldPassword: password.optional(), newPassword: password }).strict(),
        response: { 200: signedInSchema, ...errors },
      },
    },
    async (request) => {
      const { user, issued } = await self.setPassword(await caller(request), request.body, requestMeta(request));
      return signedIn(user, issued);
    },
  );

  app.post(
    '/me/codes',
    {
      schema: {
        tags: ['auth'],
        summary: 'Send a code for binding or updating the email or phone',
        description:
          'To a new address the code proves it (purpose BindNewIdentifier: use it as `code` of POST /me/email or /me/phone); to the ' +
          "user's current address it proves the old one (purpose Generic: `oldEmailCode` / `oldPhoneCode`). Errors: auth.identifier_required, " +
          'user.invalid_email|phone, verification.resend_too_soon (429), request.rate_limited (429), connector.delivery_failed (502).',
        security: bearer,
        body: z.object({ email: email.optional(), phone: phone.optional(), locale }).strict(),
        response: {
          200: z.object({ verificationId: z.string(), expiresAt: z.iso.datetime(), purpose: z.enum(['BindNewIdentifier', 'Generic']) }),
          ...errors,
        },
      },
    },
    async (request) => {
      const user = await me(request);
      const { email: e, phone: p } = request.body;
      if ((e === undefined) === (p === undefined)) throw new AppError('auth.identifier_required', { message: 'Exactly one of email or phone is required.' });
      const issued = await self.sendCode(user, e !== undefined ? 'email' : 'phone', (e ?? p)!, requestMeta(request), requestLocale(request, request.body.locale));
      return { verificationId: issued.recordId, expiresAt: new Date(issued.expiresAt).toISOString(), purpose: issued.purpose };
    },
  );

  for (const channel of ['email', 'phone'] as const) {
    const oldField = channel === 'email' ? 'oldEmailCode' : 'oldPhoneCode';
    app.post(
      `/me/${channel}`,
      {
        schema: {
          tags: ['auth'],
          summary: `Bind or replace the ${channel} with a code sent to it (Authing bind${channel === 'email' ? 'Email' : 'Phone'} / update${channel === 'email' ? 'Email' : 'Phone'})`,
          description:
            `\`code\`: sent to the new ${channel} by POST /me/codes. A user who has a ${channel} must also send ` +
            `\`${oldField}\` (sent to the current one) — always under config signIn.requireOldIdentifierProof (default true), ` +
            `else with \`verifyOld: true\`. Without \`${oldField}\` (a first ${channel}, or a replacement with that config off) the ` +
            `session must have been issued within the last 10 minutes. The ${channel} is stored as verified. Errors: request.invalid, ` +
            `auth.reauthentication_required (401: sign in again), user.invalid_${channel}, verification.* (code errors), ` +
            `user.${channel}_taken (409), auth.unauthorized.`,
          security: bearer,
          body: bindBodies[channel],
          response: { 200: userSchema, ...errors },
        },
      },
      async (request) => {
        const body = request.body as Record<string, string | boolean | undefined>;
        const user = await self.bindIdentifier(await caller(request), {
          channel,
          value: body[channel] as string,
          code: body.code as string,
          ...(body.verifyOld !== undefined ? { verifyOld: body.verifyOld as boolean } : {}),
          ...(body[oldField] !== undefined ? { oldCode: body[oldField] as string } : {}),
        });
        return toPublicUser(user);
      },
    );

    app.delete(
      `/me/${channel}`,
      {
        schema: {
          tags: ['auth'],
          summary: `Remove the ${channel} (Authing unbind${channel === 'email' ? 'Email' : 'Phone'})`,
          description:
            'Refused when nothing else could sign in: another email/phone, a username with a password, or a linked identity. ' +
            'The session must have been issued within the last 10 minutes. Errors: user.last_sign_in_method_required (400), ' +
            'request.invalid (none bound), auth.reauthentication_required (401: sign in again), auth.unauthorized.',
          security: bearer,
          response: { 200: userSchema, ...errors },
        },
      },
      async (request) => toPublicUser(await self.removeIdentifier(await caller(request), channel)),
    );
  }

  app.get(
    '/security-level',
    {
      schema: {
        tags: ['auth'],
        summary: 'Account security level (Authing getSecurityLevel)',
        description:
          'score = 20 (email) + 20 (phone) + 20 (password) + 0/5/10 (password level 1/2/3) + 30 (MFA). passwordSecurityLevel is null ' +
          'until the current password has been used to sign in or set through this API.',
        security: bearer,
        response: { 200: securityLevelSchema, ...errors },
      },
    },
    async (request) => securityLevel.compute(await me(request)),
  );

  app.post(
    '/user-exists',
    {
      schema: {
        tags: ['auth'],
        summary: 'Whether a user has this username, email or phone (Authing isUserExists)',
        description:
          'Deliberate user enumeration: off unless `signIn.allowUserExistsCheck` (TESSERA_SIGN_IN_ALLOW_USER_EXISTS_CHECK) is set; ' +
          'rate-limited per IP (`rateLimit.userExistsPerMinute`). Errors: auth.user_exists_check_disabled (403), ' +
          'auth.identifier_required, request.rate_limited (429).',
        body: z.object({ username: z.string().min(1).max(128).optional(), email: email.optional(), phone: phone.optional() }).strict(),
        response: { 200: z.object({ exists: z.boolean() }), ...errors },
      },
    },
    async (request) => {
      const meta = requestMeta(request);
      const { kind, value } = pickIdentifier(request.body);
      return { exists: await sdkAuth.userExists(kind, value, meta) };
    },
  );

  app.post(
    '/password/reset-with-token',
    {
      schema: {
        tags: ['auth'],
        summary: 'Set a new password with the reset token of auth.password_reset_required, and sign in',
        description:
          'Authing resetPasswordByFirstLoginToken / resetPasswordByForceResetToken. The token is single-use and valid 10 minutes; ' +
          '`oldPassword`, when given, must be the current password. Ends every other session. Errors: auth.reset_token_invalid (400), ' +
          'auth.invalid_credentials (401, wrong oldPassword), password.rejected (422), user.same_password (422), request.rate_limited, ' +
          'auth.mfa_required (403, data.pendingSignInId: a user with an MFA factor — the password is changed, finish the new sign-in ' +
          'with POST /api/auth/sign-in/mfa).',
        body: z.object({ resetToken: z.string().min(1).max(128), newPassword: password, oldPassword: password.optional() }).strict(),
        response: { 200: signedInSchema, ...errors },
      },
    },
    async (request) => {
      const { resetToken, newPassword, oldPassword } = request.body;
      const { user, issued } = await forcedReset.resetWithToken(
        { resetToken, newPassword, ...(oldPassword !== undefined ? { oldPassword } : {}) },
        requestMeta(request),
      );
      return signedIn(user, issued);
    },
  );

  app.get(
    '/me/custom-fields',
    {
      schema: {
        tags: ['auth'],
        summary: "The user's value of every defined custom field (Authing getUdfValue)",
        security: bearer,
        response: { 200: z.array(customFieldValueSchema), ...errors },
      },
    },
    async (request) => customFields.valuesOf(await me(request)),
  );

  app.put(
    '/me/custom-fields',
    {
      schema: {
        tags: ['auth'],
        summary: 'Set values of defined custom fields (Authing setUdfValue / setUdv); all or nothing',
        description:
          'STRING: string ≤ 4096; NUMBER: number or numeric string; BOOLEAN: boolean or "true"/"false"; DATETIME: ISO 8601 with offset ' +
          '(stored as toISOString()); OBJECT: JSON object (or a string holding one). Errors: custom_field.not_found (400, data.key), ' +
          'custom_field.invalid_value (400, data.key/type), auth.unauthorized.',
        security: bearer,
        body: z.object({ values: z.record(z.string().max(64), z.unknown()) }).strict(),
        response: { 200: z.array(customFieldValueSchema), ...errors },
      },
    },
    async (request) => self.setCustomFieldValues(await me(request), request.body.values),
  );

  app.delete(
    '/me/custom-fields/:key',
    {
      schema: {
        tags: ['auth'],
        summary: "Remove the user's value of a custom field (Authing removeUdfValue / removeUdv)",
        security: bearer,
        params: z.object({ key: z.string().regex(CUSTOM_FIELD_KEY) }),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await self.removeCustomFieldValue(await me(request), request.params.key);
      return reply.status(204).send();
    },
  );

  app.post(
    '/captcha',
    {
      schema: {
        tags: ['auth'],
        summary: 'A sign-in captcha (send `captcha: {id, answer}` with POST /sign-in after auth.captcha_required)',
        description: 'SVG image, valid 5 minutes, one attempt. A built-in captcha slows scripted guessing; it does not stop a targeted solver.',
        response: { 200: z.object({ id: z.string(), image: z.string().describe('data:image/svg+xml;base64,…'), expiresAt: z.number().describe('ms since the epoch') }), ...errors },
      },
    },
    async (request) => {
      await sdkAuth.throttleCaptcha(requestMeta(request));
      return captcha.create(requestMeta(request).ip ?? null);
    },
  );

  app.post(
    '/link-account',
    {
      schema: {
        tags: ['auth'],
        summary: "Move a secondary account's third-party identities to a primary account and delete the secondary (Authing linkAccount)",
        description:
          'Both tokens are session tokens. Only an account without password, email and phone can be merged away. The primary session ' +
          'must have been issued by a sign-in within the last 10 minutes. Errors: auth.unauthorized (a token is not a live session), ' +
          'auth.reauthentication_required (401: the primary session is older; sign in again), request.invalid (same account), ' +
          'account.link_conflict (409), request.rate_limited.',
        body: z.object({ primaryUserToken: z.string().min(1).max(256), secondaryUserToken: z.string().min(1).max(256) }).strict(),
        response: { 200: z.object({ user: userSchema }), ...errors },
      },
    },
    async (request) => {
      const { primaryUserToken, secondaryUserToken } = request.body;
      return { user: toPublicUser(await sdkAuth.linkAccounts(primaryUserToken, secondaryUserToken, requestMeta(request))) };
    },
  );
};
