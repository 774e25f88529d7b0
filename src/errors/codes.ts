/**
 * The one table of error codes. Every `AppError` code maps here to its HTTP status and default
 * (English) message; the status is never chosen where the error is thrown (DESIGN.md, "Errors").
 * Codes are stable API: SDK users `switch` on them. Add new codes here, never rename old ones.
 */
export const ERROR_CODES = {
  // request / transport
  'request.invalid': { status: 400, message: 'The request is invalid.' },
  'request.malformed_json': { status: 400, message: 'The request body is not valid JSON.' },
  'request.body_too_large': { status: 413, message: 'The request body is too large.' },
  'request.unsupported_media_type': { status: 415, message: 'The request content type is not supported.' },
  'request.not_found': { status: 404, message: 'No such route.' },
  'request.method_not_allowed': { status: 405, message: 'Method not allowed.' },
  'request.rate_limited': { status: 429, message: 'Too many requests; try again later.' },
  'internal.error': { status: 500, message: 'Internal server error.' },
  'internal.unavailable': { status: 503, message: 'The service is not available.' },

  // caller authentication (bearer credentials)
  'auth.unauthorized': { status: 401, message: 'A valid bearer token is required.' },
  'auth.invalid_credentials': { status: 401, message: 'The identifier or password is incorrect.' },
  'auth.too_many_failures': {
    status: 429,
    message: 'Too many failed sign-in attempts; the account is locked for a while.',
  },
  'auth.user_suspended': { status: 403, message: 'This account is suspended.' },
  'auth.identifier_required': {
    status: 400,
    message: 'Exactly one of username, email or phone is required.',
  },

  // users
  'user.not_found': { status: 404, message: 'User not found.' },
  'user.username_taken': { status: 409, message: 'This username is already in use.' },
  'user.email_taken': { status: 409, message: 'This email address is already in use.' },
  'user.phone_taken': { status: 409, message: 'This phone number is already in use.' },
  'user.invalid_username': { status: 400, message: 'The username is not valid.' },
  'user.invalid_email': { status: 400, message: 'The email address is not valid.' },
  'user.invalid_phone': { status: 400, message: 'The phone number is not valid.' },
  'user.identifier_required': {
    status: 400,
    message: 'A username, email address or phone number is required.',
  },
  'user.password_required': { status: 400, message: 'A password is required.' },

  // passwords
  'password.rejected': { status: 422, message: 'The password does not meet the password policy.' },

  // sessions
  'session.not_found': { status: 404, message: 'Session not found.' },

  // sign-in rules
  'auth.email_not_verified': { status: 403, message: 'The email address must be verified before signing in.' },

  // connectors (email, SMS)
  'connector.delivery_failed': { status: 502, message: 'The message could not be delivered; try again later.' },

  // verification codes and records
  'verification.not_found': { status: 404, message: 'Verification record not found or expired.' },
  'verification.code_mismatch': { status: 400, message: 'The verification code is incorrect.' },
  'verification.code_expired': { status: 400, message: 'The verification code has expired; request a new one.' },
  'verification.too_many_attempts': {
    status: 400,
    message: 'Too many wrong codes; request a new one.',
  },
  'verification.resend_too_soon': { status: 429, message: 'A code was sent recently; wait before requesting another.' },
  'verification.not_verified': { status: 400, message: 'The verification record has not been verified.' },
  'verification.already_used': { status: 400, message: 'The verification record has already been used.' },
  'verification.purpose_mismatch': { status: 400, message: 'The verification record was issued for another purpose.' },
} as const satisfies Record<string, { status: number; message: string }>;

/** Every stable error code Tessera emits on its native surfaces. */
export type ErrorCode = keyof typeof ERROR_CODES;
