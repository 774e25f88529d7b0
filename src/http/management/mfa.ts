import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { MfaService } from '../../domain/mfa/index.js';
import type { UserService } from '../../domain/users/index.js';
import { AppError } from '../../errors/index.js';
import { definedPreferences, logtoConfigsSchema, logtoConfigsUpdateSchema, mfaFactorSchema, toLogtoFactor } from '../mfa-schemas.js';
import type { SignInPreferenceService } from '../../domain/account/preferences.js';
import { errorSchema } from '../schemas.js';

/** What the Management API's MFA routes need. */
export interface ManagementMfaOptions {
  users: UserService;
  mfa: MfaService;
  /** Users' sign-in preferences (`/users/:userId/logto-configs`); absent: no such routes. */
  preferences?: SignInPreferenceService;
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
export const managementMfaRoutes: FastifyPluginAsyncZod<ManagementMfaOptions> = async (app, { users, mfa, preferences }) => {
  if (preferences) {
    app.get(
      '/users/:userId/logto-configs',
      {
        schema: { tags: ['management'], summary: "A user's sign-in preferences (Logto's logtoConfig)", security, params: userParams, response: { 200: logtoConfigsSchema, ...errors } },
      },
      async (request) => preferences.get((await users.require(request.params.userId)).id),
    );
    app.patch(
      '/users/:userId/logto-configs',
      {
        schema: {
          tags: ['management'],
          summary: "Change the given keys of a user's sign-in preferences",
          security,
          params: userParams,
          body: logtoConfigsUpdateSchema,
          response: { 200: logtoConfigsSchema, ...errors },
        },
      },
      async (request) => preferences.update((await users.require(request.params.userId)).id, definedPreferences(request.body)),
    );
  }

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
