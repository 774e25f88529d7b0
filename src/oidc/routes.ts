import { noteApplication } from '../domain/events/context.js';
import { actsAsThirdParty } from '../domain/applications/index.js';
import { createHmac } from 'node:crypto';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Interaction } from 'oidc-provider';
import type { IdentifierKind } from '../domain/users/identifiers.js';
import type { UserRecord } from '../storage/store.js';
import { AppError } from '../errors/index.js';
import { constantTimeEqual } from '../util/crypto.js';
import type { OidcService } from './index.js';
import { OIDC_PREFIX } from './provider.js';
import {
  codePage,
  consentPage,
  type ErrorPageKind,
  errorPage,
  type FieldErrors,
  forgotPasswordPage,
  interactionPaths,
  mfaEnrollPage,
  mfaPage,
  backupCodesPage,
  passkeyPage,
  type SignInOptions,
  signInPage,
  signUpPage,
} from './pages.js';
import { securityHeaders } from '../util/security-headers.js';
import type { SocialService } from '../domain/social/index.js';
import { socialButtons, socialInteractionRoutes } from './social-routes.js';
import { asAuthenticationResponse, authenticationResponseSchema } from '../http/mfa-schemas.js';
import type { SecondFactorProof } from '../domain/mfa/index.js';
import { PASSKEY_GLUE, PASSKEY_LIBRARY } from './passkey-script.js';
import { isSameOriginPost } from '../util/same-origin.js';
import type { CodeChannel, VerificationService } from '../domain/verification/index.js';
import type { SdkAuthService } from '../domain/sign-in/sdk-auth.js';
import type { SignedIn } from '../domain/sign-in/types.js';
import { errorMessage, type Locale, retryAfterText } from '../i18n/index.js';
import { brandFor, pageContext, sendPage, serveHashedAsset } from '../ui/http.js';
import type { PageContext } from '../ui/page.js';

/** Options of {@link oidcRoutes}. */
export interface OidcRoutesOptions {
  oidc: OidcService;
  /** Social sign-in on the sign-in page ("Continue with …", src/oidc/social-routes.ts); absent = none. */
  social?: SocialService;
  /**
   * One-time codes on the sign-in page: sign-in by email or SMS code (an unknown identifier proven by its
   * code gets a new account, Authing's autoRegister) and forgot password. Absent: neither is offered.
   */
  codes?: { verification: VerificationService; sdkAuth: Pick<SdkAuthService, 'signInWithCodeOrRegister'> };
}

/**
 * An error's message in `locale`, with how long to wait when it carries `retryAfterSeconds` (the lockout,
 * a rate limit): "… Try again in 15 minutes." (whole minutes, rounded up, past a minute). English keeps an
 * error's own message when it was thrown with one; other languages use the code's catalogue text.
 */
export function withRetryAfter(error: AppError, locale: Locale = 'en'): string {
  const message = locale === 'en' ? error.message : errorMessage(error.code, locale);
  const seconds = error.retryAfterSeconds;
  return seconds === undefined ? message : `${message} ${retryAfterText(seconds, locale)}`;
}

/** Largest sign-in form accepted, bytes. */
const FORM_LIMIT_BYTES = 16 * 1024;

/**
 * Which kind of identifier the sign-in field holds: `@` → email; digits with an optional `+` and
 * separators → phone; anything else → username (native usernames cannot start with a digit).
 */
export function identifierKind(value: string): IdentifierKind {
  if (value.includes('@')) return 'email';
  if (/^\+?[0-9][0-9 ().-]*$/.test(value.trim())) return 'phone';
  return 'username';
}

/**
 * Mounts node-oidc-provider at `/oidc` and serves its interaction pages (issues 4 and 14):
 * - `/oidc/*` goes to the provider's own request handler with the raw Node request and response,
 *   hijacked in `onRequest`, so Fastify never reads the body (the provider parses its own form and
 *   JSON bodies) and the provider's RFC 6749 errors (`{error, error_description}`) reach the client
 *   untouched. The URL is rewritten to the provider's relative path during the call
 *   (`req.originalUrl` keeps the full one, which the provider uses to build absolute URLs).
 * - `GET /oidc/interaction/:uid` shows the sign-in page for the login prompt and the sign-up page for
 *   `prompt=create`; consent prompts of first-party applications are granted without a page. The other
 *   ways in (one-time code, passkey, sign-up, forgot password, social) have their own pages under the
 *   interaction. Every form carries a CSRF token bound to the interaction (HMAC with the provider's cookie
 *   key) and cross-origin posts are refused ({@link isSameOriginPost}).
 */
/**
 * helmet's headers for the provider's own answers: its pages post forms to itself and then redirect to
 * registered client URIs, so CSP's form-action must not be limited to 'self'.
 */
function providerSecurityHeaders(logoOrigin: string | undefined): Record<string, string> {
  return securityHeaders({
    contentSecurityPolicy: {
      directives: { formAction: null, upgradeInsecureRequests: null, styleSrc: ["'self'"], imgSrc: ["'self'", 'data:', ...(logoOrigin ? [logoOrigin] : [])] },
    },
  });
}

export const oidcRoutes: FastifyPluginAsync<OidcRoutesOptions> = async (app, { oidc, social, codes }) => {
  await app.register(async (pages) => interactionRoutes(pages, oidc, social, codes));
  const PROVIDER_SECURITY_HEADERS = providerSecurityHeaders(brandFor(oidc.deps.config).logoOrigin);

  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url: `${OIDC_PREFIX}/*`,
    // The provider answers CORS itself (per-client origins).
    config: { cors: false },
    onRequest: async (request, reply) => {
      const handle = await oidc.requestHandler();
      reply.hijack();
      for (const [name, value] of Object.entries(PROVIDER_SECURITY_HEADERS)) reply.raw.setHeader(name, value);
      const req = request.raw as typeof request.raw & { originalUrl?: string };
      const fullUrl = req.url ?? '/';
      req.originalUrl = fullUrl;
      req.url = fullUrl.slice(OIDC_PREFIX.length) || '/';
      await new Promise<void>((resolve) => {
        reply.raw.once('close', resolve);
        handle(req, reply.raw);
      });
      req.url = fullUrl;
    },
    handler: async () => undefined,
  });
};

