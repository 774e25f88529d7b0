import { requestLocale } from '../request-meta.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { h } from 'preact';
import { z } from 'zod';
import type { Config } from '../../config/index.js';
import type { AuthService } from '../../domain/sign-in/auth.js';
import type { UserService } from '../../domain/users/index.js';
import type { CodeChannel, VerificationService } from '../../domain/verification/index.js';
import { AppError, isAppError } from '../../errors/index.js';
import type { MessageKey } from '../../i18n/index.js';
import { pageContext, sendPage } from '../../ui/http.js';
import { Page, type PageContext, renderPage } from '../../ui/page.js';
import { requestMeta } from '../principal.js';
import { errorSchema } from '../schemas.js';

/** What the one-time-code routes need from the domain. */
export interface CodeRoutesOptions {
  auth: AuthService;
  users: UserService;
  verification: VerificationService;
  /** Brand and default language of the verification link's page (`ui`). */
  config: Pick<Config, 'ui'>;
}

const errors = { '4xx': errorSchema, '5xx': errorSchema };
const email = z.string().min(1).max(320);
const phone = z.string().min(1).max(32);
const code = z.string().min(1).max(16).describe('The 6-digit code from the message');
const verificationId = z.string().min(1).max(64).optional();
const locale = z.enum(['en', 'zh-CN']).optional().describe('Message language; default from Accept-Language, else en');

/** Exactly one of email or phone. @throws AppError `auth.identifier_required` */
function channelOf(body: { email?: string | undefined; phone?: string | undefined }): { channel: CodeChannel; identifier: string } {
  if ((body.email === undefined) === (body.phone === undefined)) {
    throw new AppError('auth.identifier_required', { message: 'Exactly one of email or phone is required.' });
  }
  return body.email !== undefined ? { channel: 'email', identifier: body.email } : { channel: 'phone', identifier: body.phone! };
}

/**
 * The page of the one-click verification link: a heading and one paragraph, in the request's language
 * (Preact on src/ui/page.tsx; Preact escapes every text).
 */
function verifyEmailPage(ctx: PageContext, title: MessageKey, text: MessageKey): string {
  return renderPage(h(Page, { ctx, title: ctx.t(title) }, h('p', null, ctx.t(text))));
}

/**
 * One-time codes and what they unlock (issue 3 §4): requesting a code, password reset by code, and
 * email verification by code or link. Sign-in and sign-up by code live on `/sign-in` and `/sign-up`.
 */
export const codeRoutes: FastifyPluginAsyncZod<CodeRoutesOptions> = async (app, { auth, users, verification, config }) => {
  app.post(
    '/codes',
    {
      schema: {
        tags: ['auth'],
        summary: 'Send a one-time code to an email or phone',
        description:
          'Purposes: SignIn, Register, ForgotPassword, VerifyEmail (email only). For SignIn, ForgotPassword and VerifyEmail ' +
          'the answer is the same whether or not an account has this identifier (no enumeration); Register refuses a taken ' +
          'identifier (409), as sign-up does. The code is valid for 10 minutes, 5 attempts, once. Errors: request.invalid, ' +
          'auth.identifier_required, user.invalid_email|phone, user.email_taken|phone_taken (Register), ' +
          'verification.resend_too_soon (429 + Retry-After), request.rate_limited (429), connector.delivery_failed (502).',
        body: z
          .object({
            email: email.optional(),
            phone: phone.optional(),
            purpose: z.enum(['SignIn', 'Register', 'ForgotPassword', 'VerifyEmail']),
            locale,
          })
          .strict(),
        response: {
          200: z.object({ verificationId: z.string(), expiresAt: z.iso.datetime().describe('When the code stops working') }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { purpose } = request.body;
      const { channel, identifier } = channelOf(request.body);
      if (purpose === 'VerifyEmail' && channel !== 'email') {
        throw new AppError('request.invalid', { data: { issues: [{ path: 'body.phone', code: 'custom', message: 'VerifyEmail needs an email' }] } });
      }
      if (purpose === 'Register') {
        await users.assertAvailable(channel === 'email' ? { email: verification.canonical('email', identifier).display } : { phone: verification.canonical('phone', identifier).display });
      }
      const meta = requestMeta(request);
      const record = await verification.sendCode({ channel, identifier, purpose, locale: requestLocale(request, request.body.locale), ip: meta.ip ?? null });
      return { verificationId: record.handle, expiresAt: new Date(record.expiresAt).toISOString() };
    },
  );

  app.post(
    '/password/reset',
    {
      schema: {
        tags: ['auth'],
        summary: 'Set a new password with a ForgotPassword code; ends every session of the user',
        description:
          'Errors: auth.identifier_required, verification.* (code errors), user.not_found (right code, no account), ' +
          'password.rejected (422; the code stays usable), request.rate_limited.',
        body: z.object({ email: email.optional(), phone: phone.optional(), code, verificationId, newPassword: z.string().min(1).max(4096) }).strict(),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      const { channel, identifier } = channelOf(request.body);
      const { code: otp, verificationId: vid, newPassword } = request.body;
      await auth.resetPassword({ channel, identifier, code: otp, newPassword, ...(vid ? { verificationId: vid } : {}) }, requestMeta(request));
      return reply.status(204).send();
    },
  );

  app.post(
    '/verify-email',
    {
      schema: {
        tags: ['auth'],
        summary: 'Mark an email verified with the code of a VerifyEmail message',
        body: z.object({ email, code, verificationId }).strict(),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      const { email: address, code: otp, verificationId: vid } = request.body;
      await auth.verifyEmailWithCode({ email: address, code: otp, ...(vid ? { verificationId: vid } : {}) }, requestMeta(request));
      return reply.status(204).send();
    },
  );

  app.get(
    '/verify-email',
    {
      schema: {
        tags: ['auth'],
        summary: 'The one-click link of a VerifyEmail message: an HTML page saying whether it worked (in the language of Accept-Language)',
        querystring: z.object({ token: z.string().max(256).optional() }),
        produces: ['text/html'],
      },
    },
    async (request, reply) => {
      const ctx = pageContext(request, config);
      try {
        await auth.verifyEmailWithLink(request.query.token ?? '');
        return sendPage(reply, 200, verifyEmailPage(ctx, 'links.verify.doneTitle', 'links.verify.done'), ctx.brand);
      } catch (error) {
        if (!isAppError(error) || error.status >= 500) throw error;
        const text = error.code === 'verification.code_expired' ? 'links.verify.expired' : 'links.verify.invalid';
        return sendPage(reply, 400, verifyEmailPage(ctx, 'links.verify.failedTitle', text), ctx.brand);
      }
    },
  );
};
