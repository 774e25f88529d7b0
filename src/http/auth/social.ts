import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SocialService } from '../../domain/social/index.js';
import { toPublicUser } from '../../domain/users/index.js';
import { requestMeta } from '../principal.js';
import { errorSchema, signedInSchema } from '../schemas.js';

/** What the first-party social sign-in routes need. */
export interface SocialAuthOptions {
  social: SocialService;
}

const errors = { '4xx': errorSchema, '5xx': errorSchema };

/**
 * First-party social sign-in / sign-up (issue 7 §4), under `/api/auth/social`:
 * - `POST /start` {connectorId, redirectUri, clientId?, scope?} → 200 {authorizationUri, state, expiresAt}.
 *   The redirect URI must be in `social.redirectUris` or registered by application `clientId` (no open
 *   redirector); the `state` is 128 random bits, single use, 10 minutes.
 * - `POST /callback` {connectorId, state, code?} or {connectorId, state, query: {code, state, …}} →
 *   200 {user, session}: the owner of the external identity signs in, or a new user signs up, or (see
 *   SocialService) the identity is linked to the account with the same verified email.
 */
export const socialAuthRoutes: FastifyPluginAsyncZod<SocialAuthOptions> = async (app, { social }) => {
  app.get(
    '/social/connectors',
    {
      schema: {
        tags: ['auth'],
        summary: 'The enabled social connectors (id, name, target) for "Continue with …" buttons',
        response: { 200: z.array(z.object({ id: z.string(), name: z.string(), target: z.string() })), ...errors },
      },
    },
    async () => social.enabledConnectors(),
  );

  app.post(
    '/social/start',
    {
      schema: {
        tags: ['auth'],
        summary: 'Start social sign-in: the provider authorization URI and the state to expect back',
        description: 'Errors: session.invalid_connector_id (422), connector.redirect_uri_not_allowed (400), request.rate_limited (429), connector.idp_unreachable (502).',
        body: z
          .object({
            connectorId: z.string().min(1).max(64),
            redirectUri: z.string().min(1).max(2048),
            clientId: z.string().min(1).max(255).optional().describe('Application whose registered redirect URIs allow redirectUri'),
            scope: z.string().max(1024).optional(),
          })
          .strict(),
        response: {
          200: z.object({ authorizationUri: z.string(), state: z.string(), expiresAt: z.string().describe('ISO 8601') }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { connectorId, redirectUri, clientId, scope } = request.body;
      const started = await social.startSignIn({ connectorId, redirectUri, ...(clientId ? { clientId } : {}), ...(scope ? { scope } : {}) }, requestMeta(request));
      return { authorizationUri: started.authorizationUri, state: started.state, expiresAt: new Date(started.expiresAt).toISOString() };
    },
  );

  app.post(
    '/social/callback',
    {
      schema: {
        tags: ['auth'],
        summary: 'Finish social sign-in with the provider callback: signs in, links by verified email, or signs up',
        description:
          'Errors: connector.session_not_found (400: unknown/used/expired state), connector.state_mismatch (400), ' +
          'connector.authorization_failed (400: refused or replayed code), connector.id_token_invalid (400), ' +
          'auth.user_suspended (403), auth.mfa_required (403), user.identity_already_bound (400), user.email_taken (409), identity.already_linked (409), ' +
          'request.rate_limited (429), connector.idp_unreachable / connector.invalid_response (502).',
        body: z
          .object({
            connectorId: z.string().min(1).max(64),
            state: z.string().min(1).max(512),
            code: z.string().min(1).max(4096).optional(),
            query: z.record(z.string().max(128), z.unknown()).optional().describe('The callback query parameters as received'),
          })
          .strict(),
        response: { 200: signedInSchema, ...errors },
      },
    },
    async (request) => {
      const { connectorId, state, code, query } = request.body;
      const callback = { ...(query ?? {}), ...(code !== undefined ? { code } : {}) };
      const { user, issued } = await social.callback(connectorId, state, callback, requestMeta(request));
      return { user: toPublicUser(user), session: { token: issued.token, expiresAt: new Date(issued.session.expiresAt).toISOString() } };
    },
  );
};
