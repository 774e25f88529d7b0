import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApplicationRecord, ApplicationService } from '../../domain/applications/index.js';
import { pageWindow, paginationQuery, setPaginationHeaders } from '../pagination.js';
import { errorSchema } from '../schemas.js';

/** What the Management API's application routes need. */
export interface ManagementApplicationsOptions {
  applications: ApplicationService;
  publicUrl: string;
}

const errors = { '4xx': errorSchema };
const security = [{ managementToken: [] }];
const idParams = z.object({ id: z.string().min(1).max(64) });
const uriList = z.array(z.string().min(1).max(2048)).max(50);

/** An application as the Management API shows it: never the secret's hash. Timestamps in ms. */
const applicationSchema = z
  .object({
    id: z.string().describe('The OAuth client_id'),
    name: z.string(),
    type: z.enum(['traditional', 'spa', 'native', 'm2m']),
    redirectUris: z.array(z.string()),
    postLogoutRedirectUris: z.array(z.string()),
    corsOrigins: z.array(z.string()),
    isManagement: z.boolean().describe('Holds the management role (Management API access, m2m only)'),
    allowTokenExchange: z.boolean().describe('May use the token-exchange grant to act as a user (traditional and m2m only)'),
    isThirdParty: z.boolean().describe('Third-party app: users consent at /oidc; its tokens may only read the Account API'),
    hasSecret: z.boolean(),
    createdAt: z.number(),
    updatedAt: z.number(),
  })
  .meta({ id: 'Application' });

/** An application with its client secret, shown only when created or rotated. */
const issuedSchema = applicationSchema.extend({ secret: z.string().nullable().describe('Shown once; store it now') });

function toWire(app: ApplicationRecord) {
  const { secretHash, ...rest } = app;
  return { ...rest, hasSecret: secretHash !== null };
}

/**
 * Management API — applications (OAuth clients; issue 4 §2). Changes take effect at once (the OIDC
 * provider reads clients from the database on each use). Shapes are Tessera's own, close to Logto's:
 * `type` is one of traditional, spa, native, m2m; URIs and CORS origins are top-level lists.
 */
export const managementApplicationRoutes: FastifyPluginAsyncZod<ManagementApplicationsOptions> = async (app, { applications, publicUrl }) => {
  app.get(
    '/applications',
    {
      schema: {
        tags: ['management'],
        summary: 'List applications, newest first (Total-Number and Link headers)',
        security,
        querystring: z.object(paginationQuery),
        response: { 200: z.array(applicationSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize } = request.query;
      const { items, total } = await applications.list(pageWindow(page, pageSize));
      setPaginationHeaders(request, reply, publicUrl, { page, pageSize, total });
      return items.map(toWire);
    },
  );

  app.post(
    '/applications',
    {
      schema: {
        tags: ['management'],
        summary: 'Create an application; the answer carries its client secret once',
        security,
        body: z
          .object({
            name: z.string().min(1).max(256),
            type: z.enum(['traditional', 'spa', 'native', 'm2m']),
            redirectUris: uriList.optional(),
            postLogoutRedirectUris: uriList.optional(),
            corsOrigins: uriList.optional(),
            isManagement: z.boolean().optional(),
            allowTokenExchange: z.boolean().optional(),
            isThirdParty: z.boolean().optional(),
          })
          .strict(),
        response: { 201: issuedSchema, ...errors },
      },
    },
    async (request, reply) => {
      const issued = await applications.create(request.body);
      return reply.status(201).send({ ...toWire(issued.application), secret: issued.secret });
    },
  );

  app.get(
    '/applications/:id',
    { schema: { tags: ['management'], summary: 'Get an application', security, params: idParams, response: { 200: applicationSchema, ...errors } } },
    async (request) => toWire(await applications.require(request.params.id)),
  );

  app.patch(
    '/applications/:id',
    {
      schema: {
        tags: ['management'],
        summary: 'Update an application (takes effect at once)',
        security,
        params: idParams,
        body: z
          .object({
            name: z.string().min(1).max(256).optional(),
            redirectUris: uriList.optional(),
            postLogoutRedirectUris: uriList.optional(),
            corsOrigins: uriList.optional(),
            isManagement: z.boolean().optional(),
            allowTokenExchange: z.boolean().optional(),
            isThirdParty: z.boolean().optional(),
          })
          .strict(),
        response: { 200: applicationSchema, ...errors },
      },
    },
    async (request) => toWire(await applications.update(request.params.id, request.body)),
  );

  app.delete(
    '/applications/:id',
    { schema: { tags: ['management'], summary: 'Delete an application', security, params: idParams, response: { 204: z.void(), ...errors } } },
    async (request, reply) => {
      await applications.require(request.params.id);
      await applications.delete(request.params.id);
      return reply.status(204).send();
    },
  );

  app.post(
    '/applications/:id/secret/rotate',
    {
      schema: {
        tags: ['management'],
        summary: 'Replace the client secret (the old one stops working at once); the answer carries the new one',
        security,
        params: idParams,
        response: { 200: issuedSchema, ...errors },
      },
    },
    async (request) => {
      const issued = await applications.rotateSecret(request.params.id);
      return { ...toWire(issued.application), secret: issued.secret };
    },
  );
};
