import { type AccountPolicy, IDENTITIES_SCOPE } from './policy.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccountService } from '../../domain/account/index.js';
import type { SocialService } from '../../domain/social/index.js';
import { errorSchema } from '../schemas.js';

/** What the Account API social routes need (registered inside `accountRoutes`, whose hook resolves the caller). */
export interface AccountSocialOptions {
  social: SocialService;
  account: AccountService;
  /** The named guard steps and the request context (policy.ts). */
  policy: AccountPolicy;
}

const errors = { '4xx': errorSchema, '5xx': errorSchema };
const security = [{ bearerAuth: [] }];

/** A kept provider access token as the access-token routes answer it (RFC 6749 §5.1 names; `expires_in` in seconds). */
const providerAccessTokenSchema = z.object({
  access_token: z.string(),
  token_type: z.string().optional(),
  scope: z.string().optional(),
  expires_in: z.number().int().optional(),
});

/** Seed 000: the callback's query parameters "wrapped as JSON"; a JSON string of that object is accepted too. */
const connectorDataSchema = z
  .union([
    z.record(z.string().max(128), z.unknown()),
    z.string().max(16_384).transform((text, ctx) => {
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: 'connectorData must be a JSON object of the callback query parameters' });
      return z.NEVER;
    }),
  ])
  .describe('The query parameters of the provider callback (code, state, …), as a JSON object');


/**
 * Account API and Verification API routes for social identities, exactly as seed 000 ("绑定新的社交连接",
 * "移除社交连接") and logto.md §2.2 routes 4–5, §1.5 routes 10 and 12:
 * - `POST /verifications/social` {connectorId, redirectUri, state, scope?} → 201 {verificationRecordId, authorizationUri, expiresAt}
 * - `POST /verifications/social/verify` {connectorData, verificationRecordId} → 200 {verificationRecordId}
 * - `POST /my-account/identities` {newIdentifierVerificationRecordId} (+ `logto-verification-id` when the
 *   user has a password, email or phone) → 204
 * - `PUT /my-account/identities` (same) → 204: replaces the caller's identity of that target (upsert)
 * - `DELETE /my-account/identities/:target` (same conditional proof) → 204
 * Linking and unlinking need the account-center field `social` = Edit (400 `account_center.field_not_editable`).
 */
export const accountSocialRoutes: FastifyPluginAsyncZod<AccountSocialOptions> = async (app, { social, account, policy }) => {
  const { context, firstParty, scope, readable, editable, identityProofIfPossible, guard } = policy;
  // A provider token is the user's key to another service: first-party apps only, as every Account API write.
  const tokenReadPolicy = guard(readable('social'), scope(IDENTITIES_SCOPE, 'auth.scope_missing'), firstParty);

  app.post(
    '/verifications/social',
    {
      schema: {
        tags: ['verification'],
        summary: 'Start linking a social account: the provider authorization URI and a social verification record (10 minutes)',
        security,
        body: z.object({
          connectorId: z.string().min(1).max(64),
          redirectUri: z.string().min(1).max(2048),
          state: z.string().min(1).max(512),
          scope: z.string().max(1024).optional(),
        }),
        response: {
          201: z.object({ verificationRecordId: z.string(), authorizationUri: z.string(), expiresAt: z.string().describe('ISO 8601') }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { caller } = context(request);
      const { connectorId, redirectUri, state, scope } = request.body;
      const started = await social.startVerification(caller.user, { connectorId, redirectUri, state, ...(scope ? { scope } : {}) }, caller.clientId);
      return reply
        .code(201)
        .send({ verificationRecordId: started.id, authorizationUri: started.authorizationUri, expiresAt: new Date(started.expiresAt).toISOString() });
    },
  );

  app.post(
    '/verifications/social/verify',
    {
      schema: {
        tags: ['verification'],
        summary: 'Complete a social verification record with the provider callback parameters (code, state)',
        security,
        body: z.object({ connectorData: connectorDataSchema, verificationRecordId: z.string().min(1).max(64) }),
        response: { 200: z.object({ verificationRecordId: z.string() }), ...errors },
      },
    },
    async (request) => {
      const { caller } = context(request);
      return social.verifyRecord(caller.user, request.body.verificationRecordId, request.body.connectorData);
    },
  );

  // POST links (refused when the caller has an identity of that target); PUT replaces it (Logto's upsert).
  for (const method of ['POST', 'PUT'] as const) {
    app.route({
      method,
      url: '/my-account/identities',
      schema: {
        tags: ['account'],
        summary:
          method === 'POST'
            ? 'Link the social identity of a verified social record (logto-verification-id needed when a password, email or phone is set)'
            : "Link the social identity of a verified social record, replacing the caller's identity of that target (upsert)",
        security,
        body: z.object({ newIdentifierVerificationRecordId: z.string().min(1).max(64) }),
        response: { 204: z.null().describe('No content'), ...errors },
      },
      ...guard(editable('social'), scope(IDENTITIES_SCOPE), firstParty, identityProofIfPossible),
      handler: async (request, reply) => {
        const { caller } = context(request);
        await social.bindIdentity(caller.user, request.body.newIdentifierVerificationRecordId, { replace: method === 'PUT' });
        await account.audit(caller.user.id, method === 'PUT' ? 'replace_identity' : 'link_identity', ['identities'], { ip: request.ip, clientId: caller.clientId });
        return reply.code(204).send(null);
      },
    });
  }

  app.get(
    '/my-account/identities/:target/access-token',
    {
      schema: {
        tags: ['account'],
        summary:
          "The provider access token kept for the caller's identity of this target (connectors with token storage on), refreshed first when it has expired and a refresh token is kept; 404 secrets.third_party_token_set.token_not_found, 401 secrets.third_party_token_set.access_token_expired",
        security,
        params: z.object({ target: z.string().min(1).max(128) }),
        response: { 200: providerAccessTokenSchema, ...errors },
      },
      ...tokenReadPolicy,
    },
    // Every answer already carries `Cache-Control: no-store` (app.ts), as RFC 6749 §5.1 asks of a token.
    async (request) => social.tokens.accessToken(context(request).caller.user.id, request.params.target),
  );

  app.put(
    '/my-account/identities/:target/access-token',
    {
      schema: {
        tags: ['account'],
        summary:
          "Keep the provider tokens of a fresh social verification of an identity you have (without linking again); the new access token. 422 verification_record.social_verification.invalid_target, user.identity_not_exists_in_current_user, verification_record.social_verification.token_response_not_found",
        security,
        params: z.object({ target: z.string().min(1).max(128) }),
        body: z.object({ verificationRecordId: z.string().min(1).max(64) }),
        response: { 200: providerAccessTokenSchema, ...errors },
      },
      ...tokenReadPolicy,
    },
    async (request) => social.renewTokens(context(request).caller.user, request.params.target, request.body.verificationRecordId),
  );

  app.delete(
    '/my-account/identities/:target',
    {
      schema: {
        tags: ['account'],
        summary: 'Unlink a social identity by target (refused when it is the last way to sign in)',
        security,
        params: z.object({ target: z.string().min(1).max(128) }),
        response: { 204: z.null().describe('No content'), ...errors },
      },
      ...guard(editable('social'), scope(IDENTITIES_SCOPE, 'auth.scope_missing'), firstParty, identityProofIfPossible),
    },
    async (request, reply) => {
      const { caller } = context(request);
      await social.unbindIdentity(caller.user, request.params.target);
      await account.audit(caller.user.id, 'unlink_identity', ['identities'], { ip: request.ip, clientId: caller.clientId });
      return reply.code(204).send(null);
    },
  );
};
