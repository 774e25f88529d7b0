import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { MfaService } from '../../domain/mfa/index.js';
import type { UserService } from '../../domain/users/index.js';
import { AppError } from '../../errors/index.js';
import { mfaFactorSchema, toLogtoFactor } from '../mfa-schemas.js';
import { errorSchema } from '../schemas.js';

/** What the Management API's MFA routes need. */
export interface ManagementMfaOptions {
  users: UserService;
  mfa: MfaService;
}

const errors = { '4xx': errorSchema };
const security = [{ managementToken: [] }];
const userParams = z.object({ userId: z.string().min(1).max(64) });

/**
 * Management API — a user's MFA factors (Logto's `/api/users/:userId/mfa-verifications…`, spec
 * logto.md §4.2): list them (same shape as the Account API, never a secret) and remove one (admin
 * reset, e.g. a lost phone). 404 `user.not_found` for an unknown user, 404 `entity.not_found` for a
 * factor the user does not have.
 */
export const managementMfaRoutes: FastifyPluginAsyncZod<ManagementMfaOptions> = async (app, { users, mfa }) => {
  app.get(
    '/users/:userId/mfa-verifications',
    {
      schema: { tags: ['management'], summary: "A user's MFA factors (no secrets)", security, params: userParams, response: { 200: z.array(mfaFactorSchema), ...errors } },
    },
    async (request) => {
      await users.require(request.params.userId);
      return (await mfa.listFactors(request.params.userId)).map(toLogtoFactor);
    },
  );

  app.delete(
    '/users/:userId/mfa-verifications/:verificationId',
    {
      schema: {
        tags: ['management'],
        summary: "Remove one of the user's MFA factors (admin reset)",
        security,
        params: userParams.extend({ verificationId: z.string().min(1).max(64) }),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await users.require(request.params.userId);
      if (!(await mfa.deleteFactor(request.params.userId, request.params.verificationId))) throw new AppError('entity.not_found');
      return reply.status(204).send();
    },
  );
};