/** `JSON.parse` of a form field of at most 16 KiB; `undefined` for anything else or invalid JSON. */
function parseJson(value: unknown): unknown {
  if (typeof value !== 'string' || value.length > FORM_LIMIT_BYTES) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

/** A form field as text of at most `max` characters ('' when absent or not text). */
function text(body: unknown, name: string, max: number): string {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.slice(0, max) : '';
}

/** Field errors of a `password.rejected` refusal, in `ctx`'s language (one line per policy issue). */
function passwordIssues(ctx: PageContext, error: AppError): string {
  const issues = ((error.data as { issues?: Array<{ code: string; interpolation?: Record<string, number> }> } | undefined)?.issues ?? []).map((issue) => {
    const key = `password.${issue.code.replace(/^password_rejected\./, '')}`;
    return ['password.too_short', 'password.too_long', 'password.common', 'password.user_info', 'password.character_types'].includes(key)
      ? ctx.t(key as 'password.common', issue.interpolation ?? {})
      : withRetryAfter(error, ctx.locale);
  });
  return issues.length ? issues.join(' ') : withRetryAfter(error, ctx.locale);
}

/** The field a refusal of a code or sign-up form concerns, for `aria-invalid` (else a page-level message). */
function fieldOf(code: string): string | undefined {
  if (code.startsWith('verification.')) return 'code';
  if (code === 'password.rejected' || code === 'user.password_required' || code === 'user.same_password') return 'password';
  if (code === 'user.username_taken' || code === 'user.invalid_username') return 'username';
  if (code === 'user.email_taken' || code === 'user.invalid_email') return 'email';
  if (code === 'user.phone_taken' || code === 'user.invalid_phone') return 'phone';
  return undefined;
}

async function interactionRoutes(app: FastifyInstance, oidc: OidcService, social?: SocialService, codes?: OidcRoutesOptions['codes']): Promise<void> {
  await app.register(formbody, { bodyLimit: FORM_LIMIT_BYTES });
  const { auth, sessions, config, mfa, captcha } = oidc.deps;
  const publicOrigin = new URL(config.publicUrl).origin;
  const brand = brandFor(config);
  /** Passkey-first sign-in is MfaService's (discoverable credentials); without it the page has no passkey link. */
  const passkeyFirst = mfa;
  const options: SignInOptions = { signUp: true, forgotPassword: Boolean(codes), code: Boolean(codes), passkey: Boolean(passkeyFirst) };

  /** CSRF token of an interaction: HMAC-SHA256(cookie key, uid). */
  const csrfFor = async (uid: string) => {
    const [key] = (await oidc.keys.load()).cookie;
    return createHmac('sha256', key ?? '').update(`tessera-interaction:${uid}`).digest('base64url');
  };

  /** The interaction the request's cookie names, if it is the one in the URL. */
  const details = async (request: FastifyRequest<{ Params: { uid: string } }>, reply: FastifyReply): Promise<Interaction | undefined> => {
    const provider = await oidc.current();
    try {
      const interaction = await provider.interactionDetails(request.raw, reply.raw);
      if (interaction.uid !== request.params.uid) return undefined;
      // The events and audit entries of this sign-in name the application it is for (Logto's `application`).
      const clientId = interaction.params['client_id'];
      if (typeof clientId === 'string') noteApplication(clientId);
      return interaction;
    } catch {
      return undefined;
    }
  };

  /** A sign-in or sign-up prompt (the pages of both accept every way in). */
  const signingIn = (interaction: Interaction | undefined): interaction is Interaction =>
    interaction !== undefined && (interaction.prompt.name === 'login' || interaction.prompt.name === 'create');

  /** The page context of a request in an interaction: `ui_locales` of the authorization request first. */
  const ctxOf = (request: FastifyRequest, interaction?: Interaction): PageContext => pageContext(request, config, interaction?.params['ui_locales']);

  /**
   * Binds a pending sign-in to this interaction: HMAC-SHA256(cookie key, uid + pendingSignInId), sent
   * with the MFA step's passkey form; the passkey routes refuse a pending sign-in of another interaction.
   */
  const bindingFor = async (uid: string, pendingSignInId: string) => {
    const [key] = (await oidc.keys.load()).cookie;
    return createHmac('sha256', key ?? '').update(`tessera-mfa-pending:${uid}:${pendingSignInId}`).digest('base64url');
  };

  const redirectOrigin = (interaction: Interaction) => {
    const uri = interaction.params['redirect_uri'];
    return typeof uri === 'string' ? URL.parse(uri)?.origin : undefined;
  };

  /**
   * Sends a page. The sign-in forms post to us and we answer with redirects to /oidc/auth/… and then to
   * the client's redirect URI: CSP form-action must allow that origin (CSP3 applies it to redirects).
   * `scripts`: the page loads its same-origin passkey scripts.
   */
  const html = (reply: FastifyReply, status: number, body: string, interaction?: Interaction, scripts = false) =>
    sendPage(reply, status, body, brand, { formTarget: interaction ? redirectOrigin(interaction) : undefined, scripts });

  const errorReply = (request: FastifyRequest, reply: FastifyReply, status: number, kind: ErrorPageKind, interaction?: Interaction, message?: string) =>
    html(reply, status, errorPage(ctxOf(request, interaction), kind, message), interaction);

  const expired = (request: FastifyRequest, reply: FastifyReply) => errorReply(request, reply, 400, 'expired');
  const stale = (request: FastifyRequest, reply: FastifyReply, interaction: Interaction) => errorReply(request, reply, 403, 'stale', interaction);

  const isThirdParty = async (interaction: Interaction) => {
    const clientId = interaction.params['client_id'];
    return actsAsThirdParty(typeof clientId === 'string' ? await oidc.deps.applications.find(clientId) : undefined);
  };

  const clientName = async (interaction: Interaction) => {
    const clientId = interaction.params['client_id'];
    const found = typeof clientId === 'string' ? await oidc.deps.applications.find(clientId) : undefined;
    return found?.name ?? String(clientId ?? '');
  };

  /** What every interaction page needs. */
  const common = async (request: FastifyRequest, interaction: Interaction) => ({
    ctx: ctxOf(request, interaction),
    paths: interactionPaths(OIDC_PREFIX, interaction.uid),
    clientName: await clientName(interaction),
    csrf: await csrfFor(interaction.uid),
  });

  /** The consent page of a third-party application, listing what the consent prompt says is missing. */
  const showConsent = async (request: FastifyRequest, reply: FastifyReply, interaction: Interaction) => {
    const d = interaction.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
    const base = await common(request, interaction);
    return html(
      reply,
      200,
      consentPage({
        ...base,
        action: `${base.paths.base}/consent`,
        scopes: d.missingOIDCScope ?? [],
        resources: Object.entries(d.missingResourceScopes ?? {}).map(([resource, scopes]) => ({ resource, scopes })),
      }),
      interaction,
    );
  };

  type LoginExtra = { identifier?: string; error?: string; fieldErrors?: FieldErrors; captcha?: { id: string; image: string } };

  const loginPage = async (request: FastifyRequest, reply: FastifyReply, interaction: Interaction, status: number, extra: LoginExtra = {}) =>
    html(
      reply,
      status,
      signInPage({
        ...(await common(request, interaction)),
        options,
        identifier: extra.identifier ?? (typeof interaction.params['login_hint'] === 'string' ? interaction.params['login_hint'] : ''),
        ...(social ? { social: await socialButtons(social, interaction.uid) } : {}),
        error: extra.error,
        fieldErrors: extra.fieldErrors,
        captcha: extra.captcha,
      }),
      interaction,
    );

  const signUpForm = async (
    request: FastifyRequest,
    reply: FastifyReply,
    interaction: Interaction,
    status: number,
    extra: { values?: { username?: string; email?: string }; error?: string; fieldErrors?: FieldErrors } = {},
  ) =>
    html(
      reply,
      status,
      signUpPage({ ...(await common(request, interaction)), open: options.signUp, passwordMinLength: config.password.minLength, ...extra }),
      interaction,
    );

  /** First-party applications: grant whatever the consent prompt lists as missing, then resume. */
  const grantConsent = async (request: FastifyRequest, reply: FastifyReply, interaction: Interaction) => {
    const provider = await oidc.current();
    const accountId = interaction.session?.accountId;
    const clientId = interaction.params['client_id'];
    if (!accountId || typeof clientId !== 'string') return expired(request, reply);
    const grant = (interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined) ?? new provider.Grant({ accountId, clientId });
    const d = interaction.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (d.missingOIDCScope?.length) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims?.length) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(d.missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
    const grantId = await grant.save();
    const returnTo = await provider.interactionResult(request.raw, reply.raw, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return reply.header('cache-control', 'no-store').redirect(returnTo, 303);
  };

  /** Refuses posts whose CSRF token is wrong or that another origin sent ({@link isSameOriginPost}). */
  const checkPost = async (request: FastifyRequest, interaction: Interaction): Promise<boolean> => {
    if (!isSameOriginPost(request.headers, publicOrigin)) return false;
    const body = (request.body ?? {}) as Record<string, unknown>;
    return typeof body['csrf'] === 'string' && constantTimeEqual(body['csrf'], await csrfFor(interaction.uid));
  };

  /**
   * Completes the login prompt (and `create`, when that was asked for) for `accountId` with `amr`, and
   * sends the browser on to the authorization endpoint.
   */
  const finishLogin = async (request: FastifyRequest, reply: FastifyReply, interaction: Interaction, accountId: string, amr: string[]) => {
    const provider = await oidc.current();
    const returnTo = await provider.interactionResult(
      request.raw,
      reply.raw,
      { login: { accountId, amr, remember: true }, ...(interaction.prompt.name === 'create' ? { create: {} } : {}) },
      { mergeWithLastSubmission: false },
    );
    return reply.header('cache-control', 'no-store').redirect(returnTo, 303);
  };

  /**
   * Runs a first-factor sign-in (password, code, sign-up) and finishes the login. The OIDC provider keeps
   * its own session (cookie on /oidc): the first-party session the sign-in issued is never handed out, so
   * it ends at once. A user with MFA continues on the MFA step (or the enrolment step under policy
   * `required`); any other refusal goes to `refused` (an AppError below 500; others are rethrown).
   */
  const attemptSignIn = async (
    request: FastifyRequest,
    reply: FastifyReply,
    interaction: Interaction,
    attempt: () => Promise<SignedIn>,
    refused: (error: AppError) => Promise<FastifyReply>,
  ) => {
    let signedIn: SignedIn;
    try {
      signedIn = await attempt();
      await sessions.revokeForUser(signedIn.user.id, signedIn.issued.session.id);
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      // The page answers the refusal itself (HTML); the code still reaches the log line and the metrics.
      request.errorCode = error.code;
      reply.log = reply.log.child({ errorCode: error.code });
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
      if (error.code === 'auth.mfa_required' && mfa) {
        return mfaStepPage(request, reply, interaction, 200, (error.data as { pendingSignInId: string }).pendingSignInId);
      }
      if (error.code === 'auth.mfa_enrollment_required' && mfa) {
        return mfaEnrollStepPage(request, reply, interaction, 200, (error.data as { pendingSignInId: string }).pendingSignInId);
      }
      return refused(error);
    }
    return finishLogin(request, reply, interaction, signedIn.user.id, signedIn.issued.session.amr);
  };

  const meta = (request: FastifyRequest, locale: Locale) => {
    const ua = request.headers['user-agent'];
    return { ip: request.ip, userAgent: typeof ua === 'string' ? ua : null, locale };
  };

  // ------------------------------------------------------------------------------------------------
  // The sign-in page (and sign-up for prompt=create), consent

  app.get<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction) return expired(request, reply);
    if (interaction.prompt.name === 'login') return loginPage(request, reply, interaction, 200);
    if (interaction.prompt.name === 'create') return signUpForm(request, reply, interaction, 200);
    if (interaction.prompt.name === 'consent') {
      return (await isThirdParty(interaction)) ? showConsent(request, reply, interaction) : grantConsent(request, reply, interaction);
    }
    return errorReply(request, reply, 400, 'invalidRequest', interaction);
  });

  // The sign-in page also under a path of its own (the sign-up page of prompt=create links to it).
  app.get<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/sign-in`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!signingIn(interaction)) return expired(request, reply);
    return loginPage(request, reply, interaction, 200);
  });

  // "Allow" on the consent page of a third-party application ("Deny" posts to /abort).
  app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/consent`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction || interaction.prompt.name !== 'consent') return expired(request, reply);
    if (!(await checkPost(request, interaction))) return stale(request, reply, interaction);
    return grantConsent(request, reply, interaction);
  });

  // `POST …/login` {identifier, password[, captchaId, captcha]}: AuthService.signInWithPassword (rate
  // limits, lockout, suspension and the captcha apply).
  app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/login`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!signingIn(interaction)) return expired(request, reply);
    if (!(await checkPost(request, interaction))) return stale(request, reply, interaction);
    const { t, locale } = ctxOf(request, interaction);
    const identifier = text(request.body, 'identifier', 320).trim();
    const password = text(request.body, 'password', 4096);
    const captchaId = text(request.body, 'captchaId', 100);
    const captchaAnswer = text(request.body, 'captcha', 100);
    if (!identifier || !password) {
      return loginPage(request, reply, interaction, 400, {
        identifier,
        error: t('signIn.missing'),
        fieldErrors: { ...(identifier ? {} : { identifier: t('signIn.missingIdentifier') }), ...(password ? {} : { password: t('signIn.missingPassword') }) },
      });
    }
    return attemptSignIn(
      request,
      reply,
      interaction,
      () => auth.signInWithPassword(identifierKind(identifier), identifier, password, meta(request, locale), captchaId && captchaAnswer ? { captcha: { id: captchaId, answer: captchaAnswer } } : {}),
      async (error) => {
        if ((error.code === 'auth.captcha_required' || error.code === 'auth.captcha_invalid') && captcha) {
          // Too many failed sign-ins from this address (on any surface): this page can show a captcha.
          const issued = await captcha.create(request.ip);
          const message = withRetryAfter(error, locale);
          return loginPage(request, reply, interaction, 401, {
            identifier,
            captcha: { id: issued.id, image: issued.image },
            error: message,
            ...(error.code === 'auth.captcha_invalid' ? { fieldErrors: { captcha: message } } : {}),
          });
        }
        return loginPage(request, reply, interaction, error.status, { identifier, error: withRetryAfter(error, locale) });
      },
    );
  });

  // ------------------------------------------------------------------------------------------------
  // Sign-up: `GET …/sign-up` (or prompt=create), `POST …/sign-up` {username?, email?, password}

  app.get<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/sign-up`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!signingIn(interaction)) return expired(request, reply);
    return signUpForm(request, reply, interaction, 200);
  });

  app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/sign-up`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!signingIn(interaction)) return expired(request, reply);
    if (!(await checkPost(request, interaction))) return stale(request, reply, interaction);
    const ctx = ctxOf(request, interaction);
    const { t, locale } = ctx;
    const username = text(request.body, 'username', 128).trim();
    const email = text(request.body, 'email', 320).trim();
    const password = text(request.body, 'password', 4096);
    const values = { username, email };
    if (!username && !email) {
      return signUpForm(request, reply, interaction, 400, { values, error: t('signUp.missingIdentifier'), fieldErrors: { username: t('signUp.missingIdentifier') } });
    }
    if (!password) return signUpForm(request, reply, interaction, 400, { values, fieldErrors: { password: t('signUp.missingPassword') } });
    return attemptSignIn(
      request,
      reply,
      interaction,
      () => auth.signUp({ username: username || null, email: email || null, phone: null, password }, meta(request, locale)),
      async (error) => {
        const field = fieldOf(error.code);
        const message = error.code === 'password.rejected' ? passwordIssues(ctx, error) : withRetryAfter(error, locale);
        return signUpForm(request, reply, interaction, error.status, { values, ...(field ? { fieldErrors: { [field]: message } } : { error: message }) });
      },
    );
  });

  // ------------------------------------------------------------------------------------------------
  // Sign-in by one-time code: `GET …/code`, `POST …/code/send` {identifier}, `POST …/code` {identifier, code}

  /** The email or phone of a code form, or a field error. */
  const codeTarget = (identifier: string): { channel: CodeChannel; identifier: string } | undefined => {
    const kind = identifierKind(identifier);
    return kind === 'username' ? undefined : { channel: kind, identifier };
  };

  const codeForm = async (
    request: FastifyRequest,
    reply: FastifyReply,
    interaction: Interaction,
    status: number,
    extra: { identifier?: string; sent?: boolean; error?: string; notice?: string; fieldErrors?: FieldErrors } = {},
  ) => html(reply, status, codePage({ ...(await common(request, interaction)), options, ...extra }), interaction);

  /**
   * Sends a code for `purpose` and answers with `page`: the same notice whether or not an account has the
   * identifier (no enumeration). Refusals (resend too soon, rate limits, delivery) are shown on the page.
   */
  const sendCode = async (
    request: FastifyRequest,
    reply: FastifyReply,
    interaction: Interaction,
    purpose: 'SignIn' | 'ForgotPassword',
    page: (status: number, extra: { identifier?: string; sent?: boolean; error?: string; notice?: string; fieldErrors?: FieldErrors }) => Promise<FastifyReply>,
  ) => {
    const { t, locale } = ctxOf(request, interaction);
    const identifier = text(request.body, 'identifier', 320).trim();
    const target = codeTarget(identifier);
    if (!identifier) return page(400, { identifier, fieldErrors: { identifier: t('code.missingIdentifier') } });
    if (!target || !codes) return page(400, { identifier, fieldErrors: { identifier: t('code.invalidIdentifier') } });
    try {
      await codes.verification.sendCode({ channel: target.channel, identifier: target.identifier, purpose, locale, ip: request.ip });
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) {
        if (error instanceof AppError && error.code === 'connector.delivery_failed') return page(502, { identifier, error: withRetryAfter(error, locale) });
        throw error;
      }
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
      const field = error.code.startsWith('user.invalid_') ? 'identifier' : undefined;
      const message = withRetryAfter(error, locale);
      // Too soon after the previous code: that code still works, so the code field stays.
      const sent = error.code === 'verification.resend_too_soon';
      return page(error.status, { identifier, sent, ...(field ? { fieldErrors: { identifier: message } } : { error: message }) });
    }
    return page(200, { identifier, sent: true, notice: t('common.codeSent', { to: identifier, minutes: Math.round(config.codes.ttlSeconds / 60) }) });
  };

  if (codes) {
    app.get<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/code`, { schema: { hide: true } }, async (request, reply) => {
      const interaction = await details(request, reply);
      if (!signingIn(interaction)) return expired(request, reply);
      return codeForm(request, reply, interaction, 200);
    });

    app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/code/send`, { schema: { hide: true } }, async (request, reply) => {
      const interaction = await details(request, reply);
      if (!signingIn(interaction)) return expired(request, reply);
      if (!(await checkPost(request, interaction))) return stale(request, reply, interaction);
      return sendCode(request, reply, interaction, 'SignIn', (status, extra) => codeForm(request, reply, interaction, status, extra));
    });

    // The code proves the email or phone: a known account signs in, an unknown identifier gets a new
    // account (SdkAuthService.signInWithCodeOrRegister); amr ["otp"] (email) or ["sms"].
    app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/code`, { schema: { hide: true } }, async (request, reply) => {
      const interaction = await details(request, reply);
      if (!signingIn(interaction)) return expired(request, reply);
      if (!(await checkPost(request, interaction))) return stale(request, reply, interaction);
      const { t, locale } = ctxOf(request, interaction);
      const identifier = text(request.body, 'identifier', 320).trim();
      const code = text(request.body, 'code', 32).replace(/\s+/g, '');
      const target = codeTarget(identifier);
      if (!target) return codeForm(request, reply, interaction, 400, { identifier, fieldErrors: { identifier: t('code.invalidIdentifier') } });
      if (!code) return codeForm(request, reply, interaction, 400, { identifier, sent: true, fieldErrors: { code: t('code.missingCode') } });
      return attemptSignIn(
        request,
        reply,
        interaction,
        () => codes.sdkAuth.signInWithCodeOrRegister({ channel: target.channel, identifier: target.identifier, code }, meta(request, locale)),
        async (error) => {
          const message = withRetryAfter(error, locale);
          const onCode = fieldOf(error.code) === 'code';
          return codeForm(request, reply, interaction, error.status, { identifier, sent: true, ...(onCode ? { fieldErrors: { code: message } } : { error: message }) });
        },
      );
    });

    // --------------------------------------------------------------------------------------------
    // Forgot password: `GET …/forgot-password`, `POST …/forgot-password/send` {identifier},
    // `POST …/forgot-password` {identifier, code, password} → AuthService.resetPassword (every session
    // of the account ends); then the sign-in page.

    const forgotForm = async (
      request: FastifyRequest,
      reply: FastifyReply,
      interaction: Interaction,
      status: number,
      extra: { identifier?: string; sent?: boolean; done?: boolean; error?: string; notice?: string; fieldErrors?: FieldErrors } = {},
    ) => html(reply, status, forgotPasswordPage({ ...(await common(request, interaction)), passwordMinLength: config.password.minLength, ...extra }), interaction);

    app.get<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/forgot-password`, { schema: { hide: true } }, async (request, reply) => {
      const interaction = await details(request, reply);
      if (!signingIn(interaction)) return expired(request, reply);
      return forgotForm(request, reply, interaction, 200);
    });

    app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/forgot-password/send`, { schema: { hide: true } }, async (request, reply) => {
      const interaction = await details(request, reply);
      if (!signingIn(interaction)) return expired(request, reply);
      if (!(await checkPost(request, interaction))) return stale(request, reply, interaction);
      return sendCode(request, reply, interaction, 'ForgotPassword', (status, extra) => forgotForm(request, reply, interaction, status, extra));
    });

    app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/forgot-password`, { schema: { hide: true } }, async (request, reply) => {
      const interaction = await details(request, reply);
      if (!signingIn(interaction)) return expired(request, reply);
      if (!(await checkPost(request, interaction))) return stale(request, reply, interaction);
      const ctx = ctxOf(request, interaction);
      const identifier = text(request.body, 'identifier', 320).trim();
      const code = text(request.body, 'code', 32).replace(/\s+/g, '');
      const password = text(request.body, 'password', 4096);
      const target = codeTarget(identifier);
      if (!target) return forgotForm(request, reply, interaction, 400, { identifier, fieldErrors: { identifier: ctx.t('code.invalidIdentifier') } });
      if (!code || !password) {
        return forgotForm(request, reply, interaction, 400, {
          identifier,
          sent: true,
          fieldErrors: { ...(code ? {} : { code: ctx.t('code.missingCode') }), ...(password ? {} : { password: ctx.t('signUp.missingPassword') }) },
        });
      }
      try {
        await auth.resetPassword({ channel: target.channel, identifier: target.identifier, code, newPassword: password }, meta(request, ctx.locale));
      } catch (error) {
        if (!(error instanceof AppError) || error.status >= 500) throw error;
        request.errorCode = error.code;
        if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
        // A right code without an account says no more than a wrong code would.
        const shown = error.code === 'user.not_found' ? new AppError('verification.code_mismatch') : error;
        const field = fieldOf(shown.code);
        const message = shown.code === 'password.rejected' ? passwordIssues(ctx, shown) : withRetryAfter(shown, ctx.locale);
        return forgotForm(request, reply, interaction, error.status, { identifier, sent: true, ...(field ? { fieldErrors: { [field]: message } } : { error: message }) });
      }
      return forgotForm(request, reply, interaction, 200, { done: true });
    });
  }

  // ------------------------------------------------------------------------------------------------
  // Passkey-first sign-in (discoverable credentials): `GET …/passkey`, `POST …/passkey/options`
  // {csrf} → {challengeId, options}, `POST …/passkey` {csrf, challengeId, response}

  if (passkeyFirst) {
    const passkeyForm = async (request: FastifyRequest, reply: FastifyReply, interaction: Interaction, status: number, error?: string) => {
      const base = await common(request, interaction);
      return html(
        reply,
        status,
        passkeyPage({ ...base, options, error, optionsAction: `${base.paths.passkey}/options`, script: PASSKEY_GLUE.path, library: PASSKEY_LIBRARY.path }),
        interaction,
        true,
      );
    };

    app.get<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/passkey`, { schema: { hide: true } }, async (request, reply) => {
      const interaction = await details(request, reply);
      if (!signingIn(interaction)) return expired(request, reply);
      return passkeyForm(request, reply, interaction, 200);
    });

    // JSON answers (for the page's script); errors are JSON {code, message}: oidc.interaction_expired (400),
    // oidc.form_forbidden (403).
    app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/passkey/options`, { schema: { hide: true } }, async (request, reply) => {
      const interaction = await details(request, reply);
      if (!signingIn(interaction)) throw new AppError('oidc.interaction_expired');
      if (!(await checkPost(request, interaction))) throw new AppError('oidc.form_forbidden');
      // Each call stores a challenge: it spends the per-IP sign-in budget like a sign-in attempt.
      await auth.throttle('signIn', { ip: request.ip });
      const issued = await passkeyFirst.passkeySignInOptions();
      return reply.header('cache-control', 'no-store').send(issued);
    });

    app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/passkey`, { schema: { hide: true } }, async (request, reply) => {
      const interaction = await details(request, reply);
      if (!signingIn(interaction)) return expired(request, reply);
      if (!(await checkPost(request, interaction))) return stale(request, reply, interaction);
      const { t, locale } = ctxOf(request, interaction);
      const challengeId = text(request.body, 'challengeId', 128);
      const parsed = authenticationResponseSchema.safeParse(parseJson(text(request.body, 'response', FORM_LIMIT_BYTES)));
      if (!challengeId || !parsed.success) return passkeyForm(request, reply, interaction, 400, t('common.passkeyUnreadable'));
      let result: { user: UserRecord; amr: string[] };
      try {
        result = await passkeyFirst.signInWithPasskey(challengeId, asAuthenticationResponse(parsed.data), meta(request, locale));
        // A user flagged for a forced password reset is refused here, as after any other sign-in.
        await auth.completeWithoutSession(result.user, result.amr);
      } catch (error) {
        if (!(error instanceof AppError) || error.status >= 500) throw error;
        request.errorCode = error.code;
        if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
        const message = error.code.startsWith('session.mfa.webauthn') || error.code.startsWith('auth.passkey') ? t('passkey.failed') : withRetryAfter(error, locale);
        return passkeyForm(request, reply, interaction, error.status, message);
      }
      return finishLogin(request, reply, interaction, result.user.id, result.amr);
    });
  }

  // ------------------------------------------------------------------------------------------------
  // The second factor

  /**
   * The second step after a correct first factor of a user with MFA (issue 7 §4): a TOTP or backup code
   * field when the user has one, "Use a passkey" when the user has a WebAuthn factor (then the page's
   * CSP allows its same-origin scripts).
   */
  const mfaStepPage = async (request: FastifyRequest, reply: FastifyReply, interaction: Interaction, status: number, pendingSignInId: string, error?: string, fieldErrors?: FieldErrors) => {
    const factors = mfa ? await mfa.pendingSignInFactors(pendingSignInId) : [];
    const base = await common(request, interaction);
    const passkey = factors.includes('webauthn');
    return html(
      reply,
      status,
      mfaPage({
        ...base,
        action: `${base.paths.base}/mfa`,
        pendingSignInId,
        // An expired pending sign-in lists no factor: keep the code field (the post then says so).
        codes: factors.length === 0 || factors.some((f) => f !== 'webauthn'),
        passkey: passkey
          ? { optionsAction: `${base.paths.base}/mfa/webauthn-options`, script: PASSKEY_GLUE.path, library: PASSKEY_LIBRARY.path, binding: await bindingFor(interaction.uid, pendingSignInId) }
          : undefined,
        error,
        fieldErrors,
      }),
      interaction,
      passkey,
    );
  };

  // The passkey buttons' scripts (src/oidc/passkey-script.ts), static and same origin: the
  // @simplewebauthn/browser bundle and the glue script of every passkey button (the account center's too),
  // read at start-up; their paths carry a hash of their content, so they may be cached for a year.
  for (const script of [PASSKEY_LIBRARY, PASSKEY_GLUE]) serveHashedAsset(app, script, 'application/javascript; charset=utf-8');

  // `POST …/mfa/webauthn-options` (form-encoded {csrf, pendingSignInId, binding}, from the page's
  // script): the WebAuthn request options of the pending sign-in, JSON as on
  // /api/auth/sign-in/mfa/webauthn-options. Errors are JSON {code, message}: oidc.interaction_expired
  // (400), oidc.form_forbidden (403, wrong CSRF token or another origin), auth.mfa_sign_in_expired (400,
  // also for a pending sign-in of another interaction), session.mfa.webauthn_verification_failed (no passkey).
  app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/mfa/webauthn-options`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!signingIn(interaction) || !mfa) throw new AppError('oidc.interaction_expired');
    if (!(await checkPost(request, interaction))) throw new AppError('oidc.form_forbidden');
    const pendingSignInId = text(request.body, 'pendingSignInId', 128);
    const binding = text(request.body, 'binding', 128);
    if (!pendingSignInId || !constantTimeEqual(binding, await bindingFor(interaction.uid, pendingSignInId))) throw new AppError('auth.mfa_sign_in_expired');
    const options = await mfa.webAuthnSignInOptions(pendingSignInId);
    return reply.header('cache-control', 'no-store').send(options);
  });

  // `POST …/mfa`: checks the code against the pending sign-in (6 digits → TOTP, else a backup code;
  // wrong codes count towards the lockout, the pending sign-in dies after 5) and only then completes
  // the login prompt, with amr = ["pwd", "otp", "mfa"] or ["pwd", "mfa"] (RFC 8176). With
  // `type=webauthn`, `response` (AuthenticationResponseJSON as JSON text) and `binding` (the passkey
  // form's), the passkey assertion is verified instead (challenge from …/mfa/webauthn-options;
  // amr ["pwd", "hwk", "mfa"]).
  app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/mfa`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!signingIn(interaction) || !mfa) return expired(request, reply);
    if (!(await checkPost(request, interaction))) return stale(request, reply, interaction);
    const { t, locale } = ctxOf(request, interaction);
    const pendingSignInId = text(request.body, 'pendingSignInId', 128);
    const code = text(request.body, 'code', 32).replace(/\s+/g, '');
    if (!pendingSignInId) return loginPage(request, reply, interaction, 400, { error: t('signIn.again') });
    let proof: SecondFactorProof;
    if (text(request.body, 'type', 16) === 'webauthn') {
      if (!constantTimeEqual(text(request.body, 'binding', 128), await bindingFor(interaction.uid, pendingSignInId))) {
        return loginPage(request, reply, interaction, 400, { error: errorMessage('auth.mfa_sign_in_expired', locale) });
      }
      const parsed = authenticationResponseSchema.safeParse(parseJson(text(request.body, 'response', FORM_LIMIT_BYTES)));
      if (!parsed.success) return mfaStepPage(request, reply, interaction, 400, pendingSignInId, t('common.passkeyUnreadable'));
      proof = { type: 'webauthn', response: asAuthenticationResponse(parsed.data) };
    } else {
      if (!code) return mfaStepPage(request, reply, interaction, 400, pendingSignInId, undefined, { code: t('mfa.enterCode') });
      proof = { type: /^\d{6}$/.test(code) ? 'totp' : 'backup_code', code };
    }
    let result: { user: UserRecord; amr: string[] };
    try {
      result = await mfa.verifySignIn(pendingSignInId, proof, meta(request, locale));
      // A user flagged for a forced password reset is refused here, after the second factor (as on /api/auth).
      await auth.completeWithoutSession(result.user, result.amr);
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      request.errorCode = error.code;
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
      if (error.code === 'auth.mfa_sign_in_expired' || error.code === 'auth.password_reset_required') {
        return loginPage(request, reply, interaction, error.status, { error: withRetryAfter(error, locale) });
      }
      const message = withRetryAfter(error, locale);
      return proof.type === 'webauthn'
        ? mfaStepPage(request, reply, interaction, error.status, pendingSignInId, message)
        : mfaStepPage(request, reply, interaction, error.status, pendingSignInId, undefined, { code: message });
    }
    return finishLogin(request, reply, interaction, result.user.id, result.amr);
  });

  /**
   * Ties a TOTP secret shown on the enrolment step to its pending sign-in and this interaction:
   * HMAC-SHA256(cookie key, uid + pendingSignInId + secret). MfaService keeps no secret with an `enroll`
   * pending sign-in (the native API lets the client choose it), so the page sends the secret back in a
   * hidden field and …/mfa/enroll refuses any secret this server did not issue for that pending sign-in.
   */
  const enrollSecretBindingFor = async (uid: string, pendingSignInId: string, secret: string) => {
    const [key] = (await oidc.keys.load()).cookie;
    return createHmac('sha256', key ?? '').update(`tessera-mfa-enroll-secret:${uid}:${pendingSignInId}:${secret}`).digest('base64url');
  };

  /**
   * The TOTP enrolment step (MFA policy `required`, a user without factor after a correct first factor):
   * a new secret from MfaService.enrollmentTotpSecret, or — after a wrong code — the same `secret` again
   * (already checked by the caller). A dead pending sign-in goes back to the sign-in page.
   */
  const mfaEnrollStepPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    interaction: Interaction,
    status: number,
    pendingSignInId: string,
    again?: { secret: string; error: string },
  ) => {
    if (!mfa) return expired(request, reply);
    const { locale } = ctxOf(request, interaction);
    let secret: string;
    let otpauthUri: string;
    try {
      if (again) {
        secret = again.secret;
        otpauthUri = await mfa.enrollmentTotpUri(pendingSignInId, secret);
      } else {
        const generated = await mfa.enrollmentTotpSecret(pendingSignInId);
        secret = generated.secret;
        otpauthUri = generated.secretQrCode;
      }
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      return loginPage(request, reply, interaction, error.status, { error: withRetryAfter(error, locale) });
    }
    // The key as a QR code for the authenticator app (an SVG data: URL; the page's CSP allows data: images).
    const { default: QRCode } = await import('qrcode'); // loaded at the first enrolment page
    const qrSvg = await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
    const base = await common(request, interaction);
    return html(
      reply,
      status,
      mfaEnrollPage({
        ...base,
        qrCode: `data:image/svg+xml;base64,${Buffer.from(qrSvg).toString('base64')}`,
        action: `${base.paths.base}/mfa/enroll`,
        pendingSignInId,
        binding: await bindingFor(interaction.uid, pendingSignInId),
        secret,
        secretBinding: await enrollSecretBindingFor(interaction.uid, pendingSignInId, secret),
        otpauthUri,
        fieldErrors: again ? { code: again.error } : undefined,
      }),
      interaction,
    );
  };

  // `POST …/mfa/enroll` (form {csrf, pendingSignInId, binding, secret, secretBinding, code}): MFA policy
  // `required`. Checks the pending sign-in belongs to this interaction (binding) and the secret was
  // issued here for it (secretBinding), then MfaService.enrollTotpAndSignIn (the code must match the
  // secret; attempts count on the pending sign-in and the lockout) and completes the login prompt with
  // the amr of the sign-in (["pwd", "otp", "mfa"], or ["fed", "otp", "mfa"] after social sign-in), then
  // shows ten new backup codes once, with a link that resumes the authorization request.
  // Wrong code → the step again with the same secret; expired/forged binding → the sign-in page.
  app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/mfa/enroll`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!signingIn(interaction) || !mfa) return expired(request, reply);
    if (!(await checkPost(request, interaction))) return stale(request, reply, interaction);
    const { t, locale } = ctxOf(request, interaction);
    const pendingSignInId = text(request.body, 'pendingSignInId', 128);
    const secret = text(request.body, 'secret', 64);
    const code = text(request.body, 'code', 32).replace(/\s+/g, '');
    if (!pendingSignInId) return loginPage(request, reply, interaction, 400, { error: t('signIn.again') });
    const bound =
      constantTimeEqual(text(request.body, 'binding', 128), await bindingFor(interaction.uid, pendingSignInId)) &&
      constantTimeEqual(text(request.body, 'secretBinding', 128), await enrollSecretBindingFor(interaction.uid, pendingSignInId, secret));
    if (!bound) return loginPage(request, reply, interaction, 400, { error: errorMessage('auth.mfa_sign_in_expired', locale) });
    if (!code) return mfaEnrollStepPage(request, reply, interaction, 400, pendingSignInId, { secret, error: t('enroll.enterCode') });
    let signedIn: SignedIn;
    let backupCodes: string[];
    try {
      signedIn = await mfa.enrollTotpAndSignIn(pendingSignInId, secret, code, meta(request, locale));
      // As on the first step: the provider keeps its own session; the first-party one is ended.
      await sessions.revokeForUser(signedIn.user.id, signedIn.issued.session.id);
      // A way back in if the phone is lost: ten backup codes, shown once below (stored as hashes).
      backupCodes = mfa.generateBackupCodes();
      await mfa.addBackupCodes(signedIn.user.id, backupCodes);
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      request.errorCode = error.code;
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
      if (error.code === 'session.mfa.invalid_totp_code' || error.code === 'auth.too_many_failures' || error.code === 'request.rate_limited') {
        return mfaEnrollStepPage(request, reply, interaction, error.status, pendingSignInId, { secret, error: withRetryAfter(error, locale) });
      }
      return loginPage(request, reply, interaction, error.status, { error: withRetryAfter(error, locale) });
    }
    const provider = await oidc.current();
    const returnTo = await provider.interactionResult(
      request.raw,
      reply.raw,
      { login: { accountId: signedIn.user.id, amr: signedIn.issued.session.amr, remember: true }, ...(interaction.prompt.name === 'create' ? { create: {} } : {}) },
      { mergeWithLastSubmission: false },
    );
    return html(reply, 200, backupCodesPage({ ctx: ctxOf(request, interaction), codes: backupCodes, continueTo: returnTo }), interaction);
  });

  app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/abort`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction) return expired(request, reply);
    if (!(await checkPost(request, interaction))) return stale(request, reply, interaction);
    const provider = await oidc.current();
    const returnTo = await provider.interactionResult(
      request.raw,
      reply.raw,
      { error: 'access_denied', error_description: 'The user cancelled the sign-in.' },
      { mergeWithLastSubmission: false },
    );
    return reply.header('cache-control', 'no-store').redirect(returnTo, 303);
  });

  // Social sign-in on this page (src/oidc/social-routes.ts); a user with MFA continues on the MFA step.
  if (social) {
    await app.register(async (pages) =>
      socialInteractionRoutes(
        pages,
        oidc,
        social,
        mfa ? (request, reply, interaction, pendingSignInId) => mfaStepPage(request, reply, interaction, 200, pendingSignInId) : undefined,
        mfa ? (request, reply, interaction, pendingSignInId) => mfaEnrollStepPage(request, reply, interaction, 200, pendingSignInId) : undefined,
      ),
    );
  }
}
