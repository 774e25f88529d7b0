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
import { consentPage, errorPage, mfaEnrollPage, mfaPage, signInPage } from './views.js';
import { securityHeaders } from '../util/security-headers.js';
import type { SocialService } from '../domain/social/index.js';
import { socialButtons, socialInteractionRoutes } from './social-routes.js';
import { asAuthenticationResponse, authenticationResponseSchema } from '../http/mfa-schemas.js';
import type { SecondFactorProof } from '../domain/mfa/index.js';
import { PASSKEY_LIBRARY, PASSKEY_SCRIPT } from './passkey-script.js';
import { isSameOriginPost, PAGE_REFERRER_POLICY } from '../util/same-origin.js';

/** Options of {@link oidcRoutes}. */
export interface OidcRoutesOptions {
  oidc: OidcService;
  /** Social sign-in on the sign-in page ("Continue with …", src/oidc/social-routes.ts); absent = password only. */
  social?: SocialService;
}

/**
 * An error's message for a page, with how long to wait when it carries `retryAfterSeconds` (the lockout,
 * a rate limit): "… Try again in 15 minutes." (rounded up to whole minutes past a minute).
 */
export function withRetryAfter(error: AppError): string {
  const seconds = error.retryAfterSeconds;
  if (seconds === undefined) return error.message;
  const [n, unit] = seconds < 60 ? [seconds, 'second'] : [Math.ceil(seconds / 60), 'minute'];
  return `${error.message} Try again in ${n} ${unit}${n === 1 ? '' : 's'}.`;
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
 * Mounts node-oidc-provider at `/oidc` and serves its interaction pages (issue 4):
 * - `/oidc/*` goes to the provider's own request handler with the raw Node request and response,
 *   hijacked in `onRequest`, so Fastify never reads the body (the provider parses its own form and
 *   JSON bodies) and the provider's RFC 6749 errors (`{error, error_description}`) reach the client
 *   untouched. The URL is rewritten to the provider's relative path during the call
 *   (`req.originalUrl` keeps the full one, which the provider uses to build absolute URLs).
 * - `GET /oidc/interaction/:uid` shows the sign-in page for the login prompt; consent prompts of
 *   first-party applications are granted without a page. `POST …/login` checks the credentials with
 *   `AuthService.signInWithPassword` (rate limits, lockout and suspension apply) and resumes the
 *   authorization request; `POST …/abort` ends it with `access_denied`. The forms carry a CSRF
 *   token bound to the interaction (HMAC with the provider's cookie key) and cross-origin posts are refused.
 */
/**
 * helmet's headers for the provider's own answers: its pages post forms to itself and then redirect to
 * registered client URIs, so CSP's form-action must not be limited to 'self'.
 */
const PROVIDER_SECURITY_HEADERS = securityHeaders({
  contentSecurityPolicy: { directives: { formAction: null, upgradeInsecureRequests: null } },
});

export const oidcRoutes: FastifyPluginAsync<OidcRoutesOptions> = async (app, { oidc, social }) => {
  await app.register(async (pages) => interactionRoutes(pages, oidc, social));

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

async function interactionRoutes(app: FastifyInstance, oidc: OidcService, social?: SocialService): Promise<void> {
  await app.register(formbody, { bodyLimit: FORM_LIMIT_BYTES });
  const { auth, sessions, config, mfa, captcha } = oidc.deps;
  const publicOrigin = new URL(config.publicUrl).origin;

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

  /**
   * Binds a pending sign-in to this interaction: HMAC-SHA256(cookie key, uid + pendingSignInId), sent
   * with the MFA step's passkey form; the passkey routes refuse a pending sign-in of another interaction.
   */
  const bindingFor = async (uid: string, pendingSignInId: string) => {
    const [key] = (await oidc.keys.load()).cookie;
    return createHmac('sha256', key ?? '').update(`tessera-mfa-pending:${uid}:${pendingSignInId}`).digest('base64url');
  };

  /** `scripts`: the MFA step with "Use a passkey" loads its same-origin script and fetches the options. */
  const html = (reply: FastifyReply, status: number, body: string, formTarget?: string, scripts = false) => {
    // The sign-in form posts to us, and we answer with redirects to /oidc/auth/… and then to the
    // client's redirect URI: form-action must allow that origin (CSP3 applies it to redirects).
    const formAction = ["'self'", formTarget].filter(Boolean).join(' ');
    const script = scripts ? " script-src 'self'; connect-src 'self';" : '';
    return reply
      .status(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('referrer-policy', PAGE_REFERRER_POLICY)
      .header(
        'content-security-policy',
        `default-src 'none';${script} style-src 'unsafe-inline'; img-src data:; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
      )
      .send(body);
  };

  const expired = (reply: FastifyReply) =>
    html(
      reply,
      400,
      errorPage({
        error: 'invalid_request',
        error_description: 'This sign-in request has expired or belongs to another browser. Go back to the application and try again.',
      }),
    );

  const redirectOrigin = (interaction: Interaction) => {
    const uri = interaction.params['redirect_uri'];
    return typeof uri === 'string' ? URL.parse(uri)?.origin : undefined;
  };

  const isThirdParty = async (interaction: Interaction) => {
    const clientId = interaction.params['client_id'];
    return actsAsThirdParty(typeof clientId === 'string' ? await oidc.deps.applications.find(clientId) : undefined);
  };

  /** The consent page of a third-party application, listing what the consent prompt says is missing. */
  const showConsent = async (reply: FastifyReply, interaction: Interaction) => {
    const d = interaction.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
    return html(
      reply,
      200,
      consentPage({
        action: `${OIDC_PREFIX}/interaction/${encodeURIComponent(interaction.uid)}/consent`,
        clientName: await clientName(interaction),
        csrf: await csrfFor(interaction.uid),
        scopes: d.missingOIDCScope ?? [],
        resources: Object.entries(d.missingResourceScopes ?? {}).map(([resource, scopes]) => ({ resource, scopes })),
      }),
      redirectOrigin(interaction),
    );
  };

  const clientName = async (interaction: Interaction) => {
    const clientId = interaction.params['client_id'];
    const app = typeof clientId === 'string' ? await oidc.deps.applications.find(clientId) : undefined;
    return app?.name ?? String(clientId ?? '');
  };

  const loginPage = async (
    reply: FastifyReply,
    interaction: Interaction,
    status: number,
    extra: { identifier?: string; error?: string; captcha?: { id: string; image: string } } = {},
  ) =>
    html(
      reply,
      status,
      signInPage({
        action: `${OIDC_PREFIX}/interaction/${encodeURIComponent(interaction.uid)}/login`,
        clientName: await clientName(interaction),
        csrf: await csrfFor(interaction.uid),
        identifier: extra.identifier ?? (typeof interaction.params['login_hint'] === 'string' ? interaction.params['login_hint'] : ''),
        ...(social ? { social: await socialButtons(social, interaction.uid) } : {}),
        ...(extra.error ? { error: extra.error } : {}),
        ...(extra.captcha ? { captcha: extra.captcha } : {}),
      }),
      redirectOrigin(interaction),
    );

  /** First-party applications: grant whatever the consent prompt lists as missing, then resume. */
  const grantConsent = async (request: FastifyRequest, reply: FastifyReply, interaction: Interaction) => {
    const provider = await oidc.current();
    const accountId = interaction.session?.accountId;
    const clientId = interaction.params['client_id'];
    if (!accountId || typeof clientId !== 'string') return expired(reply);
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

  app.get<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction) return expired(reply);
    if (interaction.prompt.name === 'login') return loginPage(reply, interaction, 200);
    if (interaction.prompt.name === 'consent') {
      return (await isThirdParty(interaction)) ? showConsent(reply, interaction) : grantConsent(request, reply, interaction);
    }
    return html(reply, 400, errorPage({ error: 'invalid_request', error_description: `Unsupported prompt: ${interaction.prompt.name}` }));
  });

  // "Allow" on the consent page of a third-party application ("Deny" posts to /abort).
  app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/consent`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction || interaction.prompt.name !== 'consent') return expired(reply);
    if (!(await checkPost(request, interaction))) {
      return html(reply, 403, errorPage({ error: 'access_denied', error_description: 'The form is stale or was not sent from this site. Reload the page.' }));
    }
    return grantConsent(request, reply, interaction);
  });

  app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/login`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction || interaction.prompt.name !== 'login') return expired(reply);
    if (!(await checkPost(request, interaction))) {
      return html(reply, 403, errorPage({ error: 'access_denied', error_description: 'The form is stale or was not sent from this site. Reload the page.' }));
    }
    const body = request.body as Record<string, unknown>;
    const identifier = typeof body['identifier'] === 'string' ? body['identifier'].trim().slice(0, 320) : '';
    const password = typeof body['password'] === 'string' ? body['password'].slice(0, 4096) : '';
    const captchaId = typeof body['captchaId'] === 'string' ? body['captchaId'].slice(0, 100) : '';
    const captchaAnswer = typeof body['captcha'] === 'string' ? body['captcha'].slice(0, 100) : '';
    if (!identifier || !password) return loginPage(reply, interaction, 400, { identifier, error: 'Enter your identifier and password.' });
    let accountId: string;
    try {
      const ua = request.headers['user-agent'];
      const { user, issued } = await auth.signInWithPassword(
        identifierKind(identifier),
        identifier,
        password,
        { ip: request.ip, userAgent: typeof ua === 'string' ? ua : null },
        captchaId && captchaAnswer ? { captcha: { id: captchaId, answer: captchaAnswer } } : {},
      );
      // The OIDC provider keeps its own session (cookie on /oidc); the first-party session token the
      // sign-in produced is never handed out, so end it at once.
      await sessions.revokeForUser(user.id, issued.session.id);
      accountId = user.id;
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      // The page answers the refusal itself (HTML); the code still reaches the log line and the metrics.
      request.errorCode = error.code;
      reply.log = reply.log.child({ errorCode: error.code });
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
      if (error.code === 'auth.mfa_required' && mfa) {
        const pendingSignInId = (error.data as { pendingSignInId: string }).pendingSignInId;
        return mfaStepPage(reply, interaction, 200, pendingSignInId);
      }
      if (error.code === 'auth.mfa_enrollment_required' && mfa) {
        return mfaEnrollStepPage(reply, interaction, 200, (error.data as { pendingSignInId: string }).pendingSignInId);
      }
      if ((error.code === 'auth.captcha_required' || error.code === 'auth.captcha_invalid') && captcha) {
        // Too many failed sign-ins from this address (on any surface): this page can show a captcha.
        const issued = await captcha.create(request.ip);
        return loginPage(reply, interaction, 401, {
          identifier,
          captcha: { id: issued.id, image: issued.image },
          error: error.code === 'auth.captcha_required' ? 'Too many failed sign-ins from your network. Type the characters in the picture.' : 'The characters did not match. Try the new picture.',
        });
      }
      return loginPage(reply, interaction, error.status, { identifier, error: withRetryAfter(error) });
    }
    const provider = await oidc.current();
    const returnTo = await provider.interactionResult(
      request.raw,
      reply.raw,
      { login: { accountId, amr: ['pwd'], remember: true } },
      { mergeWithLastSubmission: false },
    );
    return reply.header('cache-control', 'no-store').redirect(returnTo, 303);
  });

  /**
   * The second step after a correct password of a user with MFA (issue 7 §4): a TOTP or backup code
   * field when the user has one, "Use a passkey" when the user has a WebAuthn factor (then the page's
   * CSP allows its same-origin script).
   */
  const mfaStepPage = async (reply: FastifyReply, interaction: Interaction, status: number, pendingSignInId: string, error?: string) => {
    const factors = mfa ? await mfa.pendingSignInFactors(pendingSignInId) : [];
    const base = `${OIDC_PREFIX}/interaction/${encodeURIComponent(interaction.uid)}`;
    const passkey = factors.includes('webauthn');
    return html(
      reply,
      status,
      mfaPage({
        action: `${base}/mfa`,
        clientName: await clientName(interaction),
        csrf: await csrfFor(interaction.uid),
        pendingSignInId,
        // An expired pending sign-in lists no factor: keep the code field (the post then says so).
        codes: factors.length === 0 || factors.some((f) => f !== 'webauthn'),
        ...(passkey
          ? { passkey: { optionsAction: `${base}/mfa/webauthn-options`, script: `${base}/passkey.js`, binding: await bindingFor(interaction.uid, pendingSignInId) } }
          : {}),
        ...(error ? { error } : {}),
      }),
      redirectOrigin(interaction),
      passkey,
    );
  };

  // The MFA step's scripts ("Use a passkey", src/oidc/passkey-script.ts), static and same origin: the
  // @simplewebauthn/browser bundle (read at start-up; its path carries a hash of its content, so it may be
  // cached for a year) and the page's glue script.
  app.get(PASSKEY_LIBRARY.path, { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header('content-type', 'application/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .send(PASSKEY_LIBRARY.source),
  );
  app.get<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/passkey.js`, { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header('content-type', 'application/javascript; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .send(PASSKEY_SCRIPT),
  );

  // `POST …/mfa/webauthn-options` (form-encoded {csrf, pendingSignInId, binding}, from the page's
  // script): the WebAuthn request options of the pending sign-in, JSON as on
  // /api/auth/sign-in/mfa/webauthn-options. Errors are JSON {code, message}: oidc.interaction_expired
  // (400), oidc.form_forbidden (403, wrong CSRF token or another origin), auth.mfa_sign_in_expired (400,
  // also for a pending sign-in of another interaction), session.mfa.webauthn_verification_failed (no passkey).
  app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/mfa/webauthn-options`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction || interaction.prompt.name !== 'login' || !mfa) throw new AppError('oidc.interaction_expired');
    if (!(await checkPost(request, interaction))) throw new AppError('oidc.form_forbidden');
    const body = request.body as Record<string, unknown>;
    const pendingSignInId = typeof body['pendingSignInId'] === 'string' ? body['pendingSignInId'].slice(0, 128) : '';
    const binding = typeof body['binding'] === 'string' ? body['binding'] : '';
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
    if (!interaction || interaction.prompt.name !== 'login' || !mfa) return expired(reply);
    if (!(await checkPost(request, interaction))) {
      return html(reply, 403, errorPage({ error: 'access_denied', error_description: 'The form is stale or was not sent from this site. Reload the page.' }));
    }
    const body = request.body as Record<string, unknown>;
    const pendingSignInId = typeof body['pendingSignInId'] === 'string' ? body['pendingSignInId'].slice(0, 128) : '';
    const code = typeof body['code'] === 'string' ? body['code'].replace(/\s+/g, '').slice(0, 32) : '';
    if (!pendingSignInId) return loginPage(reply, interaction, 400, { error: 'Sign in again.' });
    let proof: SecondFactorProof;
    if (body['type'] === 'webauthn') {
      const binding = typeof body['binding'] === 'string' ? body['binding'] : '';
      if (!constantTimeEqual(binding, await bindingFor(interaction.uid, pendingSignInId))) {
        return loginPage(reply, interaction, 400, { error: new AppError('auth.mfa_sign_in_expired').message });
      }
      const parsed = authenticationResponseSchema.safeParse(parseJson(body['response']));
      if (!parsed.success) return mfaStepPage(reply, interaction, 400, pendingSignInId, 'The passkey answer could not be read. Try again.');
      proof = { type: 'webauthn', response: asAuthenticationResponse(parsed.data) };
    } else {
      if (!code) return mfaStepPage(reply, interaction, 400, pendingSignInId, 'Enter the code from your authenticator app or a backup code.');
      proof = { type: /^\d{6}$/.test(code) ? 'totp' : 'backup_code', code };
    }
    let result: { user: UserRecord; amr: string[] };
    try {
      const ua = request.headers['user-agent'];
      result = await mfa.verifySignIn(pendingSignInId, proof, {
        ip: request.ip,
        userAgent: typeof ua === 'string' ? ua : null,
      });
      // A user flagged for a forced password reset is refused here, after the second factor (as on /api/auth).
      await auth.completeWithoutSession(result.user, result.amr);
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
      if (error.code === 'auth.mfa_sign_in_expired' || error.code === 'auth.password_reset_required') {
        return loginPage(reply, interaction, error.status, { error: withRetryAfter(error) });
      }
      return mfaStepPage(reply, interaction, error.status, pendingSignInId, withRetryAfter(error));
    }
    const provider = await oidc.current();
    const returnTo = await provider.interactionResult(
      request.raw,
      reply.raw,
      { login: { accountId: result.user.id, amr: result.amr, remember: true } },
      { mergeWithLastSubmission: false },
    );
    return reply.header('cache-control', 'no-store').redirect(returnTo, 303);
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
   * The TOTP enrolment step (MFA policy `required`, a user without factor after a correct password or
   * social sign-in): a new secret from MfaService.enrollmentTotpSecret, or — after a wrong code — the
   * same `secret` again (already checked by the caller). A dead pending sign-in goes back to the password page.
   */
  const mfaEnrollStepPage = async (reply: FastifyReply, interaction: Interaction, status: number, pendingSignInId: string, again?: { secret: string; error: string }) => {
    if (!mfa) return expired(reply);
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
      return loginPage(reply, interaction, error.status, { error: withRetryAfter(error) });
    }
    // The key as a QR code for the authenticator app (an SVG data: URL; the page's CSP allows data: images).
    const { default: QRCode } = await import('qrcode'); // loaded at the first enrolment page
    const qrSvg = await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
    return html(
      reply,
      status,
      mfaEnrollPage({
        qrCode: `data:image/svg+xml;base64,${Buffer.from(qrSvg).toString('base64')}`,
        action: `${OIDC_PREFIX}/interaction/${encodeURIComponent(interaction.uid)}/mfa/enroll`,
        clientName: await clientName(interaction),
        csrf: await csrfFor(interaction.uid),
        pendingSignInId,
        binding: await bindingFor(interaction.uid, pendingSignInId),
        secret,
        secretBinding: await enrollSecretBindingFor(interaction.uid, pendingSignInId, secret),
        otpauthUri,
        ...(again ? { error: again.error } : {}),
      }),
      redirectOrigin(interaction),
    );
  };

  // `POST …/mfa/enroll` (form {csrf, pendingSignInId, binding, secret, secretBinding, code}): MFA policy
  // `required`. Checks the pending sign-in belongs to this interaction (binding) and the secret was
  // issued here for it (secretBinding), then MfaService.enrollTotpAndSignIn (the code must match the
  // secret; attempts count on the pending sign-in and the lockout) and completes the login prompt with
  // the amr of the sign-in (["pwd", "otp", "mfa"], or ["fed", "otp", "mfa"] after social sign-in).
  // Wrong code → the step again with the same secret; expired/forged binding → the password page.
  app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/mfa/enroll`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction || interaction.prompt.name !== 'login' || !mfa) return expired(reply);
    if (!(await checkPost(request, interaction))) {
      return html(reply, 403, errorPage({ error: 'access_denied', error_description: 'The form is stale or was not sent from this site. Reload the page.' }));
    }
    const body = request.body as Record<string, unknown>;
    const text = (name: string, max: number) => (typeof body[name] === 'string' ? body[name].slice(0, max) : '');
    const pendingSignInId = text('pendingSignInId', 128);
    const secret = text('secret', 64);
    const code = text('code', 32).replace(/\s+/g, '');
    if (!pendingSignInId) return loginPage(reply, interaction, 400, { error: 'Sign in again.' });
    const bound =
      constantTimeEqual(text('binding', 128), await bindingFor(interaction.uid, pendingSignInId)) &&
      constantTimeEqual(text('secretBinding', 128), await enrollSecretBindingFor(interaction.uid, pendingSignInId, secret));
    if (!bound) return loginPage(reply, interaction, 400, { error: new AppError('auth.mfa_sign_in_expired').message });
    if (!code) return mfaEnrollStepPage(reply, interaction, 400, pendingSignInId, { secret, error: 'Enter the 6-digit code from your authenticator app.' });
    let accountId: string;
    let amr: string[];
    try {
      const ua = request.headers['user-agent'];
      const { user, issued } = await mfa.enrollTotpAndSignIn(pendingSignInId, secret, code, { ip: request.ip, userAgent: typeof ua === 'string' ? ua : null });
      // As on the password step: the provider keeps its own session; the first-party one is ended.
      await sessions.revokeForUser(user.id, issued.session.id);
      accountId = user.id;
      amr = issued.session.amr;
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
      if (error.code === 'session.mfa.invalid_totp_code' || error.code === 'auth.too_many_failures' || error.code === 'request.rate_limited') {
        return mfaEnrollStepPage(reply, interaction, error.status, pendingSignInId, { secret, error: withRetryAfter(error) });
      }
      return loginPage(reply, interaction, error.status, { error: withRetryAfter(error) });
    }
    const provider = await oidc.current();
    const returnTo = await provider.interactionResult(
      request.raw,
      reply.raw,
      { login: { accountId, amr, remember: true } },
      { mergeWithLastSubmission: false },
    );
    return reply.header('cache-control', 'no-store').redirect(returnTo, 303);
  });

  app.post<{ Params: { uid: string } }>(`${OIDC_PREFIX}/interaction/:uid/abort`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction) return expired(reply);
    if (!(await checkPost(request, interaction))) {
      return html(reply, 403, errorPage({ error: 'access_denied', error_description: 'The form is stale or was not sent from this site. Reload the page.' }));
    }
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
        mfa ? (reply, interaction, pendingSignInId) => mfaStepPage(reply, interaction, 200, pendingSignInId) : undefined,
        mfa ? (reply, interaction, pendingSignInId) => mfaEnrollStepPage(reply, interaction, 200, pendingSignInId) : undefined,
      ),
    );
  }
}
