import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { IdentityService } from '../../domain/social/identities.js';
import type { SocialService } from '../../domain/social/index.js';
import type { UserService } from '../../domain/users/index.js';
import { AppError } from '../../errors/index.js';
import { errorSchema } from '../schemas.js';
import { identitiesSchema, logtoUserSchema, toLogtoIdentities, toLogtoUser } from '../logto-views.js';

/** What the Management API's identity routes need. */
export interface ManagementIdentitiesOptions {
  users: UserService;
  identities: IdentityService;
  /** The social connectors (absent in apps built without them: every connector id is then unknown). */
  social?: SocialService;
}

const errors = { '4xx': errorSchema };
const security = [{ managementToken: [] }];
const userParams = z.object({ userId: z.string().min(1).max(64) });

const targetParams = userParams.extend({ target: z.string().min(1).max(128) });
const identitySchema = z.object({ userId: z.string(), details: z.record(z.string(), z.unknown()) });
/** Logto's `tokenSecret` of a social identity: metadata only (`expiresAt` in seconds, as Logto; times in ms). */
const tokenSecretSchema = z.object({
  userId: z.string(),
  type: z.literal('FederatedTokenSet'),
  connectorId: z.string(),
  identityId: z.string(),
  target: z.string(),
  metadata: z.object({ scope: z.string().optional(), tokenType: z.string().optional(), expiresAt: z.number().int().optional(), hasRefreshToken: z.boolean() }),
  createdAt: z.number(),
  updatedAt: z.number(),
});

/**
 * Management API — a user's third-party identities (Logto's `/api/users/:userId/identities…`,
 * spec logto.md §4.2): list them, read one, set one (the administrator vouches for the provider
 * account: `PUT …/:target` `{userId, details?}`), link one proven by an authorization code
 * (`POST …/identities` `{connectorId, connectorData}`), and unlink one (200 with the user, as Logto).
 */
export const managementIdentityRoutes: FastifyPluginAsyncZod<ManagementIdentitiesOptions> = async (app, { users, identities, social }) => {
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

  app.get(
    '/users/:userId/identities/:target',
    {
      schema: {
        tags: ['management'],
        summary:
          "One of the user's third-party identities (404 user.identity_not_exist); with includeTokenSecret=true, what may be shown of the provider token set kept for it (never a token)",
        security,
        params: targetParams,
        querystring: z.looseObject({ includeTokenSecret: z.string().optional() }),
        response: { 200: z.object({ identity: identitySchema, tokenSecret: tokenSecretSchema.optional() }), ...errors },
      },
    },
    async (request) => {
      const { userId, target } = request.params;
      await users.require(userId);
      const found = (await identities.list(userId)).find((i) => i.provider === target);
      if (!found) throw new AppError('user.identity_not_exist');
      const identity = { userId: found.subject, details: found.data };
      if (!social || !/^(true|1|yes)$/i.test(request.query.includeTokenSecret ?? '')) return { identity };
      const kept = await social.tokens.metadata(userId, target);
      if (!kept) return { identity };
      return {
        identity,
        tokenSecret: {
          userId,
          type: 'FederatedTokenSet' as const,
          connectorId: kept.connectorId,
          identityId: kept.identityId,
          target: kept.target,
          metadata: {
            ...(kept.scope ? { scope: kept.scope } : {}),
            ...(kept.tokenType ? { tokenType: kept.tokenType } : {}),
            ...(kept.expiresAt !== null ? { expiresAt: Math.floor(kept.expiresAt / 1000) } : {}),
            hasRefreshToken: kept.hasRefreshToken,
          },
          createdAt: kept.createdAt,
          updatedAt: kept.updatedAt,
        },
      };
    },
  );

  app.put(
    '/users/:userId/identities/:target',
    {
      schema: {
        tags: ['management'],
        summary: "Set the user's identity for a target (the administrator vouches for it): 201 when the target is new, else 200; the identities map",
        security,
        params: targetParams,
        body: z.object({ userId: z.string().min(1).max(512), details: z.record(z.string(), z.unknown()).optional() }).strict(),
        response: { 200: identitiesSchema, 201: identitiesSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { userId, target } = request.params;
      await users.require(userId);
      const { created } = await identities.setByAdministrator(userId, target, request.body.userId, request.body.details ?? {});
      return reply.status(created ? 201 : 200).send(toLogtoIdentities(await identities.list(userId)));
    },
  );

  app.post(
    '/users/:userId/identities',
    {
      schema: {
        tags: ['management'],
        summary:
          "Link the identity behind an authorization code the app obtained itself (Logto's connectorData: code, redirectUri, and the request's codeVerifier / nonce when it used them): the connector redeems the code at the provider; 200 with the identities map",
        security,
        params: userParams,
        body: z
          .object({
            connectorId: z.string().min(1).max(64),
            connectorData: z
              .object({
                code: z.string().min(1).max(2048),
                redirectUri: z.string().min(1).max(2048),
                codeVerifier: z.string().min(43).max(128).optional(),
                nonce: z.string().min(1).max(512).optional(),
                state: z.string().max(2048).optional(),
              })
              .catchall(z.unknown()),
          })
          .strict(),
        response: { 200: identitiesSchema, ...errors },
      },
    },
    async (request) => {
      const { userId } = request.params;
      if (!social) throw new AppError('session.invalid_connector_id');
      await social.linkByAdministrator(userId, request.body.connectorId, request.body.connectorData);
      return toLogtoIdentities(await identities.list(userId));
    },
  );

  app.delete(
    '/users/:userId/identities/:target',
    {
      schema: {
        tags: ['management'],
        summary: "Unlink one of the user's third-party identities: 200 with the user (Logto), or 404 user.identity_not_exist",
        security,
        params: targetParams,
        response: { 200: logtoUserSchema, ...errors },
      },
    },
    async (request) => {
      const user = await users.require(request.params.userId);
      if (!(await identities.unlink(user.id, request.params.target))) throw new AppError('user.identity_not_exist');
      return toLogtoUser(user, await identities.list(user.id));
    },
  );
};
