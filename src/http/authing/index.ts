import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { CustomFieldService } from '../../domain/account/custom-fields.js';
import type { SecurityLevelService } from '../../domain/account/security-level.js';
import type { SelfService } from '../../domain/account/self-service.js';
import type { PasswordPolicy } from '../../domain/credentials/passwords.js';
import type { ResolvedSession, SessionService } from '../../domain/sessions/index.js';
import type { AuthService, RequestMeta } from '../../domain/sign-in/auth.js';
import type { SdkAuthService } from '../../domain/sign-in/sdk-auth.js';
import type { SignedIn } from '../../domain/sign-in/types.js';
import type { IdentifierKind } from '../../domain/users/identifiers.js';
import type { UserService } from '../../domain/users/index.js';
import type { CodePurpose, VerificationService } from '../../domain/verification/index.js';
import type { CredentialService } from '../../domain/credentials/index.js';
import type { ForcedResetService } from '../../domain/sign-in/forced-reset.js';
import type { ApplicationService } from '../../domain/applications/index.js';
import { storedHashOfDigest } from '../../domain/credentials/passwords.js';
import type { CustomFieldType } from '../../domain/account/custom-fields.js';
import { constantTimeEqual } from '../../util/crypto.js';
import { AppError } from '../../errors/index.js';
import type { UserRecord } from '../../storage/store.js';
import { requestMeta } from '../request-meta.js';
import { authingLang, toAuthingError } from './errors.js';
import type { AuthingKeys } from './keys.js';
import type { AuthingTokens, MintedToken } from './tokens.js';
import { authingUdv, phoneFromAuthing, toAuthingUser } from './view.js';

/** What the Authing surface needs. */
export interface AuthingRoutesOptions {
  auth: AuthService;
  users: UserService;
  sessions: SessionService;
  verification: VerificationService;
  policy: PasswordPolicy;
  self: SelfService;
  customFields: CustomFieldService;
  securityLevel: SecurityLevelService;
  sdkAuth: SdkAuthService;
  keys: AuthingKeys;
  tokens: AuthingTokens;
  /** Admin password changes (Authing ManagementClient users.update). */
  credentials: CredentialService;
  /** The forced password reset (first login: 1639 → resetPasswordByFirstLoginToken). */
  forcedReset: ForcedResetService;
  /** Applications users sign in to (listApplications). */
  applications: Pick<ApplicationService, 'listForUsers'>;
  /** A user's roles (getUserRoles, behind the SDK's `hasRole`/`listRoles`); absent = nobody holds a role. */
  roles?: { userRoles(userId: string): Promise<Array<{ id: string; name: string; description: string; createdAt: number }>> };
  userPoolId: string;
  /** The pool secret: `accessToken(userPoolId, secret)` trades it for a management token. */
  poolSecret: string;
}

export { AUTHING_CORS_HEADERS } from './cors.js';

/** One request's context: who calls (lazily), in which language, from where. */
interface Ctx {
  request: FastifyRequest;
  meta: RequestMeta;
  lang: 'zh-CN' | 'en-US';
  /** The Bearer token's live session, or undefined. */
  caller(): Promise<Caller | undefined>;
  /** The caller, required. @throws AppError `auth.unauthorized` (2020) */
  requireCaller(): Promise<Caller>;
  /** Whether the Bearer token is a management token (ManagementClient). */
  isManagement(): Promise<boolean>;
}

/** A caller: the live session of its token, and the token itself (echoed on user answers, as Authing does). */
type Caller = ResolvedSession & { token: MintedToken };

type Variables = Record<string, unknown>;
type Handler = (vars: Variables, ctx: Ctx) => Promise<unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const invalid = (what: string) => new AppError('request.invalid', { message: `${what} is required.` });

/**
 * A text field of an update: undefined when absent, null when cleared (`null` or `""`), else a string
 * of at most `max` characters. @throws AppError `request.invalid` (2231) for any other type or length
 */
function text(input: Record<string, unknown>, field: string, max = 256): string | null | undefined {
  const v = input[field];
  if (v === undefined) return undefined;
  if (v === null || v === '') return null;
  if (typeof v !== 'string' || v.length > max) throw new AppError('request.invalid', { message: `${field} must be a string of at most ${max} characters.` });
  return v;
}

/** A photo URL: http(s) only, at most 2 048 characters (it is shown in pages). @throws AppError `request.invalid` */
function photoUrl(input: Record<string, unknown>): string | null | undefined {
  const v = text(input, 'photo', 2048);
  if (v === undefined || v === null) return v;
  let url: URL | undefined;
  try {
    url = new URL(v);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw new AppError('request.invalid', { message: 'photo must be an http(s) URL.' });
  return v;
}

/** The OIDC profile claims of an update (strings only). @throws AppError `request.invalid` */
function profileClaims(input: Record<string, unknown>): Record<string, string> {
  const claims = ['givenName', 'familyName', 'middleName', 'nickname', 'preferredUsername', 'profile', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale'] as const;
  const out: Record<string, string> = {};
  for (const c of claims) {
    const v = text(input, c);
    if (typeof v === 'string') out[c] = v;
  }
  return out;
}

/** The token of an `Authorization: Bearer …` header, or undefined. */
function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !/^Bearer\s+/i.test(header)) return undefined;
  const token = header.replace(/^Bearer\s+/i, '').trim();
  return token === '' ? undefined : token;
}

