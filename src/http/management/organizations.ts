import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApplicationRecord, ApplicationService } from '../../domain/applications/index.js';
import type {
  InvitationView,
  OrganizationRecord,
  OrganizationRoleRecord,
  OrganizationRoleWithScopes,
  OrganizationScopeRecord,
  OrganizationService,
} from '../../domain/organizations/index.js';
import type { IdentityService } from '../../domain/social/identities.js';
import type { UserService } from '../../domain/users/index.js';
import { AppError } from '../../errors/index.js';
import type { UserRecord } from '../../storage/store.js';
import { installErrorDialect } from '../errors.js';
import { LOGTO_APPLICATION_TYPE, logtoUserSchema, toLogtoUser } from '../logto-views.js';
import { pageWindow, setPaginationHeaders } from '../pagination.js';
import { type AccountAuthorizer, assertFirstPartyCaller } from '../principal.js';
import { errors, optionalPaginationQuery, pathId, scopeSchema, scopeWire, security, TENANT, WHOLE_LIST } from './authorization-views.js';
import { LOGTO_MANAGEMENT_ERRORS } from './errors.js';
import { LOGTO_ORGANIZATION_ERRORS } from './organization-errors.js';

declare module './index.js' {
  interface ManagementOptions {
    /** Organizations (`/api/organizations…`, `/api/organization-roles…`, `/api/organization-scopes…`, `/api/organization-invitations…`); absent = no such routes. */
    organizations?: OrganizationService;
  }
}

/** What the Management API's organization routes need. */
export interface ManagementOrganizationOptions {
  organizations: OrganizationService;
  /** The members (Logto's user view). */
  users: Pick<UserService, 'findById'>;
  /** The identities map of the user view. */
  identities: Pick<IdentityService, 'listMany'>;
  /** The member applications. */
  applications: Pick<ApplicationService, 'require'>;
  publicUrl: string;
}

const organizationSchema = z
  .object({
    tenantId: z.string(),
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    customData: z.record(z.string(), z.unknown()),
    isMfaRequired: z.boolean().describe('Members need a second factor to get its tokens'),
    branding: z
      .object({ logoUrl: z.string().optional(), darkLogoUrl: z.string().optional(), favicon: z.string().optional(), darkFavicon: z.string().optional() })
      .describe("Logto's organization branding: logo and favicon URLs, light and dark (unset keys left out)"),
    createdAt: z.number().describe('ms since the epoch'),
  })
  .meta({ id: 'Organization' });

const organizationRoleSchema = z
  .object({
    tenantId: z.string(),
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    type: z.enum(['User', 'MachineToMachine']).describe('User roles go to members, MachineToMachine roles to member applications'),
  })
  .meta({ id: 'OrganizationRole' });

const organizationScopeSchema = z.object({ tenantId: z.string(), id: z.string(), name: z.string(), description: z.string().nullable() }).meta({ id: 'OrganizationScope' });

const roleEntity = z.object({ id: z.string(), name: z.string() });

const roleWithScopesSchema = organizationRoleSchema
  .extend({
    scopes: z.array(roleEntity),
    resourceScopes: z.array(z.object({ id: z.string(), name: z.string(), resource: z.object({ id: z.string(), name: z.string() }) })),
  })
  .meta({ id: 'OrganizationRoleWithScopes' });

const memberSchema = logtoUserSchema.extend({ organizationRoles: z.array(roleEntity).describe('The member\'s roles in the organization, by name') }).meta({ id: 'OrganizationMember' });

const memberApplicationSchema = z
  .object({
    tenantId: z.string(),
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    type: z.enum(['Traditional', 'SPA', 'Native', 'MachineToMachine']),
    createdAt: z.number(),
    organizationRoles: z.array(roleEntity),
  })
  .meta({ id: 'OrganizationApplication' });

const invitationSchema = z
  .object({
    tenantId: z.string(),
    id: z.string(),
    inviterId: z.string().nullable(),
    invitee: z.string().describe('The invitee\'s email, lower-cased'),
    acceptedUserId: z.string().nullable(),
    organizationId: z.string(),
    status: z.enum(['Pending', 'Accepted', 'Expired', 'Revoked']).describe('A pending invitation past expiresAt reads Expired'),
    createdAt: z.number(),
    updatedAt: z.number(),
    expiresAt: z.number().describe('ms since the epoch'),
    organizationRoles: z.array(roleEntity),
  })
  .meta({ id: 'OrganizationInvitation' });

const userWithOrganizationsSchema = organizationSchema.extend({ organizationRoles: z.array(roleEntity) }).meta({ id: 'UserOrganization' });
const applicationOrganizationSchema = organizationSchema
  .extend({ organizationRoles: z.array(roleEntity).describe("The application's roles in the organization") })
  .meta({ id: 'ApplicationOrganization' });

const organizationWire = (o: OrganizationRecord): z.infer<typeof organizationSchema> => ({
  tenantId: TENANT,
  id: o.id,
  name: o.name,
  description: o.description,
  customData: o.customData,
  isMfaRequired: o.isMfaRequired,
  branding: o.branding ?? {},
  createdAt: o.createdAt,
});
const roleWire = (r: OrganizationRoleRecord): z.infer<typeof organizationRoleSchema> => ({ tenantId: TENANT, id: r.id, name: r.name, description: r.description, type: r.type });
const roleWithScopesWire = (r: OrganizationRoleWithScopes): z.infer<typeof roleWithScopesSchema> => ({ ...roleWire(r), scopes: r.scopes, resourceScopes: r.resourceScopes });
const scopeOut = (s: OrganizationScopeRecord): z.infer<typeof organizationScopeSchema> => ({ tenantId: TENANT, id: s.id, name: s.name, description: s.description });
const entities = (roles: readonly OrganizationRoleRecord[]) => roles.map((r) => ({ id: r.id, name: r.name }));
const invitationWire = (i: InvitationView): z.infer<typeof invitationSchema> => ({
  tenantId: TENANT,
  id: i.id,
  inviterId: i.inviterId,
  invitee: i.invitee,
  acceptedUserId: i.acceptedUserId,
  organizationId: i.organizationId,
  status: i.status,
  createdAt: i.createdAt,
  updatedAt: i.updatedAt,
  expiresAt: i.expiresAt,
  organizationRoles: i.organizationRoles,
});

