/**
 * `@tessera/sdk/passkey` — the passkey step of a sign-in in a browser, with `@simplewebauthn/browser`
 * (an optional peer dependency: install it only if you use this entry; the core entry `@tessera/sdk` has
 * no runtime dependency and takes a ready AuthenticationResponseJSON in `auth.mfa.verifyPasskeyMfa`).
 */
import { browserSupportsWebAuthn, type PublicKeyCredentialRequestOptionsJSON, startAuthentication } from '@simplewebauthn/browser';
import type { AuthenticationClient } from './authentication.js';
import type { User } from './types.js';
import type { PasskeyAssertionJSON } from './webauthn.js';

export type { PasskeyAssertionJSON, PasskeyCredentialDescriptorJSON, PasskeyRequestOptionsJSON } from './webauthn.js';
export { browserSupportsWebAuthn };

/**
 * Finishes a sign-in that threw `auth.mfa_required` (with `'webauthn'` in `data.factors`) with one of the
 * user's passkeys, in one call: the options (`auth.mfa.getPasskeyOptions`), the browser's ceremony
 * (`startAuthentication({ optionsJSON })` of `@simplewebauthn/browser`, i.e. `navigator.credentials.get()`,
 * WebAuthn L3 §5.1.4, which asks the person for their passkey) and the check (`auth.mfa.verifyPasskeyMfa`).
 * The client keeps the new session's token, as after a login. Browsers only; the page must be on the
 * server's origin (its public URL's host is the RP ID) or on a related origin the account center lists.
 * @param auth the client the sign-in started on
 * @param params `mfaToken`: `data.pendingSignInId` of `auth.mfa_required`
 * @returns the signed-in user, with `token`
 * @throws TesseraError as `auth.mfa.getPasskeyOptions` and `auth.mfa.verifyPasskeyMfa`
 *   (`auth.mfa_sign_in_expired`, `session.mfa.webauthn_verification_failed`, …)
 * @throws WebAuthnError of `@simplewebauthn/browser` when the ceremony fails: `name` is the browser's
 *   DOMException name (`NotAllowedError`: cancelled or timed out, `SecurityError`: wrong RP ID for this
 *   origin, …) and `code` the library's (`ERROR_CEREMONY_ABORTED`, `ERROR_INVALID_DOMAIN`, …); nothing
 *   was sent to the server, the same `mfaToken` may be tried again
 * @throws Error `WebAuthn is not supported in this browser` (check {@link browserSupportsWebAuthn} first)
 * @example
 * ```ts
 * import { isMfaRequired } from '@tessera/sdk';
 * import { browserSupportsWebAuthn, signInWithPasskey } from '@tessera/sdk/passkey';
 * try {
 *   await auth.loginByEmail(email, password);
 * } catch (e) {
 *   if (!isMfaRequired(e) || !e.data.factors.includes('webauthn') || !browserSupportsWebAuthn()) throw e;
 *   const user = await signInWithPasskey(auth, { mfaToken: e.data.pendingSignInId });
 * }
 * ```
 */
export async function signInWithPasskey(auth: AuthenticationClient, params: { mfaToken: string }): Promise<User> {
  const options = await auth.mfa.getPasskeyOptions({ mfaToken: params.mfaToken });
  // The same JSON; the library's types name the DOM's enums where ours keep plain strings.
  const response = await startAuthentication({ optionsJSON: options as PublicKeyCredentialRequestOptionsJSON });
  return auth.mfa.verifyPasskeyMfa({ mfaToken: params.mfaToken, response: response as PasskeyAssertionJSON });
}
