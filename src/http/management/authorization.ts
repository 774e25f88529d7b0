import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ResourceRecord } from '../../domain/authorization/index.js';
import { pageWindow, setPaginationHeaders } from '../pagination.js';
import {
  errors, type ManagementAuthorizationOptions, optionalPaginationQuery, parseSearch, pathId, resourceSchema, resourceWire, resourceWithScopesSchema, scopeSchema, scopeWire,
  searchablePageQuery, security, WHOLE_LIST,
} from './authorization-views.js';
import { managementRoleRoutes } from './roles.js';

export type { ManagementAuthorizationOptions };

/**
 * Management API — API resources and their permissions (issue 18 item 5), in Logto's paths, shapes,
 * statuses and codes (logto-io/logto `packages/core/src/routes/resource.ts`, `resource.scope.ts`), and
 * (roles.ts) roles and who holds them. Rules are the domain's (domain/authorization); where Logto lets a
 * half-done or unchecked change through, the domain's stricter rule stands (see roles.ts).
 * Errors: errors.ts maps the domain's codes to Logto's (`entity.not_exists_with_id`,
 * `resource.resource_identifier_in_use`, `resource.cannot_modify_management_api`, `scope.name_with_space`,
 * `scope.name_exists` …). The Management API resource is listed and readable but not changed (400).
 */
