/**
 * The minimal server-rendered pages of the OIDC provider (sign-in, sign-out, errors). Every value
 * that reaches the markup goes through {@link escapeHtml}; pages load nothing from elsewhere.
 */
import { PASSKEY_LIBRARY } from './passkey-script.js';

/** Escapes text for HTML element content and double- or single-quoted attribute values (OWASP XSS rule #1/#2). */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = `body{font-family:system-ui,sans-serif;background:#f5f5f7;margin:0;padding:48px 16px}
main{max-width:360px;margin:0 auto;background:#fff;border-radius:8px;padding:24px 28px;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.4em;font-weight:600;margin:0 0 8px}p{color:#444}label{display:block;margin:14px 0 4px;font-size:.9em}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:9px;border:1px solid #bbb;border-radius:4px;font-size:1em}
button{margin-top:18px;width:100%;padding:10px;border:0;border-radius:4px;background:#2456d3;color:#fff;font-size:1em;cursor:pointer}
button.secondary{background:#e4e4e8;color:#222}.error{color:#b00020;background:#fdecee;padding:8px 10px;border-radius:4px}
dl{font-size:.9em}dt{font-weight:600}dd{margin:0 0 8px}`;

/** Wraps a body in the common page layout. `body` must already be safe HTML. */
function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body><main>
${body}
</main></body>
</html>`;
}

/** What the sign-in page shows. */
export interface SignInPageInput {
  /** Where the form posts (a same-origin path). */
  action: string;
  /** The application's display name. */
  clientName: string;
  /** CSRF token bound to this interaction. */
  csrf: string;
  /** Identifier to pre-fill (from `login_hint` or the previous attempt). */
  identifier?: string;
  /** Message of a failed attempt. */
  error?: string;
  /** "Continue with <name>" links of the enabled social connectors (same-origin paths). */
  social?: Array<{ href: string; name: string }>;
  /** A captcha to solve with this attempt (after too many failed sign-ins from this address): its id and `data:` SVG image. */
  captcha?: { id: string; image: string };
}

/** The sign-in form (identifier + password) of an authorization request's login prompt. */
export function signInPage(input: SignInPageInput): string {
  return layout(
    'Sign in',
    `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(input.clientName)}</strong></p>
${input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : ''}
<form method="post" action="${escapeHtml(input.action)}" autocomplete="on">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<label for="identifier">Username, email or phone</label>
<input type="text" id="identifier" name="identifier" required autofocus autocomplete="username" value="${escapeHtml(input.identifier ?? '')}">
<label for="password">Password</label>
<input type="password" id="password" name="password" required autocomplete="current-password">
${
  input.captcha
    ? `<input type="hidden" name="captchaId" value="${escapeHtml(input.captcha.id)}">
<label for="captcha">Type the characters in the picture</label>
<img src="${escapeHtml(input.captcha.image)}" alt="Captcha picture: type its characters below" width="200" height="60">
<input type="text" id="captcha" name="captcha" required autocomplete="off" autocapitalize="characters" spellcheck="false">`
    : ''
}
<button type="submit">Sign in</button>
</form>
${(input.social ?? []).map((c) => `<p><a class="social" href="${escapeHtml(c.href)}">Continue with ${escapeHtml(c.name)}</a></p>`).join('\n')}
<form method="post" action="${escapeHtml(input.action.replace(/\/login$/, '/abort'))}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit" class="secondary">Cancel</button>
</form>`,
  );
}

/** What the second-factor step of the sign-in page shows. */
export interface MfaPageInput {
  /** Where the form posts (a same-origin path ending in `/mfa`). */
  action: string;
  clientName: string;
  /** CSRF token bound to this interaction. */
  csrf: string;
  /** The pending sign-in the password step opened (a bearer secret of this browser). */
  pendingSignInId: string;
  /** Whether to show the code field (the user has TOTP or backup codes); default true. */
  codes?: boolean;
  /**
   * "Use a passkey" (the user has a WebAuthn factor): `optionsAction` is the same-origin path of the
   * options route, `script` the same-origin path of the page's glue script (loaded after the
   * @simplewebauthn/browser bundle, also same origin), `binding` the HMAC that ties the pending sign-in
   * to this interaction.
   */
  passkey?: { optionsAction: string; script: string; binding: string };
  error?: string;
}

/**
 * The second step of the sign-in page for users with MFA (issue 7 §4): a 6-digit code from the
 * authenticator app or a backup code, and/or "Use a passkey". The passkey form carries no inline
 * script: the same-origin glue script `input.passkey.script` (src/oidc/passkey-script.ts) fetches the
 * options, calls `startAuthentication()` of the same-origin @simplewebauthn/browser bundle loaded before it
 * (`navigator.credentials.get()`) and submits the assertion JSON as `response` with `type=webauthn`;
 * without JavaScript or WebAuthn the button stays hidden.
 */
export function mfaPage(input: MfaPageInput): string {
  const hidden = `<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<input type="hidden" name="pendingSignInId" value="${escapeHtml(input.pendingSignInId)}">`;
  const codeForm =
    input.codes === false
      ? ''
      : `<form method="post" action="${escapeHtml(input.action)}" autocomplete="off">
