import { accountGuards, SESSIONS_SCOPE } from './guards.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type AccountService, hasSecurityVerificationMethod } from '../../domain/account.js';
import { type AccountCenterField, type AccountCenterService, type AccountCenterSettings, assertEditable, canRead } from '../../domain/account-center.js';
import { customDataSchema, profileSchema } from '../../domain/profile.js';
import type { SessionService } from '../../domain/sessions.js';
import type { SocialService } from '../../domain/social.js';
import { accountSocialRoutes } from './social.js';
import type { MfaService } from '../../domain/mfa.js';
import { accountMfaRoutes } from './mfa.js';
import { installErrorDialect } from '../errors.js';
import { LOGTO_ACCOUNT_ERRORS } from './errors.js';
import { AppError, isAppError } from '../../errors/index.js';
import type { UserProfile, UserRecord } from '../../storage/store.js';
import { type AccountAuthorizer, type AccountCaller, requestMeta } from '../principal.js';
import { errorSchema } from '../schemas.js';

/** What the Account API and Verification API routes need. */
export interface AccountRoutesOptions {
  authorize: AccountAuthorizer;
  accountCenter: AccountCenterService;
  account: AccountService;
  sessions: SessionService;
  /** Social identities (routes in ./social.ts); without it the social routes are absent. */
  social?: SocialService;
  /** MFA factors (routes in ./mfa.ts); without it the MFA routes are absent. */
  mfa?: MfaService;
  /**
   * Whether an OAuth client is a third-party application (or unknown): such clients' tokens may read
   * but not change anything (first-party guard, logto.md §1.3).
   */
  isThirdPartyClient: (clientId: string) => Promise<boolean>;
}

/** The header naming an identity-proof verification record (logto.md §1.2). */
export const VERIFICATION_HEADER = 'logto-verification-id';

const errors = { '4xx': errorSchema };
const security = [{ bearerAuth: [] }];

/** The account as `GET /api/my-account` shows it: fields the account center hides are left out. */
const accountSchema = z
  .object({
    id: z.string(),
    username: z.string().nullable().optional(),
    name: z.string().nullable().optional(),
    avatar: z.string().nullable().optional(),
    primaryEmail: z.string().nullable().optional(),
    primaryPhone: z.string().nullable().optional().describe('E.164'),
    profile: profileSchema.optional(),
    customData: z.record(z.string(), z.unknown()).optional(),
    hasPassword: z.boolean().optional().describe('Whether a password is set (field `password`); never the hash'),
    isSuspended: z.boolean().optional().describe('Scope profile'),
    hasSecurityVerificationMethod: z.boolean(),
    createdAt: z.number().optional().describe('Scope profile; ms since the epoch'),
    updatedAt: z.number().optional().describe('Scope profile; ms since the epoch'),
    lastSignInAt: z.number().nullable().optional().describe('Scope profile; ms since the epoch'),
  })
  .meta({ id: 'MyAccount' });

const recordSchema = z.object({ verificationRecordId: z.string(), expiresAt: z.string().describe('ISO 8601') }).meta({ id: 'VerificationRecord' });
const identifierSchema = z.object({ type: z.enum(['email', 'phone']), value: z.string().min(1).max(256) });
const empty = z.null().describe('No content');

/** The profile without `address` unless the scopes include `address`. */
function scopedProfile(profile: UserProfile, scopes: ReadonlySet<string>): UserProfile {
  if (scopes.has('address') || profile.address === undefined) return profile;
  const { address: _address, ...rest } = profile;
  return rest;
}

/** Logto phones are digits only; ours are E.164, so a bare digit string gets its `+`. */
const phoneInput = (value: string) => (/^\d+$/.test(value) ? `+${value}` : value);

/**
 * The account filtered by the account-center settings and, for OIDC access tokens, by the token's
 * scopes (logto.md §1.4): `profile` → username, name, avatar, profile (its `address` only with
 * `address`), hasPassword, isSuspended, createdAt, updatedAt, lastSignInAt; `email` → primaryEmail;
 * `phone` → primaryPhone; `custom_data` → customData. A first-party session holds every scope.
 */
