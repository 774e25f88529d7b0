/**
 * The hosted sign-in experience at /oidc (issue 14 §2): sign-in by password, one-time code or passkey,
 * sign-up, forgot password, the MFA step and TOTP enrolment, consent, sign-out and error pages. Preact
 * components rendered on the server ({@link renderPage}); every text comes from the i18n catalogue and
 * every value is escaped by the renderer. Pages work without JavaScript except the passkey buttons, whose
 * same-origin scripts are loaded only where they are shown.
 */
import type { JSX } from 'preact';
import { Alert, Field, Hidden, Page, type PageContext, renderPage } from '../ui/page.js';

/** Paths of an interaction's pages and forms (all same-origin). */
export interface InteractionPaths {
  /** `…/interaction/<uid>` (the sign-in page). */
  base: string;
  login: string;
  abort: string;
  signUp: string;
  forgot: string;
  code: string;
  passkey: string;
}

/** The paths of interaction `uid`. */
export function interactionPaths(prefix: string, uid: string): InteractionPaths {
  const base = `${prefix}/interaction/${encodeURIComponent(uid)}`;
  return {
    base,
    login: `${base}/login`,
    abort: `${base}/abort`,
    signUp: `${base}/sign-up`,
    forgot: `${base}/forgot-password`,
    code: `${base}/code`,
    passkey: `${base}/passkey`,
  };
}

/** Errors shown next to the fields they concern (`aria-invalid` + `aria-describedby`), by field name. */
export type FieldErrors = Partial<Record<string, string>>;

/** What every interaction page shows in common. */
interface InteractionBase {
  ctx: PageContext;
  paths: InteractionPaths;
  /** The application's display name. */
  clientName: string;
  /** CSRF token bound to this interaction. */
  csrf: string;
  /** A page-level message of a failed attempt (`role="alert"`). */
  error?: string | undefined;
  /** A page-level notice (`role="status"`), e.g. "we sent a code". */
  notice?: string | undefined;
  fieldErrors?: FieldErrors | undefined;
}

/** The Cancel button of an interaction: ends the authorization request with `access_denied`. */
function CancelForm({ ctx, paths, csrf, label }: { ctx: PageContext; paths: InteractionPaths; csrf: string; label?: string }): JSX.Element {
  return (
    <form method="post" action={paths.abort}>
      <Hidden fields={{ csrf }} />
      <button type="submit" class="secondary">
        {label ?? ctx.t('common.cancel')}
      </button>
    </form>
  );
}

/** Which other ways to sign in the sign-in page offers (each only when it is enabled). */
export interface SignInOptions {
  signUp: boolean;
  forgotPassword: boolean;
  code: boolean;
  passkey: boolean;
}

/** What the sign-in page shows. */
export interface SignInPageInput extends InteractionBase {
  /** Identifier to pre-fill (from `login_hint` or the previous attempt). */
  identifier?: string | undefined;
  /** "Continue with <name>" links of the enabled social connectors (same-origin paths). */
  social?: Array<{ href: string; name: string }> | undefined;
  /** A captcha to solve with this attempt (after too many failed sign-ins from this address): its id and `data:` SVG image. */
  captcha?: { id: string; image: string } | undefined;
  options: SignInOptions;
}

/** The links to the other ways to sign in, and to sign up. */
function AlternativeLinks({ ctx, paths, options, except }: { ctx: PageContext; paths: InteractionPaths; options: SignInOptions; except?: 'code' | 'passkey' | 'password' }): JSX.Element {
  const { t } = ctx;
  return (
    <div class="alt">
      {except !== 'password' ? null : (
        <p>
          <a href={paths.base}>{t('signIn.withPassword')}</a>
        </p>
      )}
      {options.code && except !== 'code' ? (
        <p>
          <a href={paths.code}>{t('signIn.withCode')}</a>
        </p>
      ) : null}
      {options.passkey && except !== 'passkey' ? (
        <p>
          <a href={paths.passkey}>{t('signIn.withPasskey')}</a>
        </p>
      ) : null}
      {options.signUp ? (
        <p>
          {t('signIn.noAccount')} <a href={paths.signUp}>{t('signIn.createAccount')}</a>
        </p>
      ) : null}
    </div>
  );
}