${hidden}
<label for="code">Code from your authenticator app, or a backup code</label>
<input type="text" id="code" name="code" required autofocus autocomplete="one-time-code" inputmode="text" maxlength="32">
<button type="submit">Verify</button>
</form>
`;
  const passkeyForm = input.passkey
    ? `<form method="post" action="${escapeHtml(input.action)}" id="passkey-form" data-options="${escapeHtml(input.passkey.optionsAction)}">
${hidden}
<input type="hidden" name="binding" value="${escapeHtml(input.passkey.binding)}">
<input type="hidden" name="type" value="webauthn">
<input type="hidden" name="response" value="">
<button type="button" id="passkey" hidden>Use a passkey</button>
<p id="passkey-status" role="status"></p>
<noscript><p>Passkeys need JavaScript in this browser.</p></noscript>
</form>
<script src="${escapeHtml(PASSKEY_LIBRARY.path)}"></script>
<script src="${escapeHtml(input.passkey.script)}"></script>
`
    : '';
  return layout(
    'Two-step verification',
    `<h1>Two-step verification</h1>
<p>to continue to <strong>${escapeHtml(input.clientName)}</strong></p>
${input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : ''}
${codeForm}${passkeyForm}<form method="post" action="${escapeHtml(input.action.replace(/\/mfa$/, '/abort'))}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit" class="secondary">Cancel</button>
</form>`,
  );
}

/** What the TOTP enrolment step of the sign-in page shows (MFA policy `required`, user without factor). */
export interface MfaEnrollPageInput {
  /** Where the form posts (a same-origin path ending in `/mfa/enroll`). */
  action: string;
  clientName: string;
  /** CSRF token bound to this interaction. */
  csrf: string;
  /** The `enroll` pending sign-in the password (or social) step opened. */
  pendingSignInId: string;
  /** HMAC tying the pending sign-in to this interaction (as the passkey form's). */
  binding: string;
  /** The base32 TOTP secret to enrol (shown in blocks of 4 and sent back in a hidden field). */
  secret: string;
  /** HMAC tying `secret` to the pending sign-in and this interaction: the secret is never trusted from the form alone. */
  secretBinding: string;
  /** The secret's otpauth:// URI (Key Uri Format), shown as text and as a link for phones. */
  otpauthUri: string;
  error?: string;
  /** The otpauth URI as a QR code, a `data:image/svg+xml` URL (drawn by the `qrcode` library). */
  qrCode?: string;
}

/**
 * The enrolment step of the sign-in page (MFA policy `required`): the TOTP secret to type into an
 * authenticator app (blocks of 4 characters) or its otpauth:// URI (text and link; no QR image, the
 * page has no script), and a field for the first 6-digit code. Secrets are shown once, here, by design.
 */
export function mfaEnrollPage(input: MfaEnrollPageInput): string {
  const grouped = (input.secret.match(/.{1,4}/g) ?? []).join(' ');
  return layout(
    'Set up two-step verification',
    `<h1>Set up two-step verification</h1>
