import type { FastifyRequest } from 'fastify';
import type { AppError } from '../../errors/index.js';
import type { ErrorDialect, InputIssue, WireError } from '../errors.js';
import { LOGTO_COMMON_ERRORS } from '../logto-errors.js';

/** The user-search parameters (`search`, `search.<field>`, `mode…`, `joint…`, `isCaseSensitive`): Logto refuses them with `request.invalid_input`. */
const SEARCH_PATH = /^query\.(?:search|mode|joint|jointMode|isCaseSensitive)(?:\.|$)/;

/** Logto's answer to a refused input here: `request.invalid_input` for bad search parameters, else the common one. */
function invalidInput(request: FastifyRequest, error: AppError): WireError {
  const issues = (error.data as { issues?: InputIssue[] } | undefined)?.issues;
  if (issues && issues.length > 0 && issues.every((i) => SEARCH_PATH.test(i.path))) {
    return { code: 'request.invalid_input', status: 400, message: `Input is invalid. ${issues.map((i) => i.message).join('; ')}` };
  }
  const common = LOGTO_COMMON_ERRORS['request.invalid'];
  return typeof common === 'function' ? common(request, error) : common!;
}

/**
 * Logto's dialect of the Management API (spec logto.md §4; Logto's packages/core/src/routes/admin-user
 * and its slonik error handler): the domain throws our codes, and these routes send Logto's code and
 * status for them — the entries every Logto API shares ({@link LOGTO_COMMON_ERRORS}: 422 collisions,
 * 404 `entity.not_found`, 400 `guard.invalid_input` / `guard.invalid_pagination`, 422
 * `entity.invalid_input`) and these (400 `request.invalid_input` for bad user-search parameters). Codes of Tessera's own routes (`/api/custom-fields`,
 * `/api/subject-tokens` …) and every other code are sent as they are.
 */
export const LOGTO_MANAGEMENT_ERRORS: ErrorDialect = {
  ...LOGTO_COMMON_ERRORS,
  'request.invalid': invalidInput,
  'application.not_found': { code: 'entity.not_found', status: 404, message: 'The resource does not exist.' },
  'personal_access_token.not_found': { code: 'entity.not_found', status: 404, message: 'The resource does not exist.' },
  'personal_access_token.name_taken': { code: 'user.personal_access_token_name_exists', status: 422, message: 'Personal access token name already exists.' },
  'personal_access_token.invalid_name': { code: 'guard.invalid_input', status: 400, message: 'The request body is invalid.' },
  'personal_access_token.invalid_expiry': { code: 'request.invalid_input', status: 400, message: 'Input is invalid. The expiry must be a time in the future.' },
  // POST /api/users/:userId/password/verify with a wrong password.
  'user.password_mismatch': { code: 'session.invalid_credentials', status: 422, message: 'Account or password is incorrect.' },
};
