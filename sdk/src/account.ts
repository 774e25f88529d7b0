import { invalidArgument } from './errors.js';
import { DEFAULT_TIMEOUT_MS, type FetchLike, type HttpRequest, send } from './http.js';
import { fromAccountDialect } from './logto-dialect.js';

/** The account with its phone in E.164 (the Account API writes it digits only, as Logto). */
function withE164(profile: AccountProfile): AccountProfile {
  const phone = profile.primaryPhone;
  return typeof phone === 'string' && /^\d+$/.test(phone) ? { ...profile, primaryPhone: `+${phone}` } : profile;
}

/** Options of {@link AccountClient}. */
export interface AccountClientOptions {
  /** The Tessera server's origin, e.g. `https://id.example.com` (the Account API is under `/api`). */
  endpoint: string;
  /**
   * The signed-in user's bearer token: an access token from `/oidc` (what Logto's `client.getAccessToken()`
   * gives a first-party app) or a first-party session token from `/api/auth`. A function is called before
   * every request, so a refreshing OIDC client can hand over its current token.
   */
  accessToken: string | (() => string | Promise<string>);
  /** The `fetch` to use; default: the global `fetch`. */
  fetch?: FetchLike;
  /** Time limit of each request, **milliseconds** (default 30 000). */
  timeout?: number;
}

/** The caller's account as the Account API answers it (fields the account center lets the user read; phones E.164). */
export interface AccountProfile {
  id: string;
  username?: string | null;
  primaryEmail?: string | null;
  primaryPhone?: string | null;
  name?: string | null;
  avatar?: string | null;
  profile?: Record<string, unknown>;
  customData?: Record<string, unknown>;
  hasPassword?: boolean;
  /** Social identities by target, with the `identities` scope. */
  identities?: Record<string, { userId: string; details: Record<string, unknown> }>;
  [key: string]: unknown;
}

/** A verification record of the Verification API: its id and when it expires (ISO 8601). */
export interface VerificationRecord {
  verificationRecordId: string;
  expiresAt: string;
}

/** A phone or email to verify. */
export interface Identifier {
  type: 'email' | 'phone';
  value: string;
}

/** A provider access token kept for one of the user's social identities (RFC 6749 §5.1 names). */
export interface ProviderAccessToken {
  access_token: string;
  token_type?: string;
  scope?: string;
  /** Seconds left. */
  expires_in?: number;
}

/**
 * The end user's own account over Tessera's Account and Verification APIs (Logto's `/api/my-account…` and
 * `/api/verifications…`, seed 000). Sensitive changes take an identity proof: a verification record from
 * {@link verifyPassword} (or a verified code), passed as `verificationId` and sent as the
 * `logto-verification-id` header. The account center must be enabled and let the user edit the field.
 * Errors are `TesseraError`s with Tessera's codes (the API's Logto codes are read back), e.g.
 * `auth.invalid_credentials`, `verification.code_mismatch`, `account_center.field_not_editable`,
 * `verification_record.permission_denied`.
 * @example
 * ```ts
 * const account = new AccountClient({ endpoint: 'https://id.example.com', accessToken: () => logto.getAccessToken() });
 * const me = await account.getProfile();
 * const { verificationRecordId } = await account.verifyPassword(currentPassword);
 * await account.updatePassword('a-new-long-passphrase', { verificationId: verificationRecordId });
 * ```
 */
export class AccountClient {
  readonly #base: string;
  readonly #fetch: FetchLike;
  readonly #timeout: number;
  readonly #token: () => string | Promise<string>;