function filtered(user: UserRecord, settings: AccountCenterSettings, scopes: ReadonlySet<string>): z.infer<typeof accountSchema> {
  const s = (scope: string) => scopes.has(scope);
  const f = {
    ...settings.fields,
    ...(s('profile') ? {} : { username: 'Off', name: 'Off', avatar: 'Off', profile: 'Off', password: 'Off' } as const),
    ...(s('email') ? {} : { email: 'Off' } as const),
    ...(s('phone') ? {} : { phone: 'Off' } as const),
    ...(s('custom_data') ? {} : { customData: 'Off' } as const),
  };
  const out: z.infer<typeof accountSchema> = {
    id: user.id,
    hasSecurityVerificationMethod: hasSecurityVerificationMethod(user),
  };
  if (s('profile')) {
    out.isSuspended = user.isSuspended;
    out.createdAt = user.createdAt;
    out.updatedAt = user.updatedAt;
    out.lastSignInAt = user.lastSignInAt;
  }
  if (canRead(f.username)) out.username = user.username;
  if (canRead(f.name)) out.name = user.name;
  if (canRead(f.avatar)) out.avatar = user.avatar;
  if (canRead(f.email)) out.primaryEmail = user.primaryEmail;
  if (canRead(f.phone)) out.primaryPhone = user.primaryPhone;
  if (canRead(f.profile)) out.profile = scopedProfile(user.profile, scopes);
  if (canRead(f.customData)) out.customData = user.customData;
  if (canRead(f.password)) out.hasPassword = user.passwordHash !== null;
  return out;
}

/**
 * The end-user Account API (`/api/my-account…`) and Verification API (`/api/verifications…`), Logto's
 * paths and shapes (seed 000, spec logto.md §1–§2). Every route first resolves the caller
 * ({@link AccountAuthorizer}: opaque OIDC access token or first-party session token), then refuses
 * with 400 `account_center.not_enabled` while the account center is off, then applies field gating
 * (`account_center.field_not_editable` / `field_not_enabled`) and, for sensitive changes, the
 * `logto-verification-id` identity proof (401 `verification_record.permission_denied`).
 */
