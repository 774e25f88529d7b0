import { createHash } from 'node:crypto';
import { PASSKEY_SCRIPT, type StaticScript } from '../oidc/passkey-script.js';

/**
 * The account center's passkey script (its only script; everything else works without JavaScript): the
 * one passkey glue script of Tessera's pages ({@link PASSKEY_SCRIPT}), served same-origin at
 * `/account/assets/passkey.<sha256 prefix>.js` after the `@simplewebauthn/browser` bundle
 * (PASSKEY_LIBRARY), so the page's CSP stays `script-src 'self'`.
 *
 * On "Add a passkey" it POSTs the form's fields (the `csrf` token; form-encoded, same origin, cookies
 * included) to the form's `data-options` URL (`POST /account/mfa/passkey/options`), which answers the
 * Account API's `{verificationRecordId, registrationOptions}`; `SimpleWebAuthnBrowser.startRegistration`
 * runs `navigator.credentials.create({publicKey})`, the RegistrationResponseJSON goes into the hidden
 * `response` field and the form is submitted to `POST /account/mfa/passkey`.
 */
export const ACCOUNT_PASSKEY_SCRIPT: StaticScript = {
  path: `/account/assets/passkey.${createHash('sha256').update(PASSKEY_SCRIPT).digest('hex').slice(0, 16)}.js`,
  source: PASSKEY_SCRIPT,
};