  /**
   * @param options see {@link AccountClientOptions}
   * @throws TesseraError `request.invalid` (endpoint is not an http(s) URL, no token, or no `fetch`)
   */
  constructor(options: AccountClientOptions) {
    if (!options || typeof options.endpoint !== 'string' || !/^https?:\/\//i.test(options.endpoint)) throw invalidArgument('endpoint', 'endpoint must be an http(s) URL');
    if (!options.accessToken) throw invalidArgument('accessToken', 'accessToken is required');
    if (!options.fetch && typeof globalThis.fetch !== 'function') throw invalidArgument('fetch', 'No fetch implementation: pass options.fetch');
    this.#base = options.endpoint.replace(/\/+$/, '');
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    const token = options.accessToken;
    this.#token = typeof token === 'function' ? token : () => token;
  }

  async #call<T>(req: Omit<HttpRequest, 'bearer'>, verificationId?: string): Promise<T> {
    const headers = { ...req.headers, ...(verificationId ? { 'logto-verification-id': verificationId } : {}) };
    try {
      return (await send<T>(this.#fetch, this.#base, { ...req, headers, bearer: await this.#token() }, this.#timeout)).body;
    } catch (error) {
      throw fromAccountDialect(error, req.path);
    }
  }

  /** The caller's account (`GET /api/my-account`). @throws TesseraError `auth.unauthorized` (401) */
  async getProfile(): Promise<AccountProfile> {
    return withE164(await this.#call<AccountProfile>({ method: 'GET', path: '/api/my-account' }));
  }

  /**
   * Changes `name`, `avatar` or `username` (`PATCH /api/my-account`; `null` clears).
   * @throws TesseraError `account_center.field_not_editable` (400), `user.username_taken` (422 on the wire),
   *   `request.empty_update` (nothing given)
   */
  async updateProfile(changes: { name?: string | null; avatar?: string | null; username?: string | null }): Promise<AccountProfile> {
    return withE164(await this.#call<AccountProfile>({ method: 'PATCH', path: '/api/my-account', json: changes }));
  }

  /** Changes OIDC profile claims (`PATCH /api/my-account/profile`: givenName, familyName, website, address…). */
  async updateProfileClaims(profile: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.#call<Record<string, unknown>>({ method: 'PATCH', path: '/api/my-account/profile', json: profile });
  }

  /**
   * Proves the caller's identity with their password (`POST /api/verifications/password`): the record is the
   * `verificationId` of the sensitive calls below. Wrong passwords count towards the account lockout.
   * @throws TesseraError `auth.invalid_credentials` (422 on the wire), `auth.too_many_failures` (429)
   */
  verifyPassword(password: string): Promise<VerificationRecord> {
    return this.#call<VerificationRecord>({ method: 'POST', path: '/api/verifications/password', json: { password } });
  }

  /**
   * Sends a one-time code to an email or phone (`POST /api/verifications/verification-code`): to prove a new
   * identifier before binding it, or the current one as an identity proof.
   * @throws TesseraError `verification.resend_too_soon` (429), `user.invalid_email` / `user.invalid_phone` (400)
   */
  sendVerificationCode(identifier: Identifier): Promise<VerificationRecord> {
    return this.#call<VerificationRecord>({ method: 'POST', path: '/api/verifications/verification-code', json: { identifier } });
  }

  /**
   * Checks the code of {@link sendVerificationCode} (`POST /api/verifications/verification-code/verify`); each
   * code verifies once.
   * @throws TesseraError `verification.code_mismatch` (400, `data.remainingAttempts`), `verification.code_expired`,
   *   `verification.too_many_attempts`, `verification.already_used`
   */
  verifyVerificationCode(params: { verificationRecordId: string; identifier: Identifier; code: string }): Promise<{ verificationRecordId: string }> {
    return this.#call({
      method: 'POST',
      path: '/api/verifications/verification-code/verify',
      json: { identifier: params.identifier, verificationId: params.verificationRecordId, code: params.code },
    });
  }

  /**
   * Sets a new password (`POST /api/my-account/password`); every other session of the user ends.
   * @param proof `verificationId`: a record of {@link verifyPassword} or a verified code
   * @throws TesseraError `verification_record.permission_denied` (401: no or a used proof), `password.rejected` (400),
   *   `account_center.field_not_editable` (400)
   */
  async updatePassword(password: string, proof: { verificationId: string }): Promise<void> {
    await this.#call({ method: 'POST', path: '/api/my-account/password', json: { password } }, proof.verificationId);
  }

  /**
   * Binds a new primary email proven by a verified code record (`POST /api/my-account/primary-email`).
   * @param params `email`; `newIdentifierVerificationRecordId`: the verified record of a code sent to it
   * @param proof `verificationId`: the identity proof
   * @throws TesseraError `user.email_taken`, `verification_record.permission_denied`, `verification_record.not_found`
   */
  async updatePrimaryEmail(params: { email: string; newIdentifierVerificationRecordId: string }, proof: { verificationId: string }): Promise<void> {
    await this.#call({ method: 'POST', path: '/api/my-account/primary-email', json: params }, proof.verificationId);
  }

  /** Removes the primary email (`DELETE /api/my-account/primary-email`). @throws TesseraError `user.last_sign_in_method_required` */
  async removePrimaryEmail(proof: { verificationId: string }): Promise<void> {
    await this.#call({ method: 'DELETE', path: '/api/my-account/primary-email' }, proof.verificationId);
  }

  /** Binds a new primary phone (E.164) proven by a verified code record (`POST /api/my-account/primary-phone`). */
  async updatePrimaryPhone(params: { phone: string; newIdentifierVerificationRecordId: string }, proof: { verificationId: string }): Promise<void> {
    await this.#call({ method: 'POST', path: '/api/my-account/primary-phone', json: params }, proof.verificationId);
  }

  /** Removes the primary phone (`DELETE /api/my-account/primary-phone`). */
  async removePrimaryPhone(proof: { verificationId: string }): Promise<void> {
    await this.#call({ method: 'DELETE', path: '/api/my-account/primary-phone' }, proof.verificationId);
  }

  /**
   * The provider access token kept for the caller's social identity of `target`
   * (`GET /api/my-account/identities/:target/access-token`; connectors with token storage on).
   * @throws TesseraError `identity.token_not_found` (404), `identity.token_expired` (401)
   */
  getProviderAccessToken(target: string): Promise<ProviderAccessToken> {
    return this.#call<ProviderAccessToken>({ method: 'GET', path: `/api/my-account/identities/${encodeURIComponent(target)}/access-token` });
  }
}
