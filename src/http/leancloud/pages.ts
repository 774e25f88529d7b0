import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { LeanCloudCodes } from '../../domain/leancloud/codes.js';
import { isAppError } from '../../errors/index.js';
import type { LcRequests } from './requests.js';

/** What the browser pages need. */
export interface PageRoutesOptions {
  codes: LeanCloudCodes;
  requests: LcRequests;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box}button{margin-top:1rem;padding:.6rem 1.2rem}
.error{color:#b00020}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function resetForm(email: string, error?: string): string {
  return page(
    'Reset your password',
    `${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '<p>Enter the code from the email and choose a new password.</p>'}
<form method="post" action="resetPassword">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(email)}">
<label for="code">Code</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required>
<label for="password">New password</label><input id="password" name="password" type="password" autocomplete="new-password" required>
<button type="submit">Set password</button>
</form>`,
  );
}

function html(reply: FastifyReply, status: number, body: string) {
  return reply
    .status(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .send(body);
}

/**
 * The pages of LeanCloud's email flows, opened in a browser (no app credentials):
 * - `GET /1.1/resetPassword[?email=]` shows a form (email, emailed code, new password);
 *   `POST /1.1/resetPassword` (form fields) sets the password and ends every session;
 * - `GET /1.1/verifyEmail?token=` is the link of requestEmailVerify.
 */
export const pageRoutes: FastifyPluginAsync<PageRoutesOptions> = async (app, { codes, requests }) => {
  const hide = { schema: { hide: true } };

  app.get('/resetPassword', hide, async (request, reply) => {
    const email = (request.query as Record<string, string | undefined>).email ?? '';
    return html(reply, 200, resetForm(email.slice(0, 320)));
  });

  app.post('/resetPassword', hide, async (request, reply) => {
    const form = request.body as Record<string, unknown> | undefined;
    const field = (k: string) => (typeof form?.[k] === 'string' ? (form[k] as string) : '');
    const email = field('email').slice(0, 320);
    try {
      await codes.resetPasswordWithEmailCode({ email, code: field('code'), password: field('password') }, requests.meta(request));
    } catch (error) {
      if (!isAppError(error) || error.status >= 500) throw error;
      const message =
        error.code === 'password.rejected'
          ? 'This password is not allowed (too short, too common, or contains your name). Choose another.'
          : error.code === 'request.rate_limited'
            ? 'Too many attempts. Wait a minute and try again.'
            : 'The code is wrong or has expired. Check the latest email, or request a new one.';
      return html(reply, 400, resetForm(email, message));
    }
    return html(reply, 200, page('Password changed', '<p>Your password has been changed. You can now log in with it.</p>'));
  });

  app.get('/verifyEmail', hide, async (request, reply) => {
    const token = (request.query as Record<string, string | undefined>).token ?? '';
    try {
      await codes.verifyEmailLink(token.slice(0, 256));
    } catch (error) {
      if (!isAppError(error) || error.status >= 500) throw error;
      return html(reply, 400, page('This link does not work', '<p>The link is invalid, expired or already used. Request a new verification email.</p>'));
    }
    return html(reply, 200, page('Email verified', '<p>Your email address is verified. You can close this page.</p>'));
  });
};