<p>to continue to <strong>${escapeHtml(input.clientName)}</strong></p>
${input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : ''}
<p>This service requires an authenticator app. Scan this code with your app (or type the key), then enter the 6-digit code it shows.</p>
${input.qrCode ? `<p><img id="totp-qr" src="${escapeHtml(input.qrCode)}" alt="QR code of the key for your authenticator app" width="200" height="200"></p>` : ''}
<dl><dt>Key</dt><dd><code id="totp-secret">${escapeHtml(grouped)}</code></dd>
<dt>Or open on this device</dt><dd><a id="totp-uri" href="${escapeHtml(input.otpauthUri)}" style="word-break:break-all">${escapeHtml(input.otpauthUri)}</a></dd></dl>
<form method="post" action="${escapeHtml(input.action)}" autocomplete="off">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<input type="hidden" name="pendingSignInId" value="${escapeHtml(input.pendingSignInId)}">
<input type="hidden" name="binding" value="${escapeHtml(input.binding)}">
<input type="hidden" name="secret" value="${escapeHtml(input.secret)}">
<input type="hidden" name="secretBinding" value="${escapeHtml(input.secretBinding)}">
<label for="code">Code from your authenticator app</label>
<input type="text" id="code" name="code" required autofocus autocomplete="one-time-code" inputmode="numeric" pattern="[0-9 ]*" maxlength="8">
<button type="submit">Verify and continue</button>
</form>
<form method="post" action="${escapeHtml(input.action.replace(/\/mfa\/enroll$/, '/abort'))}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit" class="secondary">Cancel</button>
</form>`,
  );
}

/**
 * The RP-initiated logout confirmation (OpenID Connect RP-Initiated Logout 1.0 §2). `form` is the
 * provider's own hidden form (it carries the xsrf token), rendered as given.
 */
export function logoutPage(form: string, host: string): string {
  return layout(
    'Sign out',
    `<h1>Sign out</h1>
<p>Do you want to sign out from ${escapeHtml(host)}?</p>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button>`,
  );
}

/** Shown after a logout without a (valid) post_logout_redirect_uri. */
export function loggedOutPage(clientName?: string): string {
  return layout('Signed out', `<h1>Signed out</h1><p>You have signed out${clientName ? ` of ${escapeHtml(clientName)}` : ''}.</p>`);
}

/** An error page for browser-facing endpoints; `fields` are the RFC 6749 error parameters. */
export function errorPage(fields: Record<string, unknown>): string {
  const rows = Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
    .join('');
  return layout('Something went wrong', `<h1>Something went wrong</h1><dl>${rows}</dl>`);
}

/** What the consent page of a third-party application shows. */
export interface ConsentPageInput {
  /** Where "Allow" posts (a same-origin path ending in `/consent`). */
  action: string;
  clientName: string;
  /** CSRF token bound to this interaction. */
  csrf: string;
  /** The OIDC scopes the application asks for that the user has not granted yet. */
  scopes: string[];
  /** The resource indicators (RFC 8707) and scopes asked for, if any. */
  resources: Array<{ resource: string; scopes: string[] }>;
}

/** What each scope lets an application see or do, in the user's words. */
const SCOPE_DESCRIPTIONS: Record<string, string> = {
  openid: 'Know who you are (your account id)',
  profile: 'See your name, username, picture and profile details',
  email: 'See your email address',
  phone: 'See your phone number',
  address: 'See your postal address',
  offline_access: 'Stay signed in to your account when you are not using it',
  custom_data: 'See the custom data of your account',
  identities: 'See the social accounts linked to your account',
  'urn:logto:scope:sessions': 'See your sessions and connected applications',
};

/**
 * The consent page of a **third-party** application (first-party applications never show it): what
 * the application asks for, with "Allow" and "Deny" (deny ends the request with `access_denied`).
 */
export function consentPage(input: ConsentPageInput): string {
  const items = input.scopes.map((s) => `<li>${escapeHtml(SCOPE_DESCRIPTIONS[s] ?? s)}</li>`);
  for (const r of input.resources) {
    items.push(`<li>Use <strong>${escapeHtml(r.resource)}</strong> on your behalf${r.scopes.length ? ` (${escapeHtml(r.scopes.join(', '))})` : ''}</li>`);
  }
  return layout(
    'Allow access',
    `<h1>Allow access?</h1>
<p><strong>${escapeHtml(input.clientName)}</strong> is not operated by this service. It asks to:</p>
<ul>
${items.join('\n')}
</ul>
<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit">Allow</button>
</form>
<form method="post" action="${escapeHtml(input.action.replace(/\/consent$/, '/abort'))}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit" class="secondary">Deny</button>
</form>`,
  );
}
