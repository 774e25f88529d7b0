import { invalidArgument, TesseraError } from './errors.js';
import { DEFAULT_TIMEOUT_MS, type FetchLike, type HttpRequest, send } from './http.js';
import { fromProfile, toUser, withCountryCode } from './mapping.js';
import { computedPasswordSecurityLevel } from './password-level.js';
import { TokenHolder, type TokenStorage } from './storage.js';
import type {
  Captcha,
  CodePurpose,
  CustomFieldType,
  EmailScene,
  IssuedSession,
  LoginOptions,
  LoginStatus,
  PasswordSecurityLevel,
  PasswordStrength,
  RefreshedToken,
  RegisterOptions,
  RegisterProfile,
  SecurityLevel,
  SentCode,
  SmsScene,
  TesseraUser,
  UpdateProfileInput,
  User,
  UserDefinedData,
  UserRole,
  AuthorizedResource,
} from './types.js';
import type { PasskeyAssertionJSON, PasskeyRequestOptionsJSON } from './webauthn.js';

/** Options of {@link AuthenticationClient}. */
export interface AuthenticationClientOptions {
  /** The Tessera server's origin (and path prefix, if any), e.g. `https://id.example.com`. */
  appHost: string;
  /** Your application's id; only used to name the storage key (`tessera:token:<appId>`). */
  appId?: string;
  /** A session token to start with (e.g. from your server); saved to `storage` when one is given. */
  token?: string;
  /** Where to keep the token: a `localStorage`-like object; default in memory only, which is the safer choice (README "Where to keep the token"). */
  storage?: TokenStorage;
  /** The `fetch` to use; default: the global `fetch` (browsers, Node ≥ 18). */
  fetch?: FetchLike;
  /** Time limit of each request, **milliseconds** (default 30 000); then `client.network_error`. */
  timeout?: number;
}

/** Authing's e-mail scenes → Tessera's code purposes. */
const EMAIL_PURPOSE: Record<EmailScene, CodePurpose> = {
  RESET_PASSWORD: 'ForgotPassword',
  RESET_PASSWORD_VERIFY_CODE: 'ForgotPassword',
  VERIFY_EMAIL: 'VerifyEmail',
  FIRST_EMAIL_LOGIN_VERIFY: 'VerifyEmail',
  CONSOLE_CONDUCTED_VERIFY: 'VerifyEmail',
  CHANGE_EMAIL: 'BindNewIdentifier',
  EMAIL_BIND_VERIFY_CODE: 'BindNewIdentifier',
  INFORMATION_COMPLETION_VERIFY_CODE: 'BindNewIdentifier',
  EMAIL_UNBIND_VERIFY_CODE: 'Generic',
  VERIFY_CODE: 'Generic',
  REGISTER_VERIFY_CODE: 'Register',
  LOGIN_VERIFY_CODE: 'SignIn',
};

/** Authing's SMS scenes → Tessera's code purposes. */
const SMS_PURPOSE: Record<SmsScene, CodePurpose> = {
  login: 'SignIn',
  register: 'Register',
  reset: 'ForgotPassword',
  bind: 'BindNewIdentifier',
  'complete-phone': 'BindNewIdentifier',
  unbind: 'Generic',
};

interface SignedIn {
  user: TesseraUser;
  session: IssuedSession;
}

interface CustomFieldValue {
  key: string;
  type: CustomFieldType;
  label: string | null;
  value: unknown;
}

const toUdv = (f: CustomFieldValue): UserDefinedData => ({ key: f.key, dataType: f.type, label: f.label ?? null, value: f.value });
const seconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

/**
 * The end-user client: sign-up, sign-in and self-service account changes against Tessera's
 * first-party API (`/api/auth`), with the method names and argument order of Authing's
 * `AuthenticationClient` (authing-js-sdk v4, seed 003). It speaks Tessera's native JSON API, not
 * Authing's GraphQL protocol. Users come back in Authing's {@link User} shape.
 *
 * Login state: a successful register*, login*, refreshToken, updatePassword or resetPasswordBy*Token
 * keeps the session token (in memory, or in `storage`); logout clears it. Every failure throws a
 * {@link TesseraError} with the server's stable code.
 *
 * @example
 * ```ts
 * import { AuthenticationClient } from '@tessera/sdk';
 * const auth = new AuthenticationClient({ appHost: 'https://id.example.com', storage: window.localStorage });
 * await auth.loginByEmail('ada@example.com', 'correct horse battery');
 * const me = await auth.getCurrentUser();
 * ```
 */
export class AuthenticationClient {
  readonly #base: string;
  readonly #fetch: FetchLike;
  readonly #token: TokenHolder;
  readonly #timeout: number;

  /**
   * @param options see {@link AuthenticationClientOptions}
   * @throws TesseraError `request.invalid` (appHost is not an http(s) URL, or there is no `fetch`)
   * @example
   * ```ts
   * const auth = new AuthenticationClient({ appHost: 'http://127.0.0.1:3000', appId: 'my-spa' });
   * ```
   */
  constructor(options: AuthenticationClientOptions) {
    if (!options || typeof options.appHost !== 'string' || !/^https?:\/\//i.test(options.appHost)) {
      throw invalidArgument('appHost', 'appHost must be an http(s) URL');
    }
    this.#base = options.appHost.replace(/\/+$/, '');
    if (!options.fetch && typeof globalThis.fetch !== 'function') throw invalidArgument('fetch', 'No fetch implementation: pass options.fetch');
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#token = new TokenHolder(options.storage, `tessera:token:${options.appId ?? this.#base}`);
    this.#timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    if (options.token) this.#token.set(options.token);
  }

  async #call<T>(req: HttpRequest): Promise<T> {
    return (await send<T>(this.#fetch, this.#base, req, this.#timeout)).body;
  }

  /** A request as the signed-in user (the stored token as Bearer; none → the server answers `auth.unauthorized`). */
  #asUser<T>(method: HttpRequest['method'], path: string, json?: unknown): Promise<T> {
    return this.#call<T>({ method, path, json, bearer: this.#token.get() });
  }

