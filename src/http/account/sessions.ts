import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, isAppError } from '../../errors/index.js';
import type { AccountRouteDeps } from './deps.js';
import { SESSIONS_SCOPE } from './policy.js';
import { empty, errors, security } from './view.js';
import { grantSchema } from '../logto-views.js';

const sessionSchema = z.object({
  id: z.string().describe('First-party session id, or the uid of an OIDC provider session'),
  kind: z.enum(['session', 'oidc']).describe('`session`: a first-party session token; `oidc`: a browser signed in at /oidc'),
  createdAt: z.number().nullable(),
  lastUsedAt: z.number().nullable(),
  expiresAt: z.number().nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  clientIds: z.array(z.string()).optional().describe('OIDC sessions: the applications authorized in it'),
  amr: z.array(z.string()).describe('How the user authenticated (RFC 8176)'),
  isCurrent: z.boolean(),
});


/**
 * Sessions and connected applications (field `session`, scope `urn:logto:scope:sessions`):
 * `GET /my-account/sessions`, `DELETE /my-account/sessions/:sessionId`, `GET /my-account/grants`,
 * `DELETE /my-account/grants/:grantId`. Every route needs the caller's identity proof.
 */
export const accountSessionRoutes: FastifyPluginAsyncZod<AccountRouteDeps> = async (app, { account, sessions, policy, audit }) => {
  const { context, firstParty, scope, readable, editable, identityProof, guard } = policy;
  const read = guard(identityProof, readable('session'), scope(SESSIONS_SCOPE));
  const change = guard(identityProof, editable('session'), scope(SESSIONS_SCOPE), firstParty);

  app.get(
    '/my-account/sessions',
    {
      schema: {
        tags: ['account'],
        summary: 'The caller\'s sessions: first-party sessions and OIDC provider sessions (field `session`); needs logto-verification-id',
        security,
        response: { 200: z.object({ sessions: z.array(sessionSchema) }), ...errors },
      },
      ...read,
    },
    async (request) => {
      const { caller } = context(request);
      const [own, oidc] = await Promise.all([sessions.list(caller.user.id), account.listOidcSessions(caller.user)]);
      return {
        sessions: [
          ...own.map((s) => ({
            id: s.id, kind: 'session' as const, createdAt: s.createdAt, lastUsedAt: s.lastUsedAt, expiresAt: s.expiresAt,
            ip: s.ip, userAgent: s.userAgent, amr: s.amr, isCurrent: s.id === caller.sessionId,
          })),
          ...oidc.map((s) => ({
            id: s.uid, kind: 'oidc' as const, createdAt: s.createdAt, lastUsedAt: s.lastUsedAt, expiresAt: s.expiresAt,
            ip: null, userAgent: null, clientIds: s.clientIds, amr: s.amr, isCurrent: s.uid === caller.oidcSessionUid,
          })),
        ],
      };
    },
  );

  app.delete(
    '/my-account/sessions/:sessionId',
    {
      schema: {
        tags: ['account'],
        summary: 'End one of the caller\'s sessions (field `session` Edit); for an OIDC session, revokeGrantsTarget also revokes the grants it authorized; needs logto-verification-id',
        security,
        params: z.object({ sessionId: z.string().min(1).max(64) }),
        querystring: z.object({ revokeGrantsTarget: z.enum(['all', 'firstParty']).optional() }),
        response: { 204: empty, ...errors },
      },
      ...change,
    },
    async (request, reply) => {
      const { caller } = context(request);
      try {
        await sessions.revokeForUser(caller.user.id, request.params.sessionId);
      } catch (error) {
        if (!isAppError(error, 'session.not_found')) throw error;
        if (!(await account.endOidcSession(caller.user, request.params.sessionId, request.query.revokeGrantsTarget))) {
          throw new AppError('oidc.session_not_found');
        }
      }
      await audit(request, 'revoke_session', ['session']);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/my-account/grants',
    {
      schema: {
        tags: ['account'],
        summary: 'The OAuth applications the caller connected (field `session`), optionally only first- or third-party ones; needs logto-verification-id',
        security,
        querystring: z.object({ appType: z.enum(['firstParty', 'thirdParty']).optional() }),
        response: { 200: z.object({ grants: z.array(grantSchema) }), ...errors },
      },
      ...read,
    },
    async (request) => ({ grants: await account.listGrants(context(request).caller.user, request.query.appType ? { appType: request.query.appType } : {}) }),
  );

  app.delete(
    '/my-account/grants/:grantId',
    {
      schema: {
        tags: ['account'],
        summary: 'Disconnect an application: revoke the grant and its tokens (field `session` Edit); needs logto-verification-id',
        security,
        params: z.object({ grantId: z.string().min(1).max(128) }),
        response: { 204: empty, ...errors },
      },
      ...change,
    },
    async (request, reply) => {
      await account.revokeGrant(context(request).caller.user, request.params.grantId);
      await audit(request, 'revoke_grant', ['grant']);
      return reply.code(204).send(null);
    },
  );
};
