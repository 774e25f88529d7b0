import type { FastifyRequest } from 'fastify';
import type { ErrorDialect, WireError } from '../errors.js';

/** The route pattern of the request (`/api/organizations/:id/users`), or '' when unknown. */
const routeOf = (request: FastifyRequest): string => request.routeOptions?.url ?? '';

/** The first of these path parameters the request has, or ''. */
function param(request: FastifyRequest, ...names: string[]): string {
  const params = request.params as Record<string, unknown> | undefined;
  for (const name of names) if (typeof params?.[name] === 'string') return params[name] as string;
  return '';
}

const NOT_FOUND: WireError = { code: 'entity.not_found', status: 404, message: 'The resource does not exist.' };
/** Logto's organization routers' FK miss (their own `errorHandler`: 422, where the global one says 404). */
const FOREIGN_KEY: WireError = {
  code: 'entity.relation_foreign_key_not_found',
  status: 422,
  message: 'Cannot find one or more foreign keys. Please check the input and ensure that all referenced entities exist.',
};
const UNIQUE: WireError = { code: 'entity.unique_integrity_violation', status: 422, message: 'The entity already exists. Please check the input and try again.' };
const CONSTRAINT: WireError = { code: 'entity.db_constraint_violated', status: 422, message: 'Database constraint violated.' };
const invalidInput = (status: number, details: string): WireError => ({ code: 'request.invalid_input', status, message: `Input is invalid. ${details}` });

/** The entity itself is the path's `:id` (GET/PATCH/DELETE `<prefix>/:id`): a miss is Logto's 404; elsewhere a reference, 422. */
function entityMiss(prefix: string, table: string) {
  return (request: FastifyRequest): WireError => {
    if (routeOf(request) !== `${prefix}/:id`) return FOREIGN_KEY;
    if (request.method === 'GET' && table === 'organizations') return { code: 'entity.not_exists_with_id', status: 404, message: `The ${table} with ID \`${param(request, 'id')}\` does not exist.` };
    if (request.method === 'PATCH' && table === 'organizations') return { code: 'entity.not_exists', status: 404, message: 'The organization does not exist.' };
    return NOT_FOUND;
  };
}

/**
 * Logto's dialect of the organization routes (logto-io/logto `routes/organization*`, their `errorHandler` in
 * `routes/organization/utils.ts`, phrases `errors/{entity,organization,request}.ts`; notes §4, §6), merged over
 * the Management API's table for these routes only (organizations.ts): duplicates are 422
 * `entity.unique_integrity_violation`, unknown references 422 `entity.relation_foreign_key_not_found`, a
 * role of the wrong type 422 `entity.db_constraint_violated`, an entity the path names 404, invitation
 * refusals `request.invalid_input`.
 */
export const LOGTO_ORGANIZATION_ERRORS: ErrorDialect = {
  'organization.not_found': (request) => {
    const route = routeOf(request);
    if (route === '/api/organizations/:id') return entityMiss('/api/organizations', 'organizations')(request);
    return request.method === 'GET' ? { code: 'entity.not_exists_with_id', status: 404, message: `The organizations with ID \`${param(request, 'id')}\` does not exist.` } : FOREIGN_KEY;
  },
  'organization.role_not_found': entityMiss('/api/organization-roles', 'organization_roles'),
  'organization.scope_not_found': entityMiss('/api/organization-scopes', 'organization_scopes'),
  'organization.invitation_not_found': NOT_FOUND,
  'organization.role_name_taken': UNIQUE,
  'organization.scope_name_taken': UNIQUE,
  'organization.invitation_pending_exists': UNIQUE,
  'organization.jit_domain_taken': UNIQUE,
  'organization.role_type_mismatch': CONSTRAINT,
  'organization.application_not_machine_to_machine': CONSTRAINT,
  'organization.role_names_not_found': { code: 'organization.role_names_not_found', status: 422, message: 'One or more organization role names do not exist.' },
  // Logto's membership guard covers `/:id/(users/:userId|applications/:applicationId)/roles*`; the bulk
  // `/:id/users/roles` and `/:id/applications/roles` meet the membership foreign key instead.
  'organization.require_membership': (request) =>
    /\/(?:users|applications)\/roles$/.test(routeOf(request))
      ? FOREIGN_KEY
      : { code: 'organization.require_membership', status: 422, message: 'The user must be a member of the organization to proceed.' },
  'organization.not_member': NOT_FOUND,
  'organization.role_not_held': NOT_FOUND,
  'organization.scope_not_granted': NOT_FOUND,
  'organization.jit_domain_not_found': NOT_FOUND,
  'organization.jit_role_not_found': NOT_FOUND,
  // Tessera has no enterprise SSO connectors: an id in a body is an unknown reference (Logto's 422), the
  // relation a DELETE names is not there (Logto's 404).
  'organization.sso_connector_not_found': (request) => (request.method === 'DELETE' ? NOT_FOUND : FOREIGN_KEY),
  'organization.invalid_email_domain': { code: 'guard.invalid_input', status: 400, message: 'The request body is invalid.' },
  'organization.invitation_invalid_expiry': invalidInput(400, 'The value of `expiresAt` must be in the future.'),
  'organization.invitee_already_member': invalidInput(422, 'The invitee is already a member of the organization.'),
  'organization.invitation_not_pending': invalidInput(422, 'The status of the invitation cannot be changed anymore.'),
  'organization.accepted_user_required': invalidInput(422, 'The `acceptedUserId` is required when accepting an invitation.'),
  'organization.invitee_mismatch': invalidInput(422, 'The email of the accepted user does not match the invitee.'),
  'user.invalid_email': { code: 'guard.invalid_input', status: 400, message: 'The request body is invalid.' },
  'user.not_found': (request) => {
    const route = routeOf(request);
    if (route === '/api/users/:userId/organizations') return { code: 'entity.not_exists_with_id', status: 404, message: `The users with ID \`${param(request, 'userId')}\` does not exist.` };
    if (route === '/api/organization-invitations/:id/status') return NOT_FOUND;
    return FOREIGN_KEY;
  },
  'application.not_found': (request) =>
    routeOf(request) === '/api/applications/:id/organizations'
      ? { code: 'entity.not_exists_with_id', status: 404, message: `The applications with ID \`${param(request, 'id')}\` does not exist.` }
      : FOREIGN_KEY,
  // A resource permission named by an organization role's relation: a reference miss.
  'scope.not_found': FOREIGN_KEY,
};
