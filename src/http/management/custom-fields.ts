import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CUSTOM_FIELD_KEY, CUSTOM_FIELD_TYPES, type CustomFieldRecord, type CustomFieldService } from '../../domain/account/custom-fields.js';
import { errorSchema } from '../schemas.js';

/** What the Management API's custom-field routes need. */
export interface ManagementCustomFieldOptions {
  customFields: CustomFieldService;
}

const errors = { '4xx': errorSchema };
const security = [{ managementToken: [] }];
const keyParams = z.object({ key: z.string().regex(CUSTOM_FIELD_KEY) });

const fieldSchema = z
  .object({
    key: z.string(),
    type: z.enum(CUSTOM_FIELD_TYPES),
    label: z.string().nullable(),
    description: z.string().nullable(),
    createdAt: z.number().describe('ms since the epoch'),
    updatedAt: z.number().describe('ms since the epoch'),
  })
  .meta({ id: 'CustomField' });

const out = (f: CustomFieldRecord) => ({ ...f });

/**
 * Management API — typed custom-field definitions (issue 6; Authing's UDF, `managementClient.udf`):
 * the values live in users' `customData` under these keys and are type-checked when users write them
 * (`/api/auth/me/custom-fields`, `PATCH /api/auth/me`). A field's type cannot change; delete and
 * re-create it instead (existing values then stay untyped in custom data).
 */
export const managementCustomFieldRoutes: FastifyPluginAsyncZod<ManagementCustomFieldOptions> = async (app, { customFields }) => {
  app.get(
    '/custom-fields',
    { schema: { tags: ['management'], summary: 'Every custom-field definition, by key', security, response: { 200: z.array(fieldSchema), ...errors } } },
    async () => (await customFields.list()).map(out),
  );

  app.post(
    '/custom-fields',
    {
      schema: {
        tags: ['management'],
        summary: 'Define a custom field',
        description: 'key: a letter then letters, digits or _ (≤ 64). Errors: request.invalid, custom_field.key_taken (409).',
        security,
        body: z
          .object({
            key: z.string().regex(CUSTOM_FIELD_KEY),
            type: z.enum(CUSTOM_FIELD_TYPES),
            label: z.string().max(128).nullable().optional(),
            description: z.string().max(1024).nullable().optional(),
          })
          .strict(),
        response: { 201: fieldSchema, ...errors },
      },
    },
    async (request, reply) => reply.status(201).send(out(await customFields.define(request.body))),
  );

  app.patch(
    '/custom-fields/:key',
    {
      schema: {
        tags: ['management'],
        summary: "Change a custom field's label or description",
        description: 'Errors: request.invalid, custom_field.not_found (400).',
        security,
        params: keyParams,
        body: z.object({ label: z.string().max(128).nullable().optional(), description: z.string().max(1024).nullable().optional() }).strict(),
        response: { 200: fieldSchema, ...errors },
      },
    },
    async (request) => out(await customFields.update(request.params.key, request.body)),
  );

  app.delete(
    '/custom-fields/:key',
    {
      schema: {
        tags: ['management'],
        summary: 'Delete a custom-field definition (stored values stay in custom data, untyped)',
        security,
        params: keyParams,
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await customFields.remove(request.params.key);
      return reply.status(204).send();
    },
  );
};
