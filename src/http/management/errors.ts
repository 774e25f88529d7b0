import type { FastifyRequest } from 'fastify';
import type { AppError } from '../../errors/index.js';
import type { ErrorDialect, InputIssue, WireError } from '../errors.js';
import { LOGTO_COMMON_ERRORS } from '../logto-errors.js';

/** The user-search parameters (`search`, `search.<field>`, `mode…`, `joint…`, `isCaseSensitive`): Logto refuses them with `request.invalid_input`. */
const SEARCH_PATH = /^query\.(?:search|mode|joint|jointMode|isCaseSensitive)(?:\.|$)/;

/** The `:id` path parameter of the request, for Logto's "… with ID `x` does not exist" messages. */
function idParam(request: FastifyRequest): string {
  const params = request.params as Record<string, unknown> | undefined;
  return typeof params?.['id'] === 'string' ? params['id'] : '';
}

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
  // Webhooks and logs (logto-io/logto routes/hook.ts, routes/log.ts; phrases errors/hook.ts).
  'hook.not_found': (request) => ({ code: 'entity.not_exists_with_id', status: 404, message: `The hooks with ID \`${idParam(request)}\` does not exist.` }),
  'hook.events_required': { code: 'hook.missing_events', status: 400, message: 'You need to provide at least one event.' },
  'hook.invalid_url': { code: 'guard.invalid_input', status: 400, message: 'The request body is invalid. The URL must be an http or https URL.' },
  'hook.endpoint_error': { code: 'hook.endpoint_responded_with_error', status: 422, message: 'Endpoint responded with error.' },
  'hook.test_failed': { code: 'hook.send_test_payload_failed', status: 422, message: 'Failed to send test payload.' },
  'log.not_found': (request) => ({ code: 'entity.not_exists_with_id', status: 404, message: `The logs with ID \`${idParam(request)}\` does not exist.` }),
  'log.invalid_time_window': { code: 'log.invalid_time_window', status: 400, message: '`end_time` must be after `start_time`.' },
  // POST /api/users/:userId/password/verify with a wrong password.
  'user.password_mismatch': { code: 'session.invalid_credentials', status: 422, message: 'Account or password is incorrect.' },
};
