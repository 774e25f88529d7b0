import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuthService } from '../../domain/sign-in/auth.js';
import { pickIdentifier } from '../../domain/users/identifiers.js';
import type { PasswordPolicy } from '../../domain/credentials/passwords.js';
import type { IssuedSession, SessionService } from '../../domain/sessions/index.js';
import { toPublicUser, type UserService } from '../../domain/users/index.js';
import { AppError } from '../../errors/index.js';
import type { UserRecord } from '../../storage/store.js';
import { bearerToken, requestMeta, requireSession } from '../principal.js';
import { errorSchema, issuedSessionSchema, signedInSchema, userInputFields, userSchema } from '../schemas.js';
import { type SdkServices, sdkRoutes } from './me.js';
import { meAuthorizationRoutes } from './authorization.js';
import type { AuthorizationService } from '../../domain/authorization/index.js';

/** What the first-party auth surface needs from the domain. */
export interface AuthRoutesOptions {
  auth: AuthService;
  users: UserService;
  sessions: SessionService;
  policy: PasswordPolicy;
  /** The SDK surface (issue 6): `/me…`, custom fields, security level, captcha, forced reset (me.ts). */
  sdk: SdkServices;
  /** The signed-in user's roles and permissions (authorization.ts, issue 18). */
  authorization: AuthorizationService;
}

/** Passwords are bounded so an attacker cannot make us hash megabytes; the policy's max applies on set. */
const password = z.string().min(1).max(4096);
const identifier = z.string().min(1).max(320);
const code = z.string().max(16).optional().describe('One-time code (6 digits)');
const verificationId = z.string().min(1).max(64).optional().describe('The record POST /api/auth/codes returned');

/** A 400 `request.invalid` naming one input path (for rules a schema cannot express). */
function invalid(path: string, message: string): AppError {
  return new AppError('request.invalid', { data: { issues: [{ path, code: 'custom', message }] } });
}

/**
 * The channel of a code flow: exactly one of email or phone (a username cannot receive codes).
 * @throws AppError `auth.identifier_required`
 */
function codeChannel(ids: { username?: string | undefined; email?: string | undefined; phone?: string | undefined }): 'email' | 'phone' {
  if (ids.username !== undefined || (ids.email === undefined) === (ids.phone === undefined)) {
    throw new AppError('auth.identifier_required', { message: 'Exactly one of email or phone is required with a code.' });
  }
  return ids.email !== undefined ? 'email' : 'phone';
}
const errors = { '4xx': errorSchema };
const bearer = [{ bearerAuth: [] }];

/**
 * The first-party sign-up / sign-in API under `/api/auth` (issue 2 §9), used by the SDK and the
 * sign-in UI. Session tokens travel as `Authorization: Bearer` (RFC 6750).
 */
