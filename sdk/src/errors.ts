import type { ErrorCode } from './codes.js';

/**
 * Codes the SDK raises itself, when no answer of the server can be read:
 * - `client.network_error` — the request did not complete (DNS, refused connection, CORS, abort); `status` 0;
 * - `client.invalid_response` — the server answered something that is not Tessera's JSON (a proxy page,
 *   an empty body where JSON was expected); `status` is the HTTP status;
 * - `client.token_request_failed` — the OAuth token endpoint refused the M2M credentials
 *   (`data` = RFC 6749 `{error, error_description}`); `status` is the HTTP status.
 */
export type ClientErrorCode = 'client.network_error' | 'client.invalid_response' | 'client.token_request_failed';

/** Every code a {@link TesseraError} can carry: the server's stable codes plus the SDK's own. */
export type TesseraErrorCode = ErrorCode | ClientErrorCode;

/**
 * The one error type the SDK throws. `code` is the server's stable code (from its error table,
 * `src/errors/codes.ts`) or one of the {@link ClientErrorCode}s; `status` is the HTTP status (0 when no
 * answer arrived); `data` is the server's `data` member (for example `issues` on `request.invalid`,
 * `remainingAttempts` on `verification.code_mismatch`, `resetToken` on `auth.password_reset_required`).
 * Errors raised locally before any request (invalid arguments) use the code the server would have
 * answered (`request.invalid`, status 400).
 *
 * @example
 * ```ts
 * try {
 *   await auth.loginByEmail('ada@example.com', 'wrong password');
 * } catch (error) {
 *   if (error instanceof TesseraError && error.code === 'auth.invalid_credentials') showWrongPassword();
 *   else throw error;
 * }
 * ```
 */
export class TesseraError extends Error {
  override readonly name = 'TesseraError';
  /** The stable code to `switch` on. */
  readonly code: TesseraErrorCode;
  /** HTTP status of the answer; 0 when the request never completed. */
  readonly status: number;
  /** Extra details from the server's error body (`data`), if any. */
  readonly data: unknown;

  /**
   * @param code the stable code
   * @param status the HTTP status (0 = no answer)
   * @param message a human-readable message (the server's, in English or the requested locale)
   * @param data the server's `data` member
   * @example
   * ```ts
   * throw new TesseraError('request.invalid', 400, 'phone cannot be changed with updateProfile');
   * ```
   */
  constructor(code: TesseraErrorCode, status: number, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.status = status;
    this.data = data;
  }
}

/** A 400 `request.invalid` raised before sending anything, in the server's `data.issues` shape. */
export function invalidArgument(path: string, message: string): TesseraError {
  return new TesseraError('request.invalid', 400, message, { issues: [{ path, code: 'custom', message }] });
}

/** The `data` of `auth.mfa_required`: the pending sign-in to finish (Authing's MFA token) and the user's factors. */
export interface MfaRequiredData {
  pendingSignInId: string;
  factors: Array<'totp' | 'backup_code' | 'webauthn'>;
}

/**
 * True when `error` is the server's `auth.mfa_required` — the password was right and a second factor is
 * due — narrowing `data` to {@link MfaRequiredData} (finish with `auth.mfa.verifyTotpMfa` or
 * `auth.mfa.verifyTotpRecoveryCode`, `mfaToken: error.data.pendingSignInId`).
 * @example
 * ```ts
 * try { await auth.loginByUsername(name, password); }
 * catch (e) { if (isMfaRequired(e)) askForCode(e.data.pendingSignInId, e.data.factors); else throw e; }
 * ```
 */
export function isMfaRequired(error: unknown): error is TesseraError & { code: 'auth.mfa_required'; data: MfaRequiredData } {
  if (!(error instanceof TesseraError) || error.code !== 'auth.mfa_required') return false;
  const data = error.data as Partial<MfaRequiredData> | undefined;
  return typeof data?.pendingSignInId === 'string' && Array.isArray(data.factors);
}