/** The top-level field of the operations whose document names it otherwise than the operation (`query getUserRoles { user … }`). */
const FIELD_OF_OPERATION: Record<string, string> = { getUserRoles: 'user' };

/** The GraphQL operation name of a document: `mutation loginByEmail(…)` → `loginByEmail`. */
export function operationName(query: unknown): string | undefined {
  if (typeof query !== 'string' || query.length > 100_000) return undefined;
  return /^\s*(?:query|mutation)\s+([A-Za-z_][A-Za-z0-9_]*)/.exec(query)?.[1];
}

/**
 * The Authing surface (issue 17, shared/specs/authing.md): `POST /graphql/v2` dispatched on the operation
 * name of the SDK's fixed documents (the selection set is not read; the full safe user shape is
 * answered), and the REST routes under `/api/v2`. Every answer is HTTP 200: `{data}` or `{errors:
 * [{message: {code, message, data}}]}` (GraphQL), `{code, message, data}` (REST, `code: 200` for success),
 * with Authing's numeric codes (errors.ts). Passwords arrive RSA-encrypted (keys.ts, rsa.ts); user tokens
 * are HS256 JWTs bound to a first-party session (tokens.ts). An adapter only: every rule is the domain's.
 */
export const authingRoutes: FastifyPluginAsync<AuthingRoutesOptions> = async (app, o) => {
  const { auth, users, sessions, verification, policy, self, customFields, securityLevel, sdkAuth, keys, tokens, credentials, userPoolId } = o;

  app.addHook('onRequest', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });
  // What fails before a handler (a body that is not JSON, too large, a wrong content type) still answers
  // Authing's way: HTTP 200 with its error shape.
  app.setErrorHandler((error, request, reply) => {
    const e = toAuthingError(error, authingLang(request.headers['x-authing-lang']));
    request.errorCode = String(e.data.tesseraCode);
    if (e.code === 500) request.log.error({ err: error }, 'authing request failed');
    return reply.status(200).send(request.url.startsWith('/graphql/') ? { data: null, errors: [{ message: e }] } : e);
  });

  const context = (request: FastifyRequest): Ctx => {
    let resolved: Promise<Caller | undefined> | undefined;
    const caller = () => {
      resolved ??= (async () => {
        const token = bearerOf(request);
        if (!token) return undefined;
        const result = await tokens.resolve(token);
        return result.ok ? { ...result.resolved, token: { token, iat: result.claims.iat, exp: result.claims.exp } } : undefined;
      })();
      return resolved;
    };
    let management: Promise<boolean> | undefined;
    return {
      request,
      meta: requestMeta(request),
      lang: authingLang(request.headers['x-authing-lang']),
      isManagement: () => {
        management ??= (async () => {
          const token = bearerOf(request);
          return token !== undefined && tokens.isManagement(token);
        })();
        return management;
      },
      caller,
      requireCaller: async () => {
        const c = await caller();
        if (!c) throw new AppError('auth.unauthorized');
        return c;
      },
    };
  };

  /** The user with a fresh token for `signedIn`'s session (`withToken`), or the session ended at once. */
  const answerSignedIn = async (signedIn: SignedIn, withToken: boolean) => {
    if (!withToken) {
      await sessions.revokeToken(signedIn.issued.token);
      return view(signedIn.user);
    }
    return view(signedIn.user, await tokens.mint(signedIn.user, signedIn.issued.session));
  };
  const view = async (user: UserRecord, token?: MintedToken) =>
    toAuthingUser(user, userPoolId, {
      ...(token ? { token: token.token, tokenExpiredAt: new Date(token.exp * 1000).toISOString() } : {}),
      customData: authingUdv(await customFields.valuesOf(user)),
    });
  const password = async (v: unknown, what = 'password') => {
    if (typeof v !== 'string' || v === '') throw invalid(what);
    return (await keys.decrypt(v)).text;
  };
  const phoneOf = (input: Variables) => {
    const phone = str(input.phone);
    if (!phone) throw invalid('phone');
    return phoneFromAuthing(phone, str(input.phoneCountryCode) ?? null);
  };
  /** Authing codes carry no scene: the newest live code of these purposes for the number is the one meant. */
  const purposeFor = async (channel: 'phone' | 'email', identifier: string, purposes: CodePurpose[]) =>
    (await verification.latestLivePurpose(channel, identifier, purposes)) ?? purposes[0]!;
  /**
   * The purpose of a code a signed-in user asks for (Authing's codes carry no scene): to another address
   * it proves that address for binding (BindNewIdentifier, no owner); to the user's own address it is
   * their old-address proof (Generic, owned by them); without a session, the scene's purpose.
   */
  const forCaller = (caller: Caller | undefined, channel: 'phone' | 'email', identifier: string, scenePurpose: CodePurpose): { purpose: CodePurpose; userId: string | null } => {
    if (!caller || scenePurpose !== 'Generic') return { purpose: scenePurpose, userId: null };
    let own: boolean;
    try {
      own = channel === 'phone' ? users.normalize('phone', identifier) === caller.user.primaryPhone : identifier.toLowerCase() === caller.user.primaryEmail?.toLowerCase();
    } catch {
      own = false;
    }
    return own ? { purpose: 'Generic', userId: caller.user.id } : { purpose: 'BindNewIdentifier', userId: null };
  };
  const udvAnswer = async (user: UserRecord) => authingUdv(await customFields.valuesOf(await users.require(user.id)));

  const signIn = (kind: IdentifierKind, field: string) => async (vars: Variables, ctx: Ctx) => {
    const input = obj(vars.input);
    const value = kind === 'phone' ? phoneOf(input) : str(input[field]);
    if (!value) throw invalid(field);
    const pw = await password(input.password);
    // Authing's captchaCode answers an image tied to a browser cookie; Tessera's captcha has its own id, so
    // a sign-in that needs one answers 2000 here (use /api/auth/sign-in with the captcha).
    return answerSignedIn(await auth.signInWithPassword(kind, value, pw, ctx.meta), true);
  };
  const register = (kind: 'email' | 'username') => async (vars: Variables, ctx: Ctx) => {
    const input = obj(vars.input);
    const value = str(input[kind]);
    if (!value) throw invalid(kind);
    const pw = await password(input.password);
    const profile = obj(input.profile);
    const signedIn = await auth.signUp(
      {
        username: kind === 'username' ? value : (str(profile.username) ?? null),
        email: kind === 'email' ? value : null,
        phone: null,
        password: pw,
        ...(str(profile.nickname) ? { profile: { nickname: str(profile.nickname)! } } : {}),
        ...(str(profile.name) ? { name: str(profile.name)! } : {}),
      },
      ctx.meta,
    );
    return answerSignedIn(signedIn, input.generateToken === true || input.forceLogin === true);
  };

  /** @throws AppError `auth.unauthorized` (2020) unless the Bearer token is a management token */
  const requireManagement = async (ctx: Ctx) => {
    if (!(await ctx.isManagement())) throw new AppError('auth.unauthorized');
  };
  /** The user of a management call's `id`/`targetId`. @throws AppError `user.not_found` (2004) */
  const target = async (id: unknown) => {
    const value = str(id);
    if (!value) throw invalid('id');
    return users.require(value);
  };
  /** Authing's field names of a management update, in the domain's terms. */
  const adminChanges = (input: Record<string, unknown>) => {
    const profile = profileClaims(input);
    const username = text(input, 'username', 128);
    const email = text(input, 'email', 320);
    const phone = text(input, 'phone', 32);
    const name = text(input, 'name');
    const avatar = photoUrl(input);
    return {
      ...(username !== undefined ? { username } : {}),
      ...(email !== undefined ? { primaryEmail: email } : {}),
      ...(phone !== undefined ? { primaryPhone: phone === null ? null : phoneFromAuthing(phone, str(input.phoneCountryCode) ?? null) } : {}),
      ...(name !== undefined ? { name } : {}),
      ...(avatar !== undefined ? { avatar } : {}),
      ...(Object.keys(profile).length > 0 ? { profile } : {}),
    };
  };
  const UDF_TYPES: Record<string, CustomFieldType> = { STRING: 'STRING', NUMBER: 'NUMBER', BOOLEAN: 'BOOLEAN', DATETIME: 'DATETIME', OBJECT: 'OBJECT' };
  const udfOf = (f: { key: string; type: string; label: string | null }) => ({ targetType: 'USER', dataType: f.type, key: f.key, label: f.label ?? f.key, options: null });
  const requireUserTarget = (vars: Variables) => {
    if (vars.targetType !== undefined && vars.targetType !== 'USER') throw new AppError('request.invalid', { message: 'Only USER custom fields are kept.' });
  };

  const operations: Record<string, Handler> = {
    // ManagementClient (shared/specs/authing.md §9): the pool secret buys a management token.
    async accessToken(vars, ctx) {
      // Guessing the pool secret spends the caller IP's sign-in budget (rateLimit.signInPerMinute).
      await auth.throttle('signIn', ctx.meta);
      const pool = str(vars.userPoolId) ?? '';
      const secret = str(vars.secret) ?? '';
      // Both compared in constant time; a wrong pair is "not logged in".
      const ok = constantTimeEqual(pool, userPoolId) && constantTimeEqual(secret, o.poolSecret);
      if (!ok) throw new AppError('auth.unauthorized');
      const minted = await tokens.mintManagement();
      return { accessToken: minted.token, iat: minted.iat, exp: minted.exp };
    },
    async createUser(vars, ctx) {
      await requireManagement(ctx);
      const info = obj(vars.userInfo);
      const secret = info.password === undefined || info.password === null ? null : await password(info.password);
      // keepPassword: the value is already a hash (Authing imports bcrypt/argon2 hashes this way), checked by the domain's digest reader.
      const passwordHash = vars.keepPassword === true && secret !== null ? storedHashOfDigest(secret.startsWith('$2') ? 'Bcrypt' : secret.startsWith('$argon2d$') ? 'Argon2d' : secret.startsWith('$argon2i$') ? 'Argon2i' : 'Argon2id', secret) : undefined;
      const created = await users.createByAdministrator(
        {
          username: str(info.username) ?? null,
          email: str(info.email) ?? null,
          phone: str(info.phone) ? phoneFromAuthing(str(info.phone)!, str(info.phoneCountryCode) ?? null) : null,
          ...(passwordHash ? { passwordHash } : { password: secret }),
          name: text(info, 'name') ?? null,
          avatar: photoUrl(info) ?? null,
          emailVerified: info.emailVerified === true,
          phoneVerified: info.phoneVerified === true,
          ...(str(info.nickname) ? { profile: { nickname: str(info.nickname)! } } : {}),
          ...(vars.resetPasswordOnFirstLogin === true ? { passwordResetRequired: true } : {}),
        },
      );
      return view(created);
    },
    async deleteUser(vars, ctx) {
      await requireManagement(ctx);
      const user = await target(vars.id);
      await users.delete(user.id);
      return { code: 200, message: ctx.lang === 'en-US' ? 'Deleted' : '删除成功' };
    },
    async users(vars, ctx) {
      await requireManagement(ctx);
      const page = Math.max(1, Number(vars.page) || 1);
      const limit = Math.min(100, Math.max(1, Number(vars.limit) || 10));
      const { users: list, total } = await users.list({ terms: [], joint: 'or', caseSensitive: false, offset: (page - 1) * limit, limit });
      return { totalCount: total, list: await Promise.all(list.map((u) => view(u))) };
    },
    async searchUser(vars, ctx) {
      await requireManagement(ctx);
      const query = str(vars.query);
      if (!query) throw invalid('query');
      const page = Math.max(1, Number(vars.page) || 1);
      const limit = Math.min(100, Math.max(1, Number(vars.limit) || 10));
      const map: Record<string, 'username' | 'primaryEmail' | 'primaryPhone' | 'name'> = { username: 'username', email: 'primaryEmail', phone: 'primaryPhone', name: 'name', nickname: 'name' };
      const asked = Array.isArray(vars.fields) && vars.fields.length > 0 ? (vars.fields as unknown[]).map(String) : Object.keys(map);
      const fields = [...new Set(asked.map((f) => map[f]).filter((f): f is NonNullable<typeof f> => f !== undefined))];
      if (fields.length === 0) return { totalCount: 0, list: [] };
      const like = `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const { users: list, total } = await users.list({
        terms: [{ fields, mode: 'like', values: [like] }],
        joint: 'or',
        caseSensitive: false,
        offset: (page - 1) * limit,
        limit,
      });
      return { totalCount: total, list: await Promise.all(list.map((u) => view(u))) };
    },
    async findUser(vars, ctx) {
      await requireManagement(ctx);
      const pairs: Array<[IdentifierKind, unknown]> = [['username', vars.username], ['email', vars.email], ['phone', vars.phone]];
      for (const [kind, value] of pairs) {
        const v = str(value);
        if (v) {
          const found = await users.findByIdentifier(kind, kind === 'phone' ? phoneFromAuthing(v) : v);
          return found ? view(found) : null;
        }
      }
      throw invalid('username, email or phone');
    },
    async setUdf(vars, ctx) {
      await requireManagement(ctx);
      requireUserTarget(vars);
      const key = str(vars.key);
      const type = UDF_TYPES[String(vars.dataType)];
      if (!key || !type) throw invalid('key and a dataType of STRING, NUMBER, BOOLEAN, DATETIME or OBJECT');
      const existing = (await customFields.list()).find((f) => f.key === key);
      const field = existing ? await customFields.update(key, { label: str(vars.label) ?? null }) : await customFields.define({ key, type, label: str(vars.label) ?? null });
      return udfOf(field);
    },
    async udf(vars, ctx) {
      await requireManagement(ctx);
      requireUserTarget(vars);
      return (await customFields.list()).map(udfOf);
    },
    async removeUdf(vars, ctx) {
      await requireManagement(ctx);
      requireUserTarget(vars);
      const key = str(vars.key);
      if (!key) throw invalid('key');
      await customFields.remove(key);
      return { code: 200, message: ctx.lang === 'en-US' ? 'Deleted' : '删除成功' };
    },
    registerByEmail: register('email'),
    registerByUsername: register('username'),
    async registerByPhoneCode(vars, ctx) {
      const input = obj(vars.input);
      const phone = phoneOf(input);
      const code = str(input.code);
      if (!code) throw invalid('code');
      const pw = input.password === undefined || input.password === null ? null : await password(input.password);
      const signedIn = await auth.signUpWithCode(
        { channel: 'phone', identifier: phone, code, purpose: await purposeFor('phone', phone, ['Register', 'Generic']), password: pw },
        ctx.meta,
      );
      return answerSignedIn(signedIn, input.generateToken === true || input.forceLogin === true);
    },
    loginByEmail: signIn('email', 'email'),
    loginByUsername: signIn('username', 'username'),
    loginByPhonePassword: signIn('phone', 'phone'),
    async loginByPhoneCode(vars, ctx) {
      const input = obj(vars.input);
      const phone = phoneOf(input);
      const code = str(input.code);
      if (!code) throw invalid('code');
      const purpose = await purposeFor('phone', phone, ['SignIn', 'Generic', 'Register']);
      return answerSignedIn(await auth.signInWithCode({ channel: 'phone', identifier: phone, code, purpose }, ctx.meta), true);
    },
    async loginBySubAccount() {
      throw new AppError('request.invalid', { message: 'Sub-accounts are not supported by this server.' });
    },
    /**
     * `query getUserRoles($id, $namespace) { user(id) { roles(namespace) {totalCount list} } }` (the SDK's
     * `hasRole`, `listRoles`): the user's roles (Tessera's RBAC roles, oldest grant first), `code` = the
     * role's name. Tessera has no permission groups: every role is in the `default` namespace, so another
     * namespace has none. A user token reads only its own user; the management token any user.
     * @throws AppError `auth.unauthorized` (2020: no caller, or another user's id), `user.not_found` (2004)
     */
    async getUserRoles(vars, ctx) {
      const id = str(vars.id);
      if (!id) throw invalid('id');
      let userId: string;
      if (await ctx.isManagement()) userId = (await target(id)).id;
      else {
        const caller = await ctx.requireCaller();
        if (caller.user.id !== id) throw new AppError('auth.unauthorized');
        userId = caller.user.id;
      }
      const namespace = str(vars.namespace) ?? 'default';
      const held = namespace === 'default' && o.roles ? await o.roles.userRoles(userId) : [];
      return {
        roles: {
          totalCount: held.length,
          list: held.map((r) => {
            const at = new Date(r.createdAt).toISOString();
            return { id: r.id, code: r.name, namespace: 'default', arn: `arn:cn:authing:${userPoolId}:role:${r.name}`, description: r.description, createdAt: at, updatedAt: at, parent: null };
          }),
        },
      };
    },
    async user(_vars, ctx) {
      // The SDK caches this answer's `token` as its own: the caller's token is echoed.
      const caller = await ctx.requireCaller();
      return view(caller.user, caller.token);
    },
    async updateUser(vars, ctx) {
      if (await ctx.isManagement()) {
        // An administrator (ManagementClient users.update): identifiers, profile, password.
        const user = await target(vars.id);
        const input = obj(vars.input);
        let updated = await users.adminUpdate(user.id, adminChanges(input));
        if (input.password !== undefined && input.password !== null) {
          updated = await credentials.setPassword({ user: updated, newPassword: await password(input.password), authority: 'admin', audit: { action: 'admin_set_password', ip: ctx.meta.ip ?? null } });
        }
        return view(updated);
      }
      const caller = await ctx.requireCaller();
      if (vars.id !== undefined && vars.id !== null && vars.id !== caller.user.id) throw new AppError('auth.unauthorized');
      const input = obj(vars.input);
      if (input.email !== undefined || input.emailVerified !== undefined) throw new AppError('request.invalid', { message: 'Change the email with updateEmail.' });
      if (input.phone !== undefined || input.phoneVerified !== undefined) throw new AppError('request.invalid', { message: 'Change the phone with updatePhone.' });
      if (input.password !== undefined) throw new AppError('request.invalid', { message: 'Change the password with updatePassword.' });
      const profile = profileClaims(input);
      const username = text(input, 'username', 128);
      const name = text(input, 'name');
      const avatar = photoUrl(input);
      const updated = await self.updateProfile(caller.user, {
        ...(username !== undefined ? { username } : {}),
        ...(name !== undefined ? { name } : {}),
        ...(avatar !== undefined ? { avatar } : {}),
        ...(Object.keys(profile).length > 0 ? { profile } : {}),
      });
      return view(updated, caller.token);
    },
    async checkLoginStatus(vars, ctx) {
      const token = str(vars.token) ?? bearerOf(ctx.request);
      const expired = { code: 2206, message: ctx.lang === 'en-US' ? 'Login info expired, sign in again' : '登录信息已过期', status: false, exp: null, iat: null, data: null };
      if (!token) return expired;
      const result = await tokens.resolve(token);
      if (!result.ok) {
        return result.reason === 'invalid'
          ? { code: 2207, message: ctx.lang === 'en-US' ? 'Login info is wrong, sign in again' : '登录信息有误，请重新登录', status: false, exp: null, iat: null, data: null }
          : expired;
      }
      return {
        code: 200,
        message: ctx.lang === 'en-US' ? 'Logged in' : '已登录',
        status: true,
        exp: result.claims.exp,
        iat: result.claims.iat,
        data: { id: result.resolved.user.id, userPoolId, arn: `arn:cn:authing:${userPoolId}:user:${result.resolved.user.id}` },
      };
    },
    async refreshToken(_vars, ctx) {
      const caller = await ctx.requireCaller();
      const minted = await tokens.mint(caller.user, caller.session);
      return { token: minted.token, iat: minted.iat, exp: minted.exp };
    },
    async isUserExists(vars, ctx) {
      const admin = await ctx.isManagement();
      const pairs: Array<[IdentifierKind, unknown]> = [['username', vars.username], ['email', vars.email], ['phone', vars.phone]];
      for (const [kind, value] of pairs) {
        const v = str(value);
        if (!v) continue;
        const identifier = kind === 'phone' ? phoneFromAuthing(v) : v;
        // An administrator may ask; end users only under the enumeration setting (sdkAuth's rule).
        if (admin) return (await users.findByIdentifier(kind, identifier).catch(() => undefined)) !== undefined;
        return sdkAuth.userExists(kind, identifier, ctx.meta);
      }
      throw invalid('username, email or phone');
    },
    async checkPasswordStrength(vars) {
      const pw = typeof vars.password === 'string' ? vars.password : '';
      const result = policy.strength(pw);
      return { valid: result.valid, message: result.message };
    },
    async updatePassword(vars, ctx) {
      const caller = await ctx.requireCaller();
      const newPassword = await password(vars.newPassword, 'newPassword');
      const oldPassword = vars.oldPassword === undefined || vars.oldPassword === null ? undefined : await password(vars.oldPassword, 'oldPassword');
      try {
        const signedIn = await self.setPassword(caller, { ...(oldPassword !== undefined ? { oldPassword } : {}), newPassword }, ctx.meta);
        return view(signedIn.user, await tokens.mint(signedIn.user, signedIn.issued.session));
      } catch (error) {
        // Authing: 2201 old password required, 2203 old password wrong.
        if (error instanceof AppError && error.code === 'auth.invalid_credentials') throw new AppError('user.password_mismatch');
        throw error;
      }
    },
    async resetPassword(vars, ctx) {
      const code = str(vars.code);
      if (!code) throw invalid('code');
      const newPassword = await password(vars.newPassword, 'newPassword');
      const email = str(vars.email);
      const channel = email ? 'email' : 'phone';
      const identifier = email ?? phoneOf(vars);
      await auth.resetPassword({ channel, identifier, code, newPassword }, ctx.meta);
      return { code: 200, message: ctx.lang === 'en-US' ? 'Password reset' : '重置密码成功' };
    },
    async sendEmail(vars, ctx) {
      const email = str(vars.email);
      if (!email) throw invalid('email');
      const scene = str(vars.scene) ?? 'VERIFY_CODE';
      const caller = await ctx.caller();
      const scenePurpose: CodePurpose = /RESET_PASSWORD/.test(scene) ? 'ForgotPassword' : scene === 'VERIFY_EMAIL' ? 'VerifyEmail' : scene === 'LOGIN_VERIFY_CODE' ? 'SignIn' : scene === 'REGISTER_VERIFY_CODE' ? 'Register' : 'Generic';
      const { purpose, userId } = forCaller(caller, 'email', email, scenePurpose);
      await verification.sendCode({ channel: 'email', identifier: email, purpose, locale: ctx.lang === 'en-US' ? 'en' : 'zh-CN', ip: ctx.meta.ip ?? null, userId });
      return { code: 200, message: ctx.lang === 'en-US' ? 'Sent' : '发送成功' };
    },
    async resetPasswordByFirstLoginToken(vars, ctx) {
      const token = str(vars.token);
      if (!token) throw invalid('token');
      await o.forcedReset.resetWithToken({ resetToken: token, newPassword: await password(vars.password) }, ctx.meta);
      return { code: 200, message: ctx.lang === 'en-US' ? 'Password reset' : '重置密码成功' };
    },
    async resetPasswordByForceResetToken(vars, ctx) {
      const token = str(vars.token);
      if (!token) throw invalid('token');
      await o.forcedReset.resetWithToken({ resetToken: token, newPassword: await password(vars.newPassword, 'newPassword'), oldPassword: await password(vars.oldPassword, 'oldPassword') }, ctx.meta);
      return { code: 200, message: ctx.lang === 'en-US' ? 'Password reset' : '重置密码成功' };
    },
    async bindPhone(vars, ctx) {
      const caller = await ctx.requireCaller();
      const code = str(vars.phoneCode);
      if (!code) throw invalid('phoneCode');
      return view(await self.bindIdentifier(caller, { channel: 'phone', value: phoneOf(vars), code }), caller.token);
    },
    async updatePhone(vars, ctx) {
      const caller = await ctx.requireCaller();
      const code = str(vars.phoneCode);
      if (!code) throw invalid('phoneCode');
      const oldPhone = str(vars.oldPhone);
      if (oldPhone && users.normalize('phone', phoneFromAuthing(oldPhone, str(vars.oldPhoneCountryCode) ?? null)) !== caller.user.primaryPhone) {
        throw new AppError('request.invalid', { message: 'oldPhone is not the current phone number.' });
      }
      const oldCode = str(vars.oldPhoneCode);
      return view(await self.bindIdentifier(caller, { channel: 'phone', value: phoneOf(vars), code, ...(oldCode ? { oldCode, verifyOld: true } : {}) }), caller.token);
    },
    async unbindPhone(_vars, ctx) {
      const caller = await ctx.requireCaller();
      return view(await self.removeIdentifier(caller, 'phone'), caller.token);
    },
    async bindEmail(vars, ctx) {
      const caller = await ctx.requireCaller();
      const email = str(vars.email);
      const code = str(vars.emailCode);
      if (!email || !code) throw invalid('email and emailCode');
      return view(await self.bindIdentifier(caller, { channel: 'email', value: email, code }), caller.token);
    },
    async updateEmail(vars, ctx) {
      const caller = await ctx.requireCaller();
      const email = str(vars.email);
      const code = str(vars.emailCode);
      if (!email || !code) throw invalid('email and emailCode');
      const oldEmail = str(vars.oldEmail);
      if (oldEmail && oldEmail.toLowerCase() !== caller.user.primaryEmail?.toLowerCase()) throw new AppError('request.invalid', { message: 'oldEmail is not the current email.' });
      const oldCode = str(vars.oldEmailCode);
      return view(await self.bindIdentifier(caller, { channel: 'email', value: email, code, ...(oldCode ? { oldCode, verifyOld: true } : {}) }), caller.token);
    },
    async unbindEmail(_vars, ctx) {
      const caller = await ctx.requireCaller();
      return view(await self.removeIdentifier(caller, 'email'), caller.token);
    },
    async udv(vars, ctx) {
      if (await ctx.isManagement()) return udvAnswer(await target(vars.targetId));
      return udvAnswer((await ctx.requireCaller()).user);
    },
    async setUdv(vars, ctx) {
      const caller = await ctx.requireCaller();
      const key = str(vars.key);
      if (!key) throw invalid('key');
      await self.setCustomFieldValues(caller.user, { [key]: decodeUdv(vars.value) });
      return udvAnswer(caller.user);
    },
    async setUdvBatch(vars, ctx) {
      const list = Array.isArray(vars.udvList) ? vars.udvList : [];
      const values: Record<string, unknown> = {};
      for (const item of list) {
        const key = str(obj(item).key);
        if (!key) throw invalid('udvList[].key');
        values[key] = decodeUdv(obj(item).value);
      }
      if (await ctx.isManagement()) {
        const user = await target(vars.targetId);
        await customFields.setValues(user.id, values);
        return udvAnswer(user);
      }
      const caller = await ctx.requireCaller();
      await self.setCustomFieldValues(caller.user, values);
      return udvAnswer(caller.user);
    },
    async removeUdv(vars, ctx) {
      const key = str(vars.key);
      if (!key) throw invalid('key');
      if (await ctx.isManagement()) {
        const user = await target(vars.targetId);
        await customFields.removeValue(user.id, key);
        return udvAnswer(user);
      }
      const caller = await ctx.requireCaller();
      await self.removeCustomFieldValue(caller.user, key);
      return udvAnswer(caller.user);
    },
  };

  app.post('/graphql/v2', { schema: { hide: true } }, async (request, reply) => {
    const ctx = context(request);
    const body = obj(request.body);
    const name = operationName(body.query);
    try {
      if (!name || !Object.hasOwn(operations, name)) throw new AppError('request.not_found', { message: `Unsupported operation: ${String(name ?? 'none').slice(0, 64)}` });
      const data = await operations[name]!(obj(body.variables), ctx);
      return reply.send({ data: { [FIELD_OF_OPERATION[name] ?? name]: data } });
    } catch (error) {
      if (error instanceof AppError && error.status >= 500) request.log.error({ err: error }, 'authing operation failed');
      else if (!(error instanceof AppError)) request.log.error({ err: error }, 'authing operation failed');
      const e = toAuthingError(error, ctx.lang);
      request.errorCode = error instanceof AppError ? error.code : 'internal.error';
      return reply.send({ data: null, errors: [{ message: e, locations: [], extensions: { code: e.code } }] });
    }
  });

  // REST (shared/specs/authing.md §3): HTTP 200 with {code, message, data}.
  const rest = (handler: (ctx: Ctx, request: FastifyRequest) => Promise<unknown>) => async (request: FastifyRequest, reply: FastifyReply) => {
    const ctx = context(request);
    try {
      const data = await handler(ctx, request);
      return reply.send({ code: 200, message: ctx.lang === 'en-US' ? 'OK' : '成功', data: data ?? null });
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) request.log.error({ err: error }, 'authing request failed');
      const e = toAuthingError(error, ctx.lang);
      request.errorCode = error instanceof AppError ? error.code : 'internal.error';
      return reply.send(e);
    }
  };
  const hidden = { schema: { hide: true } };

  app.get('/api/v2/.well-known', hidden, rest(async () => ({ publicKey: await keys.publicKey() })));
  app.get('/api/v2/logout', hidden, rest(async (ctx) => {
    const caller = await ctx.caller();
    if (caller) await sessions.revokeForUser(caller.user.id, caller.session.id).catch(() => undefined);
    return null;
  }));
  app.post('/api/v2/sms/send', hidden, rest(async (ctx, request) => {
    const body = obj(request.body);
    const phone = phoneOf(body);
    const scene = str(body.scene);
    const scenePurpose: CodePurpose = scene === 'login' ? 'SignIn' : scene === 'register' ? 'Register' : scene === 'reset' ? 'ForgotPassword' : scene === 'bind' ? 'BindNewIdentifier' : 'Generic';
    const caller = await ctx.caller();
    const { purpose, userId } = forCaller(caller, 'phone', phone, scenePurpose);
    await verification.sendCode({ channel: 'phone', identifier: phone, purpose, locale: ctx.lang === 'en-US' ? 'en' : 'zh-CN', ip: ctx.meta.ip ?? null, userId });
    return { code: 200, message: ctx.lang === 'en-US' ? 'Sent' : '发送成功' };
  }));
  // linkAccount: the secondary account's identities join the primary account, which needs a recent sign-in.
  app.post('/api/v2/users/link', hidden, rest(async (ctx, request) => {
    const body = obj(request.body);
    const resolve = async (value: unknown) => {
      const token = str(value);
      const result = token ? await tokens.resolve(token) : undefined;
      if (!result?.ok) throw new AppError('auth.unauthorized');
      return result.resolved;
    };
    await auth.throttle('signIn', ctx.meta);
    await sdkAuth.linkSessions(await resolve(body.primaryUserToken), await resolve(body.secondaryUserToken));
    return { code: 200, message: ctx.lang === 'en-US' ? 'Linked' : '绑定成功' };
  }));
  // listApplications: `{totalCount, list: ApplicationPublicDetail[]}` (shared/specs/authing.md §3.8).
  app.get('/api/v2/users/me/applications/allowed', hidden, rest(async (ctx, request) => {
    await ctx.requireCaller();
    const q = obj(request.query);
    const page = Math.max(1, Number(q.page) || 1);
    const limit = Math.min(100, Math.max(1, Number(q.limit) || 10));
    const { items, total } = await o.applications.listForUsers({ offset: (page - 1) * limit, limit });
    return {
      totalCount: total,
      list: items.map((a) => ({
        id: a.id,
        createdAt: new Date(a.createdAt).toISOString(),
        updatedAt: new Date(a.updatedAt).toISOString(),
        name: a.name,
        logo: null,
        domain: null,
        description: a.description,
        protocol: 'oidc',
      })),
    };
  }));
  app.get('/api/v2/users/me/security-level', hidden, rest(async (ctx) => securityLevel.compute((await ctx.requireCaller()).user)));
  // ManagementClient users.batch: up to 80 users by id, username, phone, email (2030 above that is ours: 2231).
  app.post('/api/v2/users/batch', hidden, rest(async (ctx, request) => {
    await requireManagement(ctx);
    const body = obj(request.body);
    const ids = Array.isArray(body.ids) ? body.ids.filter((v): v is string => typeof v === 'string' && v !== '') : [];
    if (ids.length === 0 || ids.length > 80) throw new AppError('request.invalid', { message: 'ids: 1 to 80 values.' });
    const type = str(body.type) ?? 'id';
    const found: UserRecord[] = [];
    for (const id of ids) {
      const user =
        type === 'id' ? await users.findById(id)
        : type === 'username' || type === 'email' ? await users.findByIdentifier(type, id).catch(() => undefined)
        : type === 'phone' ? await users.findByIdentifier('phone', phoneFromAuthing(id)).catch(() => undefined)
        : undefined;
      if (user && !found.some((u) => u.id === user.id)) found.push(user);
    }
    return Promise.all(found.map((u) => view(u)));
  }));
  // ManagementClient users.kick: every session (and so every token) of these users ends.
  app.post('/api/v2/users/kick', hidden, rest(async (ctx, request) => {
    await requireManagement(ctx);
    const ids = obj(request.body).userIds;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 80 || !ids.every((v) => typeof v === 'string')) throw new AppError('request.invalid', { message: 'userIds: 1 to 80 ids.' });
    for (const id of ids as string[]) if (await users.findById(id)) await users.endAllSessions(id);
    return null;
  }));
  app.get('/api/v2/users/:id', hidden, rest(async (ctx, request) => {
    await requireManagement(ctx);
    return view(await target((request.params as { id?: string }).id));
  }));
  app.get('/api/v2/users/me/orgs', hidden, rest(async (ctx) => {
    await ctx.requireCaller();
    return [];
  }));
};

/** A UDV value as the SDK sends it: `JSON.stringify(value)` text, read back (a non-JSON text is the string itself). */
function decodeUdv(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