export const authRoutes: FastifyPluginAsyncZod<AuthRoutesOptions> = async (app, { auth, sessions, policy, sdk, authorization }) => {
  const sessionOut = (issued: IssuedSession) => ({
    token: issued.token,
    expiresAt: new Date(issued.session.expiresAt).toISOString(),
  });
  const signedIn = (user: UserRecord, issued: IssuedSession) => ({ user: toPublicUser(user), session: sessionOut(issued) });

  app.post(
    '/sign-up',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create a user (with a password, or with a one-time code proving an email or phone) and sign in',
        description:
          'Password sign-up: at least one of username, email, phone, plus password. Code sign-up (Authing registerByPhoneCode / ' +
          'registerByEmailCode): exactly one of email or phone, the `code` sent for purpose Register (and optionally its ' +
          '`verificationId`); the identifier is stored as verified and the password is optional. Errors: request.invalid, ' +
          'user.identifier_required, user.invalid_*, password.rejected (422, data.issues), user.*_taken (409), ' +
          'verification.* (code errors), request.rate_limited (429).',
        body: z
          .object({
            username: identifier.optional(),
            email: identifier.optional(),
            phone: z.string().min(1).max(32).optional(),
            password: password.optional(),
            code,
            verificationId,
            ...userInputFields,
          })
          .strict(),
        response: { 201: signedInSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { code: otp, verificationId: vid, email, phone, ...rest } = request.body;
      const meta = requestMeta(request);
      // Keys of defined custom fields must hold values of their type (Authing options.customData).
      if (rest.customData) rest.customData = await sdk.customFields.checkCustomData(rest.customData);
      if (otp === undefined) {
        if (!rest.password) throw invalid('body.password', 'A password (or a code) is required');
        const { user, issued } = await auth.signUp({ ...rest, email: email ?? null, phone: phone ?? null }, meta);
        return reply.status(201).send(signedIn(user, issued));
      }
      const channel = codeChannel({ email, phone });
      const { user, issued } = await auth.signUpWithCode(
        { ...rest, channel, identifier: (email ?? phone)!, code: otp, ...(vid ? { verificationId: vid } : {}) },
        meta,
      );
      return reply.status(201).send(signedIn(user, issued));
    },
  );

  app.post(
    '/sign-in',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in with one identifier and a password, or with an email/phone and a one-time code',
        description:
          'Password: exactly one of username, email, phone, plus password. Code: exactly one of email, phone, plus the `code` ' +
          'sent for purpose SignIn (and optionally its `verificationId`). Errors: auth.identifier_required, ' +
          'auth.invalid_credentials (401; unknown user and wrong password alike), auth.too_many_failures (429 + Retry-After), ' +
          'auth.user_suspended (403), auth.email_not_verified (403), verification.* (code errors), user.not_found ' +
          '(right code, no account), request.rate_limited (429), auth.captcha_required / auth.captcha_invalid (401, after ' +
          '`signIn.captchaAfterFailures` failures from one IP in 15 min), auth.password_reset_required (403, data.resetToken for ' +
          'POST /password/reset-with-token).',
        body: z
          .object({
            username: identifier.optional(),
            email: identifier.optional(),
            phone: identifier.optional(),
            password: password.optional(),
            code,
            verificationId,
            captcha: z
              .object({ id: z.string().min(1).max(64), answer: z.string().min(1).max(32) })
              .strict()
              .optional()
              .describe('A solved captcha from POST /api/auth/captcha (needed after auth.captcha_required)'),
            autoRegister: z.boolean().optional().describe('Code sign-in: create the account when none has this email/phone'),
            clientIp: z.string().max(64).optional().describe('Accepted for Authing SDK compatibility and ignored: the client IP is the connection\'s'),
          })
          .strict(),
        response: { 200: signedInSchema, ...errors },
      },
    },
    async (request) => {
      const { password: pw, code: otp, verificationId: vid, captcha, autoRegister, clientIp: _ignored, ...ids } = request.body;
      const meta = requestMeta(request);
      if (otp !== undefined) {
        if (pw !== undefined) throw invalid('body.password', 'Send either a password or a code, not both');
        const channel = codeChannel(ids);
        const identifierValue = (channel === 'email' ? ids.email : ids.phone)!;
        const input = { channel, identifier: identifierValue, code: otp, ...(vid ? { verificationId: vid } : {}) };
        const { user, issued } = autoRegister ? await sdk.sdkAuth.signInWithCodeOrRegister(input, meta) : await auth.signInWithCode(input, meta);
        return signedIn(user, issued);
      }
      if (pw === undefined) throw invalid('body.password', 'A password (or a code) is required');
      const { kind, value } = pickIdentifier(ids);
      const { user, issued } = await auth.signInWithPassword(kind, value, pw, meta, captcha ? { captcha } : {});
      return signedIn(user, issued);
    },
  );

  app.post(
    '/sign-out',
    {
      schema: {
        tags: ['auth'],
        summary: 'End the calling session',
        security: bearer,
        response: { 204: z.void().describe('Signed out'), ...errors },
      },
    },
    async (request, reply) => {
      const { token } = await requireSession(request, sessions);
      await sessions.revokeToken(token);
      return reply.status(204).send();
    },
  );

  app.post(
    '/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Rotate the session token (the old one stops working at once)',
        security: bearer,
        response: { 200: signedInSchema, ...errors },
      },
    },
    async (request) => {
      const { user, ...issued } = await sessions.refresh(bearerToken(request) ?? '');
      return signedIn(user, issued);
    },
  );

  app.get(
    '/session',
    {
      schema: {
        tags: ['auth'],
        summary: "Check the calling session (Authing's checkLoginStatus)",
        description: 'A missing bearer token is a 401; a token that is not (or no longer) a live session gives {active:false}.',
        security: bearer,
        response: {
          200: z.object({
            active: z.boolean(),
            userId: z.string().optional(),
            issuedAt: z.iso.datetime().optional(),
            expiresAt: z.iso.datetime().optional().describe('The earlier of absolute and idle expiry'),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      if (!bearerToken(request)) throw new AppError('auth.unauthorized');
      try {
        const { session } = await requireSession(request, sessions);
        return {
          active: true,
          userId: session.userId,
          issuedAt: new Date(session.createdAt).toISOString(),
          expiresAt: new Date(sessions.effectiveExpiry(session)).toISOString(),
        };
      } catch {
        return { active: false };
      }
    },
  );

  app.get(
    '/me',
    { schema: { tags: ['auth'], summary: 'The signed-in user', security: bearer, response: { 200: userSchema, ...errors } } },
    async (request) => toPublicUser((await requireSession(request, sessions)).user),
  );

  app.post(
    '/password-strength',
    {
      schema: {
        tags: ['auth'],
        summary: "Check a password against the policy (Authing's checkPasswordStrength)",
        body: z.object({ password: z.string().max(4096), username: identifier.optional(), email: identifier.optional() }).strict(),
        response: {
          200: z.object({
            valid: z.boolean(),
            score: z.number().int().min(0).max(4).describe('zxcvbn score'),
            level: z.number().int().min(1).max(3).describe('1 low, 2 medium, 3 high'),
            message: z.string(),
            issues: z.array(z.object({ code: z.string(), interpolation: z.record(z.string(), z.number()).optional() })),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { password: pw, username, email } = request.body;
      return policy.strength(pw, { username: username ?? null, email: email ?? null });
    },
  );

  await app.register(sdkRoutes, { ...sdk, sessions });
  await app.register(meAuthorizationRoutes, { sessions, authorization });
};
