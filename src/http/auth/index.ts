import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuthService } from '../../domain/auth.js';
import { pickIdentifier } from '../../domain/identifiers.js';
import type { PasswordPolicy } from '../../domain/passwords.js';
import type { IssuedSession, SessionService } from '../../domain/sessions.js';
import { toPublicUser, type UserService } from '../../domain/users.js';
import { AppError } from '../../errors/index.js';
import type { UserRecord } from '../../storage/store.js';
import { bearerToken, requestMeta, requireSession } from '../principal.js';
import { errorSchema, issuedSessionSchema, signedInSchema, userInputFields, userSchema } from '../schemas.js';

/** What the first-party auth surface needs from the domain. */
export interface AuthRoutesOptions {
  auth: AuthService;
  users: UserService;
  sessions: SessionService;
  policy: PasswordPolicy;
}

/** Passwords are bounded so an attacker cannot make us hash megabytes; the policy's max applies on set. */
const password = z.string().min(1).max(4096);
const identifier = z.string().min(1).max(320);
const errors = { '4xx': errorSchema };
const bearer = [{ bearerAuth: [] }];

/**
 * The first-party sign-up / sign-in API under `/api/auth` (issue 2 §9), used by the SDK and the
 * sign-in UI. Session tokens travel as `Authorization: Bearer` (RFC 6750).
 */
export const authRoutes: FastifyPluginAsyncZod<AuthRoutesOptions> = async (app, { auth, sessions, policy }) => {
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
        summary: 'Create a user with a password and sign in',
        description:
          'At least one of username, email, phone. Errors: request.invalid, user.identifier_required, user.invalid_*, ' +
          'password.rejected (422, data.issues), user.*_taken (409), request.rate_limited (429).',
        body: z
          .object({
            username: identifier.optional(),
            email: identifier.optional(),
            phone: z.string().min(1).max(32).optional(),
            password,
            ...userInputFields,
          })
          .strict(),
        response: { 201: signedInSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { user, issued } = await auth.signUp(request.body, requestMeta(request));
      return reply.status(201).send(signedIn(user, issued));
    },
  );

  app.post(
    '/sign-in',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in with exactly one identifier and a password',
        description:
          'Errors: auth.identifier_required, auth.invalid_credentials (401; unknown user and wrong password alike), ' +
          'auth.too_many_failures (429 + Retry-After), auth.user_suspended (403), request.rate_limited (429).',
        body: z.object({ username: identifier.optional(), email: identifier.optional(), phone: identifier.optional(), password }).strict(),
        response: { 200: signedInSchema, ...errors },
      },
    },
    async (request) => {
      const { kind, value } = pickIdentifier(request.body);
      const { user, issued } = await auth.signInWithPassword(kind, value, request.body.password, requestMeta(request));
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

};
