import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestMeta } from '../request-meta.js';
import type { AccountRouteDeps } from './deps.js';
import { errors, identifierSchema, recordSchema, security, toLogtoRecord } from './view.js';

/**
 * The Verification API (logto.md §2): identity proofs and new-identifier proofs, each a verification
 * record usable for 10 minutes — `POST /verifications/password`, `POST /verifications/verification-code`,
 * `POST /verifications/verification-code/verify`. First-party callers only.
 */
export const accountVerificationRoutes: FastifyPluginAsyncZod<AccountRouteDeps> = async (app, { account, policy, phoneInput }) => {
  const { context, firstParty, guard } = policy;

  app.post(
    '/verifications/password',
    {
      schema: {
        tags: ['verification'],
        summary: 'Prove identity with the password: a record usable as logto-verification-id for 10 minutes',
        security,
        body: z.object({ password: z.string().min(1).max(1024) }),
        response: { 201: recordSchema, ...errors },
      },
      ...guard(firstParty),
    },
    async (request, reply) => reply.code(201).send(toLogtoRecord(await account.provePassword(context(request).caller.user, request.body.password, requestMeta(request)))),
  );

  app.post(
    '/verifications/verification-code',
    {
      schema: {
        tags: ['verification'],
        summary: 'Send a code to an email or phone (the current one proves identity; a new one proves ownership, template BindNewIdentifier)',
        security,
        body: z.object({ identifier: identifierSchema, templateType: z.string().max(64).optional() }),
        response: { 201: recordSchema, ...errors },
      },
      ...guard(firstParty),
    },
    async (request, reply) => {
      const { type, value } = request.body.identifier;
      const issued = await account.sendCode(context(request).caller.user, type, type === 'phone' ? phoneInput(value) : value, request.ip);
      return reply.code(201).send(toLogtoRecord(issued));
    },
  );

  app.post(
    '/verifications/verification-code/verify',
    {
      schema: {
        tags: ['verification'],
        summary: 'Check the code of a verification-code record and mark it verified',
        security,
        body: z.object({ identifier: identifierSchema, verificationId: z.string().min(1).max(64), code: z.string().min(1).max(16) }),
        response: { 200: z.object({ verificationRecordId: z.string() }), ...errors },
      },
      ...guard(firstParty),
    },
    async (request) => {
      const { identifier, verificationId, code } = request.body;
      const value = identifier.type === 'phone' ? phoneInput(identifier.value) : identifier.value;
      await account.verifyCode(identifier.type, value, verificationId, code);
      return { verificationRecordId: verificationId };
    },
  );
};
