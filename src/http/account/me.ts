import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError } from '../../errors/index.js';
import { z } from 'zod';
import { type AccountCenterField, type AccountCenterSettings, assertEditable } from '../../domain/account/center.js';
import { customDataSchema, profileSchema } from '../../domain/account/profile.js';
import type { AccountRouteDeps } from './deps.js';
import { accountSchema, empty, errors, filtered, scopedProfile, security, showsIdentities } from './view.js';
import type { UserRecord } from '../../storage/store.js';

/** The profile claims with unknown keys stripped (Logto's `userProfileGuard` strips; the stored profile stays strict). */
const lenientProfileSchema = z.object(profileSchema.shape).partial();

/** The PATCH /my-account keys and the account-center field each changes. */
const BASIC_FIELDS = [['username', 'username'], ['name', 'name'], ['avatar', 'avatar'], ['customData', 'customData']] as const satisfies ReadonlyArray<readonly [string, AccountCenterField]>;

/**
 * The account itself (logto.md §1.4): `GET|PATCH /my-account`, `PATCH /my-account/profile`,
 * `GET|PATCH /my-account/custom-data`, `DELETE /my-account`.
 */
export const accountMeRoutes: FastifyPluginAsyncZod<AccountRouteDeps> = async (app, { account, identities, policy, audit }) => {
  /** The account view, with the identities loaded only when it shows them. */
  const view = async (user: UserRecord, settings: AccountCenterSettings, scopes: ReadonlySet<string>) =>
    filtered(user, settings, scopes, showsIdentities(settings, scopes) ? await identities.list(user.id) : []);
  const { context, firstParty, scope, readable, editable, identityProof, when, guard } = policy;
  const given = (key: string) => (request: { body: unknown }) => (request.body as Record<string, unknown> | undefined)?.[key] !== undefined;

  app.get(
    '/my-account',
    { schema: { tags: ['account'], summary: 'The caller\'s account (fields per account-center settings)', security, response: { 200: accountSchema, ...errors } } },
    async (request) => {
      const { caller, settings } = context(request);
      return view(caller.user, settings, caller.scopes);
    },
  );

  app.patch(
    '/my-account',
    {
      schema: {
        tags: ['account'],
        summary: 'Change username, name, avatar (and replace customData); a username change needs logto-verification-id',
        security,
        body: z.object({
          username: z.string().max(128).nullable().optional(),
          name: z.string().max(256).nullable().optional(),
          avatar: z.url({ protocol: /^https?$/ }).max(2048).nullable().optional(),
          customData: customDataSchema.optional(),
        }),
        response: { 200: accountSchema, ...errors },
      },
      ...guard(
        {
          name: 'editable:given',
          check: (request, { settings }) =>
            assertEditable(settings, ...BASIC_FIELDS.filter(([key]) => given(key)(request)).map(([, field]) => field)),
        },
        scope('profile', 'auth.scope_missing'),
        when('customData', given('customData'), scope('custom_data', 'auth.scope_missing')),
        firstParty,
        when('username', given('username'), identityProof),
      ),
    },
    async (request) => {
      const { caller, settings } = context(request);
      const body = request.body;
      // Logto answers an update that sets nothing with 422 `entity.invalid_input` (errors.ts).
      if (Object.values(body).every((v) => v === undefined)) throw new AppError('request.empty_update');
      const user = await account.updateBasics(caller.user, body);
      await audit(request, 'update', Object.keys(body).filter((k) => body[k as keyof typeof body] !== undefined));
      return view(user, settings, caller.scopes);
    },
  );

  app.patch(
    '/my-account/profile',
    {
      // Unknown keys are dropped, as Logto's guard does (never stored: no mass assignment either way).
      schema: { tags: ['account'], summary: 'Shallow-merge OIDC standard claims into the profile (unknown keys are ignored)', security, body: lenientProfileSchema, response: { 200: profileSchema, ...errors } },
      ...guard(editable('profile'), scope('profile', 'auth.scope_missing'), when('address', given('address'), scope('address', 'auth.scope_missing')), firstParty),
    },
    async (request) => {
      const { caller } = context(request);
      const profile = await account.mergeProfile(caller.user, request.body);
      await audit(request, 'update_profile', Object.keys(request.body).map((k) => `profile.${k}`));
      return scopedProfile(profile, caller.scopes);
    },
  );

  app.get(
    '/my-account/custom-data',
    {
      schema: { tags: ['account'], summary: 'The caller\'s custom data', security, response: { 200: z.record(z.string(), z.unknown()), ...errors } },
      ...guard(readable('customData'), scope('custom_data')),
    },
    async (request) => context(request).caller.user.customData,
  );

  app.patch(
    '/my-account/custom-data',
    {
      schema: {
        tags: ['account'],
        summary: 'Shallow-merge into the caller\'s custom data (a body that is only {"customData": {…}} is read as that object, the Management API\'s form)',
        security,
        // `{customData: {…}}` alone is the Management API's body shape (PATCH /api/users/:id/custom-data);
        // Logto clients send it here too, so it is unwrapped rather than stored as a nested key.
        body: z.preprocess(
          (body) =>
            body !== null && typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 1 && Object.hasOwn(body, 'customData')
              ? (body as { customData: unknown }).customData
              : body,
          customDataSchema,
        ),
        response: { 200: z.record(z.string(), z.unknown()), ...errors },
      },
      ...guard(editable('customData'), scope('custom_data', 'auth.scope_missing'), firstParty),
    },
    async (request) => {
      const customData = await account.mergeCustomData(context(request).caller.user, request.body);
      await audit(request, 'update_custom_data', Object.keys(request.body).map((k) => `customData.${k}`));
      return customData;
    },
  );

  app.delete(
    '/my-account',
    {
      schema: {
        tags: ['account'],
        summary: 'Delete the caller\'s account with its sessions, tokens, identities and grants; needs logto-verification-id',
        security,
        response: { 204: empty, ...errors },
      },
      // Not a Logto route; guarded like every other change (a third-party token must never delete the account).
      ...guard(firstParty, identityProof),
    },
    async (request, reply) => {
      await account.deleteAccount(context(request).caller.user);
      await audit(request, 'delete_account', ['account']);
      return reply.code(204).send(null);
    },
  );
};
