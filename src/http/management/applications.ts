import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApplicationRecord, ApplicationService, ApplicationType, UpdateApplicationInput } from '../../domain/applications/index.js';
import { AppError } from '../../errors/index.js';
import { LOGTO_APPLICATION_TYPE as LOGTO_TYPE } from '../logto-views.js';
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

const FROM_LOGTO_TYPE = Object.fromEntries(Object.entries(LOGTO_TYPE).map(([ours, theirs]) => [theirs, ours])) as Record<(typeof LOGTO_TYPE)[ApplicationType], ApplicationType>;

/**
 * An application as the Management API shows it: Logto's shape (`type` in Logto's names, URIs in
 * `oidcClientMetadata`, CORS origins in `customClientMetadata.corsAllowedOrigins`) plus Tessera's own
 * flags. Never the secret's hash; the secret itself only when created or rotated. Timestamps in ms.
 */
const applicationSchema = z
  .object({
    id: z.string().describe('The OAuth client_id'),
    name: z.string(),
    description: z.string().nullable(),
    type: z.enum(['Traditional', 'SPA', 'Native', 'MachineToMachine']),
    oidcClientMetadata: z.object({ redirectUris: z.array(z.string()), postLogoutRedirectUris: z.array(z.string()) }),
    customClientMetadata: z.object({ corsAllowedOrigins: z.array(z.string()) }),
    isThirdParty: z.boolean().describe('Third-party app: users consent at /oidc; its tokens may only read the Account API'),
    isManagement: z.boolean().describe('Tessera: holds the management role (Management API access, MachineToMachine only)'),
    allowTokenExchange: z.boolean().describe('Tessera: may use the token-exchange grant to act as a user (Traditional and MachineToMachine only)'),
    hasSecret: z.boolean().describe('Tessera: a confidential client (its secret is stored hashed and shown only on create and rotate)'),
    createdAt: z.number(),
    updatedAt: z.number(),
  })
  .meta({ id: 'Application' });

/** An application with its client secret, shown only when created or rotated. */
const issuedSchema = applicationSchema.extend({ secret: z.string().nullable().describe('Shown once; store it now') });

function toWire(app: ApplicationRecord): z.infer<typeof applicationSchema> {
  return {
    id: app.id,
    name: app.name,
    description: app.description,
    type: LOGTO_TYPE[app.type],
    oidcClientMetadata: { redirectUris: app.redirectUris, postLogoutRedirectUris: app.postLogoutRedirectUris },
    customClientMetadata: { corsAllowedOrigins: app.corsOrigins },
    isThirdParty: app.isThirdParty,
    isManagement: app.isManagement,
    allowTokenExchange: app.allowTokenExchange,
    hasSecret: app.secretHash !== null,
    createdAt: app.createdAt,
    updatedAt: app.updatedAt,
  };
}

/**
 * The fields of a create or update body, in Logto's shape (`oidcClientMetadata`, `customClientMetadata`)
 * or Tessera's shorthand (top-level `redirectUris`, `postLogoutRedirectUris`, `corsOrigins`); both may
 * not name the same list. Unknown keys of the metadata objects are ignored, as Logto keeps settings
 * Tessera does not have (`backchannelLogoutUri`, token TTLs …) there.
 */
const changeFields = {
  name: z.string().min(1).max(256),
  description: z.string().max(2048).nullable().optional(),
  oidcClientMetadata: z.object({ redirectUris: uriList.optional(), postLogoutRedirectUris: uriList.optional() }).optional(),
  customClientMetadata: z.object({ corsAllowedOrigins: uriList.optional() }).optional(),
  redirectUris: uriList.optional(),
  postLogoutRedirectUris: uriList.optional(),
  corsOrigins: uriList.optional(),
  isManagement: z.boolean().optional(),
  allowTokenExchange: z.boolean().optional(),
  isThirdParty: z.boolean().optional(),
};

type ChangeBody = Partial<z.infer<z.ZodObject<typeof changeFields>>>;

/**
 * The domain's input of a create or update body.
 * @throws AppError `request.invalid` when Logto's metadata and Tessera's shorthand both give a list
 */
function readChanges(body: ChangeBody): UpdateApplicationInput {
  const { oidcClientMetadata: oidc, customClientMetadata: custom, redirectUris, postLogoutRedirectUris, corsOrigins, ...rest } = body;
  const pick = (name: string, logto: string[] | undefined, short: string[] | undefined) => {
    if (logto !== undefined && short !== undefined) {
      throw new AppError('request.invalid', { data: { issues: [{ path: `body.${name}`, code: 'custom', message: `Give ${name} once (in the metadata object or at the top level)` }] } });
    }
    return logto ?? short;
  };
  const out: UpdateApplicationInput = { ...rest };
  const r = pick('redirectUris', oidc?.redirectUris, redirectUris);
  const p = pick('postLogoutRedirectUris', oidc?.postLogoutRedirectUris, postLogoutRedirectUris);
  const c = pick('corsOrigins', custom?.corsAllowedOrigins, corsOrigins);
  if (r !== undefined) out.redirectUris = r;
  if (p !== undefined) out.postLogoutRedirectUris = p;
  if (c !== undefined) out.corsOrigins = c;
  return out;
}

/**
 * Management API — applications (OAuth clients; issue 4 §2, Logto's shape, issue 19 item 5). Changes
 * take effect at once (the OIDC provider reads clients from the database on each use). Bodies and
 * answers follow Logto (`type`: Traditional, SPA, Native, MachineToMachine; `oidcClientMetadata`,
 * `customClientMetadata`; `POST` answers 200); Tessera's lower-case types and top-level URI lists are
 * accepted too. Logto's `Protected` and `SAML` types are refused (400).
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
        summary: 'Create an application (200, as Logto); the answer carries its client secret once',
        security,
        body: z
          .object({
            ...changeFields,
            type: z.union([z.enum(['Traditional', 'SPA', 'Native', 'MachineToMachine']), z.enum(['traditional', 'spa', 'native', 'm2m'])]),
          })
          .strict(),
        response: { 200: issuedSchema, ...errors },
      },
    },
    async (request) => {
      const { type, ...rest } = request.body;
      const issued = await applications.create({ ...readChanges(rest), name: rest.name, type: type in FROM_LOGTO_TYPE ? FROM_LOGTO_TYPE[type as keyof typeof FROM_LOGTO_TYPE] : (type as ApplicationType) });
      return { ...toWire(issued.application), secret: issued.secret };
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
        body: z.object({ ...changeFields, name: changeFields.name.optional() }).strict(),
        response: { 200: applicationSchema, ...errors },
      },
    },
    async (request) => {
      if (Object.values(request.body).every((v) => v === undefined)) throw new AppError('request.empty_update');
      return toWire(await applications.update(request.params.id, readChanges(request.body)));
    },
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

export { applicationSchema as logtoApplicationSchema, toWire as toLogtoApplication };
