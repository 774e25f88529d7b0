import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CredentialService } from '../../domain/credentials/index.js';
import type { SessionService } from '../../domain/sessions/index.js';
import { IMPORTED_DIGEST_ALGORITHMS, storedHashOfDigest } from '../../domain/credentials/passwords.js';
import type { PublicUser, UserService } from '../../domain/users/index.js';
import type { IdentityService } from '../../domain/social/identities.js';
import { grantSchema, logtoUserSchema, toLogtoUser } from '../logto-views.js';
import type { AccountService } from '../../domain/account/index.js';
import { logtoPhoneIn } from '../logto-phones.js';
import { AppError } from '../../errors/index.js';
import type { UserListQuery, UserRecord, UserSearchField, UserSearchTerm } from '../../storage/store.js';
import { pageWindow, paginationQuery, setPaginationHeaders } from '../pagination.js';
import { customDataSchema, errorSchema, profileSchema } from '../schemas.js';

/** What the Management API's user routes need. */
export interface ManagementUsersOptions {
  users: UserService;
  /** Sets passwords with every effect of a password change (one rule for every surface). */
  credentials: CredentialService;
  sessions: SessionService;
  /** Users' third-party identities (the `identities` map of every user answer). */
  identities: Pick<IdentityService, 'list'>;
  /** Users' connected applications (OAuth grants). */
  grants: Pick<AccountService, 'listGrants' | 'revokeGrant'>;
  publicUrl: string;
}

const errors = { '4xx': errorSchema };
const security = [{ managementToken: [] }];
const idParams = z.object({ userId: z.string().min(1).max(64) });
const nullableText = (max: number) => z.string().max(max).nullable().optional();
const SEARCH_FIELDS: readonly UserSearchField[] = ['id', 'username', 'primaryEmail', 'primaryPhone', 'name'];

/** A 400 `request.invalid` naming one query parameter. */
function badQuery(name: string, message: string): AppError {
  return new AppError('request.invalid', { data: { issues: [{ path: `query.${name}`, code: 'custom', message }] } });
}

const asList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);

/**
 * Reads Logto's user-search parameters (spec logto.md §4.4): `search` over every searchable field,
 * `search.<field>` for one field, `mode` / `mode.<field>` = `exact` | `like` (default like; the caller
 * writes the `%` wildcards), `isCaseSensitive` (default false), `joint` / `jointMode` = `or` | `and`.
 * Logto's `similar_to` and `posix` modes are not supported (400).
 * @throws AppError `request.invalid` naming the bad parameter
 */
export function parseUserSearch(query: Record<string, unknown>): Omit<UserListQuery, 'offset' | 'limit'> {
  const modeOf = (name: string): 'exact' | 'like' => {
    const raw = asList(query[name]);
    if (raw.length === 0) return name === 'mode' ? 'like' : modeOf('mode');
    if (raw.length > 1 || (raw[0] !== 'exact' && raw[0] !== 'like')) throw badQuery(name, 'Mode must be exact or like');
    return raw[0];
  };
  const terms: UserSearchTerm[] = [];
  const addTerm = (name: string, fields: UserSearchField[], mode: 'exact' | 'like') => {
    const values = asList(query[name]);
    if (values.some((v) => v === '')) throw badQuery(name, 'Search values cannot be empty');
    if (mode !== 'exact' && values.length > 1) throw badQuery(name, 'Several values need mode exact');
    terms.push({ fields, values, mode });
  };
  for (const key of Object.keys(query)) {
    if (key === 'search') addTerm(key, [...SEARCH_FIELDS], modeOf('mode'));
    else if (key.startsWith('search.')) {
      const field = key.slice('search.'.length) as UserSearchField;
      if (!SEARCH_FIELDS.includes(field)) throw badQuery(key, `Searchable fields: ${SEARCH_FIELDS.join(', ')}`);
      addTerm(key, [field], modeOf(`mode.${field}`));
    } else if (key.startsWith('mode.')) {
      if (!SEARCH_FIELDS.includes(key.slice('mode.'.length) as UserSearchField)) throw badQuery(key, 'Unknown search field');
    }
  }
  const jointRaw = asList(query.joint ?? query.jointMode);
  if (jointRaw.length > 1 || (jointRaw[0] !== undefined && jointRaw[0] !== 'or' && jointRaw[0] !== 'and')) throw badQuery('joint', 'Joint must be or or and');
  const sensitiveRaw = asList(query.isCaseSensitive);
  if (sensitiveRaw.length > 1 || (sensitiveRaw[0] !== undefined && sensitiveRaw[0] !== 'true' && sensitiveRaw[0] !== 'false')) {
    throw badQuery('isCaseSensitive', 'Must be true or false');
  }
  return { terms, joint: (jointRaw[0] as 'or' | 'and' | undefined) ?? 'or', caseSensitive: sensitiveRaw[0] === 'true' };
}

