import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuthorizationService } from '../../domain/authorization/index.js';
import type { SessionService } from '../../domain/sessions/index.js';
import { requireSession } from '../principal.js';
import { errorSchema } from '../schemas.js';

/** What the signed-in user's authorization routes need. */
export interface MeAuthorizationOptions {
  sessions: SessionService;
  authorization: AuthorizationService;
}

const errors = { '4xx': errorSchema, '5xx': errorSchema };
const bearer = [{ bearerAuth: [] }];
const namespace = z
  .string()
  .min(1)
  .max(2048)
  .optional()
  .describe("An API resource's indicator: only what concerns that resource (Authing's namespace)");

const roleSchema = z
  .object({ id: z.string(), name: z.string(), description: z.string(), type: z.enum(['User', 'MachineToMachine']) })
  .meta({ id: 'MyRole' });

/**
 * The signed-in user's roles and permissions under `/api/auth/me` (issue 18 item 6; what the SDK's
 * `hasRole`, `listRoles` and `listAuthorizedResources` call, Authing's names), with a first-party session
 * token. Authing's namespace is an API resource's indicator here. The rules are domain/authorization's.
 */
export const meAuthorizationRoutes: FastifyPluginAsyncZod<MeAuthorizationOptions> = async (app, { sessions, authorization }) => {
  app.get(
    '/me/roles',
    {
      schema: {
        tags: ['auth'],
        summary: "The signed-in user's roles (Authing listRoles / hasRole)",
        description: 'Oldest grant first. With `namespace`, only the roles holding a permission of that resource.',
        security: bearer,
        querystring: z.object({ namespace }).strict(),
        response: { 200: z.object({ totalCount: z.number().int(), list: z.array(roleSchema) }), ...errors },
      },
    },
    async (request) => {
      const { user } = await requireSession(request, sessions);
      const roles = await authorization.rolesOf(user.id, request.query.namespace);
      return { totalCount: roles.length, list: roles.map(({ id, name, description, type }) => ({ id, name, description, type })) };
    },
  );

  app.get(
    '/me/authorized-resources',
    {
      schema: {
        tags: ['auth'],
        summary: "The API resources the signed-in user's roles give permissions of (Authing listAuthorizedResources)",
        description: 'Each resource with the names of the permissions the user holds there (what a token for it may carry).',
        security: bearer,
        querystring: z.object({ namespace }).strict(),
        response: {
          200: z.object({
            totalCount: z.number().int(),
            list: z.array(z.object({ indicator: z.string(), name: z.string(), scopes: z.array(z.string()) }).meta({ id: 'AuthorizedResource' })),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { user } = await requireSession(request, sessions);
      const list = (await authorization.authorizedResources(user.id, request.query.namespace)).map(({ resource, scopes }) => ({
        indicator: resource.indicator,
        name: resource.name,
        scopes,
      }));
      return { totalCount: list.length, list };
    },
  );
};
