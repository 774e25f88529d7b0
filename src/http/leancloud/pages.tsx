import type { FastifyPluginAsync } from 'fastify';
import type { JSX } from 'preact';
import type { Config } from '../../config/index.js';
import type { LeanCloudCodes } from '../../domain/leancloud/codes.js';
import { type AppError, isAppError } from '../../errors/index.js';
import { pageContext, sendPage } from '../../ui/http.js';
import { Alert, Field, Page, type PageContext, renderPage } from '../../ui/page.js';
import type { LcRequests } from './requests.js';

/** What the browser pages need. */
export interface PageRoutesOptions {
  codes: LeanCloudCodes;
  requests: LcRequests;
  /** The pages' brand and default language (`ui.defaultLocale`). */
  config: Pick<Config, 'ui'>;
}

/** The longest email address the reset form takes or shows (RFC 5321 path limit, rounded up as elsewhere). */
const MAX_EMAIL = 320;

/** What the reset form shows after a refused attempt: the field at fault, or a page-level message. */
interface ResetErrors {
  /** A page-level message (`role="alert"`), e.g. too many attempts. */
  page?: string | undefined;
  code?: string | undefined;
  password?: string | undefined;
}

/**
 * The reset form of `GET/POST /1.1/resetPassword`: email (pre-filled), the emailed code and the new
 * password; it posts to itself (`resetPassword`, relative to `/1.1/`).
 */
function ResetPage({ ctx, email, errors = {} }: { ctx: PageContext; email: string; errors?: ResetErrors }): JSX.Element {
  const { t } = ctx;
  return (
    <Page ctx={ctx} title={t('links.reset.title')} lead={t('links.reset.lead')}>
      <Alert message={errors.page} />
      <form method="post" action="resetPassword">
        <Field id="email" type="email" label={t('links.reset.email')} autocomplete="username" required maxlength={MAX_EMAIL} value={email} />
        <Field
          id="code"
          label={t('links.reset.code')}
          hint={t('links.reset.codeHint')}
          inputmode="numeric"
          autocomplete="one-time-code"
          pattern="[0-9]{6}"
          required
          autofocus={Boolean(email) && !errors.password}
          error={errors.code}
        />
        <Field id="password" type="password" label={t('links.reset.password')} autocomplete="new-password" required autofocus={Boolean(errors.password)} error={errors.password} />
        <button type="submit">{t('links.reset.submit')}</button>
      </form>
    </Page>
  );
}

/** A page that only says how a link or form ended: a heading and one paragraph. */
export function ResultPage({ ctx, title, text }: { ctx: PageContext; title: string; text: string }): JSX.Element {
  return (
    <Page ctx={ctx} title={title}>
      <p>{text}</p>
    </Page>
  );
}

/** Where a refused reset attempt is shown: the password (policy), the page (rate limit), else the code. */
function resetErrorsOf(error: AppError, t: PageContext['t']): ResetErrors {
  if (error.code === 'password.rejected') return { password: t('links.reset.rejected') };
  if (error.code === 'request.rate_limited') return { page: t('links.reset.rateLimited') };
  return { code: t('links.reset.badCode') };
}

/**
 * The pages of LeanCloud's email flows, opened in a browser (no app credentials), in the language of
 * `Accept-Language`, else `config.ui.defaultLocale` (Preact pages on src/ui/page.tsx, sent with
 * {@link sendPage}: strict CSP, `no-store`):
 * - `GET /1.1/resetPassword[?email=]` shows a form (email, emailed code, new password);
 *   `POST /1.1/resetPassword` (form fields) sets the password and ends every session: 200 "Password
 *   changed", or 400 with the form again and the error at the field it concerns (`password.rejected`
 *   → password; `request.rate_limited` → the page; any other 4xx → the code);
 * - `GET /1.1/verifyEmail?token=` is the link of requestEmailVerify: 200 "Email verified", or 400 when
 *   the token is invalid, expired or used. 5xx errors go to the surface's error handler.
 */
export const pageRoutes: FastifyPluginAsync<PageRoutesOptions> = async (app, { codes, requests, config }) => {
  const hide = { schema: { hide: true } };

  app.get('/resetPassword', hide, async (request, reply) => {
    const ctx = pageContext(request, config);
    const email = (request.query as Record<string, string | undefined>).email ?? '';
    return sendPage(reply, 200, renderPage(<ResetPage ctx={ctx} email={typeof email === 'string' ? email.slice(0, MAX_EMAIL) : ''} />), ctx.brand);
  });

  app.post('/resetPassword', hide, async (request, reply) => {
    const ctx = pageContext(request, config);
    const form = request.body as Record<string, unknown> | undefined;
    const field = (k: string) => (typeof form?.[k] === 'string' ? (form[k] as string) : '');
    const email = field('email').slice(0, MAX_EMAIL);
    try {
      await codes.resetPasswordWithEmailCode({ email, code: field('code'), password: field('password') }, requests.meta(request));
    } catch (error) {
      if (!isAppError(error) || error.status >= 500) throw error;
      return sendPage(reply, 400, renderPage(<ResetPage ctx={ctx} email={email} errors={resetErrorsOf(error, ctx.t)} />), ctx.brand);
    }
    return sendPage(reply, 200, renderPage(<ResultPage ctx={ctx} title={ctx.t('links.reset.doneTitle')} text={ctx.t('links.reset.done')} />), ctx.brand);
  });

  app.get('/verifyEmail', hide, async (request, reply) => {
    const ctx = pageContext(request, config);
    const token = (request.query as Record<string, string | undefined>).token ?? '';
    try {
      await codes.verifyEmailLink(typeof token === 'string' ? token.slice(0, 256) : '');
    } catch (error) {
      if (!isAppError(error) || error.status >= 500) throw error;
      return sendPage(reply, 400, renderPage(<ResultPage ctx={ctx} title={ctx.t('links.verify.failedTitle')} text={ctx.t('links.verify.failed')} />), ctx.brand);
    }
    return sendPage(reply, 200, renderPage(<ResultPage ctx={ctx} title={ctx.t('links.verify.doneTitle')} text={ctx.t('links.verify.done')} />), ctx.brand);
  });
};