/**
 * Management API — users (Logto's paths and shapes, spec logto.md §4; errors in the native envelope).
 * Every route runs behind the plugin's management-token check.
 */
export const managementUserRoutes: FastifyPluginAsyncZod<ManagementUsersOptions> = async (app, { users, credentials, sessions, identities, grants, publicUrl }) => {
  app.get(
    '/users/:userId/grants',
    {
      schema: {
        tags: ['management'],
        summary: "A user's connected applications (OAuth grants), optionally only first- or third-party ones (seed 002)",
        security,
        params: idParams,
        querystring: z.object({ appType: z.enum(['firstParty', 'thirdParty']).optional() }),
        response: { 200: z.object({ grants: z.array(grantSchema) }), ...errors },
      },
    },
    async (request) => {
      const user = await users.require(request.params.userId);
      return { grants: await grants.listGrants(user, request.query.appType ? { appType: request.query.appType } : {}) };
    },
  );

  app.delete(
    '/users/:userId/grants/:grantId',
    {
      schema: {
        tags: ['management'],
        summary: "Disconnect one of the user's applications: revoke the grant and its tokens (404 oidc.grant_not_found)",
        security,
        params: idParams.extend({ grantId: z.string().min(1).max(128) }),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await grants.revokeGrant(await users.require(request.params.userId), request.params.grantId);
      return reply.status(204).send();
    },
  );

  const phoneInput = (value: string) => logtoPhoneIn(value, (raw) => users.normalize('phone', raw));
  /** A user in Logto's shape (phones digits only, `identities`), its identities loaded. */
  const view = async (user: UserRecord | PublicUser) => toLogtoUser(user, await identities.list(user.id));
  app.get(
    '/users',
    {
      schema: {
        tags: ['management'],
        summary: 'List users, newest first, with search and pagination (Total-Number and Link headers)',
        security,
        querystring: z.looseObject(paginationQuery),
        response: { 200: z.array(logtoUserSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize, ...rest } = request.query;
      const search = parseUserSearch(rest);
      // The page's identities come with the page (one statement for most pages).
      const { users: found, total, identities: linked } = await users.list({ ...search, ...pageWindow(page, pageSize), withIdentities: true });
      setPaginationHeaders(request, reply, publicUrl, { page, pageSize, total });
      return found.map((u) => toLogtoUser(u, linked?.get(u.id) ?? []));
    },
  );

  app.post(
    '/users',
    {
      schema: {
        tags: ['management'],
        summary: 'Create a user (Logto answers 200, not 201)',
        description: 'No password policy check beyond length (the admin chose it). A Logto passwordDigest + passwordAlgorithm (Argon2i/Argon2id/Argon2d/Bcrypt/SHA1/SHA256/MD5/Legacy) imports the hash, upgraded to argon2id at the first sign-in. Errors: guard.invalid_input (both password and digest, digest without algorithm, digest not of its algorithm\'s form), user.invalid_*, 422 user.*_already_in_use.',
        security,
        body: z
          .object({
            username: z.string().min(1).max(128).optional(),
            primaryEmail: z.string().min(1).max(320).optional(),
            primaryPhone: z.string().min(1).max(32).optional(),
            password: z.string().min(1).max(4096).optional(),
            passwordDigest: z.string().min(1).max(256).optional().describe('A password hash from Logto (with passwordAlgorithm); upgraded to argon2id at the first sign-in'),
            passwordAlgorithm: z.enum(IMPORTED_DIGEST_ALGORITHMS).optional().describe("Logto's passwordAlgorithm of passwordDigest (Legacy: JSON [hash, [parts with \"@\" for the password], hex])"),
            name: nullableText(128),
            avatar: z.union([z.url({ protocol: /^https?$/ }).max(2048), z.literal('')]).nullable().optional(),
            customData: customDataSchema.optional(),
            profile: profileSchema.optional(),
            passwordResetRequired: z.boolean().optional().describe('Force a new password at the first password sign-in (issue 6)'),
          })
          .strict()
          .refine((b) => b.passwordDigest === undefined || b.password === undefined, { path: ['passwordDigest'], message: 'Give password or passwordDigest, not both' })
          .refine((b) => b.passwordDigest === undefined || b.passwordAlgorithm !== undefined, { path: ['passwordAlgorithm'], message: 'passwordDigest needs passwordAlgorithm' }),
        response: { 200: logtoUserSchema, ...errors },
      },
    },
    async (request) => {
      const { primaryEmail, primaryPhone, avatar, passwordDigest, passwordAlgorithm, ...rest } = request.body;
      const passwordHash = passwordDigest !== undefined && passwordAlgorithm !== undefined ? storedHashOfDigest(passwordAlgorithm, passwordDigest) : undefined;
      const user = await users.createByAdministrator(
        { ...rest, ...(passwordHash ? { passwordHash } : {}), email: primaryEmail ?? null, phone: primaryPhone ? phoneInput(primaryPhone) : null, avatar: avatar || null },
      );
      return view(user);
    },
  );

  app.get(
    '/users/:userId',
    { schema: { tags: ['management'], summary: 'Get a user', security, params: idParams, response: { 200: logtoUserSchema, ...errors } } },
    async (request) => view(await users.require(request.params.userId)),
  );

  app.patch(
    '/users/:userId',
    {
      schema: {
        tags: ['management'],
        summary: 'Update identifiers and basic fields; `null` or "" clears; profile and customData are replaced',
        security,
        params: idParams,
        body: z
          .object({
            username: nullableText(128),
            primaryEmail: nullableText(320),
            primaryPhone: nullableText(32),
            name: nullableText(128),
            avatar: z.union([z.url({ protocol: /^https?$/ }).max(2048), z.literal('')]).nullable().optional(),
            customData: customDataSchema.optional(),
            profile: profileSchema.optional(),
            passwordResetRequired: z.boolean().optional().describe('Force a new password at the next password sign-in (issue 6)'),
          })
          .strict(),
        response: { 200: logtoUserSchema, ...errors },
      },
    },
    async (request) => {
      // Logto answers an update that sets nothing with 422 `entity.invalid_input` (errors.ts).
      if (Object.values(request.body).every((v) => v === undefined)) throw new AppError('request.empty_update');
      const { primaryPhone, ...rest } = request.body;
      return view(await users.adminUpdate(request.params.userId, { ...rest, ...(primaryPhone !== undefined ? { primaryPhone: primaryPhone ? phoneInput(primaryPhone) : primaryPhone } : {}) }));
    },
  );

  app.delete(
    '/users/:userId',
    { schema: { tags: ['management'], summary: 'Delete a user and everything of theirs', security, params: idParams, response: { 204: z.void(), ...errors } } },
    async (request, reply) => {
      if (!(await users.delete(request.params.userId))) throw new AppError('user.not_found');
      return reply.status(204).send();
    },
  );

  app.get(
    '/users/:userId/custom-data',
    { schema: { tags: ['management'], summary: "A user's custom data", security, params: idParams, response: { 200: z.record(z.string(), z.unknown()), ...errors } } },
    async (request) => (await users.require(request.params.userId)).customData,
  );

  app.patch(
    '/users/:userId/custom-data',
    {
      schema: {
        tags: ['management'],
        summary: 'Shallow-merge custom data (top-level keys)',
        security,
        params: idParams,
        body: z.object({ customData: customDataSchema }).strict(),
        response: { 200: z.record(z.string(), z.unknown()), ...errors },
      },
    },
    async (request) => users.mergeCustomData(request.params.userId, request.body.customData),
  );

  app.patch(
    '/users/:userId/profile',
    {
      schema: {
        tags: ['management'],
        summary: 'Shallow-merge profile claims (top-level keys)',
        security,
        params: idParams,
        body: z.object({ profile: profileSchema }).strict(),
        response: { 200: profileSchema, ...errors },
      },
    },
    async (request) => users.mergeProfile(request.params.userId, request.body.profile),
  );

  app.patch(
    '/users/:userId/password',
    {
      schema: {
        tags: ['management'],
        summary: "Set a user's password; ends every session of the user",
        security,
        params: idParams,
        body: z.object({ password: z.string().min(1).max(4096) }).strict(),
        response: { 200: logtoUserSchema, ...errors },
      },
    },
    async (request) =>
      view(
        await credentials.setPassword({
          user: await users.require(request.params.userId),
          newPassword: request.body.password,
          authority: 'admin',
          audit: { action: 'admin_set_password', ip: request.ip, clientId: request.managementCaller?.applicationId ?? null },
        }),
      ),
  );

  app.patch(
    '/users/:userId/password/expiration',
    {
      schema: {
        tags: ['management'],
        summary: "Mark the user's password expired (Logto's isExpired): the next password sign-in must set a new one first; false lifts it",
        description: "Tessera's forced reset (passwordResetRequired): the same flag as PATCH /api/users/:userId {passwordResetRequired}. Unlike Logto, no password-expiration policy needs to be on.",
        security,
        params: idParams,
        body: z.object({ isExpired: z.boolean() }).strict(),
        response: { 200: logtoUserSchema, ...errors },
      },
    },
    async (request) => view(await users.adminUpdate(request.params.userId, { passwordResetRequired: request.body.isExpired })),
  );

  app.post(
    '/users/:userId/password/verify',
    {
      schema: {
        tags: ['management'],
        summary: "Check a password against the user's (204, or 422 session.invalid_credentials)",
        security,
        params: idParams,
        body: z.object({ password: z.string().min(1).max(4096) }).strict(),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      if (!(await users.checkPassword(request.params.userId, request.body.password))) throw new AppError('user.password_mismatch');
      return reply.status(204).send();
    },
  );

  app.get(
    '/users/:userId/has-password',
    { schema: { tags: ['management'], summary: 'Whether the user has a password', security, params: idParams, response: { 200: z.object({ hasPassword: z.boolean() }), ...errors } } },
    async (request) => ({ hasPassword: (await users.require(request.params.userId)).passwordHash !== null }),
  );

  app.patch(
    '/users/:userId/is-suspended',
    {
      schema: {
        tags: ['management'],
        summary: 'Suspend (ends every session and token, blocks sign-in) or restore a user',
        security,
        params: idParams,
        body: z.object({ isSuspended: z.boolean() }).strict(),
        response: { 200: logtoUserSchema, ...errors },
      },
    },
    async (request) => view(await users.setSuspended(request.params.userId, request.body.isSuspended)),
  );

  const sessionSchema = z.object({
    id: z.string(),
    amr: z.array(z.string()),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    createdAt: z.number(),
    lastUsedAt: z.number(),
    expiresAt: z.number().describe('When the session ends if unused (earlier of absolute and idle expiry), ms'),
  });

  app.get(
    '/users/:userId/sessions',
    { schema: { tags: ['management'], summary: "A user's live sessions, most recently used first", security, params: idParams, response: { 200: z.array(sessionSchema), ...errors } } },
    async (request) => {
      await users.require(request.params.userId);
      return (await sessions.list(request.params.userId)).map((s) => ({
        id: s.id,
        amr: s.amr,
        ip: s.ip,
        userAgent: s.userAgent,
        createdAt: s.createdAt,
        lastUsedAt: s.lastUsedAt,
        expiresAt: sessions.effectiveExpiry(s),
      }));
    },
  );

  app.delete(
    '/users/:userId/sessions/:sessionId',
    {
      schema: {
        tags: ['management'],
        summary: 'End one session of the user (another user\'s session id is "not found")',
        security,
        params: idParams.extend({ sessionId: z.string().min(1).max(64) }),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      await sessions.revokeForUser(request.params.userId, request.params.sessionId);
      return reply.status(204).send();
    },
  );

  app.delete(
    '/users/:userId/sessions',
    { schema: { tags: ['management'], summary: 'End every session and token of the user', security, params: idParams, response: { 204: z.void(), ...errors } } },
    async (request, reply) => {
      await users.require(request.params.userId);
      await users.endAllSessions(request.params.userId);
      return reply.status(204).send();
    },
  );
};