  #signedIn(result: SignedIn): User {
    this.#token.set(result.session.token);
    return toUser(result.user, result.session);
  }

  /**
   * The current session token, or null when signed out (local; no request).
   * @example
   * ```ts
   * await fetch('/my-api', { headers: { authorization: `Bearer ${auth.getToken()}` } });
   * ```
   */
  getToken(): string | null {
    return this.#token.get();
  }

  /**
   * Replaces the stored session token (e.g. one your server obtained); `null` forgets it locally.
   * @example
   * ```ts
   * auth.setToken(tokenFromServer);
   * ```
   */
  setToken(token: string | null): void {
    this.#token.set(token);
  }

  // ---------------------------------------------------------------------------------------------
  // Registration

  async #register(body: Record<string, unknown>, profile: RegisterProfile | null | undefined, options: RegisterOptions | undefined): Promise<User> {
    const fields = fromProfile(profile, 'profile');
    const payload: Record<string, unknown> = { ...body, ...fields };
    if (options?.customData !== undefined) payload.customData = options.customData;
    return this.#signedIn(await this.#call<SignedIn>({ method: 'POST', path: '/api/auth/sign-up', json: payload }));
  }

  /**
   * Registers with an email and a password and signs in (`POST /api/auth/sign-up`). The email starts
   * unverified (Tessera sends a VerifyEmail message when e-mail is configured).
   * @param email case-insensitive, unique
   * @param password checked against the server's password policy
   * @param profile optional profile ({@link RegisterProfile}; unknown keys → `request.invalid`)
   * @param options `customData` (stored with the user), `clientIp` and `forceLogin` (accepted, ignored)
   * @returns the new user with `token`
   * @throws TesseraError `user.email_taken` (409), `user.invalid_email` (400), `password.rejected` (422),
   *   `request.invalid` (400), `request.rate_limited` (429)
   * @example
   * ```ts
   * const user = await auth.registerByEmail('ada@example.com', 'correct horse battery', { nickname: 'Ada' });
   * ```
   */
  registerByEmail(email: string, password: string, profile?: RegisterProfile | null, options?: RegisterOptions): Promise<User> {
    return this.#register({ email, password }, profile, options);
  }

  /**
   * Registers with a username and a password and signs in (`POST /api/auth/sign-up`).
   * @param username case-sensitive, unique
   * @param password checked against the password policy
   * @param profile optional profile
   * @param options as in {@link registerByEmail}
   * @throws TesseraError `user.username_taken` (409), `user.invalid_username` (400), `password.rejected` (422)
   * @example
   * ```ts
   * const user = await auth.registerByUsername('ada', 'correct horse battery', null, { customData: { plan: 'free' } });
   * ```
   */
  registerByUsername(username: string, password: string, profile?: RegisterProfile | null, options?: RegisterOptions): Promise<User> {
    return this.#register({ username, password }, profile, options);
  }

  /**
   * Registers with a phone number and the SMS code sent by `sendSmsCode(phone, undefined, 'register')`,
   * optionally with a password, and signs in (`POST /api/auth/sign-up` with `code`). The phone is
   * stored as verified.
   * @param phone any format the server can parse (E.164 preferred); `options.phoneCountryCode` is prefixed when it has no `+`
   * @param code the 6-digit code
   * @param password optional initial password (policy-checked)
   * @param profile optional profile
   * @param options as in {@link registerByEmail}, plus `phoneCountryCode`
   * @throws TesseraError `verification.code_mismatch` / `verification.code_expired` / `verification.not_found` /
   *   `verification.too_many_attempts`, `user.phone_taken` (409), `password.rejected` (422)
   * @example
   * ```ts
   * await auth.sendSmsCode('+14155550100', undefined, 'register');
   * const user = await auth.registerByPhoneCode('+14155550100', '123456', 'correct horse battery');
   * ```
   */
  registerByPhoneCode(phone: string, code: string, password?: string | null, profile?: RegisterProfile | null, options?: RegisterOptions): Promise<User> {
    const body: Record<string, unknown> = { phone: withCountryCode(phone, options?.phoneCountryCode), code };
    if (password) body.password = password;
    return this.#register(body, profile, options);
  }

  // ---------------------------------------------------------------------------------------------
  // Sign-in

  async #login(body: Record<string, unknown>, options: LoginOptions | undefined): Promise<User> {
    const payload: Record<string, unknown> = { ...body };
    if (options?.captchaCode !== undefined || options?.captchaId !== undefined) {
      if (!options.captchaCode || !options.captchaId) throw invalidArgument('options.captchaId', 'captchaCode and captchaId go together (see getCaptcha)');
      payload.captcha = { id: options.captchaId, answer: options.captchaCode };
    }
    const user = this.#signedIn(await this.#call<SignedIn>({ method: 'POST', path: '/api/auth/sign-in', json: payload }));
    if (options?.customData && Object.keys(options.customData).length > 0) {
      const fresh = await this.#asUser<TesseraUser>('PATCH', '/api/auth/me', { customData: options.customData });
      return { ...toUser(fresh), token: user.token, tokenExpiredAt: user.tokenExpiredAt };
    }
    return user;
  }

  /**
   * Signs in with an email and a password (`POST /api/auth/sign-in`).
   * @param email case-insensitive
   * @param password the password
   * @param options `captchaCode` + `captchaId` (after `auth.captcha_required`), `customData` (shallow-
   *   merged into the user's custom data after signing in), `clientIp` (accepted, ignored)
   * @throws TesseraError `auth.invalid_credentials` (401, unknown user and wrong password alike),
   *   `auth.captcha_required` / `auth.captcha_invalid` (401), `auth.password_reset_required` (403, `data.resetToken`),
   *   `auth.user_suspended` (403), `auth.email_not_verified` (403), `auth.too_many_failures` (429)
   * @example
   * ```ts
   * try {
   *   await auth.loginByEmail('ada@example.com', password);
   * } catch (e) {
   *   if (e instanceof TesseraError && e.code === 'auth.captcha_required') {
   *     const captcha = await auth.getCaptcha(); // show captcha.image, ask for the answer
   *     await auth.loginByEmail('ada@example.com', password, { captchaId: captcha.id, captchaCode: answer });
   *   }
   * }
   * ```
   */
  loginByEmail(email: string, password: string, options?: LoginOptions): Promise<User> {
    return this.#login({ email, password }, options);
  }

  /**
   * Signs in with a username and a password (`POST /api/auth/sign-in`).
   * @param username case-sensitive
   * @param password the password
   * @param options as in {@link loginByEmail}
   * @throws TesseraError as {@link loginByEmail}
   * @example
   * ```ts
   * const user = await auth.loginByUsername('ada', 'correct horse battery');
   * // user.token is now kept by the client (memory or the given storage) for later calls.
   * ```
   */
  loginByUsername(username: string, password: string, options?: LoginOptions): Promise<User> {
    return this.#login({ username, password }, options);
  }

  /**
   * Signs in with a phone number and the SMS code sent by `sendSmsCode(phone)` (`POST /api/auth/sign-in`
   * with `code`). With `options.autoRegister` the account is created when no user has this phone.
   * @param phone any format; `options.phoneCountryCode` is prefixed when it has no `+`
   * @param code the 6-digit code (purpose SignIn)
   * @param options `autoRegister`, `customData`, `clientIp`, `phoneCountryCode`
   * @throws TesseraError `verification.code_mismatch` (400, `data.remainingAttempts`), `verification.code_expired`,
   *   `verification.not_found` (404), `user.not_found` (404, right code but no account and no autoRegister),
   *   `auth.user_suspended` (403)
   * @example
   * ```ts
   * await auth.sendSmsCode('+14155550100');
   * const user = await auth.loginByPhoneCode('+14155550100', '123456', { autoRegister: true });
   * ```
   */
  loginByPhoneCode(phone: string, code: string, options?: LoginOptions): Promise<User> {
    const body: Record<string, unknown> = { phone: withCountryCode(phone, options?.phoneCountryCode), code };
    if (options?.autoRegister) body.autoRegister = true;
    return this.#login(body, { ...options, captchaCode: undefined, captchaId: undefined } as LoginOptions);
  }

  /**
   * Signs in with a phone number and a password (`POST /api/auth/sign-in`).
   * @param phone any format the server parses
   * @param password the password
   * @param options as in {@link loginByEmail}
   * @throws TesseraError as {@link loginByEmail}
   * @example
   * ```ts
   * const user = await auth.loginByPhonePassword('+14155550100', 'correct horse battery');
   * ```
   */
  loginByPhonePassword(phone: string, password: string, options?: LoginOptions): Promise<User> {
    return this.#login({ phone: withCountryCode(phone, options?.phoneCountryCode), password }, options);
  }

  /**
   * A captcha to solve after `auth.captcha_required` (`POST /api/auth/captcha`): an SVG data URL to show,
   * its `id`, and when it expires (ms). Pass `{captchaId: id, captchaCode: answer}` to the next login.
   * Tessera extension (Authing loads its captcha image from a URL).
   * @example
   * ```ts
   * const { id, image } = await auth.getCaptcha();
   * document.querySelector('img')!.src = image;
   * ```
   */
  getCaptcha(): Promise<Captcha> {
    return this.#call<Captcha>({ method: 'POST', path: '/api/auth/captcha', json: {} });
  }

  // ---------------------------------------------------------------------------------------------
  // Second factor (Authing's `authing.mfa` client names)

  /**
   * The second step of a sign-in that threw `auth.mfa_required` (Authing's `MfaAuthenticationClient`
   * names; `mfaToken` is the error's `data.pendingSignInId`, which Authing calls the MFA token). A pending
   * sign-in lives 5 minutes and allows 5 attempts; each wrong factor counts towards the account lockout.
   * Passkeys are finished in the browser with the server's WebAuthn options (`getPasskeyOptions`, then
   * `verifyPasskeyMfa`; or `signInWithPasskey` of `@tessera/sdk/passkey`, which also runs the ceremony).
   * @example
   * ```ts
   * try {
   *   await auth.loginByEmail(email, password);
   * } catch (e) {
   *   if (!isMfaRequired(e)) throw e;
   *   // e.data.factors lists what the user has: 'totp', 'backup_code', 'webauthn'
   *   const user = await auth.mfa.verifyTotpMfa({ totp: codeFromTheApp, mfaToken: e.data.pendingSignInId });
   * }
   * ```
   */
  readonly mfa = {
    /**
     * Finishes the sign-in with a 6-digit TOTP code (`POST /api/auth/sign-in/mfa` `{type: "totp"}`); the
     * client keeps the new session's token, as after a login.
     * @param params `totp`: the code from the authenticator app; `mfaToken`: `data.pendingSignInId` of `auth.mfa_required`
     * @returns the signed-in user, with `token`
     * @throws TesseraError `session.mfa.invalid_totp_code` (400), `auth.mfa_sign_in_expired` (400: expired, used
     *   or out of attempts), `auth.too_many_failures` (429), `auth.mfa_locked` (423), `auth.password_reset_required`
     *   (403, `data.resetToken`)
     */
    verifyTotpMfa: async (params: { totp: string; mfaToken: string }): Promise<User> =>
      this.#signedIn(
        await this.#call<SignedIn>({ method: 'POST', path: '/api/auth/sign-in/mfa', json: { pendingSignInId: params.mfaToken, type: 'totp', code: params.totp } }),
      ),
    /**
     * Finishes the sign-in with one of the user's backup codes, which is used up (`POST /api/auth/sign-in/mfa`
     * `{type: "backup_code"}`).
     * @param params `recoveryCode`: a backup code; `mfaToken`: `data.pendingSignInId` of `auth.mfa_required`
     * @returns the signed-in user, with `token`
     * @throws TesseraError `session.mfa.invalid_backup_code` (400), and as {@link AuthenticationClient.mfa.verifyTotpMfa}
     */
    verifyTotpRecoveryCode: async (params: { recoveryCode: string; mfaToken: string }): Promise<User> =>
      this.#signedIn(
        await this.#call<SignedIn>({
          method: 'POST',
          path: '/api/auth/sign-in/mfa',
          json: { pendingSignInId: params.mfaToken, type: 'backup_code', code: params.recoveryCode },
        }),
      ),
    /**
     * The WebAuthn options for the user's passkeys (`POST /api/auth/sign-in/mfa/webauthn-options`), to pass
     * to the browser (`startAuthentication({ optionsJSON })` of `@simplewebauthn/browser`, or
     * `PublicKeyCredential.parseRequestOptionsFromJSON`); then {@link AuthenticationClient.mfa.verifyPasskeyMfa}.
     * The challenge is single use and lives as long as the pending sign-in (5 minutes); a new call replaces it.
     * `@tessera/sdk/passkey`'s `signInWithPasskey` does both steps and the ceremony in one call. Tessera extension.
     * @param params `mfaToken`: `data.pendingSignInId` of `auth.mfa_required`
     * @returns PublicKeyCredentialRequestOptionsJSON (WebAuthn L3 §5.5): base64url `challenge`, `rpId` (the
     *   server's host name), `allowCredentials` (the user's passkeys), `timeout` in milliseconds
     * @throws TesseraError `auth.mfa_sign_in_expired` (400: expired, used or out of attempts),
     *   `session.mfa.webauthn_verification_failed` (400: the user has no passkey), `request.rate_limited` (429)
     */
    getPasskeyOptions: (params: { mfaToken: string }): Promise<PasskeyRequestOptionsJSON> =>
      this.#call<PasskeyRequestOptionsJSON>({ method: 'POST', path: '/api/auth/sign-in/mfa/webauthn-options', json: { pendingSignInId: params.mfaToken } }),
    /**
     * Finishes the sign-in with a passkey's assertion over the challenge of
     * {@link AuthenticationClient.mfa.getPasskeyOptions} (`POST /api/auth/sign-in/mfa` `{type: "webauthn"}`); the
     * client keeps the new session's token. The server checks the signature, the challenge, the origin (the
     * server's public URL or a related origin of the account center) and that the signature counter grew.
     * Tessera extension.
     * @param params `response`: the AuthenticationResponseJSON the browser made (base64url fields);
     *   `mfaToken`: `data.pendingSignInId` of `auth.mfa_required`
     * @returns the signed-in user, with `token`
     * @throws TesseraError `session.mfa.webauthn_verification_failed` (400: wrong or used challenge, unknown
     *   credential, bad signature or origin), `request.invalid` (400: not an assertion), and as
     *   {@link AuthenticationClient.mfa.verifyTotpMfa}
     */
    verifyPasskeyMfa: async (params: { response: PasskeyAssertionJSON; mfaToken: string }): Promise<User> =>
      this.#signedIn(
        await this.#call<SignedIn>({ method: 'POST', path: '/api/auth/sign-in/mfa', json: { pendingSignInId: params.mfaToken, type: 'webauthn', response: params.response } }),
      ),
  };

  // ---------------------------------------------------------------------------------------------
  // Session

  /**
   * The signed-in user (`GET /api/auth/me`), or `null` when there is no token or the server does not
   * accept it (expired, signed out: `auth.unauthorized`). Other failures (network) are thrown.
   * @example
   * ```ts
   * const user = await auth.getCurrentUser();
   * if (!user) redirectToLogin();
   * ```
   */
  async getCurrentUser(): Promise<User | null> {
    if (!this.#token.get()) return null;
    try {
      return toUser(await this.#asUser<TesseraUser>('GET', '/api/auth/me'));
    } catch (error) {
      if (error instanceof TesseraError && error.status === 401) return null;
      throw error;
    }
  }

  /**
   * Signs out: ends this session on the server (`POST /api/auth/sign-out`) and forgets the token
   * locally. A token the server no longer knows is forgotten too (no error).
   * @throws TesseraError `client.network_error` (the token is kept so you can retry)
   * @example
   * ```ts
   * await auth.logout();
   * await auth.getCurrentUser(); // null
   * ```
   */
  async logout(): Promise<void> {
    const token = this.#token.get();
    if (token) {
      try {
        await this.#call<void>({ method: 'POST', path: '/api/auth/sign-out', bearer: token });
      } catch (error) {
        if (!(error instanceof TesseraError) || error.status !== 401) throw error;
      }
    }
    this.#token.set(null);
  }

  /**
   * Whether a token is a live session (`GET /api/auth/session`): the given token, else the stored one.
   * Never throws for a dead or unknown token (`status: false`); times are **seconds** as in Authing.
   * @param token the token to check (default: the stored one)
   * @throws TesseraError `client.network_error`
   * @example
   * ```ts
   * const { status, exp } = await auth.checkLoginStatus();
   * if (status) console.log('session ends at', new Date(exp! * 1000));
   * ```
   */
  async checkLoginStatus(token?: string): Promise<LoginStatus> {
    const bearer = token ?? this.#token.get();
    const dead: LoginStatus = { status: false, userId: null, iat: null, exp: null };
    if (!bearer) return dead;
    try {
      const s = await this.#call<{ active: boolean; userId?: string; issuedAt?: string; expiresAt?: string }>({
        method: 'GET',
        path: '/api/auth/session',
        bearer,
      });
      if (!s.active) return dead;
      return { status: true, userId: s.userId ?? null, iat: s.issuedAt ? seconds(s.issuedAt) : null, exp: s.expiresAt ? seconds(s.expiresAt) : null };
    } catch (error) {
      if (error instanceof TesseraError && error.status === 401) return dead;
      throw error;
    }
  }

  /**
   * Rotates the session token (`POST /api/auth/refresh`): the new token is stored and the old one
   * stops working at once. Times are **seconds**.
   * @throws TesseraError `auth.unauthorized` (401)
   * @example
   * ```ts
   * const { token, exp } = await auth.refreshToken();
   * ```
   */
  async refreshToken(): Promise<RefreshedToken> {
    const result = await this.#asUser<SignedIn>('POST', '/api/auth/refresh');
    this.#token.set(result.session.token);
    return { token: result.session.token, iat: Math.floor(Date.now() / 1000), exp: seconds(result.session.expiresAt) };
  }

  // ---------------------------------------------------------------------------------------------
  // Codes and passwords

  /**
   * Codes for binding/changing an identifier go to `POST /api/auth/me/codes` (signed in; the server
   * picks BindNewIdentifier for a new address and Generic for the user's current one); the others to
   * `POST /api/auth/codes`.
   */
  async #sendCode(to: { email: string } | { phone: string }, purpose: CodePurpose): Promise<SentCode> {
    if (purpose === 'BindNewIdentifier' || purpose === 'Generic') {
      const sent = await this.#asUser<SentCode & { purpose?: string }>('POST', '/api/auth/me/codes', to);
      return { verificationId: sent.verificationId, expiresAt: sent.expiresAt };
    }
    return this.#call<SentCode>({ method: 'POST', path: '/api/auth/codes', json: { ...to, purpose } });
  }

  /**
   * Sends an SMS code (`POST /api/auth/codes`, or `POST /api/auth/me/codes` for `bind`,
   * `complete-phone` and `unbind`, which need a signed-in user). Tessera codes are bound to a purpose, so pass the
   * Authing scene of the method that will use the code: `login` (default; loginByPhoneCode),
   * `register` (registerByPhoneCode), `reset` (resetPasswordByPhoneCode), `bind` / `complete-phone`
   * (bindPhone, updatePhone's new number), `unbind` (updatePhone's old-number proof).
   * @param phone the number; `phoneCountryCode` is prefixed when it has no `+`
   * @param phoneCountryCode e.g. `+44`
   * @param scene Authing's SMS scene
   * @returns the verification record id and the code's expiry (ISO 8601)
   * @throws TesseraError `user.invalid_phone` (400), `user.phone_taken` (409, register), `verification.resend_too_soon` (429),
   *   `connector.delivery_failed` (502)
   * @example
   * ```ts
   * await auth.sendSmsCode('+14155550100', undefined, 'register');
   * ```
   */
  async sendSmsCode(phone: string, phoneCountryCode?: string, scene: SmsScene = 'login'): Promise<SentCode> {
    const purpose = SMS_PURPOSE[scene];
    if (!purpose) throw invalidArgument('scene', `Unknown SMS scene ${String(scene)}`);
    return this.#sendCode({ phone: withCountryCode(phone, phoneCountryCode) }, purpose);
  }

  /**
   * Sends an e-mail code (`POST /api/auth/codes`; the bind/change/unbind scenes use
   * `POST /api/auth/me/codes` and need a signed-in user). Scenes map to purposes: RESET_PASSWORD* →
   * ForgotPassword, VERIFY_EMAIL / FIRST_EMAIL_LOGIN_VERIFY / CONSOLE_CONDUCTED_VERIFY → VerifyEmail,
   * CHANGE_EMAIL / EMAIL_BIND_VERIFY_CODE / INFORMATION_COMPLETION_VERIFY_CODE → BindNewIdentifier,
   * EMAIL_UNBIND_VERIFY_CODE / VERIFY_CODE → Generic (proof of the current address for updateEmail),
   * REGISTER_VERIFY_CODE → Register, LOGIN_VERIFY_CODE → SignIn.
   * @param email the address
   * @param scene an {@link EmailScene} value
   * @throws TesseraError `user.invalid_email` (400), `user.email_taken` (409, register),
   *   `verification.resend_too_soon` (429), `connector.delivery_failed` (502)
   * @example
   * ```ts
   * await auth.sendEmail('ada@example.com', EmailScene.ResetPassword);
   * ```
   */
  async sendEmail(email: string, scene: EmailScene): Promise<SentCode> {
    const purpose = EMAIL_PURPOSE[scene];
    if (!purpose) throw invalidArgument('scene', `Unknown or unsupported e-mail scene ${String(scene)}`);
    return this.#sendCode({ email }, purpose);
  }

  /**
   * Checks a password against the server's policy (`POST /api/auth/password-strength`).
   * @returns `{valid, message}` as in Authing, plus `score` (zxcvbn 0..4), `level` (1..3) and `issues`
   * @example
   * ```ts
   * const { valid, message } = await auth.checkPasswordStrength('weak');
   * ```
   */
  checkPasswordStrength(password: string): Promise<PasswordStrength> {
    return this.#call<PasswordStrength>({ method: 'POST', path: '/api/auth/password-strength', json: { password } });
  }

  /**
   * Authing's local password security level (no request): HIGH (3) for ≥ 12 characters with a lower-case
   * letter, an upper-case letter and a digit; MIDDLE (2) for ≥ 8 characters with a letter and a digit;
   * else LOW (1).
   * @throws TesseraError `request.invalid` when `password` is not a string
   * @example
   * ```ts
   * auth.computedPasswordSecurityLevel('Passw0rdPassw0rd'); // 3
   * ```
   */
  computedPasswordSecurityLevel(password: string): PasswordSecurityLevel {
    return computedPasswordSecurityLevel(password);
  }

  /**
   * The account security level (`GET /api/auth/security-level`): `score` 0..100 and which factors are set.
   * @throws TesseraError `auth.unauthorized` (401)
   * @example
   * ```ts
   * const { score, mfa } = await auth.getSecurityLevel();
   * ```
   */
  getSecurityLevel(): Promise<SecurityLevel> {
    return this.#asUser<SecurityLevel>('GET', '/api/auth/security-level');
  }

  // ---------------------------------------------------------------------------------------------
  // Roles and permissions (issue 18; Authing's names, its namespace being an API resource's indicator)

  /**
   * The signed-in user's roles (`GET /api/auth/me/roles`), oldest grant first (Authing `listRoles`).
   * @param namespace an API resource's indicator: only the roles holding a permission of that resource
   * @returns Authing's `{totalCount, list}`; each role `{id, name, description, type}` (`name` is Authing's `code`)
   * @throws TesseraError `auth.unauthorized` (401), `request.invalid` (400)
   * @example
   * ```ts
   * const { list } = await auth.listRoles();
   * ```
   */
  listRoles(namespace?: string): Promise<{ totalCount: number; list: UserRole[] }> {
    return this.#asUser('GET', `/api/auth/me/roles${namespace ? `?namespace=${encodeURIComponent(namespace)}` : ''}`);
  }

  /**
   * Whether the signed-in user holds the role named `code` (Authing `hasRole`; one request).
   * @param code the role's name
   * @param namespace an API resource's indicator: the role must hold a permission of that resource
   * @throws TesseraError as {@link AuthenticationClient.listRoles}
   * @example
   * ```ts
   * if (await auth.hasRole('editor')) showEditButton();
   * ```
   */
  async hasRole(code: string, namespace?: string): Promise<boolean> {
    return (await this.listRoles(namespace)).list.some((r) => r.name === code);
  }

  /**
   * The API resources the user's roles give permissions of, each with those permission names
   * (`GET /api/auth/me/authorized-resources`; Authing `listAuthorizedResources`): what an access token for
   * the resource (OIDC `resource` + `scope`) may carry.
   * @param namespace an API resource's indicator: only that resource
   * @throws TesseraError `auth.unauthorized` (401), `request.invalid` (400)
   * @example
   * ```ts
   * const { list } = await auth.listAuthorizedResources('https://api.example.com');
   * const canExport = list[0]?.scopes.includes('export:reports') ?? false;
   * ```
   */
  listAuthorizedResources(namespace?: string): Promise<{ totalCount: number; list: AuthorizedResource[] }> {
    return this.#asUser('GET', `/api/auth/me/authorized-resources${namespace ? `?namespace=${encodeURIComponent(namespace)}` : ''}`);
  }

  // ---------------------------------------------------------------------------------------------
  // Account changes

  /**
   * Changes profile fields of the signed-in user (`PATCH /api/auth/me`). `email`, `phone`, `password`
   * (and the `*Verified` flags) are refused locally with `request.invalid` before any request: use
   * updateEmail, updatePhone, updatePassword. Profile claims and `customData` are shallow-merged into
   * the stored ones.
   * @param updates {@link UpdateProfileInput}
   * @throws TesseraError `request.invalid` (400), `user.username_taken` (409), `custom_field.invalid_value` (400,
   *   a customData key of a defined custom field with a wrong type), `auth.unauthorized` (401)
   * @example
   * ```ts
   * const user = await auth.updateProfile({ nickname: 'Ada', photo: 'https://example.com/ada.png' });
   * ```
   */
  async updateProfile(updates: UpdateProfileInput): Promise<User> {
    const fields = fromProfile(updates, 'updates', ['username', 'customData']);
    return toUser(await this.#asUser<TesseraUser>('PATCH', '/api/auth/me', fields));
  }

  /**
   * Sets a new password (`POST /api/auth/me/password`). `oldPassword` is required when the user has a
   * password. A user without one (code or social sign-up) sets a first password without it, but only
   * through a recent sign-in: a session issued within the last 10 minutes, else
   * `auth.reauthentication_required` (401) — sign the user in again and retry. The user's other sessions
   * end; this client keeps the new session the server issues.
   * @throws TesseraError `auth.invalid_credentials` (401, wrong old password), `request.invalid` (400, old
   *   password missing), `auth.reauthentication_required` (401, first password through an older session),
   *   `password.rejected` (422), `auth.unauthorized` (401, not signed in), `auth.too_many_failures` (429:
   *   wrong old passwords count towards the account lockout, as failed sign-ins do; Retry-After)
   * @example
   * ```ts
   * await auth.updatePassword('a brand new passphrase', 'correct horse battery');
   * ```
   */
  async updatePassword(newPassword: string, oldPassword?: string): Promise<User> {
    const body: Record<string, unknown> = { newPassword };
    if (oldPassword !== undefined && oldPassword !== null) body.oldPassword = oldPassword;
    return this.#signedIn(await this.#asUser<SignedIn>('POST', '/api/auth/me/password', body));
  }

  /**
   * Binds a phone number for the first time (`POST /api/auth/me/phone`) with a code sent by
   * `sendSmsCode(phone, undefined, 'bind')`.
   * Needs a recent sign-in: the session must have been issued within the last 10 minutes, else
   * `auth.reauthentication_required` (401) — sign the user in again (a login* method; `refreshToken` does not
   * count) and retry. The code stays usable after that refusal.
   * @throws TesseraError `verification.*` (code errors), `user.phone_taken` (409), `user.invalid_phone` (400),
   *   `auth.reauthentication_required` (401), `request.invalid` (400, a phone is already bound: use updatePhone)
   * @example
   * ```ts
   * await auth.sendSmsCode('+14155550100', undefined, 'bind');
   * const user = await auth.bindPhone('+14155550100', '123456');
   * ```
   */
  async bindPhone(phone: string, phoneCode: string, phoneCountryCode?: string): Promise<User> {
    return toUser(await this.#asUser<TesseraUser>('POST', '/api/auth/me/phone', { phone: withCountryCode(phone, phoneCountryCode), code: phoneCode }));
  }

  /**
   * Removes the phone number (`DELETE /api/auth/me/phone`); refused when it is the last way to sign in.
   * Needs a recent sign-in: the session must have been issued within the last 10 minutes, else
   * `auth.reauthentication_required` (401) — sign the user in again (a login* method; `refreshToken` does not
   * count) and retry.
   * @throws TesseraError `user.last_sign_in_method_required` (400), `auth.reauthentication_required` (401),
   *   `auth.unauthorized` (401)
   * @example
   * ```ts
   * const user = await auth.unbindPhone();
   * ```
   */
  async unbindPhone(): Promise<User> {
    return toUser(await this.#asUser<TesseraUser>('DELETE', '/api/auth/me/phone'));
  }

  /**
   * Replaces the phone number (`POST /api/auth/me/phone`). With `oldPhone` + `oldPhoneCode` (a code sent
   * by `sendSmsCode(oldPhone, undefined, 'unbind')` to the current number), the current number is
   * proven too (Authing's "verify old phone" option; sent as `verifyOld: true`). The server checks
   * `oldPhoneCode` against the user's current number; `oldPhone` itself is not sent. By default
   * (server setting `TESSERA_REQUIRE_OLD_IDENTIFIER_PROOF=true`) the old-number proof is required; where
   * the operator turned it off, a change without it needs a recent sign-in (session issued within the
   * last 10 minutes, else `auth.reauthentication_required`).
   * @throws TesseraError `verification.*` (code errors, also for a wrong or missing old code), `user.phone_taken` (409),
   *   `request.invalid` (oldPhone without oldPhoneCode, or no old-number proof while the server requires it),
   *   `auth.reauthentication_required` (401)
   * @example
   * ```ts
   * await auth.updatePhone('+14155550199', '123456', '+14155550100', '654321');
   * ```
   */
  async updatePhone(
    phone: string,
    phoneCode: string,
    oldPhone?: string,
    oldPhoneCode?: string,
    phoneCountryCode?: string,
    oldPhoneCountryCode?: string,
  ): Promise<User> {
    const body: Record<string, unknown> = { phone: withCountryCode(phone, phoneCountryCode), code: phoneCode };
    if (oldPhone !== undefined || oldPhoneCode !== undefined) {
      if (!oldPhoneCode) throw invalidArgument('oldPhoneCode', 'oldPhoneCode is required with oldPhone');
      void oldPhoneCountryCode; // the server checks the code against the user's current number
      Object.assign(body, { verifyOld: true, oldPhoneCode });
    }
    return toUser(await this.#asUser<TesseraUser>('POST', '/api/auth/me/phone', body));
  }

  /**
   * Binds an e-mail address for the first time (`POST /api/auth/me/email`) with a code sent by
   * `sendEmail(email, EmailScene.EMAIL_BIND_VERIFY_CODE)`. The address is stored as verified.
   * Needs a recent sign-in: the session must have been issued within the last 10 minutes, else
   * `auth.reauthentication_required` (401) — sign the user in again (a login* method; `refreshToken` does not
   * count) and retry. The code stays usable after that refusal.
   * @throws TesseraError `verification.*`, `user.email_taken` (409), `user.invalid_email` (400),
   *   `auth.reauthentication_required` (401), `request.invalid` (400, an address is already bound: use updateEmail)
   * @example
   * ```ts
   * await auth.sendEmail('ada@example.com', EmailScene.EMAIL_BIND_VERIFY_CODE);
   * const user = await auth.bindEmail('ada@example.com', '123456');
   * ```
   */
  async bindEmail(email: string, emailCode: string): Promise<User> {
    return toUser(await this.#asUser<TesseraUser>('POST', '/api/auth/me/email', { email, code: emailCode }));
  }

  /**
   * Removes the e-mail address (`DELETE /api/auth/me/email`); refused when it is the last way to sign in.
   * Needs a recent sign-in: the session must have been issued within the last 10 minutes, else
   * `auth.reauthentication_required` (401) — sign the user in again (a login* method; `refreshToken` does not
   * count) and retry.
   * @throws TesseraError `user.last_sign_in_method_required` (400), `auth.reauthentication_required` (401),
   *   `auth.unauthorized` (401)
   * @example
   * ```ts
   * const user = await auth.unbindEmail();
   * ```
   */
  async unbindEmail(): Promise<User> {
    return toUser(await this.#asUser<TesseraUser>('DELETE', '/api/auth/me/email'));
  }

  /**
   * Replaces the e-mail address (`POST /api/auth/me/email`). With `oldEmail` + `oldEmailCode` (a code
   * sent by `sendEmail(oldEmail, EmailScene.EMAIL_UNBIND_VERIFY_CODE)` to the current address) the
   * current address is proven too (Authing's "verify old e-mail" option; sent as `verifyOld: true`).
   * The server checks `oldEmailCode` against the user's current address; `oldEmail` itself is not sent.
   * By default (server setting `TESSERA_REQUIRE_OLD_IDENTIFIER_PROOF=true`) the old-address proof is
   * required; where the operator turned it off, a change without it needs a recent sign-in (session
   * issued within the last 10 minutes, else `auth.reauthentication_required`).
   * @throws TesseraError `verification.*`, `user.email_taken` (409), `request.invalid` (oldEmail without oldEmailCode,
   *   or no old-address proof while the server requires it), `auth.reauthentication_required` (401)
   * @example
   * ```ts
   * await auth.updateEmail('new@example.com', '123456', 'ada@example.com', '654321');
   * ```
   */
  async updateEmail(email: string, emailCode: string, oldEmail?: string, oldEmailCode?: string): Promise<User> {
    const body: Record<string, unknown> = { email, code: emailCode };
    if (oldEmail !== undefined || oldEmailCode !== undefined) {
      if (!oldEmailCode) throw invalidArgument('oldEmailCode', 'oldEmailCode is required with oldEmail');
      Object.assign(body, { verifyOld: true, oldEmailCode });
    }
    return toUser(await this.#asUser<TesseraUser>('POST', '/api/auth/me/email', body));
  }

  /**
   * Resets a forgotten password with an SMS code from `sendSmsCode(phone, undefined, 'reset')`
   * (`POST /api/auth/password/reset`). Every session of the user ends.
   * @throws TesseraError `verification.*`, `user.not_found` (404), `password.rejected` (422)
   * @example
   * ```ts
   * await auth.resetPasswordByPhoneCode('+14155550100', '123456', 'a brand new passphrase');
   * ```
   */
  async resetPasswordByPhoneCode(phone: string, code: string, newPassword: string, phoneCountryCode?: string): Promise<void> {
    await this.#call<void>({ method: 'POST', path: '/api/auth/password/reset', json: { phone: withCountryCode(phone, phoneCountryCode), code, newPassword } });
  }

  /**
   * Resets a forgotten password with an e-mail code from `sendEmail(email, EmailScene.ResetPassword)`
   * (`POST /api/auth/password/reset`). Every session of the user ends.
   * @throws TesseraError `verification.*`, `user.not_found` (404), `password.rejected` (422)
   * @example
   * ```ts
   * await auth.resetPasswordByEmailCode('ada@example.com', '123456', 'a brand new passphrase');
   * ```
   */
  async resetPasswordByEmailCode(email: string, code: string, newPassword: string): Promise<void> {
    await this.#call<void>({ method: 'POST', path: '/api/auth/password/reset', json: { email, code, newPassword } });
  }

  /**
   * Sets the first password of a user flagged "reset on first login", with the `resetToken` of the
   * `auth.password_reset_required` error (`POST /api/auth/password/reset-with-token`); signs in. For a user
   * with an MFA factor the password sign-in first answers `auth.mfa_required`; the reset token comes with
   * the `auth.password_reset_required` answer of the MFA step (`POST /api/auth/sign-in/mfa`), and this call
   * then answers `auth.mfa_required` again (the password is changed; the new sign-in needs the second factor).
   * @param params `token` = `error.data.resetToken`, `password` = the new password
   * @throws TesseraError `auth.reset_token_invalid` (400), `password.rejected` (422), `auth.mfa_required` (403,
   *   user with an MFA factor: password changed, complete the sign-in with the second factor)
   * @example
   * ```ts
   * try { await auth.loginByEmail(email, initialPassword); }
   * catch (e) {
   *   if (e instanceof TesseraError && e.code === 'auth.password_reset_required')
   *     await auth.resetPasswordByFirstLoginToken({ token: (e.data as { resetToken: string }).resetToken, password: 'my own passphrase' });
   * }
   * ```
   */
  async resetPasswordByFirstLoginToken(params: { token: string; password: string }): Promise<User> {
    return this.#signedIn(
      await this.#call<SignedIn>({ method: 'POST', path: '/api/auth/password/reset-with-token', json: { resetToken: params.token, newPassword: params.password } }),
    );
  }

  /**
   * Changes the password of a user an admin flagged for a forced reset, with the `resetToken` of the
   * `auth.password_reset_required` error and the old password (`POST /api/auth/password/reset-with-token`); signs in.
   * A user with an MFA factor gets the token only from the MFA step, and this call then answers
   * `auth.mfa_required` (see {@link resetPasswordByFirstLoginToken}).
   * @throws TesseraError `auth.reset_token_invalid` (400), `auth.invalid_credentials` (401, wrong old password),
   *   `password.rejected` (422), `user.same_password` (422), `auth.mfa_required` (403, user with an MFA factor)
   * @example
   * ```ts
   * await auth.resetPasswordByForceResetToken({ token: resetToken, oldPassword: 'old one', newPassword: 'new passphrase' });
   * ```
   */
  async resetPasswordByForceResetToken(params: { token: string; oldPassword: string; newPassword: string }): Promise<User> {
    return this.#signedIn(
      await this.#call<SignedIn>({
        method: 'POST',
        path: '/api/auth/password/reset-with-token',
        json: { resetToken: params.token, oldPassword: params.oldPassword, newPassword: params.newPassword },
      }),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Custom fields (Authing UDF)

  /**
   * The signed-in user's custom-field values as `{key: value}` (`GET /api/auth/me/custom-fields`).
   * DATETIME values are ISO 8601 strings; fields without a value are left out.
   * @throws TesseraError `auth.unauthorized` (401)
   * @example
   * ```ts
   * const { school, age } = await auth.getUdfValue();
   * ```
   */
  async getUdfValue(): Promise<Record<string, unknown>> {
    const list = await this.#asUser<CustomFieldValue[]>('GET', '/api/auth/me/custom-fields');
    const out: Record<string, unknown> = {};
    for (const f of list) if (f.value !== null && f.value !== undefined) out[f.key] = f.value;
    return out;
  }

  /**
   * Sets several custom-field values (`PUT /api/auth/me/custom-fields`); the fields must be defined by
   * an admin and each value must match its type.
   * @param data `{key: value}`; an empty object is refused locally (as Authing does)
   * @returns every field of the user with its value
   * @throws TesseraError `custom_field.not_found` (400), `custom_field.invalid_value` (400), `request.invalid`
   * @example
   * ```ts
   * await auth.setUdfValue({ school: 'MIT', age: 20 });
   * ```
   */
  async setUdfValue(data: Record<string, unknown>): Promise<UserDefinedData[]> {
    if (!data || Object.keys(data).length === 0) throw invalidArgument('data', 'empty udf value list');
    return (await this.#asUser<CustomFieldValue[]>('PUT', '/api/auth/me/custom-fields', { values: data })).map(toUdv);
  }

  /**
   * Removes the value of one custom field (`DELETE /api/auth/me/custom-fields/:key`).
   * @throws TesseraError `custom_field.not_found` (400)
   * @example
   * ```ts
   * await auth.removeUdfValue('school');
   * ```
   */
  async removeUdfValue(key: string): Promise<void> {
    await this.#asUser<void>('DELETE', `/api/auth/me/custom-fields/${encodeURIComponent(key)}`);
  }

  /**
   * Sets one custom-field value (Authing's legacy `setUdv`; `PUT /api/auth/me/custom-fields`).
   * @returns every field of the user with its value
   * @throws TesseraError `custom_field.not_found` (400), `custom_field.invalid_value` (400)
   * @example
   * ```ts
   * const list = await auth.setUdv('age', 21);
   * ```
   */
  setUdv(key: string, value: unknown): Promise<UserDefinedData[]> {
    return this.setUdfValue({ [key]: value });
  }

  /**
   * Removes one custom-field value (Authing's legacy `removeUdv`) and returns the remaining fields
   * (`DELETE /api/auth/me/custom-fields/:key`, then `GET /api/auth/me/custom-fields`).
   * @throws TesseraError `custom_field.not_found` (400)
   * @example
   * ```ts
   * const list = await auth.removeUdv('age');
   * ```
   */
  async removeUdv(key: string): Promise<UserDefinedData[]> {
    await this.removeUdfValue(key);
    return (await this.#asUser<CustomFieldValue[]>('GET', '/api/auth/me/custom-fields')).map(toUdv);
  }

  // ---------------------------------------------------------------------------------------------
  // Other

  /**
   * Whether a user with this username, email or phone exists (`POST /api/auth/user-exists`; pass
   * exactly one). The server offers this only when its operator enabled it (it reveals accounts).
   * @throws TesseraError `auth.user_exists_check_disabled` (403), `auth.identifier_required` (400), `request.rate_limited` (429)
   * @example
   * ```ts
   * if (await auth.isUserExists({ email: 'ada@example.com' })) showLogin();
   * ```
   */
  async isUserExists(options: { username?: string; email?: string; phone?: string }): Promise<boolean> {
    return (await this.#call<{ exists: boolean }>({ method: 'POST', path: '/api/auth/user-exists', json: options })).exists;
  }

  /**
   * Moves the third-party identities of a secondary account to a primary one and deletes the
   * secondary (`POST /api/auth/link-account`); both tokens must be live sessions, and the primary one must
   * come from a recent sign-in (issued within the last 10 minutes, else `auth.reauthentication_required`:
   * sign the primary user in again — `refreshToken` does not count — and retry).
   * @throws TesseraError `account.link_conflict` (409, the secondary has its own password, email or phone),
   *   `auth.unauthorized` (401, a token is not a live session), `auth.reauthentication_required` (401, older
   *   primary session), `request.invalid` (both tokens are the same account)
   * @example
   * ```ts
   * await auth.linkAccount({ primaryUserToken: primary.token!, secondaryUserToken: secondary.token! });
   * ```
   */
  async linkAccount(options: { primaryUserToken: string; secondaryUserToken: string }): Promise<User> {
    const { user } = await this.#call<{ user: TesseraUser }>({ method: 'POST', path: '/api/auth/link-account', json: options });
    return toUser(user);
  }
}
