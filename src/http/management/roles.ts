import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApplicationRecord } from '../../domain/applications/index.js';
import type { RoleRecord } from '../../domain/authorization/index.js';
import { AppError } from '../../errors/index.js';
import type { UserRecord } from '../../storage/store.js';
import { LOGTO_APPLICATION_TYPE, logtoUserSchema, toLogtoUser } from '../logto-views.js';
import { pageWindow, paginationQuery, setPaginationHeaders } from '../pagination.js';
import { logtoApplicationSchema, toLogtoApplication } from './applications.js';
import {
  errors, type ManagementAuthorizationOptions, optionalPaginationQuery, parseSearch, pathId, resourceSchema, resourceWire, roleSchema, roleWire, scopeSchema, scopeWire,
  searchablePageQuery, security, slicePage, WHOLE_LIST,
} from './authorization-views.js';

/** Logto's `RoleResponse` (GET /roles): the role, how many users and applications hold it, and the first three of each. */
const roleResponseSchema = roleSchema
  .extend({
    usersCount: z.number(),
    featuredUsers: z.array(z.object({ id: z.string(), avatar: z.string().nullable(), name: z.string().nullable() })).describe('At most 3, latest grant first'),
    applicationsCount: z.number(),
    featuredApplications: z.array(z.object({ id: z.string(), name: z.string(), type: z.enum(['Traditional', 'SPA', 'Native', 'MachineToMachine']) })).describe('At most 3, latest grant first'),
  })
  .meta({ id: 'RoleWithHolders' });

/** A permission with its resource (Logto's `ScopeResponse`, GET /roles/:id/scopes). */
const scopeWithResourceSchema = scopeSchema.extend({ resource: resourceSchema }).meta({ id: 'ScopeWithResource' });

const roleParams = z.object({ id: pathId });
const userParams = z.object({ userId: pathId });
const applicationParams = z.object({ applicationId: pathId });
/** A list of ids in a body (at most 1 000). */
const ids = z.array(z.string().min(1).max(64)).max(1000);
const roleIdsBody = z.object({ roleIds: ids });
/** POST /users/:userId/roles and /applications/:applicationId/roles: the ids as sent and those that were new. */
const addedRolesSchema = z.object({ roleIds: z.array(z.string()), addedRoleIds: z.array(z.string()).describe('The ids that were not held before') });
const roleName = z.string().min(1).max(128);

/** A 400 `request.invalid` (Logto's `request.invalid_input`) for a search on a list that has none. */
function refuseSearch(query: Record<string, unknown>): void {
  const key = Object.keys(query).find((k) => k === 'search' || k.startsWith('search.'));
  if (key) throw new AppError('request.invalid', { data: { issues: [{ path: `query.${key}`, code: 'custom', message: 'This list cannot be searched.' }] } });
}

/** The ids of `requested` that are in `added`, once each, in the request's order (Logto's `addedRoleIds`). */
function inRequestOrder(requested: readonly string[], added: ReadonlySet<string>): string[] {
  return [...new Set(requested)].filter((id) => added.has(id));
}

/** Roles whose name or description contains `search` (case-insensitive); all without one. */
function matching(roles: readonly RoleRecord[], search: string | undefined): RoleRecord[] {
  if (!search) return [...roles];
  const needle = search.toLowerCase();
  return roles.filter((r) => r.name.toLowerCase().includes(needle) || r.description.toLowerCase().includes(needle));
}

/**
 * Management API — roles and who holds them (issue 18 item 5), in Logto's paths, shapes, statuses and codes
 * (logto-io/logto `routes/role.ts`, `role.scope.ts`, `role.user.ts`, `role.application.ts`,
 * `admin-user/role.ts`, `applications/application-role.ts`): `POST /roles` answers 200, `POST
 * /roles/:id/scopes` 201 with every permission of the role, `POST /roles/:id/users|applications` 201 with no
 * body (422 when one already holds it), `POST /users/:userId/roles` and `/applications/:applicationId/roles`
 * 201 `{roleIds, addedRoleIds}` (held ones skipped), their `PUT` 200.
 * Stricter than Logto (the domain's rules): `POST /roles` with a refused permission keeps no role; a
 * non-machine-to-machine application is refused on `POST /roles/:id/applications` too; the built-in role
 * `management-api-access` is not deleted and keeps its permission (400 `role.management_role_read_only`).
 * Lists without a domain search (`/roles/:id/users`, `/roles/:id/applications`) refuse `search` (400).
 */
