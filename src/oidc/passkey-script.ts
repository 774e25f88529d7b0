import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A static script the MFA step loads from our own origin. */
export interface StaticScript {
  /** The absolute path it is served at (same origin as the page). */
  path: string;
  /** Its JavaScript text (UTF-8). */
  source: string;
}

/**
 * The browser bundle of `@simplewebauthn/browser` (`dist/bundle/index.umd.min.js`, which defines the global
 * `SimpleWebAuthnBrowser`), read once when this module is loaded (at start-up) from the installed package
 * and served by `GET /oidc/assets/simplewebauthn-browser.<sha256 prefix>.js` with a one-year immutable cache
 * lifetime: the path changes with its content. The bundle uses no eval and no inline script, so the page's
 * CSP stays `script-src 'self'`.
 *
 * The path names `/oidc` (OIDC_PREFIX of ./provider.ts) as text: the provider imports the views, which
 * import this module, so importing the provider here would make a cycle.
 * @throws Error at start-up when the package is not installed (it is a dependency of the server)
 */
export const PASSKEY_LIBRARY: StaticScript = (() => {
  // The package's `exports` lists only its entry points: find its folder from the CommonJS one (…/script/index.js).
  const root = dirname(dirname(createRequire(import.meta.url).resolve('@simplewebauthn/browser')));
  const source = readFileSync(join(root, 'dist', 'bundle', 'index.umd.min.js'), 'utf8');
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  return { path: `/oidc/assets/simplewebauthn-browser.${hash}.js`, source };
})();

/**
 * The glue script of every passkey button: "Use a passkey" on the MFA step and "Sign in with a passkey" of
 * the OIDC sign-in page, and "Add a passkey" of the account center; served once as {@link PASSKEY_GLUE},
 * same origin, after {@link PASSKEY_LIBRARY}, so the
 * pages' CSP needs only `script-src 'self'` and `connect-src 'self'`: no inline script, no eval.
 *
 * On click it POSTs the form's fields (form-encoded, same origin, cookies included: `csrf` and, on the MFA
 * step, `pendingSignInId` and `binding`) to the form's `data-options` URL, which answers a
 * PublicKeyCredentialRequestOptionsJSON, or `{challengeId, options}` for a passkey-first sign-in (then
 * `challengeId` goes into the form's field of that name), or `{verificationRecordId, registrationOptions}`
 * for an enrolment (then `startRegistration` runs instead and `verificationRecordId` is set). `SimpleWebAuthnBrowser.startAuthentication({
 * optionsJSON })` turns the options into `navigator.credentials.get({ publicKey })` (WebAuthn L3 §5.1.4) and
 * the assertion into an AuthenticationResponseJSON (base64url fields), which goes into the hidden `response`
 * field; then the form is submitted. Errors are shown in `#passkey-status`; the page gives the texts in the
 * form's `data-unsupported` and `data-failed` attributes (its language). Browsers without WebAuthn
 * (`browserSupportsWebAuthn()` false) or without the library keep the button hidden.
 */
export const PASSKEY_SCRIPT = `(function () {
  'use strict';
  var form = document.getElementById('passkey-form');
  var button = document.getElementById('passkey');
  var status = document.getElementById('passkey-status');
  if (!form || !button || !status) return;
  var webauthn = window.SimpleWebAuthnBrowser;
  if (!webauthn || !webauthn.browserSupportsWebAuthn()) {
    status.textContent = form.getAttribute('data-unsupported') || '';
    return;
  }
  button.hidden = false;
  function field(name) {
    return form.elements.namedItem(name);
  }
  button.addEventListener('click', function () {
    button.disabled = true;
    status.textContent = '';
    var body = new URLSearchParams(new FormData(form));
    body.delete('response');
    fetch(form.getAttribute('data-options'), { method: 'POST', credentials: 'same-origin', body: body })
      .then(function (res) {
        return res.json().then(function (json) {
          if (!res.ok) throw new Error(json.message || form.getAttribute('data-failed') || '');
          return json;
        });
      })
      .then(function (json) {
        if (json.registrationOptions) {
          // Enrolment (the account center): the Account API's {verificationRecordId, registrationOptions};
          // the library runs the WebAuthn create() ceremony (WebAuthn L3 §5.1.3).
          field('verificationRecordId').value = json.verificationRecordId;
          return webauthn.startRegistration({ optionsJSON: json.registrationOptions });
        }
        var optionsJSON = json;
        if (json.challengeId) {
          field('challengeId').value = json.challengeId;
          optionsJSON = json.options;
        }
        // The library decodes the options and runs the WebAuthn get() ceremony (WebAuthn L3 §5.1.4).
        return webauthn.startAuthentication({ optionsJSON: optionsJSON });
      })
      .then(function (credential) {
        field('response').value = JSON.stringify(credential);
        form.submit();
      })
      .catch(function (error) {
        button.disabled = false;
        status.textContent = form.getAttribute('data-failed') || (error && error.message) || '';
      });
  });
})();
`;

/**
 * {@link PASSKEY_SCRIPT} as served, once, for every page with a passkey button (the OIDC sign-in page's MFA
 * step and passkey sign-in, the account center): `GET /oidc/assets/passkey.<sha256 prefix>.js`, cacheable for
 * a year like {@link PASSKEY_LIBRARY} since its path changes with its content.
 */
export const PASSKEY_GLUE: StaticScript = {
  path: `/oidc/assets/passkey.${createHash('sha256').update(PASSKEY_SCRIPT).digest('hex').slice(0, 16)}.js`,
  source: PASSKEY_SCRIPT,
};