/** The sign-in form (identifier + password) of an authorization request's login prompt. */
export function signInPage(input: SignInPageInput): string {
  const { ctx, paths, fieldErrors = {} } = input;
  const { t } = ctx;
  return renderPage(
    <Page ctx={ctx} title={t('signIn.title')} lead={t('common.continueTo', { client: input.clientName })}>
      <Alert message={input.error} />
      <form method="post" action={paths.login} autocomplete="on" novalidate>
        <Hidden fields={{ csrf: input.csrf }} />
        <Field id="identifier" label={t('signIn.identifier')} required autofocus autocomplete="username webauthn" value={input.identifier ?? ''} error={fieldErrors['identifier']} />
        <Field id="password" type="password" label={t('signIn.password')} required autocomplete="current-password" error={fieldErrors['password']} />
        {input.captcha ? (
          <div class="captcha">
            <Hidden fields={{ captchaId: input.captcha.id }} />
            <img src={input.captcha.image} alt={t('signIn.captchaAlt')} width={200} height={60} />
            <Field id="captcha" label={t('signIn.captchaLabel')} required autocomplete="off" autocapitalize="characters" spellcheck={false} error={fieldErrors['captcha']} />
          </div>
        ) : null}
        <button type="submit">{t('signIn.submit')}</button>
      </form>
      {input.options.forgotPassword ? (
        <p>
          <a href={paths.forgot}>{t('signIn.forgot')}</a>
        </p>
      ) : null}
      {(input.social ?? []).length ? (
        <div class="social">
          {(input.social ?? []).map((c) => (
            <a href={c.href}>{t('signIn.social', { name: c.name })}</a>
          ))}
        </div>
      ) : null}
      <AlternativeLinks ctx={ctx} paths={paths} options={input.options} />
      <CancelForm ctx={ctx} paths={paths} csrf={input.csrf} />
    </Page>,
  );
}

/**
 * The "send a code" form of the code sign-in and forgot-password pages: the email or phone field, or, once
 * a code was sent, "Send a new code" for the same identifier.
 */
function SendCodeForm(props: { ctx: PageContext; action: string; csrf: string; identifier?: string | undefined; sent?: boolean | undefined; error?: string | undefined; lead?: string }): JSX.Element {
  const { t } = props.ctx;
  return (
    <form method="post" action={props.action} autocomplete="on" novalidate>
      <Hidden fields={{ csrf: props.csrf }} />
      {props.sent ? (
        <Hidden fields={{ identifier: props.identifier ?? '' }} />
      ) : (
        <>
          {props.lead ? <p>{props.lead}</p> : null}
          <Field id="identifier" label={t('common.emailOrPhone')} required autofocus autocomplete="username" value={props.identifier ?? ''} error={props.error} />
        </>
      )}
      <button type="submit" class={props.sent ? 'secondary' : undefined}>
        {props.sent ? t('common.resendCode') : t('common.sendCode')}
      </button>
    </form>
  );
}

/** What the one-time-code sign-in page shows: first the identifier, then (once sent) the code. */
export interface CodePageInput extends InteractionBase {
  options: SignInOptions;
  identifier?: string | undefined;
  /** Set once a code was sent: the code field is shown. */
  sent?: boolean;
}

/** Sign-in with a one-time code sent by email or SMS (two steps on one page). */
export function codePage(input: CodePageInput): string {
  const { ctx, paths, fieldErrors = {} } = input;
  const { t } = ctx;
  return renderPage(
    <Page ctx={ctx} title={t('code.title')} lead={t('common.continueTo', { client: input.clientName })}>
      <Alert message={input.error} />
      <Alert message={input.notice} kind="notice" />
      {input.sent ? (
        <form method="post" action={paths.code} autocomplete="off" novalidate>
          <Hidden fields={{ csrf: input.csrf, identifier: input.identifier ?? '' }} />
          <Field id="code" label={t('common.code')} required autofocus autocomplete="one-time-code" inputmode="numeric" maxlength={8} error={fieldErrors['code']} />
          <button type="submit">{t('common.continue')}</button>
        </form>
      ) : null}
      <SendCodeForm ctx={ctx} action={`${paths.code}/send`} csrf={input.csrf} identifier={input.identifier} sent={input.sent} error={fieldErrors['identifier']} lead={t('code.lead')} />
      <AlternativeLinks ctx={ctx} paths={paths} options={input.options} except="code" />
      <CancelForm ctx={ctx} paths={paths} csrf={input.csrf} />
    </Page>,
  );
}

