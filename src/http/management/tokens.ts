import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SubjectTokenService } from '../../domain/applications/impersonation.js';
import type { PersonalAccessTokenService } from '../../domain/applications/personal-access-tokens.js';
import { AppError } from '../../errors/index.js';
import { errorSchema } from '../schemas.js';

/** What the Management API's token routes need. */
export interface ManagementTokensOptions {
  personalAccessTokens: PersonalAccessTokenService;
  subjectTokens: SubjectTokenService;
}

const errors = { '4xx': errorSchema };
const security = [{ managementToken: [] }];
const userParams = z.object({ userId: z.string().min(1).max(64) });
// Names are 1–256 characters (code points, checked by the domain); zod counts UTF-16 units, so it only bounds the size here.
const nameSchema = z.string().min(1).max(1024);

/** A personal access token as listed: never its value. */
const tokenInfoSchema = z
  .object({
    name: z.string(),
    createdAt: z.number().describe('ms since the epoch'),
    expiresAt: z.number().nullable().describe('ms since the epoch; null = never'),
  })
  .meta({ id: 'PersonalAccessToken' });

const issuedTokenSchema = tokenInfoSchema.extend({
  value: z.string().describe('pat_…; shown once, stored only as a hash'),
});

/**
 * Management API — acting as a user (issue 4 §5; Logto's paths, spec logto.md §4.5 and §5.3):
 * - personal access tokens of a user: list (names and dates only — unlike Logto, never the value),
 *   create (201, the `pat_…` value shown once), delete by name (`DELETE …/:name`, or Logto's
 *   `POST …/delete {name}` for names too long or awkward for a path segment);
 * - `POST /api/subject-tokens` (201): a single-use impersonation token for a user, valid 600 s, created
 *   on behalf of the calling application.
 * Both are exchanged at `/oidc/token` (RFC 8693) by an application allowed to use token exchange.
 */
export const managementTokenRoutes: FastifyPluginAsyncZod<ManagementTokensOptions> = async (app, { personalAccessTokens, subjectTokens }) => {
  app.get(
    '/users/:userId/personal-access-tokens',
    {
      schema: {
        tags: ['management'],
        summary: "A user's personal access tokens, oldest first (never their values)",
        security,
        params: userParams,
        response: { 200: z.array(tokenInfoSchema), ...errors },
      },
    },
    async (request) => personalAccessTokens.list(request.params.userId),
  );

  app.post(
    '/users/:userId/personal-access-tokens',
    {
      schema: {
        tags: ['management'],
        summary: 'Create a personal access token; the answer carries its value once',
        description: 'Errors: user.not_found (404), personal_access_token.name_taken (409), personal_access_token.invalid_name / invalid_expiry (400).',
        security,
        params: userParams,
        body: z
          .object({
            name: nameSchema,
            expiresAt: z.number().int().nullable().optional().describe('ms since the epoch, in the future; absent or null = never'),
          })
          .strict(),
        response: { 201: issuedTokenSchema, ...errors },
      },
    },
    async (request, reply) => {
      const issued = await personalAccessTokens.create(request.params.userId, request.body);
      return reply.status(201).header('cache-control', 'no-store').send(issued);
    },
  );

  app.delete(
    '/users/:userId/personal-access-tokens/:name',
    {
      schema: {
        tags: ['management'],
        summary: 'Delete a personal access token by name',
        security,
        params: userParams.extend({ name: nameSchema }),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await personalAccessTokens.delete(request.params.userId, request.params.name);
      return reply.status(204).send();
    },
  );

  app.patch(
    '/users/:userId/personal-access-tokens',
    {
      schema: {
        tags: ['management'],
        summary: 'Rename a personal access token: {currentName, name} (Logto); the value and expiry stay',
        security,
        params: userParams,
        body: z.object({ currentName: nameSchema, name: nameSchema }).strict(),
        response: { 200: tokenInfoSchema, ...errors },
      },
    },
    async (request) => personalAccessTokens.rename(request.params.userId, request.body.currentName, request.body.name),
  );

  app.patch(
    '/users/:userId/personal-access-tokens/:name',
    {
      schema: {
        tags: ['management'],
        summary: "Rename a personal access token named in the path: {name} (Logto's older form)",
        security,
        params: userParams.extend({ name: nameSchema }),
        body: z.object({ name: nameSchema }).strict(),
        response: { 200: tokenInfoSchema, ...errors },
      },
    },
    async (request) => personalAccessTokens.rename(request.params.userId, request.params.name, request.body.name),
  );

  app.post(
    '/users/:userId/personal-access-tokens/delete',
    {
      schema: {
        tags: ['management'],
        summary: 'Delete a personal access token by name given in the body (Logto)',
        security,
        params: userParams,
        body: z.object({ name: nameSchema }).strict(),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await personalAccessTokens.delete(request.params.userId, request.body.name);
      return reply.status(204).send();
    },
  );

  app.post(
    '/subject-tokens',
    {
      schema: {
        tags: ['management'],
        summary: 'Create a single-use impersonation subject token for a user (valid 600 s)',
        description: 'Exchange it at /oidc/token with grant_type=urn:ietf:params:oauth:grant-type:token-exchange. Errors: user.not_found (404), subject_token.invalid_context (400).',
        security,
        body: z
          .object({
            userId: z.string().min(1).max(64),
            context: z.record(z.string(), z.unknown()).optional().describe('JSON object kept with the token, at most 4096 bytes'),
          })
          .strict(),
        response: { 201: z.object({ subjectToken: z.string().describe('sub_…; single use'), expiresIn: z.number().describe('seconds') }), ...errors },
      },
    },
    async (request, reply) => {
      const caller = request.managementCaller;
      if (!caller) throw new AppError('auth.unauthorized');
      const issued = await subjectTokens.issue(request.body.userId, caller.applicationId, request.body.context);
      return reply.status(201).header('cache-control', 'no-store').send(issued);
    },
  );
};
