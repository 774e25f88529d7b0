import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PublicConnector, SocialService } from '../../domain/social/index.js';
import { errorSchema } from '../schemas.js';

/** What the Management API's connector routes need. */
export interface ManagementConnectorsOptions {
  social: SocialService;
}

const errors = { '4xx': errorSchema };
const security = [{ managementToken: [] }];
const idParams = z.object({ id: z.string().min(1).max(64) });

/** A connector as answered: `config` never holds `clientSecret` (write-only). */
const connectorSchema = z
  .object({
    id: z.string(),
    type: z.enum(['oidc', 'oauth2']),
    preset: z.enum(['github', 'google', 'wechat']).nullable(),
    target: z.string().describe('Provider name identities are stored under (google, github, weixin…)'),
    name: z.string().describe('Shown on the sign-in page: "Continue with <name>"'),
    enabled: z.boolean(),
    enableTokenStorage: z.boolean().describe("Keep the provider's tokens of each sign-in and link, sealed (GET /api/my-account/identities/:target/access-token)"),
    config: z.record(z.string(), z.unknown()).describe('Connector settings without clientSecret'),
    hasClientSecret: z.boolean(),
    createdAt: z.number(),
    updatedAt: z.number(),
  })
  .meta({ id: 'SocialConnector' });

/** The answer's shape: Logto's name for token storage. */
function view(connector: PublicConnector): z.infer<typeof connectorSchema> {
  const { tokenStorage, ...rest } = connector;
  return { ...rest, enableTokenStorage: tokenStorage };
}

/** Config keys are validated by the domain (unknown keys, URLs, what the type needs) → 400 connector.invalid_config. */
const configInput = z
  .record(z.string().max(64), z.unknown())
  .describe(
    'clientId, clientSecret (write-only), scope; OIDC: issuer, discoveryUrl?, tokenEndpointAuthMethod?; OAuth 2.0: authorizationEndpoint, ' +
      'tokenEndpoint, userinfoEndpoint, emailsEndpoint?, fields {subject,email,emailVerified,name,avatar}, pkce?; authorizationParams?. ' +
      'Presets fill the vendor endpoints (overridable).',
  );

/**
 * Management API — social connectors (issue 7 §3): create, list, get, update, delete. Client secrets
 * are write-only: accepted on create/update, never in an answer (`hasClientSecret` tells whether one is set).
 */
export const managementConnectorRoutes: FastifyPluginAsyncZod<ManagementConnectorsOptions> = async (app, { social }) => {
  app.post(
    '/connectors',
    {
      schema: {
        tags: ['management'],
        summary: 'Create a social connector (generic oidc/oauth2, or a preset: github, google, wechat)',
        security,
        body: z
          .object({
            type: z.enum(['oidc', 'oauth2']).optional(),
            preset: z.enum(['github', 'google', 'wechat']).optional(),
            target: z.string().min(1).max(128).optional(),
            name: z.string().min(1).max(256),
            enabled: z.boolean().optional(),
            enableTokenStorage: z.boolean().optional().describe('Needs TESSERA_SOCIAL_TOKEN_VAULT_KEY (else 400 connector.invalid_config)'),
            config: configInput,
          })
          .strict(),
        response: { 201: connectorSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { type, preset, target, name, enabled, enableTokenStorage, config } = request.body;
      const created = await social.createConnector({
        name,
        config,
        ...(type ? { type } : {}),
        ...(preset ? { preset } : {}),
        ...(target ? { target } : {}),
        ...(enabled !== undefined ? { enabled } : {}),
        ...(enableTokenStorage !== undefined ? { tokenStorage: enableTokenStorage } : {}),
      });
      return reply.code(201).send(view(created));
    },
  );

  app.get(
    '/connectors',
    { schema: { tags: ['management'], summary: 'Every social connector, oldest first', security, response: { 200: z.array(connectorSchema), ...errors } } },
    async () => (await social.listConnectors()).map(view),
  );

  app.get(
    '/connectors/:id',
    { schema: { tags: ['management'], summary: 'One social connector (404 connector.social_not_found)', security, params: idParams, response: { 200: connectorSchema, ...errors } } },
    async (request) => view(await social.getConnector(request.params.id)),
  );

  app.patch(
    '/connectors/:id',
    {
      schema: {
        tags: ['management'],
        summary: 'Change a connector: config keys are merged; omit clientSecret to keep the stored one',
        security,
        params: idParams,
        body: z
          .object({
            target: z.string().min(1).max(128).optional(),
            name: z.string().min(1).max(256).optional(),
            enabled: z.boolean().optional(),
            enableTokenStorage: z.boolean().optional().describe('Turning it off deletes the token sets kept through this connector'),
            config: configInput.optional(),
          })
          .strict(),
        response: { 200: connectorSchema, ...errors },
      },
    },
    async (request) => {
      const { target, name, enabled, enableTokenStorage, config } = request.body;
      return view(
        await social.updateConnector(request.params.id, {
          ...(target !== undefined ? { target } : {}),
          ...(name !== undefined ? { name } : {}),
          ...(enabled !== undefined ? { enabled } : {}),
          ...(enableTokenStorage !== undefined ? { tokenStorage: enableTokenStorage } : {}),
          ...(config !== undefined ? { config } : {}),
        }),
      );
    },
  );

  app.delete(
    '/connectors/:id',
    {
      schema: {
        tags: ['management'],
        summary: 'Delete a connector (linked identities stay, under their target)',
        security,
        params: idParams,
        response: { 204: z.null().describe('No content'), ...errors },
      },
    },
    async (request, reply) => {
      await social.deleteConnector(request.params.id);
      return reply.code(204).send(null);
    },
  );
};