export const accountRoutes: FastifyPluginAsyncZod<AccountRoutesOptions> = async (app, { authorize, accountCenter, account, sessions, social, mfa, isThirdPartyClient }) => {
  // Logto's codes and statuses for our errors, on these routes only (http/account/errors.ts).
  installErrorDialect(app, LOGTO_ACCOUNT_ERRORS);
  const contexts = new WeakMap<FastifyRequest, { caller: AccountCaller; settings: AccountCenterSettings }>();

  app.addHook('onRequest', async (request) => {
    const caller = await authorize(request);
    const settings = await accountCenter.get();
    if (!settings.enabled) throw new AppError('account_center.not_enabled');
    contexts.set(request, { caller, settings });
  });

  const ctx = (request: FastifyRequest) => {
    const found = contexts.get(request);
    if (!found) throw new AppError('auth.unauthorized');
    return found;
  };
  const requireEdit = (settings: AccountCenterSettings, field: AccountCenterField) => assertEditable(settings, field);
  const requireRead = (settings: AccountCenterSettings, field: AccountCenterField) => {
    if (!canRead(settings.fields[field])) throw new AppError('account_center.field_not_enabled');
  };
  const proofId = (request: FastifyRequest) => {
    const value = request.headers[VERIFICATION_HEADER];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const requireProof = (request: FastifyRequest, user: UserRecord) => account.requireIdentityProof(proofId(request), user);
  const noContent = (reply: FastifyReply) => reply.code(204).send(null);
  const guards = accountGuards(isThirdPartyClient);
  const { requireScope, requireFirstParty } = guards;
  const audit = (request: FastifyRequest, action: string, fields: string[]) => {
    const { caller } = ctx(request);
    return account.audit(caller.user.id, action, fields, { ip: request.ip, clientId: caller.clientId });
  };

  app.get(
    '/my-account',
    { schema: { tags: ['account'], summary: 'The caller\'s account (fields per account-center settings)', security, response: { 200: accountSchema, ...errors } } },
    async (request) => {
      const { caller, settings } = ctx(request);
      return filtered(caller.user, settings, caller.scopes);
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
    },
    async (request) => {
      const { caller, settings } = ctx(request);
      const body = request.body;
      for (const [key, field] of [['username', 'username'], ['name', 'name'], ['avatar', 'avatar'], ['customData', 'customData']] as const) {
        if (body[key] !== undefined) requireEdit(settings, field);
      }
      requireScope(caller, 'profile', 'auth.scope_missing');
      if (body.customData !== undefined) requireScope(caller, 'custom_data', 'auth.scope_missing');
      await requireFirstParty(caller);
      if (body.username !== undefined) await requireProof(request, caller.user);
      const user = await account.updateBasics(caller.user, body);
      await audit(request, 'update', Object.keys(body).filter((k) => body[k as keyof typeof body] !== undefined));
      return filtered(user, settings, caller.scopes);
    },
  );

  app.patch(
    '/my-account/profile',
    {
      schema: {
        tags: ['account'],
        summary: 'Shallow-merge OIDC standard claims into the profile',
        security,
        body: profileSchema,
        response: { 200: profileSchema, ...errors },
      },
    },
    async (request) => {
      const { caller, settings } = ctx(request);
      requireEdit(settings, 'profile');
      requireScope(caller, 'profile', 'auth.scope_missing');
      if (request.body.address !== undefined) requireScope(caller, 'address', 'auth.scope_missing');
      await requireFirstParty(caller);
      const profile = await account.mergeProfile(caller.user, request.body);
      await audit(request, 'update_profile', Object.keys(request.body).map((k) => `profile.${k}`));
      return scopedProfile(profile, caller.scopes);
    },
  );

  app.get(
    '/my-account/custom-data',
    { schema: { tags: ['account'], summary: 'The caller\'s custom data', security, response: { 200: z.record(z.string(), z.unknown()), ...errors } } },
    async (request) => {
      const { caller, settings } = ctx(request);
      requireRead(settings, 'customData');
      requireScope(caller, 'custom_data');
      return caller.user.customData;
    },
  );

  app.patch(
    '/my-account/custom-data',
    {
      schema: {
        tags: ['account'],
        summary: 'Shallow-merge into the caller\'s custom data',
        security,
        body: customDataSchema,
        response: { 200: z.record(z.string(), z.unknown()), ...errors },
      },
    },
    async (request) => {
      const { caller, settings } = ctx(request);
      requireEdit(settings, 'customData');
      requireScope(caller, 'custom_data', 'auth.scope_missing');
      await requireFirstParty(caller);
      const customData = await account.mergeCustomData(caller.user, request.body);
      await audit(request, 'update_custom_data', Object.keys(request.body).map((k) => `customData.${k}`));
      return customData;
    },
  );

  const passwordHandler = async (request: FastifyRequest<{ Body: { password: string } }>, reply: FastifyReply) => {
    const { caller, settings } = ctx(request);
    await requireFirstParty(caller);
    const user = caller.user;
    await account.requireIdentityProofIfPossible(proofId(request), user);
    requireEdit(settings, 'password');
    await account.changePassword(
      user,
      request.body.password,
      { sessionId: caller.sessionId, grantId: caller.grantId, oidcSessionUid: caller.oidcSessionUid },
      { ip: request.ip, clientId: caller.clientId },
    );
    return noContent(reply);
  };
  const passwordSchema = {
    tags: ['account'],
    summary: 'Set a new password (policy applies); ends the user\'s other sessions. Needs logto-verification-id when the user has a password, email or phone',
    security,
    body: z.object({ password: z.string().min(1).max(1024) }),
    response: { 204: empty, ...errors },
  };
  app.post('/my-account/password', { schema: passwordSchema }, passwordHandler);
  app.patch('/my-account/password', { schema: { ...passwordSchema, summary: 'Same as POST (seed spelling)' } }, passwordHandler);

  for (const channel of ['email', 'phone'] as const) {
    const path = channel === 'email' ? '/my-account/primary-email' : '/my-account/primary-phone';
    const field = channel;
    const bodySchema = channel === 'email'
      ? z.object({ email: z.string().min(3).max(256), newIdentifierVerificationRecordId: z.string().min(1).max(64) })
      : z.object({ phone: z.string().min(3).max(32), newIdentifierVerificationRecordId: z.string().min(1).max(64) });
    const schema = {
      tags: ['account'],
      summary: `Bind a new primary ${channel} proven by newIdentifierVerificationRecordId; needs logto-verification-id`,
      security,
      body: bodySchema,
      response: { 204: empty, ...errors },
    };
    const bind = async (request: FastifyRequest, reply: FastifyReply) => {
      const { caller, settings } = ctx(request);
      await requireProof(request, caller.user);
      requireEdit(settings, field);
      requireScope(caller, channel, 'auth.scope_missing');
      await requireFirstParty(caller);
      const body = request.body as { email?: string; phone?: string; newIdentifierVerificationRecordId: string };
      const value = channel === 'email' ? body.email! : phoneInput(body.phone!);
      await account.bindIdentifier(caller.user, channel, value, body.newIdentifierVerificationRecordId);
      await audit(request, `bind_${channel}`, [channel === 'email' ? 'primaryEmail' : 'primaryPhone']);
      return noContent(reply);
    };
    app.post(path, { schema }, bind);
    app.patch(path, { schema: { ...schema, summary: 'Same as POST (seed spelling)' } }, bind);
    app.delete(
      path,
      { schema: { tags: ['account'], summary: `Remove the primary ${channel} (never the last way to sign in); needs logto-verification-id`, security, response: { 204: empty, ...errors } } },
      async (request, reply) => {
        const { caller, settings } = ctx(request);
        await requireProof(request, caller.user);
        requireEdit(settings, field);
        requireScope(caller, channel, 'auth.scope_missing');
        await requireFirstParty(caller);
        await account.removeIdentifier(caller.user, channel);
        await audit(request, `remove_${channel}`, [channel === 'email' ? 'primaryEmail' : 'primaryPhone']);
        return noContent(reply);
      },
    );
  }

  const sessionSchema = z.object({
    id: z.string().describe('First-party session id, or the uid of an OIDC provider session'),
    kind: z.enum(['session', 'oidc']).describe('`session`: a first-party session token; `oidc`: a browser signed in at /oidc'),
    createdAt: z.number().nullable(),
    lastUsedAt: z.number().nullable(),
    expiresAt: z.number().nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    clientIds: z.array(z.string()).optional().describe('OIDC sessions: the applications authorized in it'),
    amr: z.array(z.string()).describe('How the user authenticated (RFC 8176)'),
    isCurrent: z.boolean(),
  });

  app.get(
    '/my-account/sessions',
    {
      schema: {
        tags: ['account'],
        summary: 'The caller\'s sessions: first-party sessions and OIDC provider sessions (field `session`); needs logto-verification-id',
        security,
        response: { 200: z.object({ sessions: z.array(sessionSchema) }), ...errors },
      },
    },
    async (request) => {
      const { caller, settings } = ctx(request);
      await requireProof(request, caller.user);
      requireRead(settings, 'session');
      requireScope(caller, SESSIONS_SCOPE);
      const [own, oidc] = await Promise.all([sessions.list(caller.user.id), account.listOidcSessions(caller.user)]);
      return {
        sessions: [
          ...own.map((s) => ({
            id: s.id, kind: 'session' as const, createdAt: s.createdAt, lastUsedAt: s.lastUsedAt, expiresAt: s.expiresAt,
            ip: s.ip, userAgent: s.userAgent, amr: s.amr, isCurrent: s.id === caller.sessionId,
          })),
          ...oidc.map((s) => ({
            id: s.uid, kind: 'oidc' as const, createdAt: s.createdAt, lastUsedAt: s.lastUsedAt, expiresAt: s.expiresAt,
            ip: null, userAgent: null, clientIds: s.clientIds, amr: s.amr, isCurrent: s.uid === caller.oidcSessionUid,
          })),
        ],
      };
    },
  );

  app.delete(
    '/my-account/sessions/:sessionId',
    {
      schema: {
        tags: ['account'],
        summary: 'End one of the caller\'s sessions (field `session` Edit); for an OIDC session, revokeGrantsTarget also revokes the grants it authorized; needs logto-verification-id',
        security,
        params: z.object({ sessionId: z.string().min(1).max(64) }),
        querystring: z.object({ revokeGrantsTarget: z.enum(['all', 'firstParty']).optional() }),
        response: { 204: empty, ...errors },
      },
    },
    async (request, reply) => {
      const { caller, settings } = ctx(request);
      await requireProof(request, caller.user);
      requireEdit(settings, 'session');
      requireScope(caller, SESSIONS_SCOPE);
      await requireFirstParty(caller);
      try {
        await sessions.revokeForUser(caller.user.id, request.params.sessionId);
      } catch (error) {
        if (!isAppError(error, 'session.not_found')) throw error;
        if (!(await account.endOidcSession(caller.user, request.params.sessionId, request.query.revokeGrantsTarget))) {
          throw new AppError('oidc.session_not_found');
        }
      }
      await audit(request, 'revoke_session', ['session']);
      return noContent(reply);
    },
  );

  const grantSchema = z.object({
    id: z.string(),
    clientId: z.string().nullable(),
    scope: z.string(),
    createdAt: z.number().nullable(),
    expiresAt: z.number().nullable(),
  });

  app.get(
    '/my-account/grants',
    {
      schema: {
        tags: ['account'],
        summary: 'The OAuth applications the caller connected (field `session`); needs logto-verification-id',
        security,
        response: { 200: z.object({ grants: z.array(grantSchema) }), ...errors },
      },
    },
    async (request) => {
      const { caller, settings } = ctx(request);
      await requireProof(request, caller.user);
      requireRead(settings, 'session');
      requireScope(caller, SESSIONS_SCOPE);
      return { grants: await account.listGrants(caller.user) };
    },
  );

  app.delete(
    '/my-account/grants/:grantId',
    {
      schema: {
        tags: ['account'],
        summary: 'Disconnect an application: revoke the grant and its tokens (field `session` Edit); needs logto-verification-id',
        security,
        params: z.object({ grantId: z.string().min(1).max(128) }),
        response: { 204: empty, ...errors },
      },
    },
    async (request, reply) => {
      const { caller, settings } = ctx(request);
      await requireProof(request, caller.user);
      requireEdit(settings, 'session');
      requireScope(caller, SESSIONS_SCOPE);
      await requireFirstParty(caller);
      await account.revokeGrant(caller.user, request.params.grantId);
      await audit(request, 'revoke_grant', ['grant']);
      return noContent(reply);
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
    },
    async (request, reply) => {
      const { caller } = ctx(request);
      // Not a Logto route; guarded like every other change (a third-party token must never delete the account).
      await requireFirstParty(caller);
      await requireProof(request, caller.user);
      await account.deleteAccount(caller.user);
      await audit(request, 'delete_account', ['account']);
      return noContent(reply);
    },
  );

  // Verification API (logto.md §2).

  app.post(
    '/verifications/password',
    {
      schema: {
        tags: ['verification'],
        summary: 'Prove identity with the password: a record usable as logto-verification-id for 10 minutes',
        security,
        body: z.object({ password: z.string().min(1).max(1024) }),
        response: { 201: recordSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { caller } = ctx(request);
      await requireFirstParty(caller);
      return reply.code(201).send(await account.provePassword(caller.user, request.body.password, requestMeta(request)));
    },
  );

  app.post(
    '/verifications/verification-code',
    {
      schema: {
        tags: ['verification'],
        summary: 'Send a code to an email or phone (the current one proves identity; a new one proves ownership, template BindNewIdentifier)',
        security,
        body: z.object({ identifier: identifierSchema, templateType: z.string().max(64).optional() }),
        response: { 201: recordSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { caller } = ctx(request);
      await requireFirstParty(caller);
      const { type, value } = request.body.identifier;
      const issued = await account.sendCode(caller.user, type, type === 'phone' ? phoneInput(value) : value, request.ip);
      return reply.code(201).send(issued);
    },
  );

  app.post(
    '/verifications/verification-code/verify',
    {
      schema: {
        tags: ['verification'],
        summary: 'Check the code of a verification-code record and mark it verified',
        security,
        body: z.object({ identifier: identifierSchema, verificationId: z.string().min(1).max(64), code: z.string().min(1).max(16) }),
        response: { 200: z.object({ verificationRecordId: z.string() }), ...errors },
      },
    },
    async (request) => {
      await requireFirstParty(ctx(request).caller);
      const { identifier, verificationId, code } = request.body;
      const value = identifier.type === 'phone' ? phoneInput(identifier.value) : identifier.value;
      return account.verifyCode(identifier.type, value, verificationId, code);
    },
  );

  // Social identities (seed 000): POST /verifications/social(/verify), POST/DELETE /my-account/identities.
  if (social) await app.register(accountSocialRoutes, { social, account, context: ctx, proofId, guards });

  // MFA (issue 7 §4): /my-account/mfa-verifications…, /verifications/web-authn/registration(/verify).
  if (mfa) await app.register(accountMfaRoutes, { mfa, account, context: ctx, proofId, guards });
};
