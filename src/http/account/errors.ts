import type { ErrorDialect } from '../errors.js';

/**
 * Logto's dialect of the Account and Verification APIs (spec logto.md §1.6; Logto's
 * packages/core/src/routes/account and routes/verification): the domain throws our codes, and these
 * routes send Logto's code and status for them. Every other code is sent as it is.
 */
export const LOGTO_ACCOUNT_ERRORS: ErrorDialect = {
  'user.username_taken': { code: 'user.username_already_in_use', status: 422, message: 'This username is already in use.' },
  'user.email_taken': { code: 'user.email_already_in_use', status: 422, message: 'This email is associated with an existing account.' },
  'user.phone_taken': { code: 'user.phone_already_in_use', status: 422, message: 'This phone number is associated with an existing account.' },
  'identity.already_linked': { code: 'user.identity_already_in_use', status: 422, message: 'This social account is already linked to another user.' },
  // The Verification API's password proof.
  'auth.invalid_credentials': { code: 'session.invalid_credentials', status: 422, message: 'Account or password is incorrect.' },
  'auth.user_suspended': { code: 'user.suspended', status: 401, message: 'This user is suspended.' },
  // Logto answers a missing scope on the profile, custom-data, email/phone and identity routes with 400.
  'auth.scope_missing': { code: 'auth.unauthorized', status: 400, message: 'The access token lacks a scope this operation needs.' },
};