/** What the sign-up page shows. */
export interface SignUpPageInput extends InteractionBase {
  /** Which identifiers the form asks for (at least one is required by the account rules). */
  values?: { username?: string; email?: string; phone?: string } | undefined;
  /** Minimum password length (code points), for the hint. */
  passwordMinLength: number;
  /** Whether new accounts are accepted here; false shows only a notice. */
  open: boolean;
}

/** The sign-up page (`prompt=create`, or "Create an account" on the sign-in page). */
export function signUpPage(input: SignUpPageInput): string {
  const { ctx, paths, fieldErrors = {} } = input;
  const { t } = ctx;
  const v = input.values ?? {};
  return renderPage(
    <Page ctx={ctx} title={t('signUp.title')} lead={t('common.continueTo', { client: input.clientName })}>
      <Alert message={input.error} />
      {input.open ? (
        <form method="post" action={paths.signUp} autocomplete="on" novalidate>
          <Hidden fields={{ csrf: input.csrf }} />
          <Field id="username" label={t('signUp.username')} autocomplete="username" value={v.username ?? ''} error={fieldErrors['username']} autofocus />
          <Field id="email" type="email" label={t('signUp.email')} autocomplete="email" value={v.email ?? ''} error={fieldErrors['email']} />
          <Field id="password" type="password" label={t('signUp.password')} required autocomplete="new-password" hint={t('common.passwordHint', { min: input.passwordMinLength })} error={fieldErrors['password']} />
          <button type="submit">{t('signUp.submit')}</button>
        </form>
      ) : (
        <p>{t('signUp.closed')}</p>
      )}
      <div class="alt">
        <p>
          {t('signUp.haveAccount')} <a href={paths.base}>{t('signUp.signIn')}</a>
        </p>
      </div>
      <CancelForm ctx={ctx} paths={paths} csrf={input.csrf} />
    </Page>,
  );
}

/** What the forgot-password page shows: the identifier, then (once sent) the code and the new password. */
export interface ForgotPasswordPageInput extends InteractionBase {
  identifier?: string | undefined;
  sent?: boolean;
  passwordMinLength: number;
  /** The password was changed: show the notice and a link back to sign-in. */
  done?: boolean;
}

/** Forgot password: a code to the email or phone, then a new password (all sessions of the account end). */
export function forgotPasswordPage(input: ForgotPasswordPageInput): string {
  const { ctx, paths, fieldErrors = {} } = input;
  const { t } = ctx;
  if (input.done) {
    return renderPage(
      <Page ctx={ctx} title={t('forgot.title')}>
        <Alert message={t('forgot.done')} kind="notice" />
        <p>
          <a class="button" href={paths.base}>
            {t('signIn.submit')}
          </a>
        </p>
      </Page>,
    );
  }
  return renderPage(
    <Page ctx={ctx} title={t('forgot.title')} lead={input.sent ? undefined : t('forgot.lead')}>
      <Alert message={input.error} />
      <Alert message={input.notice} kind="notice" />
      {input.sent ? (
        <form method="post" action={paths.forgot} autocomplete="off" novalidate>
          <Hidden fields={{ csrf: input.csrf, identifier: input.identifier ?? '' }} />
          <Field id="code" label={t('common.code')} required autofocus autocomplete="one-time-code" inputmode="numeric" maxlength={8} error={fieldErrors['code']} />
          <Field id="password" type="password" label={t('common.newPassword')} required autocomplete="new-password" hint={t('common.passwordHint', { min: input.passwordMinLength })} error={fieldErrors['password']} />
          <button type="submit">{t('forgot.submit')}</button>
        </form>
      ) : null}
      <SendCodeForm ctx={ctx} action={`${paths.forgot}/send`} csrf={input.csrf} identifier={input.identifier} sent={input.sent} error={fieldErrors['identifier']} />
      <div class="alt">
        <p>
          <a href={paths.base}>{t('common.back')}</a>
        </p>
      </div>
    </Page>,
  );
}

/**
 * A passkey button's form, driven by the passkey glue script (src/oidc/passkey-script.ts): the button stays
 * hidden without JavaScript or WebAuthn; the script posts `fields` to `optionsAction`, runs the ceremony and
 * submits the answer in `response` to `action`. Texts for the script's messages ride on data attributes.
 */
