/**
 * The JSON forms of a WebAuthn authentication ceremony, as the server sends and takes them (WebAuthn L3
 * §5.1 `PublicKeyCredentialRequestOptionsJSON` and `AuthenticationResponseJSON`; every binary field is
 * base64url without padding). Types only: the core entry stays free of runtime dependencies; the
 * `@tessera/sdk/passkey` entry hands these to `@simplewebauthn/browser`.
 */

/** A credential the authenticator may use (`allowCredentials[]`): its id (base64url) and how it is reached. */
export interface PasskeyCredentialDescriptorJSON {
  id: string;
  type: 'public-key';
  /** `usb`, `nfc`, `ble`, `hybrid`, `internal`, … as the authenticator reported at enrolment. */
  transports?: string[];
}

/**
 * Options of `navigator.credentials.get()` as JSON (`POST /api/auth/sign-in/mfa/webauthn-options`):
 * `challenge` base64url (single use, valid for the pending sign-in's lifetime), `timeout` in
 * **milliseconds**, `rpId` the server's host name, the user's passkeys in `allowCredentials`.
 */
export interface PasskeyRequestOptionsJSON {
  challenge: string;
  timeout?: number;
  rpId?: string;
  allowCredentials?: PasskeyCredentialDescriptorJSON[];
  userVerification?: 'required' | 'preferred' | 'discouraged';
  hints?: Array<'hybrid' | 'security-key' | 'client-device'>;
  extensions?: Record<string, unknown>;
}

/**
 * A passkey's signed answer to the options (AuthenticationResponseJSON), what `startAuthentication()` of
 * `@simplewebauthn/browser` or `PublicKeyCredential.toJSON()` returns: all binary fields base64url.
 */
export interface PasskeyAssertionJSON {
  /** The credential id, base64url (`rawId` holds the same bytes). */
  id: string;
  rawId: string;
  type: 'public-key';
  response: {
    clientDataJSON: string;
    authenticatorData: string;
    signature: string;
    /** The user handle stored with a discoverable credential, base64url. */
    userHandle?: string;
  };
  authenticatorAttachment?: 'platform' | 'cross-platform';
  /** `getClientExtensionResults()`; `{}` when no extension was asked for. */
  clientExtensionResults: object;
}
