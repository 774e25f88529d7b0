import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { IdentityService } from '../../domain/social/identities.js';
import type { UserService } from '../../domain/users/index.js';
import { AppError } from '../../errors/index.js';
import { errorSchema } from '../schemas.js';
import { identitiesSchema, toLogtoIdentities } from '../logto-views.js';

/** What the Management API's identity routes need. */
export interface ManagementIdentitiesOptions {
  users: UserService;
  identities: IdentityService;
}

const errors = { '4xx': errorSchema };
const security = [{ managementToken: [] }];
const userParams = z.object({ userId: z.string().min(1).max(64) });

/**
 * Management API — a user's third-party identities (Logto's `/api/users/:userId/identities…`,
 * spec logto.md §4.2): list them, and unlink one. Linking happens where the identity is proven
 * (LeanCloud `authData`, social sign-in).
 */
export const managementIdentityRoutes: FastifyPluginAsyncZod<ManagementIdentitiesOptions> = async (app, { users, identities }) => {
  app.get(
    '/users/:userId/identities',
    {
      schema: {
        tags: ['management'],
        summary: "A user's third-party identities, by target (provider)",
        security,
        params: userParams,
        response: { 200: identitiesSchema, ...errors },
      },
    },
    async (request) => {
      await users.require(request.params.userId);
      return toLogtoIdentities(await identities.list(request.params.userId));
    },
  );

  app.delete(
    '/users/:userId/identities/:target',
    {
      schema: {
        tags: ['management'],
        summary: "Unlink one of the user's third-party identities (404 user.identity_not_exist when the user has none of that target)",
        security,
        params: userParams.extend({ target: z.string().min(1).max(128) }),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await users.require(request.params.userId);
      if (!(await identities.unlink(request.params.userId, request.params.target))) throw new AppError('user.identity_not_exist');
      return reply.status(204).send();
    },
  );
};