export const managementAuthorizationRoutes: FastifyPluginAsyncZod<ManagementAuthorizationOptions> = async (app, options) => {
  const { authorization, publicUrl } = options;
  const resourceParams = z.object({ id: pathId });
  const scopeParams = z.object({ resourceId: pathId, scopeId: pathId });

  const withScopes = async (r: ResourceRecord) => ({
    ...resourceWire(r),
    scopes: (await authorization.listScopes(r.id, { offset: 0, limit: WHOLE_LIST })).items.map(scopeWire),
  });

  app.get(
    '/resources',
    {
      schema: {
        tags: ['management'],
        summary: 'List API resources, oldest first (the Management API included); pages only when page or page_size is given',
        security,
        querystring: z.object({ ...optionalPaginationQuery, includeScopes: z.string().optional().describe('true: each resource with its permissions (`scopes`)') }),
        response: { 200: z.array(z.union([resourceWithScopesSchema, resourceSchema])), ...errors },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize, includeScopes } = request.query;
      const paged = page !== undefined || pageSize !== undefined;
      const window = paged ? pageWindow(page ?? 1, pageSize ?? 20) : { offset: 0, limit: WHOLE_LIST };
      const { items, total } = await authorization.listResources(window);
      if (paged) setPaginationHeaders(request, reply, publicUrl, { page: page ?? 1, pageSize: pageSize ?? 20, total });
      if (includeScopes !== undefined && /^(1|true|y|yes|yep|yeah)$/i.test(includeScopes)) return Promise.all(items.map(withScopes));
      return items.map(resourceWire);
    },
  );

  app.post(
    '/resources',
    {
      schema: {
        tags: ['management'],
        summary: 'Register an API resource (201, with `scopes: []`)',
        description: 'Errors: 422 resource.resource_identifier_in_use; 400 resource.invalid_indicator (not an absolute URI, or with a fragment: RFC 8707 §2). `isDefault` is set with PATCH /api/resources/{id}/is-default.',
        security,
        body: z.object({
          name: z.string().min(1).max(256),
          indicator: z.string().min(1).max(2048).describe('An absolute URI without a fragment (RFC 8707)'),
          accessTokenTtl: z.number().int().min(1).optional().describe('Seconds (default 3600, at most 30 days)'),
        }),
        response: { 201: resourceWithScopesSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { name, indicator, accessTokenTtl } = request.body;
      const resource = await authorization.createResource({ name, indicator, ...(accessTokenTtl !== undefined ? { accessTokenTtl } : {}) });
      return reply.status(201).send({ ...resourceWire(resource), scopes: [] });
    },
  );

  app.get(
    '/resources/:id',
    { schema: { tags: ['management'], summary: 'Get an API resource', security, params: resourceParams, response: { 200: resourceSchema, ...errors } } },
    async (request) => resourceWire(await authorization.requireResource(request.params.id)),
  );

  app.patch(
    '/resources/:id',
    {
      schema: {
        tags: ['management'],
        summary: 'Rename an API resource or change its token lifetime (the indicator never changes)',
        description: 'Errors: 404 entity.not_exists_with_id; 400 resource.cannot_modify_management_api.',
        security,
        params: resourceParams,
        body: z.object({ name: z.string().min(1).max(256).optional(), accessTokenTtl: z.number().int().min(1).optional().describe('Seconds') }),
        response: { 200: resourceSchema, ...errors },
      },
    },
    async (request) => {
      const { name, accessTokenTtl } = request.body;
      return resourceWire(await authorization.updateResource(request.params.id, { ...(name !== undefined ? { name } : {}), ...(accessTokenTtl !== undefined ? { accessTokenTtl } : {}) }));
    },
  );

  app.patch(
    '/resources/:id/is-default',
    {
      schema: {
        tags: ['management'],
        summary: 'Make an API resource the default one (at most one is) or no longer the default',
        security,
        params: resourceParams,
        body: z.object({ isDefault: z.boolean() }),
        response: { 200: resourceSchema, ...errors },
      },
    },
    async (request) => resourceWire(await authorization.setDefaultResource(request.params.id, request.body.isDefault)),
  );

  app.delete(
    '/resources/:id',
    {
      schema: {
        tags: ['management'],
        summary: 'Delete an API resource with its permissions and every role\'s grant of them',
        description: 'Errors: 404 entity.not_exists_with_id; 400 resource.cannot_delete_management_api.',
        security,
        params: resourceParams,
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await authorization.deleteResource(request.params.id);
      return reply.status(204).send();
    },
  );

  app.get(
    '/resources/:resourceId/scopes',
    {
      schema: {
        tags: ['management'],
        summary: 'List the permissions of an API resource, oldest first (an unknown resource has none)',
        security,
        params: z.object({ resourceId: pathId }),
        querystring: z.looseObject(searchablePageQuery),
        response: { 200: z.array(scopeSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize } = request.query;
      const search = parseSearch(request.query, ['name']);
      const { items, total } = await authorization.listScopes(request.params.resourceId, { ...pageWindow(page, pageSize), ...(search ? { search } : {}) });
      setPaginationHeaders(request, reply, publicUrl, { page, pageSize, total });
      return items.map(scopeWire);
    },
  );

  const scopeBody = {
    name: z.string().min(1).max(256).describe('An OAuth scope token: no spaces'),
    description: z.string().max(2048).nullable().optional(),
  };

  app.post(
    '/resources/:resourceId/scopes',
    {
      schema: {
        tags: ['management'],
        summary: 'Add a permission to an API resource (201)',
        description: 'Errors: 400 scope.name_with_space; 404 entity.not_exists_with_id; 400 resource.cannot_modify_management_api; 422 scope.name_exists.',
        security,
        params: z.object({ resourceId: pathId }),
        body: z.object(scopeBody),
        response: { 201: scopeSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { name, description } = request.body;
      const scope = await authorization.createScope(request.params.resourceId, { name, ...(description !== undefined ? { description } : {}) });
      return reply.status(201).send(scopeWire(scope));
    },
  );

  app.patch(
    '/resources/:resourceId/scopes/:scopeId',
    {
      schema: {
        tags: ['management'],
        summary: 'Rename a permission or change its description',
        description: 'The permission must belong to the resource (404 entity.not_exists otherwise).',
        security,
        params: scopeParams,
        body: z.object({ name: scopeBody.name.optional(), description: scopeBody.description }),
        response: { 200: scopeSchema, ...errors },
      },
    },
    async (request) => {
      const { name, description } = request.body;
      const { resourceId, scopeId } = request.params;
      return scopeWire(await authorization.updateScope(resourceId, scopeId, { ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}) }));
    },
  );

  app.delete(
    '/resources/:resourceId/scopes/:scopeId',
    {
      schema: {
        tags: ['management'],
        summary: 'Delete a permission and every role\'s grant of it',
        description: 'The permission must belong to the resource (404 entity.not_found otherwise).',
        security,
        params: scopeParams,
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await authorization.deleteScope(request.params.resourceId, request.params.scopeId);
      return reply.status(204).send();
    },
  );

  await app.register(managementRoleRoutes, options);
};
