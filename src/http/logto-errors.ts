import type { ErrorDialect, InputIssue, WireError } from './errors.js';
import type { AppError } from '../errors/index.js';

/**
 * The part of Logto's error dialect its Account, Verification and Management APIs share (spec logto.md
 * §0 "DB errors → HTTP" and "Validation"; Logto's `packages/phrases/src/locales/en/errors/`): unique
 * collisions are 422 `*_already_in_use`, a missing row 404 `entity.not_found`, a refused input 400
 * `guard.invalid_input` (`guard.invalid_pagination` for `page` / `page_size`), an empty update 422
 * `entity.invalid_input`, code errors `verification_code.*`. Each surface's table (`account/errors.ts`,
 * `management/errors.ts`) spreads this one and adds its own entries.
 */

/** Query parameters whose refusal Logto reports as `guard.invalid_pagination`. */
const PAGINATION_PATHS: ReadonlySet<string> = new Set(['query.page', 'query.page_size']);

/** 400 `guard.invalid_input`, or `guard.invalid_pagination` when every issue is about the page parameters. */
function invalidInput(_request: unknown, error: AppError): WireError {
  const issues = (error.data as { issues?: InputIssue[] } | undefined)?.issues;
  if (issues && issues.length > 0 && issues.every((i) => PAGINATION_PATHS.has(i.path))) {
    return { code: 'guard.invalid_pagination', status: 400, message: 'The request pagination value is invalid.' };
  }
  return { code: 'guard.invalid_input', status: 400, message: error.message };
}

export const LOGTO_COMMON_ERRORS: ErrorDialect = {
  'request.invalid': invalidInput,
  'request.empty_update': { code: 'entity.invalid_input', status: 422, message: 'Invalid input. Value list must not be empty.' },
  'user.not_found': { code: 'entity.not_found', status: 404, message: 'The resource does not exist.' },
  'user.username_taken': { code: 'user.username_already_in_use', status: 422, message: 'This username is already in use.' },
  'user.email_taken': { code: 'user.email_already_in_use', status: 422, message: 'This email is associated with an existing account.' },
  'user.phone_taken': { code: 'user.phone_already_in_use', status: 422, message: 'This phone number is associated with an existing account.' },
  'identity.already_linked': { code: 'user.identity_already_in_use', status: 422, message: 'This social account is already linked to another user.' },
  'verification.code_mismatch': { code: 'verification_code.code_mismatch', status: 400, message: 'Invalid verification code.' },
  'verification.code_expired': { code: 'verification_code.expired', status: 400, message: 'Verification code has expired. Please request a new verification code.' },
  'verification.too_many_attempts': {
    code: 'verification_code.exceed_max_try',
    status: 400,
    message: 'Verification code retries limitation exceeded. Please request a new verification code.',
  },
  // Our 60 s resend gate is stricter than Logto's per-recipient budget; it answers in Logto's code for that refusal.
  'verification.resend_too_soon': { code: 'request.message_rate_limited', status: 429, message: 'Too many messages sent to this recipient. Please try again later.' },
};
