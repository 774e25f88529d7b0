import type { FastifyReply } from 'fastify';
import { ERROR_CODES, type ErrorCode } from '../../errors/index.js';
import type { AppError } from '../../errors/index.js';

/** LeanCloud's error body (shared/specs/leancloud.md §1.4). */
export interface LcErrorBody {
  code: number;
  error: string;
}

/** A LeanCloud number, its documented message, and the HTTP status (default 400, as LeanCloud). */
type Mapping = [code: number, message: string, status?: number];

const INVALID_SMS: Mapping = [603, 'Invalid SMS code.'];

/** Tessera error code → LeanCloud error (the messages are LeanCloud's documented English ones). */
const LC_ERRORS: Partial<Record<ErrorCode, Mapping>> = {
  'request.invalid': [107, 'Malformed json object. A json dictionary is expected.'],
  'request.malformed_json': [107, 'Malformed json object. A json dictionary is expected.'],
  'request.unsupported_media_type': [107, 'Malformed json object. A json dictionary is expected.'],
  'request.body_too_large': [1, 'Request entity too large.', 413],
  'request.not_found': [101, "Class or object doesn't exists.", 404],
  'request.rate_limited': [429, 'Too many requests.', 429],
  'internal.error': [1, 'Internal server error. No information available.', 500],
  'internal.unavailable': [1, 'Internal server error. No information available.', 503],
  'auth.unauthorized': [211, 'Could not find user.'],
  'auth.invalid_credentials': [210, 'The username and password mismatch.'],
  'auth.too_many_failures': [219, '登录失败次数超过限制，请稍候再试，或者通过忘记密码重设密码。'],
  // Too many failed sign-ins from this address (any surface): /1.1 cannot show a captcha, so it answers
  // LeanCloud's "too many failed logins" until the window ends or the user signs in where one is shown.
  'auth.captcha_required': [219, '登录失败次数超过限制，请稍候再试，或者通过忘记密码重设密码。'],
  'auth.user_suspended': [1, 'This account is suspended.', 403],
  'auth.identifier_required': [200, 'Username is missing or empty'],
  'auth.email_not_verified': [216, "Email address isn't verified."],
  // LeanCloud has no second-factor step: a user with MFA (or without one under policy `required`)
  // cannot sign in through /1.1 and is told to use the native sign-in (issue 7 §4).
  'auth.mfa_required': [1, 'Multi-factor authentication is enabled for this account; sign in through /api/auth/sign-in.', 403],
  'auth.mfa_enrollment_required': [1, 'Multi-factor authentication must be set up; sign in through /api/auth/sign-in.', 403],
  'user.not_found': [211, 'Could not find user.'],
  'user.username_taken': [202, 'Username has already been taken.'],
  'user.email_taken': [203, 'Email has already been taken.'],
  'user.phone_taken': [214, 'Mobile phone number has already been taken.'],
  'user.invalid_username': [217, 'Invalid username, it must be a non-blank string.'],
  'user.invalid_email': [125, 'The email address was invalid.'],
  'user.invalid_phone': [127, 'The mobile phone number was invalid.'],
  'user.identifier_required': [200, 'Username is missing or empty'],
  'user.username_required': [200, 'Username is missing or empty'],
  'user.password_required': [201, 'Password is missing or empty.'],
  'user.phone_required': [212, 'The mobile phone number is missing, and must be specified.'],
  'user.email_required': [204, 'The email is missing, and must be specified.'],
  'user.session_required': [206, 'The user cannot be altered by a client without the session.', 403],
  'password.rejected': [218, 'Invalid password: it does not meet the password policy.'],
  // Tessera's rule on every surface (LeanCloud has no code for it): 218 "invalid password" with its reason.
  'user.same_password': [218, 'Invalid password: the new password is the same as the current one.'],
  'session.not_found': [211, 'Could not find user.'],
  'connector.delivery_failed': [1, 'The message could not be delivered; try again later.', 502],
  'verification.not_found': INVALID_SMS,
  'verification.code_mismatch': INVALID_SMS,
  'verification.code_expired': INVALID_SMS,
  'verification.too_many_attempts': INVALID_SMS,
  'verification.not_verified': INVALID_SMS,
  'verification.already_used': INVALID_SMS,
  'verification.purpose_mismatch': INVALID_SMS,
  'verification.resend_too_soon': [601, "Can't send SMS too frequently."],
  'identity.already_linked': [208, 'An existing account already linked to another user.'],
  'identity.not_found': [211, 'Could not find user.'],
  'identity.invalid': [250, 'Linked id missing from request'],
  // authData naming an identity a connector or the import verified (migration 0013): refused with
  // LeanCloud's "account already linked" code (spec §error codes: 208, the SDK's ACCOUNT_ALREADY_LINKED),
  // the closest documented meaning ("this authData is not yours to use"); 137 is the generic duplicate.
  'identity.verified_only': [208, 'This authData is linked through a verified sign-in and cannot be used here.'],
  'object.invalid_key': [105, 'Invalid key name.'],
  'object.invalid_type': [111, 'Invalid type.'],
  'object.invalid_query': [102, 'Invalid query.'],
  'object.invalid_acl': [123, 'Invalid ACL.'],
  'object.protected_field': [119, "That operation isn't allowed for clients.", 403],
  // The account center's field modes (while it is enabled) bind a user's own session here too.
  'account_center.field_not_editable': [119, "That operation isn't allowed for clients.", 403],
  'object.condition_failed': [305, 'No effect on updating/deleting a document.'],
  'object.forbidden': [403, 'Forbidden to read/write by class permissions.', 403],
};