const ids = z.array(z.string().min(1).max(64)).max(1000);
const nonEmptyIds = ids.min(1);
const appIds = z.array(z.string().min(1).max(128)).max(1000);
const idParams = z.object({ id: pathId });
const memberParams = z.object({ id: pathId, userId: pathId });
const memberAppParams = z.object({ id: pathId, applicationId: z.string().min(1).max(128) });
const name128 = z.string().min(1).max(128);
const description = z.string().max(256).nullable().optional();
const pageQuery = {
  page: z.coerce.number().int().min(1).default(1).describe('Page number, from 1'),
  page_size: z.coerce.number().int().min(1).max(100).default(20).describe('Items per page (1–100)'),
  q: z.string().max(256).optional().describe('Case-insensitive substring filter'),
};
const optionalPageQuery = { ...optionalPaginationQuery, q: pageQuery.q };
const brandingUrl = z.string().min(1).max(2048).optional();
const yes = (v: string | undefined) => v !== undefined && /^(1|true|y|yes|yep|yeah)$/i.test(v);

/** The branding body without its absent keys (exactOptionalPropertyTypes). */
function brandingIn(b: Partial<Record<'logoUrl' | 'darkLogoUrl' | 'favicon' | 'darkFavicon', string | undefined>>): Partial<Record<'logoUrl' | 'darkLogoUrl' | 'favicon' | 'darkFavicon', string>> {
  return Object.fromEntries(Object.entries(b).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Page window of an optional-pagination route (none given: the whole list, no Total-Number). */
function optionalWindow(page: number | undefined, pageSize: number | undefined): { paged: boolean; offset: number; limit: number } {
  const paged = page !== undefined || pageSize !== undefined;
  return { paged, ...(paged ? pageWindow(page ?? 1, pageSize ?? 20) : { offset: 0, limit: WHOLE_LIST }) };
}

/**
 * Management API — organizations (issue 18 item 4), in Logto's paths, shapes, statuses and codes
 * (logto-io/logto `packages/core/src/routes/organization/**`, `organization-role`, `organization-scope`,
 * `organization-invitation`, `admin-user/organization.ts`; notes §4): CRUD answers 201 / 200 / 204, relation
 * `POST`s 201 (members already there are kept: one row), `PUT`s 204, `DELETE`s 204 (404 when not there); `q`
 * searches; pages with `Total-Number` and `Link`, optional where Logto's are.
 * Errors in Logto's organization dialect (organization-errors.ts) merged over the Management API's.
 * Stricter than Logto (the domain's rules): accepting an invitation needs the user's **verified** email to be
 * the invitee; a non-member's roles are refused before any write; the Organization shape has Logto's
 * `branding` (migration 0026) but no `color`/`customCss` (not stored). Invitation emails carry a secret token
 * that the invited user gives to `POST /api/my-account/organization-invitations/:id/accept`
 * ({@link accountOrganizationInvitationRoutes}); `POST /organization-invitations/:id/message` mails a pending
 * one again with a new token (only the token's hash is stored, so the first cannot be resent; Logto resends
 * whatever the status, Tessera only a pending one: 422 otherwise). JIT: email domains, the `User` roles JIT
 * members get (`jit/roles`), and `jit/sso-connectors`, always empty since Tessera has no enterprise SSO
 * connectors (Logto's answers for a tenant without any, so its console and SDK calls keep working).
 * Also `GET /applications/:id/organizations` (Logto's `application-organization.ts`).
 */
export const managementOrganizationRoutes: FastifyPluginAsyncZod<ManagementOrganizationOptions> = async (app, { organizations, users, identities, applications, publicUrl }) => {
  installErrorDialect(app, { ...LOGTO_MANAGEMENT_ERRORS, ...LOGTO_ORGANIZATION_ERRORS });

  const memberViews = async (items: ReadonlyArray<{ userId: string; roles: OrganizationRoleRecord[] }>) => {
    const found = await Promise.all(items.map(async (i) => ({ user: await users.findById(i.userId), roles: i.roles })));
    const present = found.filter((f): f is { user: UserRecord; roles: OrganizationRoleRecord[] } => f.user !== undefined);
    const linked = await identities.listMany(present.map((p) => p.user.id));
    return present.map((p) => ({ ...toLogtoUser(p.user, linked.get(p.user.id) ?? []), organizationRoles: entities(p.roles) }));
  };
  const applicationViews = async (items: ReadonlyArray<{ applicationId: string; roles: OrganizationRoleRecord[] }>) => {
    const found = await Promise.all(
      items.map(async (i) => ({
        app: await applications.require(i.applicationId).catch((e: unknown) => (e instanceof AppError && e.code === 'application.not_found' ? undefined : Promise.reject(e))),
        roles: i.roles,
      })),
    );
    return found
      .filter((f): f is { app: ApplicationRecord; roles: OrganizationRoleRecord[] } => f.app !== undefined)
      .map(({ app: a, roles }) => ({ tenantId: TENANT, id: a.id, name: a.name, description: a.description, type: LOGTO_APPLICATION_TYPE[a.type], createdAt: a.createdAt, organizationRoles: entities(roles) }));
  };

  // ── /organizations ─────────────────────────────────────────────────────────────────────────────

  app.get(
    '/organizations',
    {
      schema: {
        tags: ['management'],
        summary: 'List organizations, oldest first (q: substring of id or name; showFeatured: usersCount and up to 3 featuredUsers)',
        security,
        querystring: z.object({ ...pageQuery, showFeatured: z.string().optional() }),
        response: {
          200: z.array(organizationSchema.extend({ usersCount: z.number().optional(), featuredUsers: z.array(z.object({ id: z.string(), avatar: z.string().nullable(), name: z.string().nullable() })).optional() })),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize, q, showFeatured } = request.query;
      const { items, total } = await organizations.list({ ...pageWindow(page, pageSize), ...(q ? { search: q } : {}) });
      setPaginationHeaders(request, reply, publicUrl, { page, pageSize, total });
      if (!yes(showFeatured)) return items.map(organizationWire);
      return Promise.all(
        items.map(async (o) => {
          const members = await organizations.listMembers(o.id, { offset: 0, limit: 3 });
          const featured = (await Promise.all(members.items.map((m) => users.findById(m.userId)))).filter((u): u is UserRecord => u !== undefined);
          return { ...organizationWire(o), usersCount: members.total, featuredUsers: featured.map((u) => ({ id: u.id, avatar: u.avatar, name: u.name })) };
        }),
      );
    },
  );

  const organizationBody = {
    name: name128,
    description,
    customData: z.record(z.string(), z.unknown()).optional().describe('A JSON object (replaced whole on PATCH)'),
    isMfaRequired: z.boolean().optional(),
    branding: z
      .object({ logoUrl: brandingUrl, darkLogoUrl: brandingUrl, favicon: brandingUrl, darkFavicon: brandingUrl })
      .optional()
      .describe('Logo and favicon URLs, absolute http(s) (replaced whole on PATCH)'),
  };

  app.post(
    '/organizations',
    { schema: { tags: ['management'], summary: 'Create an organization (201)', security, body: z.object(organizationBody), response: { 201: organizationSchema, ...errors } } },
    async (request, reply) => {
      const { name, description: text, customData, isMfaRequired, branding } = request.body;
      const created = await organizations.createWithBranding({
        name,
        ...(text !== undefined ? { description: text } : {}),
        ...(customData ? { customData } : {}),
        ...(isMfaRequired !== undefined ? { isMfaRequired } : {}),
        ...(branding !== undefined ? { branding: brandingIn(branding) } : {}),
      });
      return reply.status(201).send(organizationWire(created));
    },
  );

  app.get(
    '/organizations/:id',
    { schema: { tags: ['management'], summary: 'Get an organization', security, params: idParams, response: { 200: organizationSchema, ...errors } } },
    async (request) => organizationWire(await organizations.require(request.params.id)),
  );

  app.patch(
    '/organizations/:id',
    {
      schema: {
        tags: ['management'],
        summary: 'Change an organization (customData is replaced whole)',
        security,
        params: idParams,
        body: z.object({ ...organizationBody, name: name128.optional() }),
        response: { 200: organizationSchema, ...errors },
      },
    },
    async (request) => {
      const { name, description: text, customData, isMfaRequired, branding } = request.body;
      return organizationWire(
        await organizations.updateWithBranding(request.params.id, {
          ...(name !== undefined ? { name } : {}),
          ...(text !== undefined ? { description: text } : {}),
          ...(customData !== undefined ? { customData } : {}),
          ...(isMfaRequired !== undefined ? { isMfaRequired } : {}),
          ...(branding !== undefined ? { branding: brandingIn(branding) } : {}),
        }),
      );
    },
  );

  app.delete(
    '/organizations/:id',
    {
      schema: {
        tags: ['management'],
        summary: 'Delete an organization with its memberships, member roles, invitations and JIT domains (one transaction)',
        security,
        params: idParams,
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await organizations.delete(request.params.id);
      return reply.status(204).send();
    },
  );

  // ── members ────────────────────────────────────────────────────────────────────────────────────

  app.get(
    '/organizations/:id/users',
    {
      schema: {
        tags: ['management'],
        summary: 'List the members with their roles in the organization (q: id, username, email, phone or name; organizationRoleId: holders of that role)',
        security,
        params: idParams,
        querystring: z.object({ ...pageQuery, organizationRoleId: pathId.optional() }),
        response: { 200: z.array(memberSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize, q, organizationRoleId } = request.query;
      const { items, total } = await organizations.listMembers(request.params.id, { ...pageWindow(page, pageSize), ...(q ? { search: q } : {}), ...(organizationRoleId ? { roleId: organizationRoleId } : {}) });
      setPaginationHeaders(request, reply, publicUrl, { page, pageSize, total });
      return memberViews(items);
    },
  );

  app.post(
    '/organizations/:id/users',
    {
      schema: {
        tags: ['management'],
        summary: 'Add members (201; members already there stay as they are)',
        security,
        params: idParams,
        body: z.object({ userIds: nonEmptyIds }),
        response: { 201: z.object({ userIds: z.array(z.string()) }), ...errors },
      },
    },
    async (request, reply) => {
      await organizations.addMembers(request.params.id, request.body.userIds);
      return reply.status(201).send({ userIds: request.body.userIds });
    },
  );

  app.put(
    '/organizations/:id/users',
    {
      schema: {
        tags: ['management'],
        summary: 'Replace the members (204; those who stay keep their roles)',
        security,
        params: idParams,
        body: z.object({ userIds: ids }),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await organizations.replaceMembers(request.params.id, request.body.userIds);
      return reply.status(204).send();
    },
  );

  app.delete(
    '/organizations/:id/users/:userId',
    { schema: { tags: ['management'], summary: 'Remove a member and their roles in the organization', security, params: memberParams, response: { 204: z.void(), ...errors } } },
    async (request, reply) => {
      await organizations.removeMember(request.params.id, request.params.userId);
      return reply.status(204).send();
    },
  );

  app.post(
    '/organizations/:id/users/roles',
    {
      schema: {
        tags: ['management'],
        summary: 'Give each of these members each of these User roles (201)',
        security,
        params: idParams,
        body: z.object({ userIds: nonEmptyIds, organizationRoleIds: nonEmptyIds }),
        response: { 201: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await organizations.addMemberRoles(request.params.id, request.body.userIds, request.body.organizationRoleIds);
      return reply.status(201).send();
    },
  );

  app.get(
    '/organizations/:id/users/:userId/roles',
    {
      schema: { tags: ['management'], summary: "A member's roles in the organization", security, params: memberParams, querystring: z.object(optionalPaginationQuery), response: { 200: z.array(organizationRoleSchema), ...errors } },
    },
    async (request, reply) => {
      const roles = await organizations.memberRoles(request.params.id, request.params.userId);
      const { paged, offset, limit } = optionalWindow(request.query.page, request.query.page_size);
      if (paged) setPaginationHeaders(request, reply, publicUrl, { page: request.query.page ?? 1, pageSize: request.query.page_size ?? 20, total: roles.length });
      return roles.slice(offset, offset + limit).map(roleWire);
    },
  );

  const memberRolesBody = z.object({ organizationRoleIds: ids.optional(), organizationRoleNames: z.array(z.string().min(1).max(128)).max(1000).optional() });

  app.post(
    '/organizations/:id/users/:userId/roles',
    {
      schema: {
        tags: ['management'],
        summary: 'Give a member roles by id or name (201 with the resolved ids)',
        security,
        params: memberParams,
        body: memberRolesBody,
        response: { 201: z.object({ organizationRoleIds: z.array(z.string()) }), ...errors },
      },
    },
    async (request, reply) => {
      const { id, userId } = request.params;
      const roleIds = await organizations.resolveRoleIds(request.body.organizationRoleIds, request.body.organizationRoleNames);
      if (roleIds.length > 0) await organizations.addMemberRoles(id, [userId], roleIds);
      else await organizations.memberRoles(id, userId);
      return reply.status(201).send({ organizationRoleIds: roleIds });
    },
  );

  app.put(
    '/organizations/:id/users/:userId/roles',
    { schema: { tags: ['management'], summary: "Replace a member's roles (204)", security, params: memberParams, body: memberRolesBody, response: { 204: z.void(), ...errors } } },
    async (request, reply) => {
      const roleIds = await organizations.resolveRoleIds(request.body.organizationRoleIds, request.body.organizationRoleNames);
      await organizations.replaceMemberRoles(request.params.id, request.params.userId, roleIds);
      return reply.status(204).send();
    },
  );

  app.delete(
    '/organizations/:id/users/:userId/roles/:organizationRoleId',
    {
      schema: {
        tags: ['management'],
        summary: 'Take a role from a member',
        security,
        params: memberParams.extend({ organizationRoleId: pathId }),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await organizations.removeMemberRole(request.params.id, request.params.userId, request.params.organizationRoleId);
      return reply.status(204).send();
    },
  );

  app.get(
    '/organizations/:id/users/:userId/scopes',
    {
      schema: { tags: ['management'], summary: "The organization scopes of a member's roles", security, params: memberParams, response: { 200: z.array(organizationScopeSchema), ...errors } },
    },
    async (request) => (await organizations.memberScopes(request.params.id, request.params.userId)).map(scopeOut),
  );

  // ── member applications ────────────────────────────────────────────────────────────────────────

  app.get(
    '/organizations/:id/applications',
    {
      schema: {
        tags: ['management'],
        summary: 'List the member machine-to-machine applications with their roles (q: id, name or description)',
        security,
        params: idParams,
        querystring: z.object(pageQuery),
        response: { 200: z.array(memberApplicationSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize, q } = request.query;
      const { items, total } = await organizations.listApplications(request.params.id, { ...pageWindow(page, pageSize), ...(q ? { search: q } : {}) });
      setPaginationHeaders(request, reply, publicUrl, { page, pageSize, total });
      return applicationViews(items);
    },
  );

  app.post(
    '/organizations/:id/applications',
    {
      schema: { tags: ['management'], summary: 'Add machine-to-machine applications as members (201)', security, params: idParams, body: z.object({ applicationIds: appIds.min(1) }), response: { 201: z.void(), ...errors } },
    },
    async (request, reply) => {
      await organizations.addApplications(request.params.id, request.body.applicationIds);
      return reply.status(201).send();
    },
  );

  app.put(
    '/organizations/:id/applications',
    { schema: { tags: ['management'], summary: 'Replace the member applications (204)', security, params: idParams, body: z.object({ applicationIds: appIds }), response: { 204: z.void(), ...errors } } },
    async (request, reply) => {
      await organizations.replaceApplications(request.params.id, request.body.applicationIds);
      return reply.status(204).send();
    },
  );

  app.delete(
    '/organizations/:id/applications/:applicationId',
    { schema: { tags: ['management'], summary: 'Remove a member application and its roles', security, params: memberAppParams, response: { 204: z.void(), ...errors } } },
    async (request, reply) => {
      await organizations.removeApplication(request.params.id, request.params.applicationId);
      return reply.status(204).send();
    },
  );

  app.post(
    '/organizations/:id/applications/roles',
    {
      schema: {
        tags: ['management'],
        summary: 'Give each of these member applications each of these MachineToMachine roles (201)',
        security,
        params: idParams,
        body: z.object({ applicationIds: appIds.min(1), organizationRoleIds: nonEmptyIds }),
        response: { 201: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await organizations.addApplicationRoles(request.params.id, request.body.applicationIds, request.body.organizationRoleIds);
      return reply.status(201).send();
    },
  );

  app.get(
    '/organizations/:id/applications/:applicationId/roles',
    {
      schema: {
        tags: ['management'],
        summary: "A member application's roles",
        security,
        params: memberAppParams,
        querystring: z.object(optionalPaginationQuery),
        response: { 200: z.array(organizationRoleSchema), ...errors },
      },
    },
    async (request, reply) => {
      const roles = await organizations.applicationRoles(request.params.id, request.params.applicationId);
      const { paged, offset, limit } = optionalWindow(request.query.page, request.query.page_size);
      if (paged) setPaginationHeaders(request, reply, publicUrl, { page: request.query.page ?? 1, pageSize: request.query.page_size ?? 20, total: roles.length });
      return roles.slice(offset, offset + limit).map(roleWire);
    },
  );

  app.post(
    '/organizations/:id/applications/:applicationId/roles',
    {
      schema: { tags: ['management'], summary: 'Give a member application roles (201)', security, params: memberAppParams, body: z.object({ organizationRoleIds: nonEmptyIds }), response: { 201: z.void(), ...errors } },
    },
    async (request, reply) => {
      await organizations.addApplicationRoles(request.params.id, [request.params.applicationId], request.body.organizationRoleIds);
      return reply.status(201).send();
    },
  );

  app.put(
    '/organizations/:id/applications/:applicationId/roles',
    {
      schema: { tags: ['management'], summary: "Replace a member application's roles (204)", security, params: memberAppParams, body: z.object({ organizationRoleIds: nonEmptyIds }), response: { 204: z.void(), ...errors } },
    },
    async (request, reply) => {
      await organizations.replaceApplicationRoles(request.params.id, request.params.applicationId, request.body.organizationRoleIds);
      return reply.status(204).send();
    },
  );

  app.delete(
    '/organizations/:id/applications/:applicationId/roles/:organizationRoleId',
    {
      schema: { tags: ['management'], summary: 'Take a role from a member application', security, params: memberAppParams.extend({ organizationRoleId: pathId }), response: { 204: z.void(), ...errors } },
    },
    async (request, reply) => {
      await organizations.removeApplicationRole(request.params.id, request.params.applicationId, request.params.organizationRoleId);
      return reply.status(204).send();
    },
  );

  // ── JIT email domains ──────────────────────────────────────────────────────────────────────────

  const domainSchema = z.object({ tenantId: z.string(), organizationId: z.string(), emailDomain: z.string() }).meta({ id: 'OrganizationJitEmailDomain' });

  app.get(
    '/organizations/:id/jit/email-domains',
    {
      schema: {
        tags: ['management'],
        summary: 'Email domains whose verified users join the organization just in time',
        security,
        params: idParams,
        querystring: z.object(optionalPaginationQuery),
        response: { 200: z.array(domainSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { paged, offset, limit } = optionalWindow(request.query.page, request.query.page_size);
      const { items, total } = await organizations.listJitDomains(request.params.id, { offset, limit });
      if (paged) setPaginationHeaders(request, reply, publicUrl, { page: request.query.page ?? 1, pageSize: request.query.page_size ?? 20, total });
      return items.map((emailDomain) => ({ tenantId: TENANT, organizationId: request.params.id, emailDomain }));
    },
  );

  app.post(
    '/organizations/:id/jit/email-domains',
    {
      schema: { tags: ['management'], summary: 'Add a JIT email domain (201)', security, params: idParams, body: z.object({ emailDomain: z.string().min(1).max(128) }), response: { 201: domainSchema, ...errors } },
    },
    async (request, reply) => {
      const emailDomain = await organizations.addJitDomain(request.params.id, request.body.emailDomain);
      return reply.status(201).send({ tenantId: TENANT, organizationId: request.params.id, emailDomain });
    },
  );

  app.put(
    '/organizations/:id/jit/email-domains',
    {
      schema: {
        tags: ['management'],
        summary: 'Replace the JIT email domains (204)',
        security,
        params: idParams,
        body: z.object({ emailDomains: z.array(z.string().min(1).max(128)).max(1000) }),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await organizations.replaceJitDomains(request.params.id, request.body.emailDomains);
      return reply.status(204).send();
    },
  );

  app.delete(
    '/organizations/:id/jit/email-domains/:emailDomain',
    {
      schema: { tags: ['management'], summary: 'Remove a JIT email domain', security, params: z.object({ id: pathId, emailDomain: z.string().min(1).max(128) }), response: { 204: z.void(), ...errors } },
    },
    async (request, reply) => {
      await organizations.removeJitDomain(request.params.id, request.params.emailDomain);
      return reply.status(204).send();
    },
  );

  // ── JIT roles and SSO connectors (Logto's `jit/roles`, `jit/sso-connectors`) ───────────────────

  app.get(
    '/organizations/:id/jit/roles',
    {
      schema: {
        tags: ['management'],
        summary: 'The organization roles given to just-in-time members when they join (by name)',
        security,
        params: idParams,
        querystring: z.object(optionalPaginationQuery),
        response: { 200: z.array(organizationRoleSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { paged, offset, limit } = optionalWindow(request.query.page, request.query.page_size);
      const { items, total } = await organizations.listJitRoles(request.params.id, { offset, limit });
      if (paged) setPaginationHeaders(request, reply, publicUrl, { page: request.query.page ?? 1, pageSize: request.query.page_size ?? 20, total });
      return items.map(roleWire);
    },
  );

  app.post(
    '/organizations/:id/jit/roles',
    {
      schema: {
        tags: ['management'],
        summary: 'Add User roles given to just-in-time members (201; held ones stay one)',
        security,
        params: idParams,
        body: z.object({ organizationRoleIds: nonEmptyIds }),
        response: { 201: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await organizations.setJitRoles(request.params.id, request.body.organizationRoleIds, 'add');
      return reply.status(201).send();
    },
  );

  app.put(
    '/organizations/:id/jit/roles',
    {
      schema: { tags: ['management'], summary: 'Replace the roles given to just-in-time members (204)', security, params: idParams, body: z.object({ organizationRoleIds: ids }), response: { 204: z.void(), ...errors } },
    },
    async (request, reply) => {
      await organizations.setJitRoles(request.params.id, request.body.organizationRoleIds, 'replace');
      return reply.status(204).send();
    },
  );

  app.delete(
    '/organizations/:id/jit/roles/:organizationRoleId',
    {
      schema: { tags: ['management'], summary: 'Stop giving a role to just-in-time members', security, params: z.object({ id: pathId, organizationRoleId: pathId }), response: { 204: z.void(), ...errors } },
    },
    async (request, reply) => {
      await organizations.removeJitRole(request.params.id, request.params.organizationRoleId);
      return reply.status(204).send();
    },
  );

  // Tessera has no enterprise SSO connectors, so every organization's list is empty and every id is unknown:
  // the answers Logto gives for a tenant without SSO connectors (an empty list; 422 for unknown ids, 404 for
  // a relation that is not there), so a Logto client's JIT page and SDK calls keep working.
  const ssoConnectorIds = z.array(z.string().min(1).max(128)).max(1000);
  const noSuchConnector = () => new AppError('organization.sso_connector_not_found');

  app.get(
    '/organizations/:id/jit/sso-connectors',
    {
      schema: {
        tags: ['management'],
        summary: 'Enterprise SSO connectors of just-in-time membership: always empty (Tessera has no enterprise SSO connectors)',
        security,
        params: idParams,
        querystring: z.object(optionalPaginationQuery),
        response: { 200: z.array(z.object({ id: z.string(), connectorName: z.string() }).loose()), ...errors },
      },
    },
    async (request, reply) => {
      await organizations.require(request.params.id);
      const { paged } = optionalWindow(request.query.page, request.query.page_size);
      if (paged) setPaginationHeaders(request, reply, publicUrl, { page: request.query.page ?? 1, pageSize: request.query.page_size ?? 20, total: 0 });
      return [];
    },
  );

  app.post(
    '/organizations/:id/jit/sso-connectors',
    {
      schema: {
        tags: ['management'],
        summary: 'Add enterprise SSO connectors to JIT: every id is unknown here (422 entity.relation_foreign_key_not_found)',
        security,
        params: idParams,
        body: z.object({ ssoConnectorIds: ssoConnectorIds.min(1) }),
        response: { 201: z.void(), ...errors },
      },
    },
    async (request) => {
      await organizations.require(request.params.id);
      throw noSuchConnector();
    },
  );

  app.put(
    '/organizations/:id/jit/sso-connectors',
    {
      schema: {
        tags: ['management'],
        summary: 'Replace the enterprise SSO connectors of JIT: only the empty list is possible here (204); any id is unknown (422)',
        security,
        params: idParams,
        body: z.object({ ssoConnectorIds }),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await organizations.require(request.params.id);
      if (request.body.ssoConnectorIds.length > 0) throw noSuchConnector();
      return reply.status(204).send();
    },
  );

  app.delete(
    '/organizations/:id/jit/sso-connectors/:ssoConnectorId',
    {
      schema: {
        tags: ['management'],
        summary: 'Remove an enterprise SSO connector from JIT: there is none here (404)',
        security,
        params: z.object({ id: pathId, ssoConnectorId: z.string().min(1).max(128) }),
        response: { 204: z.void(), ...errors },
      },
    },
    async () => {
      throw noSuchConnector();
    },
  );

  // ── /organization-roles ────────────────────────────────────────────────────────────────────────

  const roleType = z.enum(['User', 'MachineToMachine']);

  app.get(
    '/organization-roles',
    {
      schema: {
        tags: ['management'],
        summary: 'List organization roles by name, with their scopes (q: id, name or description)',
        security,
        querystring: z.object(pageQuery),
        response: { 200: z.array(roleWithScopesSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize, q } = request.query;
      const { items, total } = await organizations.listRoles({ ...pageWindow(page, pageSize), ...(q ? { search: q } : {}) });
      setPaginationHeaders(request, reply, publicUrl, { page, pageSize, total });
      return items.map(roleWithScopesWire);
    },
  );

  app.post(
    '/organization-roles',
    {
      schema: {
        tags: ['management'],
        summary: 'Create an organization role with its scopes, in one transaction (201)',
        security,
        body: z.object({ name: name128, description, type: roleType.optional(), organizationScopeIds: ids.optional(), resourceScopeIds: ids.optional() }),
        response: { 201: organizationRoleSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { name, description: text, type, organizationScopeIds, resourceScopeIds } = request.body;
      const role = await organizations.createRole({
        name,
        ...(text !== undefined ? { description: text } : {}),
        ...(type ? { type } : {}),
        ...(organizationScopeIds ? { organizationScopeIds } : {}),
        ...(resourceScopeIds ? { resourceScopeIds } : {}),
      });
      return reply.status(201).send(roleWire(role));
    },
  );

  app.get(
    '/organization-roles/:id',
    { schema: { tags: ['management'], summary: 'Get an organization role', security, params: idParams, response: { 200: organizationRoleSchema, ...errors } } },
    async (request) => roleWire(await organizations.requireRole(request.params.id)),
  );

  app.patch(
    '/organization-roles/:id',
    {
      schema: {
        tags: ['management'],
        summary: 'Change an organization role (its type too)',
        security,
        params: idParams,
        body: z.object({ name: name128.optional(), description, type: roleType.optional() }),
        response: { 200: organizationRoleSchema, ...errors },
      },
    },
    async (request) => {
      const { name, description: text, type } = request.body;
      return roleWire(await organizations.updateRole(request.params.id, { ...(name !== undefined ? { name } : {}), ...(text !== undefined ? { description: text } : {}), ...(type ? { type } : {}) }));
    },
  );

  app.delete(
    '/organization-roles/:id',
    { schema: { tags: ['management'], summary: 'Delete an organization role with every grant and holding of it', security, params: idParams, response: { 204: z.void(), ...errors } } },
    async (request, reply) => {
      await organizations.deleteRole(request.params.id);
      return reply.status(204).send();
    },
  );

  app.get(
    '/organization-roles/:id/scopes',
    {
      schema: { tags: ['management'], summary: "An organization role's organization scopes", security, params: idParams, querystring: z.object(optionalPaginationQuery), response: { 200: z.array(organizationScopeSchema), ...errors } },
    },
    async (request, reply) => {
      const scopes = await organizations.roleScopes(request.params.id);
      const { paged, offset, limit } = optionalWindow(request.query.page, request.query.page_size);
      if (paged) setPaginationHeaders(request, reply, publicUrl, { page: request.query.page ?? 1, pageSize: request.query.page_size ?? 20, total: scopes.length });
      return scopes.slice(offset, offset + limit).map(scopeOut);
    },
  );

  app.post(
    '/organization-roles/:id/scopes',
    {
      schema: { tags: ['management'], summary: 'Grant organization scopes to a role (201)', security, params: idParams, body: z.object({ organizationScopeIds: nonEmptyIds }), response: { 201: z.void(), ...errors } },
    },
    async (request, reply) => {
      await organizations.setRoleScopes(request.params.id, request.body.organizationScopeIds, 'add');
      return reply.status(201).send();
    },
  );

  app.put(
    '/organization-roles/:id/scopes',
    {
      schema: { tags: ['management'], summary: "Replace a role's organization scopes (204)", security, params: idParams, body: z.object({ organizationScopeIds: ids }), response: { 204: z.void(), ...errors } },
    },
    async (request, reply) => {
      await organizations.setRoleScopes(request.params.id, request.body.organizationScopeIds, 'replace');
      return reply.status(204).send();
    },
  );

  app.delete(
    '/organization-roles/:id/scopes/:organizationScopeId',
    {
      schema: { tags: ['management'], summary: 'Take an organization scope from a role', security, params: z.object({ id: pathId, organizationScopeId: pathId }), response: { 204: z.void(), ...errors } },
    },
    async (request, reply) => {
      await organizations.removeRoleScope(request.params.id, request.params.organizationScopeId);
      return reply.status(204).send();
    },
  );

  app.get(
    '/organization-roles/:id/resource-scopes',
    {
      schema: { tags: ['management'], summary: "An organization role's API resource permissions", security, params: idParams, querystring: z.object(optionalPaginationQuery), response: { 200: z.array(scopeSchema), ...errors } },
    },
    async (request, reply) => {
      const scopes = (await organizations.roleResourceScopes(request.params.id)).map((s) => s.scope);
      const { paged, offset, limit } = optionalWindow(request.query.page, request.query.page_size);
      if (paged) setPaginationHeaders(request, reply, publicUrl, { page: request.query.page ?? 1, pageSize: request.query.page_size ?? 20, total: scopes.length });
      return scopes.slice(offset, offset + limit).map(scopeWire);
    },
  );

  app.post(
    '/organization-roles/:id/resource-scopes',
    {
      schema: { tags: ['management'], summary: 'Grant API resource permissions to an organization role (201)', security, params: idParams, body: z.object({ scopeIds: nonEmptyIds }), response: { 201: z.void(), ...errors } },
    },
    async (request, reply) => {
      await organizations.setRoleResourceScopes(request.params.id, request.body.scopeIds, 'add');
      return reply.status(201).send();
    },
  );

  app.put(
    '/organization-roles/:id/resource-scopes',
    {
      schema: { tags: ['management'], summary: "Replace an organization role's API resource permissions (204)", security, params: idParams, body: z.object({ scopeIds: ids }), response: { 204: z.void(), ...errors } },
    },
    async (request, reply) => {
      await organizations.setRoleResourceScopes(request.params.id, request.body.scopeIds, 'replace');
      return reply.status(204).send();
    },
  );

  app.delete(
    '/organization-roles/:id/resource-scopes/:scopeId',
    {
      schema: { tags: ['management'], summary: 'Take an API resource permission from an organization role', security, params: z.object({ id: pathId, scopeId: pathId }), response: { 204: z.void(), ...errors } },
    },
    async (request, reply) => {
      await organizations.removeRoleResourceScope(request.params.id, request.params.scopeId);
      return reply.status(204).send();
    },
  );

  // ── /organization-scopes ───────────────────────────────────────────────────────────────────────

  app.get(
    '/organization-scopes',
    {
      schema: {
        tags: ['management'],
        summary: 'List organization scopes by name (q: name or description); pages only when page or page_size is given',
        security,
        querystring: z.object(optionalPageQuery),
        response: { 200: z.array(organizationScopeSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize, q } = request.query;
      const { paged, offset, limit } = optionalWindow(page, pageSize);
      const { items, total } = await organizations.listScopes({ offset, limit, ...(q ? { search: q } : {}) });
      if (paged) setPaginationHeaders(request, reply, publicUrl, { page: page ?? 1, pageSize: pageSize ?? 20, total });
      return items.map(scopeOut);
    },
  );

  app.post(
    '/organization-scopes',
    { schema: { tags: ['management'], summary: 'Create an organization scope (201)', security, body: z.object({ name: name128, description }), response: { 201: organizationScopeSchema, ...errors } } },
    async (request, reply) => {
      const { name, description: text } = request.body;
      return reply.status(201).send(scopeOut(await organizations.createScope({ name, ...(text !== undefined ? { description: text } : {}) })));
    },
  );

  app.get(
    '/organization-scopes/:id',
    { schema: { tags: ['management'], summary: 'Get an organization scope', security, params: idParams, response: { 200: organizationScopeSchema, ...errors } } },
    async (request) => scopeOut(await organizations.requireScope(request.params.id)),
  );

  app.patch(
    '/organization-scopes/:id',
    {
      schema: { tags: ['management'], summary: 'Change an organization scope', security, params: idParams, body: z.object({ name: name128.optional(), description }), response: { 200: organizationScopeSchema, ...errors } },
    },
    async (request) => {
      const { name, description: text } = request.body;
      return scopeOut(await organizations.updateScope(request.params.id, { ...(name !== undefined ? { name } : {}), ...(text !== undefined ? { description: text } : {}) }));
    },
  );

  app.delete(
    '/organization-scopes/:id',
    { schema: { tags: ['management'], summary: "Delete an organization scope and every role's grant of it", security, params: idParams, response: { 204: z.void(), ...errors } } },
    async (request, reply) => {
      await organizations.deleteScope(request.params.id);
      return reply.status(204).send();
    },
  );

  // ── /organization-invitations ──────────────────────────────────────────────────────────────────

  app.get(
    '/organization-invitations',
    {
      schema: {
        tags: ['management'],
        summary: 'List invitations, newest first',
        security,
        querystring: z.object({ organizationId: pathId.optional(), inviterId: pathId.optional(), invitee: z.string().max(320).optional() }),
        response: { 200: z.array(invitationSchema), ...errors },
      },
    },
    async (request) => {
      const { organizationId, inviterId, invitee } = request.query;
      const list = await organizations.listInvitations({ ...(organizationId ? { organizationId } : {}), ...(inviterId ? { inviterId } : {}), ...(invitee ? { invitee } : {}) });
      return list.map(invitationWire);
    },
  );

  app.post(
    '/organization-invitations',
    {
      schema: {
        tags: ['management'],
        summary: 'Invite an email address to an organization (201); with messagePayload, the invitee is mailed a secret acceptance token',
        security,
        body: z.object({
          inviterId: pathId.nullable().optional(),
          invitee: z.string().min(3).max(320).describe('Email address'),
          organizationId: pathId,
          expiresAt: z.number().describe('ms since the epoch, in the future'),
          organizationRoleIds: ids.optional().describe('User roles given on acceptance'),
          messagePayload: z
            .union([z.literal(false), z.looseObject({ locale: z.enum(['en', 'zh-CN']).optional(), link: z.string().max(2048).optional() })])
            .optional()
            .describe(
              'false (default): no email; an object: mail the invitation (locale en or zh-CN; link: your acceptance page, linked with invitationId and token — default the accept endpoint)',
            ),
        }),
        response: { 201: invitationSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { inviterId, invitee, organizationId, expiresAt, organizationRoleIds, messagePayload } = request.body;
      const invitation = await organizations.invite({
        organizationId,
        invitee,
        expiresAt,
        ...(inviterId !== undefined ? { inviterId } : {}),
        ...(organizationRoleIds ? { organizationRoleIds } : {}),
        ...(messagePayload ? { send: { ...(messagePayload.locale ? { locale: messagePayload.locale } : {}), ...(messagePayload.link !== undefined ? { link: messagePayload.link } : {}) } } : {}),
      });
      return reply.status(201).send(invitationWire(invitation));
    },
  );

  app.get(
    '/organization-invitations/:id',
    { schema: { tags: ['management'], summary: 'Get an invitation', security, params: idParams, response: { 200: invitationSchema, ...errors } } },
    async (request) => invitationWire(await organizations.getInvitation(request.params.id)),
  );

  app.post(
    '/organization-invitations/:id/message',
    {
      schema: {
        tags: ['management'],
        summary: 'Mail a pending invitation again (204), with a new acceptance token: the token of the earlier email stops working',
        security,
        params: idParams,
        body: z.looseObject({ locale: z.enum(['en', 'zh-CN']).optional(), link: z.string().max(2048).optional() }).describe("Logto's message payload: locale (en or zh-CN) and link (your acceptance page)"),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      const { locale, link } = request.body;
      await organizations.resendInvitation(request.params.id, { ...(locale ? { locale } : {}), ...(link !== undefined ? { link } : {}) });
      return reply.status(204).send();
    },
  );

  app.delete(
    '/organization-invitations/:id',
    { schema: { tags: ['management'], summary: 'Delete an invitation', security, params: idParams, response: { 204: z.void(), ...errors } } },
    async (request, reply) => {
      await organizations.deleteInvitation(request.params.id);
      return reply.status(204).send();
    },
  );

  app.put(
    '/organization-invitations/:id/status',
    {
      schema: {
        tags: ['management'],
        summary: "Accept (for a user whose verified email is the invitee: membership and the invitation's roles) or revoke a pending invitation",
        security,
        params: idParams,
        body: z.object({ status: z.enum(['Accepted', 'Revoked']), acceptedUserId: pathId.nullable().optional() }),
        response: { 200: invitationSchema, ...errors },
      },
    },
    async (request) => {
      const { status, acceptedUserId } = request.body;
      if (status === 'Revoked') return invitationWire(await organizations.revokeInvitation(request.params.id));
      if (!acceptedUserId) throw new AppError('organization.accepted_user_required');
      return invitationWire(await organizations.acceptInvitation(request.params.id, acceptedUserId));
    },
  );

  // ── /applications/:id/organizations ────────────────────────────────────────────────────────────

  app.get(
    '/applications/:id/organizations',
    {
      schema: {
        tags: ['management'],
        summary: "The organizations an application is a member of, oldest membership first, with the application's roles in each (paging optional, as Logto's)",
        security,
        params: z.object({ id: z.string().min(1).max(128) }),
        querystring: z.object(optionalPaginationQuery),
        response: { 200: z.array(applicationOrganizationSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { paged, offset, limit } = optionalWindow(request.query.page, request.query.page_size);
      const { items, total } = await organizations.applicationOrganizations(request.params.id, { offset, limit });
      if (paged) setPaginationHeaders(request, reply, publicUrl, { page: request.query.page ?? 1, pageSize: request.query.page_size ?? 20, total });
      return items.map(({ organization, roles }) => ({ ...organizationWire(organization), organizationRoles: entities(roles) }));
    },
  );

  // ── /users/:userId/organizations ───────────────────────────────────────────────────────────────

  app.get(
    '/users/:userId/organizations',
    {
      schema: { tags: ['management'], summary: "A user's organizations with the user's roles in each", security, params: z.object({ userId: pathId }), response: { 200: z.array(userWithOrganizationsSchema), ...errors } },
    },
    async (request) => {
      if (!(await users.findById(request.params.userId))) throw new AppError('user.not_found');
      return (await organizations.userOrganizations(request.params.userId)).map(({ organization, roles }) => ({ ...organizationWire(organization), organizationRoles: entities(roles) }));
    },
  );
};

/** What the end user's invitation route needs. */
export interface AccountOrganizationInvitationOptions {
  organizations: OrganizationService;
  /** Resolves the caller (a first-party session token or an OIDC access token with `openid`). */
  authorize: AccountAuthorizer;
  /** Third-party clients may read, never change (the Account API's rule, `assertFirstPartyCaller`). */
  isThirdPartyClient: (clientId: string) => Promise<boolean>;
  /** Whether the account center is on (the Account API's switch: off, its routes answer 400 `account_center.not_enabled`). */
  accountCenterEnabled: () => Promise<boolean>;
}

/**
 * The invited user's side of an invitation (Tessera's, Logto has no such route: its console accepts for the
 * user through `PUT /organization-invitations/:id/status`): `POST /api/my-account/organization-invitations/:id/accept`
 * with `{token}` from the invitation email. The caller's verified primary email must be the invitee; the
 * invitation must be pending and unexpired; it is accepted once. Like every Account API route it needs the
 * account center on (checked after the caller, as http/account/index.ts). Errors in the native shape:
 * 400 `account_center.not_enabled`, 403 `auth.third_party_application_forbidden` (an OIDC token of a third-party client),
 * 403 `organization.invitation_invalid_token`, 403 `organization.invitee_mismatch`, 422
 * `organization.invitation_not_pending`, 404 `organization.invitation_not_found`.
 */
export const accountOrganizationInvitationRoutes: FastifyPluginAsyncZod<AccountOrganizationInvitationOptions> = async (app, { organizations, authorize, isThirdPartyClient, accountCenterEnabled }) => {
  installErrorDialect(app, undefined);
  app.post(
    '/my-account/organization-invitations/:id/accept',
    {
      schema: {
        tags: ['account'],
        summary: 'Accept an organization invitation sent to your verified email, with the token from the invitation email',
        security: [{ bearerAuth: [] }],
        params: idParams,
        body: z.object({ token: z.string().min(1).max(256) }),
        response: { 200: invitationSchema, ...errors },
      },
    },
    async (request) => {
      const caller = await authorize(request);
      if (!(await accountCenterEnabled())) throw new AppError('account_center.not_enabled');
      await assertFirstPartyCaller(caller, isThirdPartyClient);
      return invitationWire(await organizations.acceptInvitation(request.params.id, caller.user.id, { token: request.body.token, requireToken: true }));
    },
  );
};