function PasskeyForm(props: { ctx: PageContext; action: string; optionsAction: string; fields: Record<string, string>; label: string }): JSX.Element {
  const { t } = props.ctx;
  return (
    <form method="post" action={props.action} id="passkey-form" data-options={props.optionsAction} data-unsupported={t('passkey.unsupported')} data-failed={t('passkey.failed')}>
      <Hidden fields={props.fields} />
      <button type="button" id="passkey" hidden>
        {props.label}
      </button>
      <p id="passkey-status" role="status"></p>
      <noscript>
        <p>{t('common.noscriptPasskey')}</p>
      </noscript>
    </form>
  );
}

/** What the passkey sign-in page shows. */
export interface PasskeyPageInput extends InteractionBase {
  options: SignInOptions;
  /** Same-origin paths: the options route, the glue script and the @simplewebauthn/browser bundle. */
  optionsAction: string;
  script: string;
  library: string;
}

/**
 * Passkey sign-in (discoverable credentials, no identifier typed): the same-origin glue script fetches
 * the options, calls `startAuthentication()` and posts the assertion as `response`; without JavaScript
 * the page says passkeys need it.
 */
export function passkeyPage(input: PasskeyPageInput): string {
  const { ctx, paths } = input;
  const { t } = ctx;
  return renderPage(
    <Page ctx={ctx} title={t('passkey.title')} lead={t('common.continueTo', { client: input.clientName })} scripts={[input.library, input.script]}>
      <Alert message={input.error} />
      <p>{t('passkey.lead')}</p>
      <PasskeyForm ctx={ctx} action={paths.passkey} optionsAction={input.optionsAction} fields={{ csrf: input.csrf, challengeId: '', response: '' }} label={t('passkey.start')} />
      <AlternativeLinks ctx={ctx} paths={paths} options={input.options} except="passkey" />
      <CancelForm ctx={ctx} paths={paths} csrf={input.csrf} />
    </Page>,
  );
}

/** What the second-factor step of the sign-in page shows. */
export interface MfaPageInput extends InteractionBase {
  /** Where the form posts (a same-origin path ending in `/mfa`). */
  action: string;
  /** The pending sign-in the first step opened (a bearer secret of this browser). */
  pendingSignInId: string;
  /** Whether to show the code field (the user has TOTP or backup codes); default true. */
  codes?: boolean;
  /**
   * "Use a passkey" (the user has a WebAuthn factor): `optionsAction` is the same-origin path of the
   * options route, `script` the page's glue script and `library` the @simplewebauthn/browser bundle (both
   * same origin), `binding` the HMAC that ties the pending sign-in to this interaction.
   */
  passkey?: { optionsAction: string; script: string; library: string; binding: string } | undefined;
}

/**
 * The second step of the sign-in page for users with MFA (issue 7 §4): a 6-digit code from the
 * authenticator app or a backup code, and/or "Use a passkey" (src/oidc/passkey-script.ts: fetches the
 * options, calls `startAuthentication()` and submits the assertion JSON as `response` with
 * `type=webauthn`; without JavaScript or WebAuthn the button stays hidden).
 */
export function mfaPage(input: MfaPageInput): string {
  const { ctx, paths, fieldErrors = {} } = input;
  const { t } = ctx;
  const hidden = { csrf: input.csrf, pendingSignInId: input.pendingSignInId };
  return renderPage(
    <Page ctx={ctx} title={t('mfa.title')} lead={t('common.continueTo', { client: input.clientName })} scripts={input.passkey ? [input.passkey.library, input.passkey.script] : []}>
      <Alert message={input.error} />
      {input.codes === false ? null : (
        <form method="post" action={input.action} autocomplete="off" novalidate>
          <Hidden fields={hidden} />
          <Field id="code" label={t('mfa.codeLabel')} required autofocus autocomplete="one-time-code" inputmode="text" maxlength={32} error={fieldErrors['code']} />
          <button type="submit">{t('mfa.verify')}</button>
        </form>
      )}
      {input.passkey ? (
        <PasskeyForm ctx={ctx} action={input.action} optionsAction={input.passkey.optionsAction} fields={{ ...hidden, binding: input.passkey.binding, type: 'webauthn', response: '' }} label={t('mfa.passkey')} />
      ) : null}
      <CancelForm ctx={ctx} paths={paths} csrf={input.csrf} />
    </Page>,
  );
}

