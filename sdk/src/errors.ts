import type { ErrorCode, ErrorDataMap } from './codes.js';

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

/** The `data` of the SDK's own codes. */
export interface ClientErrorDataMap {
  /** RFC 6749 §5.2's error fields of the token endpoint's refusal, when it sent JSON. */
  'client.token_request_failed': { error?: string; error_description?: string } | undefined;
  /** The answer's JSON when it had no Tessera error code; absent when it was not JSON. */
  'client.invalid_response': unknown;
  'client.network_error': undefined;
}

/**
 * The `data` an error with code `C` carries: the server's {@link ErrorDataMap} (generated from its one
 * code table, which the server's compiler holds every thrown error to) or {@link ClientErrorDataMap};
 * `undefined` for a code that carries none.
 */
export type TesseraErrorData<C extends TesseraErrorCode> = C extends keyof ErrorDataMap
  ? ErrorDataMap[C]
  : C extends keyof ClientErrorDataMap
    ? ClientErrorDataMap[C]
    : undefined;

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
export class TesseraError<C extends TesseraErrorCode = TesseraErrorCode> extends Error {
  override readonly name = 'TesseraError';
  /** The stable code to `switch` on. */
  readonly code: C;
  /** HTTP status of the answer; 0 when the request never completed. */
  readonly status: number;
  /** Extra details from the server's error body (`data`), of the shape {@link TesseraErrorData} gives for `code`. */
  readonly data: TesseraErrorData<C>;

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
  constructor(code: C, status: number, message: string, data?: TesseraErrorData<NoInfer<C>>) {
    super(message);
    this.code = code;
    this.status = status;
    this.data = data as TesseraErrorData<C>;
  }
}

/**
 * A {@link TesseraError} typed as the union of one member per code, so that `switch (error.code)` (or
 * `if (error.code === …)`) narrows `error.data` to that code's shape.
 */
export type AnyTesseraError = { [C in TesseraErrorCode]: TesseraError<C> }[TesseraErrorCode];

/**
 * True when `error` is a {@link TesseraError} — with `code`, when given — narrowing it so that `data` has
 * the shape of its code ({@link TesseraErrorData}): with a `code`, directly; without, through a `switch`
 * on `error.code` ({@link AnyTesseraError}).
 * @example
 * ```ts
 * try { await account.verifyCode(id, code); }
 * catch (e) {
 *   if (isTesseraError(e, 'verification.code_mismatch')) showTriesLeft(e.data.remainingAttempts);
 *   else if (isTesseraError(e)) switch (e.code) {
 *     case 'password.rejected': showPolicy(e.data.issues.map((i) => i.code)); break;
 *     case 'request.invalid': markFields(e.data.issues.map((i) => i.path)); break;
 *     default: throw e;
 *   } else throw e;
 * }
 * ```
 */
export function isTesseraError(error: unknown): error is AnyTesseraError;
export function isTesseraError<C extends TesseraErrorCode>(error: unknown, code: C): error is TesseraError<C>;
export function isTesseraError(error: unknown, code?: TesseraErrorCode): boolean {
  return error instanceof TesseraError && (code === undefined || error.code === code);
}

/** A 400 `request.invalid` raised before sending anything, in the server's `data.issues` shape. */
export function invalidArgument(path: string, message: string): TesseraError {
  return new TesseraError('request.invalid', 400, message, { issues: [{ path, code: 'custom', message }] });
}

/** The `data` of `auth.mfa_required`: the pending sign-in to finish (Authing's MFA token) and the user's factors. */
export type MfaRequiredData = ErrorDataMap['auth.mfa_required'];

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
export function isMfaRequired(error: unknown): error is TesseraError<'auth.mfa_required'> {
  if (!(error instanceof TesseraError) || error.code !== 'auth.mfa_required') return false;
  const data = error.data as Partial<MfaRequiredData> | undefined;
  return typeof data?.pendingSignInId === 'string' && Array.isArray(data.factors);
}
