import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccountRouteDeps } from './deps.js';
import { empty, errors, security } from './view.js';

/**
 * `POST|PATCH /my-account/password` (logto.md §1.4): a new password through
 * `CredentialService.setPassword` (every other session of the user ends; this caller's stays).
 */
export const accountPasswordRoutes: FastifyPluginAsyncZod<AccountRouteDeps> = async (app, { account, policy }) => {
  const { context, firstParty, identityProofIfPossible, editable, guard } = policy;
  const handler = async (request: FastifyRequest<{ Body: { password: string } }>, reply: FastifyReply) => {
    const { caller } = context(request);
    await account.changePassword(
      caller.user,
      request.body.password,
      { sessionId: caller.sessionId, grantId: caller.grantId, oidcSessionUid: caller.oidcSessionUid },
      { ip: request.ip, clientId: caller.clientId },
    );
    return reply.code(204).send(null);
  };
  const options = {
    schema: {
      tags: ['account'],
      summary: 'Set a new password (policy applies); ends the user\'s other sessions. Needs logto-verification-id when the user has a password, email or phone',
      security,
      body: z.object({ password: z.string().min(1).max(1024) }),
      response: { 204: empty, ...errors },
    },
    ...guard(firstParty, identityProofIfPossible, editable('password')),
  };
  app.post('/my-account/password', options, handler);
  app.patch('/my-account/password', { ...options, schema: { ...options.schema, summary: 'Same as POST (seed spelling)' } }, handler);
};