/** What the TOTP enrolment step of the sign-in page shows (MFA policy `required`, user without factor). */
export interface MfaEnrollPageInput extends InteractionBase {
  /** Where the form posts (a same-origin path ending in `/mfa/enroll`). */
  action: string;
  /** The `enroll` pending sign-in the first step opened. */
  pendingSignInId: string;
  /** HMAC tying the pending sign-in to this interaction (as the passkey form's). */
  binding: string;
  /** The base32 TOTP secret to enrol (shown in blocks of 4 and sent back in a hidden field). */
  secret: string;
  /** HMAC tying `secret` to the pending sign-in and this interaction: the secret is never trusted from the form alone. */
  secretBinding: string;
  /** The secret's otpauth:// URI (Key Uri Format), shown as text and as a link for phones. */
  otpauthUri: string;
  /** The otpauth URI as a QR code, a `data:image/svg+xml` URL (drawn by the `qrcode` library). */
  qrCode: string;
}

/**
 * The enrolment step of the sign-in page (MFA policy `required`): the TOTP secret as a QR code (SVG drawn
 * on the server), as text in blocks of 4 and as an otpauth:// link, and a field for the first code.
 */
export function mfaEnrollPage(input: MfaEnrollPageInput): string {
  const { ctx, paths, fieldErrors = {} } = input;
  const { t } = ctx;
  const grouped = (input.secret.match(/.{1,4}/g) ?? []).join(' ');
  return renderPage(
    <Page ctx={ctx} title={t('enroll.title')} lead={t('common.continueTo', { client: input.clientName })}>
      <Alert message={input.error} />
      <p>{t('enroll.lead')}</p>
      <p class="qr">
        <img id="totp-qr" src={input.qrCode} alt={t('enroll.qrAlt')} width={200} height={200} />
      </p>
      <dl>
        <dt>{t('enroll.key')}</dt>
        <dd>
          <code id="totp-secret">{grouped}</code>
        </dd>
        <dt>{t('enroll.openOnDevice')}</dt>
        <dd>
          <a id="totp-uri" href={input.otpauthUri}>
            {input.otpauthUri}
          </a>
        </dd>
      </dl>
      <form method="post" action={input.action} autocomplete="off" novalidate>
        <Hidden fields={{ csrf: input.csrf, pendingSignInId: input.pendingSignInId, binding: input.binding, secret: input.secret, secretBinding: input.secretBinding }} />
        <Field id="code" label={t('enroll.codeLabel')} required autofocus autocomplete="one-time-code" inputmode="numeric" pattern="[0-9 ]*" maxlength={8} error={fieldErrors['code']} />
        <button type="submit">{t('enroll.submit')}</button>
      </form>
      <CancelForm ctx={ctx} paths={paths} csrf={input.csrf} />
    </Page>,
  );
}

/**
 * The backup codes issued after TOTP enrolment on the sign-in page, shown once (they are stored only as
 * hashes); "continue" resumes the authorization request at `continueTo` (the provider's resume URL).
 */
