import type { ErrorDialect } from '../errors.js';
import { LOGTO_COMMON_ERRORS } from '../logto-errors.js';

/**
 * Logto's dialect of the Account and Verification APIs (spec logto.md §1.6; Logto's
 * packages/core/src/routes/account and routes/verification): the domain throws our codes, and these
 * routes send Logto's code and status for them — the entries every Logto API shares
 * ({@link LOGTO_COMMON_ERRORS}) and these. Every other code is sent as it is.
 */
export const LOGTO_ACCOUNT_ERRORS: ErrorDialect = {
  ...LOGTO_COMMON_ERRORS,
  // A code checked a second time: Logto's first check spends the code.
  'verification.already_used': { code: 'verification_code.not_found', status: 400, message: 'Verification code not found. Please send verification code first.' },
  // The Verification API's password proof.
  'auth.invalid_credentials': { code: 'session.invalid_credentials', status: 422, message: 'Account or password is incorrect.' },
  'auth.user_suspended': { code: 'user.suspended', status: 401, message: 'This user is suspended.' },
  // The kept provider tokens (Logto's routes/account/third-party-tokens.ts).
  'identity.token_not_found': { code: 'secrets.third_party_token_set.token_not_found', status: 404, message: 'Third-party token set not found.' },
  'identity.token_expired': { code: 'secrets.third_party_token_set.access_token_expired', status: 401, message: 'Third-party access token has expired.' },
  'identity.target_mismatch': { code: 'verification_record.social_verification.invalid_target', status: 422, message: 'The social verification target does not match.' },
  'identity.not_linked_to_user': { code: 'user.identity_not_exists_in_current_user', status: 422, message: 'The identity does not exist in the current user.' },
  'identity.no_token_response': { code: 'verification_record.social_verification.token_response_not_found', status: 422, message: 'Token response not found in the social verification record.' },
  // Logto answers a missing scope on the profile, custom-data, email/phone and identity routes with 400.
  'auth.scope_missing': { code: 'auth.unauthorized', status: 400, message: 'The access token lacks a scope this operation needs.' },
};