/** Lookups that failed on a phone number (213) or an email (205) rather than a username (211). */
const NOT_FOUND_BY: Record<string, Mapping> = {
  phone: [213, 'A user with the specified mobile phone number was not found.'],
  email: [205, 'A user with the specified email was not found.'],
};

/** An error as the `/1.1` surface sends it. */
export interface LcError {
  status: number;
  body: LcErrorBody;
  retryAfterSeconds?: number;
}

/**
 * Maps an {@link AppError} to LeanCloud's `{code, error}` and HTTP status. A message set at the throw
 * site (more specific than the table's default) is kept; otherwise LeanCloud's documented text is used.
 * Codes without a LeanCloud counterpart become code 1 with their own status.
 */
export function toLcError(error: AppError): LcError {
  const identifier = (error.data as { identifier?: string } | undefined)?.identifier;
  const mapping = (error.code === 'user.not_found' && identifier ? NOT_FOUND_BY[identifier] : undefined) ?? LC_ERRORS[error.code];
  const custom = error.message !== ERROR_CODES[error.code].message ? error.message : undefined;
  let message = custom ?? mapping?.[1] ?? error.message;
  if (error.code === 'password.rejected' && !custom) {
    const issues = (error.data as { issues?: Array<{ code: string }> } | undefined)?.issues ?? [];
    if (issues.length) message = `Invalid password: ${issues.map((i) => i.code.replace('password_rejected.', '')).join(', ')}.`;
  }
  const status = mapping ? (mapping[2] ?? 400) : error.status;
  const out: LcError = { status, body: { code: mapping?.[0] ?? 1, error: message } };
  if (error.retryAfterSeconds !== undefined) out.retryAfterSeconds = error.retryAfterSeconds;
  return out;
}

/** Sends a LeanCloud error. */
export function sendLcError(reply: FastifyReply, error: LcError): FastifyReply {
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  return reply.status(error.status).type('application/json; charset=utf-8').send(error.body);
}

/** The answer to bad or missing app credentials. */
export const UNAUTHORIZED: LcError = { status: 401, body: { code: 401, error: 'Unauthorized.' } };
