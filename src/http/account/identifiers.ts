import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccountRouteDeps } from './deps.js';
import { empty, errors, security } from './view.js';

/**
 * The primary email and phone (logto.md §1.4): `POST|PATCH|DELETE /my-account/primary-email` and
 * `…/primary-phone`. A new address is proven by a verified BindNewIdentifier record; every change needs
 * the caller's identity proof.
 */
export const accountIdentifierRoutes: FastifyPluginAsyncZod<AccountRouteDeps> = async (app, { account, policy, audit, phoneInput }) => {
  const { context, firstParty, scope, editable, identityProof, guard } = policy;
  for (const channel of ['email', 'phone'] as const) {
    const path = channel === 'email' ? '/my-account/primary-email' : '/my-account/primary-phone';
    const column = channel === 'email' ? 'primaryEmail' : 'primaryPhone';
    const policyOf = guard(identityProof, editable(channel), scope(channel, 'auth.scope_missing'), firstParty);
    const body = channel === 'email'
      ? z.object({ email: z.string().min(3).max(256), newIdentifierVerificationRecordId: z.string().min(1).max(64) })
      : z.object({ phone: z.string().min(3).max(32), newIdentifierVerificationRecordId: z.string().min(1).max(64) });
    const schema = {
      tags: ['account'],
      summary: `Bind a new primary ${channel} proven by newIdentifierVerificationRecordId; needs logto-verification-id`,
      security,
      body,
      response: { 204: empty, ...errors },
    };
    const bind = async (request: FastifyRequest, reply: FastifyReply) => {
      const { caller } = context(request);
      const given = request.body as { email?: string; phone?: string; newIdentifierVerificationRecordId: string };
      const value = channel === 'email' ? given.email! : phoneInput(given.phone!);
      await account.bindIdentifier(caller.user, channel, value, given.newIdentifierVerificationRecordId);
      await audit(request, `bind_${channel}`, [column]);
      return reply.code(204).send(null);
    };
    app.post(path, { schema, ...policyOf }, bind);
    app.patch(path, { schema: { ...schema, summary: 'Same as POST (seed spelling)' }, ...policyOf }, bind);
    app.delete(
      path,
      {
        schema: { tags: ['account'], summary: `Remove the primary ${channel} (never the last way to sign in); needs logto-verification-id`, security, response: { 204: empty, ...errors } },
        ...policyOf,
      },
      async (request, reply) => {
        await account.removeIdentifier(context(request).caller.user, channel);
        await audit(request, `remove_${channel}`, [column]);
        return reply.code(204).send(null);
      },
    );
  }
};
