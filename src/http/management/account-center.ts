import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ACCOUNT_CENTER_FIELDS, type AccountCenterField, type AccountCenterService, FIELD_MODES } from '../../domain/account/center.js';
import { errorSchema } from '../schemas.js';

/** What the Management API's account-center routes need. */
export interface ManagementAccountCenterOptions {
  accountCenter: AccountCenterService;
}

const errors = { '4xx': errorSchema };
const security = [{ managementToken: [] }];
const mode = z.enum(FIELD_MODES);

/** Every field with its mode (answers always list all of them), and `passkey` when it is set. */
const fieldsSchema = z
  .object({
    ...(Object.fromEntries(ACCOUNT_CENTER_FIELDS.map((f) => [f, mode])) as Record<AccountCenterField, typeof mode>),
    passkey: mode.optional().describe('Passkeys (WebAuthn factors); while unset they follow `mfa`'),
  })
  .meta({ id: 'AccountCenterFields' });

/** The account-center settings as the Management API shows them. */
const settingsSchema = z
  .object({
    enabled: z.boolean().describe('Master switch of the Account API (/api/my-account…, /api/verifications…)'),
    fields: fieldsSchema.describe('Off: hidden and not writable; ReadOnly: shown; Edit: shown and writable'),
    deleteAccountUrl: z.string().nullable().describe('Where an account center sends a user who wants to delete their account'),
    webauthnRelatedOrigins: z.array(z.string()).describe('Other origins that may use this server’s passkeys (served at /.well-known/webauthn)'),
  })
  .meta({ id: 'AccountCenter' });

/** A field map in a request: any subset of the known fields; unknown names or modes are refused. */
const fieldsInput = z
  .object({
    ...(Object.fromEntries(ACCOUNT_CENTER_FIELDS.map((f) => [f, mode.optional()])) as Record<AccountCenterField, z.ZodOptional<typeof mode>>),
    passkey: mode.optional(),
  })
  .strict();

/**
 * Management API — account-center settings (Logto's `GET/PATCH /api/account-center`, spec logto.md §3):
 * whether the end-user Account API is on, per field Off / ReadOnly / Edit (`passkey` only when set),
 * `deleteAccountUrl` (`""` clears) and `webauthnRelatedOrigins`. Logto's hosted-UI settings
 * (`customCss`, `profileFields`) are not kept (400).
 */
export const managementAccountCenterRoutes: FastifyPluginAsyncZod<ManagementAccountCenterOptions> = async (app, { accountCenter }) => {
  app.get(
    '/account-center',
    {
      schema: {
        tags: ['management'],
        summary: 'Account-center settings (disabled and every field Off until changed)',
        security,
        response: { 200: settingsSchema, ...errors },
      },
    },
    async () => accountCenter.get(),
  );

  app.patch(
    '/account-center',
    {
      schema: {
        tags: ['management'],
        summary: 'Change the account-center settings; `fields` replaces the whole map (a field left out becomes Off)',
        description: 'Applies at once on this node and within 3 seconds on the others.',
        security,
        body: z
          .object({
            enabled: z.boolean().optional(),
            fields: fieldsInput.optional(),
            deleteAccountUrl: z.string().max(2048).nullable().optional().describe('An http(s) URL; "" or null clears it'),
            webauthnRelatedOrigins: z.array(z.string().max(2048)).max(64).optional().describe('Origins such as https://shop.example; duplicates are dropped'),
          })
          .strict(),
        response: { 200: settingsSchema, ...errors },
      },
    },
    async (request) => accountCenter.update(request.body),
  );
};