export function backupCodesPage(input: { ctx: PageContext; codes: string[]; continueTo: string }): string {
  const { ctx } = input;
  const { t } = ctx;
  return renderPage(
    <Page ctx={ctx} title={t('backup.title')}>
      <p>{t('backup.lead')}</p>
      <ul class="codes" id="backup-codes">
        {input.codes.map((c) => (
          <li>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <p>
        <a class="button" href={input.continueTo}>
          {t('backup.saved')}
        </a>
      </p>
    </Page>,
  );
}

/** What the consent page of a third-party application shows. */
export interface ConsentPageInput extends InteractionBase {
  /** Where "Allow" posts (a same-origin path ending in `/consent`). */
  action: string;
  /** The OIDC scopes the application asks for that the user has not granted yet. */
  scopes: string[];
  /** The resource indicators (RFC 8707) and scopes asked for, if any. */
  resources: Array<{ resource: string; scopes: string[] }>;
}

/** Scopes with a description in the catalogue (`consent.scope.<name>`). */
const DESCRIBED_SCOPES = new Set(['openid', 'profile', 'email', 'phone', 'address', 'offline_access', 'custom_data', 'identities', 'roles', 'organizations']);

/** What a scope lets an application see or do, in the user's words. */
function describeScope(ctx: PageContext, scope: string): string {
  if (scope === 'urn:logto:scope:sessions') return ctx.t('consent.scope.sessions');
  if (scope === 'urn:logto:scope:organizations') return ctx.t('consent.scope.organizations');
  if (scope === 'urn:logto:scope:organization_roles') return ctx.t('consent.scope.organizationRoles');
  if (DESCRIBED_SCOPES.has(scope)) return ctx.t(`consent.scope.${scope}` as 'consent.scope.openid');
  return ctx.t('consent.scope.other', { scope });
}

/**
 * The consent page of a **third-party** application (first-party applications never show it): what
 * the application asks for, with "Allow" and "Deny" (deny ends the request with `access_denied`).
 */
export function consentPage(input: ConsentPageInput): string {
  const { ctx, paths } = input;
  const { t } = ctx;
  return renderPage(
    <Page ctx={ctx} title={t('consent.title')}>
      <p>{t('consent.lead', { client: input.clientName })}</p>
      <ul>
        {input.scopes.map((s) => (
          <li>{describeScope(ctx, s)}</li>
        ))}
        {input.resources.map((r) => (
          <li>{r.scopes.length ? t('consent.resourceScopes', { resource: r.resource, scopes: r.scopes.join(', ') }) : t('consent.resource', { resource: r.resource })}</li>
        ))}
      </ul>
      <form method="post" action={input.action}>
        <Hidden fields={{ csrf: input.csrf }} />
        <button type="submit">{t('consent.allow')}</button>
      </form>
      <CancelForm ctx={ctx} paths={paths} csrf={input.csrf} label={t('consent.deny')} />
    </Page>,
  );
}

/**
 * The RP-initiated logout confirmation (OpenID Connect RP-Initiated Logout 1.0 §2). `form` is the
 * provider's own hidden form (its action and xsrf token), re-created here as elements.
 */
export function logoutPage(ctx: PageContext, form: { action: string; fields: Record<string, string> }, host: string): string {
  const { t } = ctx;
  return renderPage(
    <Page ctx={ctx} title={t('logout.title')}>
      <p>{t('logout.question', { host })}</p>
      <form method="post" action={form.action} id="op.logoutForm">
        <Hidden fields={form.fields} />
        <button type="submit" name="logout" value="yes" autofocus>
          {t('logout.yes')}
        </button>
        <button type="submit" class="secondary">
          {t('logout.no')}
        </button>
      </form>
    </Page>,
  );
}

/** Shown after a logout without a (valid) post_logout_redirect_uri. */
export function loggedOutPage(ctx: PageContext, clientName?: string): string {
  const { t } = ctx;
  return renderPage(
    <Page ctx={ctx} title={t('loggedOut.title')}>
      <p>{clientName ? t('loggedOut.bodyClient', { client: clientName }) : t('loggedOut.body')}</p>
    </Page>,
  );
}

/** The friendly text of an error page: which message, by the RFC 6749 / OIDC error code (never shown raw). */
export type ErrorPageKind = 'expired' | 'stale' | 'invalidClient' | 'invalidRedirect' | 'invalidRequest' | 'accessDenied' | 'server' | 'notFound';

/** Maps an RFC 6749 / OIDC error code of the provider to the friendly message shown for it. */
export function errorKindOf(error: unknown, description?: unknown): ErrorPageKind {
  switch (error) {
    case 'invalid_client':
    case 'unauthorized_client':
      return 'invalidClient';
    case 'invalid_redirect_uri':
      return 'invalidRedirect';
    case 'access_denied':
      return 'accessDenied';
    case 'server_error':
    case 'temporarily_unavailable':
      return 'server';
    case 'invalid_request':
      return typeof description === 'string' && /redirect_uri/.test(description) ? 'invalidRedirect' : 'invalidRequest';
    case 'session_not_found':
    case 'interaction_expired':
    case 'login_required':
      return 'expired';
    default:
      return 'invalidRequest';
  }
}

/**
 * An error page for people (no raw protocol fields): the friendly message of `kind`, a way back and the
 * support link when one is configured.
 */
export function errorPage(ctx: PageContext, kind: ErrorPageKind, message?: string): string {
  const { t, brand } = ctx;
  return renderPage(
    <Page ctx={ctx} title={t('errorPage.title')}>
      <p role="alert">{message ?? t(`errorPage.${kind}`)}</p>
      {brand.supportUrl ? (
        <p>
          <a href={brand.supportUrl}>{t('errorPage.support')}</a>
        </p>
      ) : null}
    </Page>,
  );
}