export const managementRoleRoutes: FastifyPluginAsyncZod<ManagementAuthorizationOptions> = async (app, { authorization, users, identities, applications, publicUrl }) => {
  /** Logto's user view of these users, in this order (ones deleted meanwhile left out). */
  const userViews = async (userIds: readonly string[]) => {
    const found = (await Promise.all(userIds.map((id) => users.findById(id)))).filter((u): u is UserRecord => u !== undefined);
    const linked = await identities.listMany(found.map((u) => u.id));
    return found.map((u) => toLogtoUser(u, linked.get(u.id) ?? []));
  };
  /** These applications, in this order (ones deleted meanwhile left out). */
  const applicationRecords = async (applicationIds: readonly string[]) =>
    (await Promise.all(applicationIds.map((id) => applications.require(id).catch((e: unknown) => (e instanceof AppError && e.code === 'application.not_found' ? undefined : Promise.reject(e)))))).filter(
      (a): a is ApplicationRecord => a !== undefined,
    );
  const withHolders = async (role: RoleRecord) => {
    const held = await authorization.roleHolders(role.id);
    const [featuredUsers, featuredApps] = await Promise.all([Promise.all(held.userIds.map((id) => users.findById(id))), applicationRecords(held.applicationIds)]);
    return {
      ...roleWire(role),
      usersCount: held.usersCount,
      featuredUsers: featuredUsers.filter((u): u is UserRecord => u !== undefined).map((u) => ({ id: u.id, avatar: u.avatar, name: u.name })),
      applicationsCount: held.applicationsCount,
      featuredApplications: featuredApps.map((a) => ({ id: a.id, name: a.name, type: LOGTO_APPLICATION_TYPE[a.type] })),
    };
  };

  // ── roles ──────────────────────────────────────────────────────────────────────────────────────

  app.get(
    '/roles',
    {
      schema: {
        tags: ['management'],
        summary: 'List roles, oldest first, with how many users and applications hold each (Total-Number and Link headers)',
        description: "Search: `search` / `search.name` / `search.description` (one substring of the name or the description; Logto's `%` around it are ignored).",
        security,
        querystring: z.looseObject({
          ...searchablePageQuery,
          type: z.enum(['User', 'MachineToMachine']).optional(),
          excludeUserId: pathId.optional().describe('Leave out the roles this user holds'),
          excludeApplicationId: pathId.optional().describe('Leave out the roles this application holds'),
        }),
        response: { 200: z.array(roleResponseSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize, type, excludeUserId, excludeApplicationId } = request.query;
      const search = parseSearch(request.query, ['name', 'description']);
      const { items, total } = await authorization.listRoles(
        { ...(search ? { search } : {}), ...(type ? { type } : {}), ...(excludeUserId ? { excludeUserId } : {}), ...(excludeApplicationId ? { excludeApplicationId } : {}) },
        pageWindow(page, pageSize),
      );
      setPaginationHeaders(request, reply, publicUrl, { page, pageSize, total });
      return Promise.all(items.map(withHolders));
    },
  );

  app.post(
    '/roles',
    {
      schema: {
        tags: ['management'],
        summary: 'Create a role, with permissions if given (200, as Logto)',
        description:
          'One transaction: a refused permission (404 entity.not_exists_with_id, 400 role.management_api_scopes_not_assignable_to_user_role) keeps no role. 422 role.name_in_use.',
        security,
        body: z.object({
          name: roleName,
          description: roleName,
          type: z.enum(['User', 'MachineToMachine']).optional().describe('Default User'),
          isDefault: z.boolean().optional().describe('Given to every new user (User roles only)'),
          scopeIds: ids.optional().describe('Permissions to give it'),
        }),
        response: { 200: roleSchema, ...errors },
      },
    },
    async (request) => {
      const { name, description, type, isDefault, scopeIds } = request.body;
      return roleWire(
        await authorization.createRole({ name, description, ...(type ? { type } : {}), ...(isDefault !== undefined ? { isDefault } : {}), ...(scopeIds ? { scopeIds } : {}) }),
      );
    },
  );

  app.get(
    '/roles/:id',
    { schema: { tags: ['management'], summary: 'Get a role', security, params: roleParams, response: { 200: roleSchema, ...errors } } },
    async (request) => roleWire(await authorization.requireRole(request.params.id)),
  );

  app.patch(
    '/roles/:id',
    {
      schema: {
        tags: ['management'],
        summary: 'Rename a role, change its description or whether new users get it (the type never changes)',
        security,
        params: roleParams,
        body: z.object({ name: roleName.optional(), description: roleName.optional(), isDefault: z.boolean().optional() }),
        response: { 200: roleSchema, ...errors },
      },
    },
    async (request) => {
      const { name, description, isDefault } = request.body;
      return roleWire(
        await authorization.updateRole(request.params.id, { ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}), ...(isDefault !== undefined ? { isDefault } : {}) }),
      );
    },
  );

  app.delete(
    '/roles/:id',
    {
      schema: {
        tags: ['management'],
        summary: 'Delete a role and every grant of it (users, applications, permissions)',
        description: 'The built-in role management-api-access is not deleted (400 role.management_role_read_only).',
        security,
        params: roleParams,
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await authorization.deleteRole(request.params.id);
      return reply.status(204).send();
    },
  );

  // ── a role's permissions ───────────────────────────────────────────────────────────────────────

  app.get(
    '/roles/:id/scopes',
    {
      schema: {
        tags: ['management'],
        summary: "A role's permissions with their resources, oldest grant first; pages only when page or page_size is given",
        security,
        params: roleParams,
        querystring: z.looseObject({ ...optionalPaginationQuery, search: searchablePageQuery.search }),
        response: { 200: z.array(scopeWithResourceSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize } = request.query;
      const search = parseSearch(request.query, ['name']);
      const paged = page !== undefined || pageSize !== undefined;
      const window = paged ? pageWindow(page ?? 1, pageSize ?? 20) : { offset: 0, limit: WHOLE_LIST };
      const { items, total } = await authorization.listRoleScopes(request.params.id, { ...window, ...(search ? { search } : {}) });
      if (paged) setPaginationHeaders(request, reply, publicUrl, { page: page ?? 1, pageSize: pageSize ?? 20, total });
      const resources = new Map(await Promise.all([...new Set(items.map((s) => s.resourceId))].map(async (id) => [id, await authorization.requireResource(id)] as const)));
      return items.map((s) => ({ ...scopeWire(s), resource: resourceWire(resources.get(s.resourceId)!) }));
    },
  );

  app.post(
    '/roles/:id/scopes',
    {
      schema: {
        tags: ['management'],
        summary: "Give permissions to a role (201, with every permission the role now has)",
        description: '422 role.scope_exists (one is held already), 404 entity.not_exists_with_id, 400 role.management_api_scopes_not_assignable_to_user_role.',
        security,
        params: roleParams,
        body: z.object({ scopeIds: ids.min(1) }),
        response: { 201: z.array(scopeSchema), ...errors },
      },
    },
    async (request, reply) => reply.status(201).send((await authorization.addRoleScopes(request.params.id, request.body.scopeIds)).map(scopeWire)),
  );

  app.delete(
    '/roles/:id/scopes/:scopeId',
    {
      schema: {
        tags: ['management'],
        summary: 'Take a permission from a role (404 entity.not_found when it does not have it)',
        security,
        params: roleParams.extend({ scopeId: pathId }),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await authorization.removeRoleScope(request.params.id, request.params.scopeId);
      return reply.status(204).send();
    },
  );

  // ── a role's users and applications ────────────────────────────────────────────────────────────

  app.get(
    '/roles/:id/users',
    {
      schema: {
        tags: ['management'],
        summary: 'The users holding a role, latest grant first (Total-Number and Link headers)',
        security,
        params: roleParams,
        querystring: z.looseObject(paginationQuery),
        response: { 200: z.array(logtoUserSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize } = request.query;
      refuseSearch(request.query);
      const { items, total } = await authorization.listRoleUserIds(request.params.id, pageWindow(page, pageSize));
      setPaginationHeaders(request, reply, publicUrl, { page, pageSize, total });
      return userViews(items);
    },
  );

  app.post(
    '/roles/:id/users',
    {
      schema: {
        tags: ['management'],
        summary: 'Give a role to users (201, no body)',
        description: '422 role.user_exists when one of them holds it already (nothing is given then); 422 entity.db_constraint_violated for a MachineToMachine role; 404 entity.not_exists_with_id.',
        security,
        params: roleParams,
        body: z.object({ userIds: ids.min(1) }),
        response: { 201: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await authorization.addRoleUsers(request.params.id, request.body.userIds);
      return reply.status(201).send();
    },
  );

  app.delete(
    '/roles/:id/users/:userId',
    {
      schema: {
        tags: ['management'],
        summary: 'Take a role from a user (404 entity.not_found when the user does not hold it)',
        security,
        params: roleParams.extend({ userId: pathId }),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await authorization.revokeUserRole(request.params.userId, request.params.id);
      return reply.status(204).send();
    },
  );

  app.get(
    '/roles/:id/applications',
    {
      schema: {
        tags: ['management'],
        summary: 'The applications holding a role, latest grant first (Total-Number and Link headers)',
        security,
        params: roleParams,
        querystring: z.looseObject(paginationQuery),
        response: { 200: z.array(logtoApplicationSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize } = request.query;
      refuseSearch(request.query);
      const { items, total } = await authorization.listRoleApplicationIds(request.params.id, pageWindow(page, pageSize));
      setPaginationHeaders(request, reply, publicUrl, { page, pageSize, total });
      return (await applicationRecords(items)).map(toLogtoApplication);
    },
  );

  app.post(
    '/roles/:id/applications',
    {
      schema: {
        tags: ['management'],
        summary: 'Give a MachineToMachine role to machine-to-machine applications (201, no body)',
        description:
          '422 role.application_exists when one of them holds it already (nothing is given then); 422 entity.db_constraint_violated for a User role; 422 application.invalid_type for an application that is not machine-to-machine; 404 entity.not_exists_with_id.',
        security,
        params: roleParams,
        body: z.object({ applicationIds: ids.min(1) }),
        response: { 201: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await authorization.addRoleApplications(request.params.id, request.body.applicationIds);
      return reply.status(201).send();
    },
  );

  app.delete(
    '/roles/:id/applications/:applicationId',
    {
      schema: {
        tags: ['management'],
        summary: 'Take a role from an application (404 entity.not_found when it does not hold it)',
        security,
        params: roleParams.extend({ applicationId: pathId }),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await authorization.revokeApplicationRole(request.params.applicationId, request.params.id);
      return reply.status(204).send();
    },
  );

  // ── a user's roles ─────────────────────────────────────────────────────────────────────────────

  app.get(
    '/users/:userId/roles',
    {
      schema: {
        tags: ['management'],
        summary: "A user's roles, oldest grant first (Total-Number and Link headers)",
        description: "Search: `search` / `search.name` / `search.description` (one substring of the name or the description; Logto's `%` around it are ignored).",
        security,
        params: userParams,
        querystring: z.looseObject(searchablePageQuery),
        response: { 200: z.array(roleSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize } = request.query;
      const roles = matching(await authorization.userRoles(request.params.userId), parseSearch(request.query, ['name', 'description']));
      setPaginationHeaders(request, reply, publicUrl, { page, pageSize, total: roles.length });
      return slicePage(roles, page, pageSize).map(roleWire);
    },
  );

  app.post(
    '/users/:userId/roles',
    {
      schema: {
        tags: ['management'],
        summary: 'Give User roles to a user (201); roles the user holds are skipped',
        description: '422 user.invalid_role_type for a MachineToMachine role; 404 entity.not_exists_with_id for an unknown user or role.',
        security,
        params: userParams,
        body: roleIdsBody,
        response: { 201: addedRolesSchema, ...errors },
      },
    },
    async (request, reply) => {
      const added = new Set(await authorization.grantUserRoles(request.params.userId, request.body.roleIds));
      return reply.status(201).send({ roleIds: request.body.roleIds, addedRoleIds: inRequestOrder(request.body.roleIds, added) });
    },
  );

  app.put(
    '/users/:userId/roles',
    {
      schema: {
        tags: ['management'],
        summary: "Make these exactly the user's roles",
        security,
        params: userParams,
        body: roleIdsBody,
        response: { 200: z.object({ roleIds: z.array(z.string()) }), ...errors },
      },
    },
    async (request) => {
      await authorization.replaceUserRoles(request.params.userId, request.body.roleIds);
      return { roleIds: [...new Set(request.body.roleIds)] };
    },
  );

  app.delete(
    '/users/:userId/roles/:roleId',
    {
      schema: {
        tags: ['management'],
        summary: 'Take a role from a user (404 entity.not_found when the user does not hold it)',
        security,
        params: userParams.extend({ roleId: pathId }),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await authorization.revokeUserRole(request.params.userId, request.params.roleId);
      return reply.status(204).send();
    },
  );

  // ── an application's roles ─────────────────────────────────────────────────────────────────────

  app.get(
    '/applications/:applicationId/roles',
    {
      schema: {
        tags: ['management'],
        summary: "A machine-to-machine application's roles, oldest grant first (Total-Number and Link headers)",
        description: '422 application.invalid_type for an application that is not machine-to-machine.',
        security,
        params: applicationParams,
        querystring: z.looseObject(searchablePageQuery),
        response: { 200: z.array(roleSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize } = request.query;
      const roles = matching(await authorization.applicationRoles(request.params.applicationId), parseSearch(request.query, ['name', 'description']));
      setPaginationHeaders(request, reply, publicUrl, { page, pageSize, total: roles.length });
      return slicePage(roles, page, pageSize).map(roleWire);
    },
  );

  app.post(
    '/applications/:applicationId/roles',
    {
      schema: {
        tags: ['management'],
        summary: 'Give MachineToMachine roles to a machine-to-machine application (201); held roles are skipped',
        description:
          'Giving the built-in role management-api-access grants the Management API (`isManagement`). 422 application.invalid_role_type for a User role; 422 application.invalid_type for an application that is not machine-to-machine.',
        security,
        params: applicationParams,
        body: roleIdsBody,
        response: { 201: addedRolesSchema, ...errors },
      },
    },
    async (request, reply) => {
      const added = new Set(await authorization.grantApplicationRoles(request.params.applicationId, request.body.roleIds));
      return reply.status(201).send({ roleIds: request.body.roleIds, addedRoleIds: inRequestOrder(request.body.roleIds, added) });
    },
  );

  app.put(
    '/applications/:applicationId/roles',
    {
      schema: {
        tags: ['management'],
        summary: "Make these exactly the application's roles (200, no body)",
        security,
        params: applicationParams,
        body: roleIdsBody,
        response: { 200: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await authorization.replaceApplicationRoles(request.params.applicationId, request.body.roleIds);
      return reply.status(200).send();
    },
  );

  app.delete(
    '/applications/:applicationId/roles/:roleId',
    {
      schema: {
        tags: ['management'],
        summary: 'Take a role from an application; taking management-api-access ends its Management API access at once',
        security,
        params: applicationParams.extend({ roleId: pathId }),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await authorization.revokeApplicationRole(request.params.applicationId, request.params.roleId);
      return reply.status(204).send();
    },
  );
};
