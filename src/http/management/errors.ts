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

/** The first of these path parameters the request has (for Logto's "… with ID `x` does not exist" messages), or ''. */
function param(request: FastifyRequest, ...names: string[]): string {
  const params = request.params as Record<string, unknown> | undefined;
  for (const name of names) if (typeof params?.[name] === 'string') return params[name] as string;
  return '';
}

/** The route pattern of the request (`/api/roles/:id/users`), or '' when unknown. */
const routeOf = (request: FastifyRequest): string => request.routeOptions?.url ?? '';

/** Logto's 404 `entity.not_exists_with_id` (its `buildFindEntityByIdWithPool`): `table` is the plural table name. */
const notExistsWithId = (table: string, id: string): WireError => ({ code: 'entity.not_exists_with_id', status: 404, message: `The ${table} with ID \`${id}\` does not exist.` });
const NOT_FOUND: WireError = { code: 'entity.not_found', status: 404, message: 'The resource does not exist.' };

/** The routes of roles.ts that name a user or an application by id, where Logto says `entity.not_exists_with_id`. */
const ROLE_HOLDER_ROUTE = /^\/api\/(?:roles\/:id\/(?:users|applications)|users\/:userId\/roles|applications\/:applicationId\/roles)$/;

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
  // API resources, permissions, roles and their holders (issue 18; logto-io/logto routes/resource*.ts, role*.ts,
  // admin-user/role.ts, applications/application-role.ts; phrases errors/{resource,scope,role,user,application,entity}.ts).
  'user.not_found': (request) => (ROLE_HOLDER_ROUTE.test(routeOf(request)) ? notExistsWithId('users', param(request, 'userId')) : NOT_FOUND),
  'application.not_found': (request) => (ROLE_HOLDER_ROUTE.test(routeOf(request)) ? notExistsWithId('applications', param(request, 'applicationId')) : NOT_FOUND),
  'resource.not_found': (request) => notExistsWithId('resources', param(request, 'resourceId', 'id')),
  'resource.indicator_taken': { code: 'resource.resource_identifier_in_use', status: 422, message: 'The API identifier is already in use' },
  'resource.management_api_read_only': (request) =>
    request.method === 'DELETE' && routeOf(request) === '/api/resources/:id'
      ? { code: 'resource.cannot_delete_management_api', status: 400, message: 'Cannot delete Logto Management API.' }
      : { code: 'resource.cannot_modify_management_api', status: 400, message: 'Cannot modify Logto Management API.' },
  'scope.invalid_name': { code: 'scope.name_with_space', status: 400, message: 'The name of the scope cannot contain any spaces.' },
  'scope.name_taken': { code: 'scope.name_exists', status: 422, message: 'The scope name is already in use' },
  // A permission that is not the resource's or not the role's: Logto's update/delete-by-id misses; else its findById.
  'scope.not_found': (request) => {
    const route = routeOf(request);
    if (route === '/api/resources/:resourceId/scopes/:scopeId') {
      return request.method === 'PATCH' ? { code: 'entity.not_exists', status: 404, message: 'The scope does not exist.' } : NOT_FOUND;
    }
    if (route === '/api/roles/:id/scopes/:scopeId') return NOT_FOUND;
    return notExistsWithId('scopes', param(request, 'scopeId'));
  },
  'role.not_found': (request) => notExistsWithId('roles', param(request, 'roleId', 'id')),
  'role.name_taken': { code: 'role.name_in_use', status: 422, message: 'This role name is already in use' },
  'role.scope_already_granted': { code: 'role.scope_exists', status: 422, message: 'The scope id has already been added to this role' },
  'role.already_held': (request) =>
    /\/applications$/.test(routeOf(request))
      ? { code: 'role.application_exists', status: 422, message: 'The application id is already been added to this role' }
      : { code: 'role.user_exists', status: 422, message: `The user id is already been added to this role` },
  'role.type_mismatch': (request) => {
    const route = routeOf(request);
    if (route.startsWith('/api/users/')) return { code: 'user.invalid_role_type', status: 422, message: 'Invalid role type, can not assign machine-to-machine role to user.' };
    if (route.startsWith('/api/applications/')) return { code: 'application.invalid_role_type', status: 422, message: 'Can not assign user type role to machine to machine application.' };
    return { code: 'entity.db_constraint_violated', status: 422, message: 'Database constraint violated.' };
  },
  'role.management_scope_for_user_role': { code: 'role.management_api_scopes_not_assignable_to_user_role', status: 400, message: 'Cannot assign Management API scopes to a user role.' },
  'application.roles_need_machine_to_machine': { code: 'application.invalid_type', status: 422, message: 'Only machine to machine applications can have associated roles.' },
  'role.not_held': NOT_FOUND,
  // POST /api/users/:userId/password/verify with a wrong password.
  'user.password_mismatch': { code: 'session.invalid_credentials', status: 422, message: 'Account or password is incorrect.' },
};
