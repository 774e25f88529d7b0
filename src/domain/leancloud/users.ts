import { randomInt } from 'node:crypto';
import { assertJsonDepth, MAX_JSON_DEPTH } from '../../util/json-depth.js';
import { findNulIn } from '../../util/nul.js';
import { AppError, isAppError } from '../../errors/index.js';
import type { LcAcl } from '../../storage/leancloud-store.js';
import { type Store, UniqueViolation, type UserPatch, type UserRecord } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import type { AuthService, RequestMeta } from '../sign-in/auth.js';
import type { IdentityRecord, IdentityService } from '../social/identities.js';
import type { IdentifierKind } from '../users/identifiers.js';
import {
  aclAllowsRead,
  applyUpdateAt,
  assertFieldName,
  assertPathSegments,
  decodeValue,
  isForbiddenKey,
  isOp,
  isPlainObject,
  type LcObject,
  parseAcl,
  randomUsername,
} from './objects.js';
import { columnFilter, compileOrder, compileWhere, parsePaging, projectKeys } from './query.js';
import type { AccountCenterField, AccountCenterService } from '../account/center.js';
import type { CredentialService } from '../credentials/index.js';
import type { ResolvedSession, SessionService } from '../sessions/index.js';
import { conflictError, type UserService } from '../users/index.js';
import type { VerificationService } from '../verification/index.js';

/** Who is calling the `/1.1` API: master key or not, and the user of a valid `X-LC-Session`. */
export interface LcCaller {
  master: boolean;
  session?: ResolvedSession & { token: string };
}

/** A user object created or found by a sign-up-or-login call. */
export interface LcSignedIn {
  object: LcObject;
  /** True when the call created the user (LeanCloud answers 201), false when it signed in (200). */
  created: boolean;
}

/** Options of {@link LeanCloudUsers.update}. */
export interface LcUpdateOptions {
  /** `new=true` / `fetchWhenSave=true`: return the new value of every field in the request. */
  returnNew?: boolean;
  /** `where=`: only update when the current object matches (else `object.condition_failed`). */
  where?: string;
}

/** Query parameters of `GET /1.1/classes/_User` (strings as they come from the URL). */
export interface LcQueryParams {
  where?: unknown;
  order?: unknown;
  limit?: unknown;
  skip?: unknown;
  keys?: unknown;
  count?: unknown;
  returnACL?: unknown;
}

/** Fields with fixed meaning on `_User`; never stored as custom fields. */
const SYSTEM_KEYS = new Set([
  'objectId', 'createdAt', 'updatedAt', 'username', 'password', 'email', 'mobilePhoneNumber', 'emailVerified',
  'mobilePhoneVerified', 'authData', 'ACL', 'sessionToken', 'salt',
]);
/** Platform names inside authData (the `_<platform>_unionid` entries are the server's own). */
const PLATFORM = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** One `authData.<platform>` entry of a request, with its identity key worked out. */
interface AuthDataEntry {
  platform: string;
  data: Record<string, unknown>;
  subject: string;
  /** UnionID fields (shared/specs/leancloud.md §5). */
  union?: { platform: string; id: string; main: boolean };
}

/** What a request body asks to change on a user, parsed and validated. */
interface UserChanges {
  username?: string;
  password?: string;
  email?: string | null;
  phone?: string | null;
  emailVerified?: boolean;
  phoneVerified?: boolean;
  acl?: LcAcl | null;
  link: AuthDataEntry[];
  unlink: string[];
  unlinkAll: boolean;
  custom: Array<{ path: string[]; update: unknown }>;
  /** Top-level keys of the request (for `new=true` answers). */
  requested: string[];
}

/** The account-center fields a `_User` change set touches (for the end-user write policy). */
function governedFields(changes: UserChanges): AccountCenterField[] {
  const fields: AccountCenterField[] = [];
  if (changes.username !== undefined) fields.push('username');
  if (changes.password !== undefined) fields.push('password');
  if (changes.email !== undefined) fields.push('email');
  if (changes.phone !== undefined) fields.push('phone');
  if (changes.custom.length > 0) fields.push('customData');
  if (changes.link.length > 0 || changes.unlink.length > 0 || changes.unlinkAll) fields.push('social');
  return fields;
}

/** The provider name under which a UnionID is kept (`_weixin_unionid`). */
export function unionProvider(platform: string): string {
  return `_${platform}_unionid`;
}

/**
 * Works out the identity key of an `authData.<platform>` entry: `id` for `anonymous`, else `uid`, else
 * `openid`, else `id` (numbers are accepted as their decimal text).
 * @throws AppError `object.invalid_key` (bad platform name), `identity.invalid` (no id, or not an object)
 */
export function authDataEntry(platform: string, value: unknown): AuthDataEntry {
  if (!PLATFORM.test(platform) || isForbiddenKey(platform)) throw new AppError('object.invalid_key', { message: `Invalid authData platform: ${platform.slice(0, 64)}` });
  if (!isPlainObject(value)) throw new AppError('identity.invalid', { message: `authData.${platform} must be an object.` });
  const data = decodeValue(value) as Record<string, unknown>;
  const raw = platform === 'anonymous' ? data.id : (data.uid ?? data.openid ?? data.id);
  const subject = typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : raw;
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 512) throw new AppError('identity.invalid');
  const entry: AuthDataEntry = { platform, data, subject };
  if (typeof data.unionid === 'string' && data.unionid && typeof data.platform === 'string' && PLATFORM.test(data.platform)) {
    entry.union = { platform: data.platform, id: data.unionid, main: data.main_account === true || data.main_account === 'true' };
  }
  return entry;
}

/**
 * Parses the `where` / JSON query parameter, then checks what the decoding produced: no NUL in any
 * string or key (issue 15: a `\u0000` escape survives the HTTP layer's check and was a 500 on
 * PostgreSQL) and no nesting deeper than {@link MAX_JSON_DEPTH}.
 * @throws AppError `request.malformed_json` (not JSON), `object.invalid_query` (102: NUL, or nested too deep)
 */
export function parseJsonParam(value: unknown): unknown {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') return value;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new AppError('request.malformed_json');
  }
  const nul = findNulIn(parsed, 'query.where');
  if (nul) throw new AppError('object.invalid_query', { message: 'NUL characters are not allowed in a query.' });
  try {
    assertJsonDepth(parsed);
  } catch {
    throw new AppError('object.invalid_query', { message: `The query is nested deeper than ${MAX_JSON_DEPTH} levels.` });
  }
  return parsed;
}

/**
 * The LeanCloud `_User` object of a user (shared/specs/leancloud.md §2): system fields, custom fields at
 * the top level, `authData` from the linked identities, ISO timestamps; `sessionToken` only when given,
 * `ACL` only when asked for.
 */
export function toLcUser(
  user: UserRecord,
  identities: readonly IdentityRecord[],
  options: { sessionToken?: string; acl?: LcAcl | undefined; returnAcl?: boolean } = {},
): LcObject {
  const out: LcObject = { objectId: user.id };
  if (user.username !== null) out.username = user.username;
  if (user.primaryEmail !== null) out.email = user.primaryEmail;
  if (user.primaryPhone !== null) out.mobilePhoneNumber = user.primaryPhone;
  out.emailVerified = user.emailVerified;
  out.mobilePhoneVerified = user.phoneVerified;
  if (identities.length > 0) out.authData = Object.fromEntries(identities.map((i) => [i.provider, i.data]));
  // Keys that would reach a prototype are never written (none can be stored any more; older rows).
  for (const [k, v] of Object.entries(user.customData)) if (!SYSTEM_KEYS.has(k) && !isForbiddenKey(k)) out[k] = v;
  if (options.returnAcl) out.ACL = options.acl ?? { '*': { read: true }, [user.id]: { read: true, write: true } };
  out.createdAt = new Date(user.createdAt).toISOString();
  out.updatedAt = new Date(user.updatedAt).toISOString();
  if (options.sessionToken) out.sessionToken = options.sessionToken;
  return out;
}

/**
 * LeanCloud's `_User` rules over the shared domain (no second user store): sign-up, sign-in by
 * password or SMS code, authData sign-up-or-login with UnionID, anonymous users, updates with `__op`
 * and dotted paths, ACL reads, master-key queries, session refresh and password change.
 * Differences from LeanCloud, by design: session tokens are per device (each login issues one);
 * refreshSessionToken, updatePassword and password resets end every other session, as LeanCloud does.
 */
export class LeanCloudUsers {
  constructor(
    private readonly store: Store,
    private readonly users: UserService,
    private readonly auth: AuthService,
    private readonly sessions: SessionService,
    private readonly identities: IdentityService,
    private readonly verification: VerificationService,
    private readonly credentials: CredentialService,
    /** The end-user write policy (account-center field modes bind a user's own session, not the master key). */
    private readonly accountCenter: Pick<AccountCenterService, 'assertSelfEditable'>,
    private readonly clock: Clock,
  ) {}

  /**
   * Resolves `X-LC-Session` leniently: an unknown, expired or malformed token is simply no session
   * (the SDK sends stale tokens on public calls, and LeanCloud accepts them).
   */
  async resolveCaller(master: boolean, token: string | undefined): Promise<LcCaller> {
    if (!token) return { master };
    try {
      return { master, session: { ...(await this.sessions.authenticate(token)), token } };
    } catch (error) {
      if (isAppError(error)) return { master };
      throw error;
    }
  }

  /** The LeanCloud object of `user` (loads its identities and ACL). */
  async view(user: UserRecord, options: { sessionToken?: string; returnAcl?: boolean } = {}): Promise<LcObject> {
    const [identities, acl] = await Promise.all([this.identities.list(user.id), options.returnAcl ? this.store.leancloud.getAcl(user.id) : undefined]);
    return toLcUser(user, identities, { ...options, acl });
  }

  /**
   * `POST /1.1/users` without authData: creates a user with username and password (and any other
   * fields), signs them in.
   * @throws AppError `user.username_required` (200), `user.password_required` (201), `user.invalid_*`,
   *   `password.rejected`, `user.*_taken`, `object.*` (bad fields), `request.rate_limited`
   */
  async signUp(caller: LcCaller, body: LcObject, meta: RequestMeta): Promise<LcObject> {
    const changes = this.parseChanges(body, caller.master);
    if (changes.username === undefined) throw new AppError('user.username_required');
    if (changes.password === undefined) throw new AppError('user.password_required');
    const customData = this.applyCustom({}, changes);
    const { user, issued } = await this.auth.signUp(
      { username: changes.username, email: changes.email ?? null, phone: changes.phone ?? null, password: changes.password, customData },
      meta,
      { lenientUsername: true },
    );
    const final = await this.afterCreate(user, changes);
    return this.view(final, { sessionToken: issued.token });
  }

  /** Applies the parts of a creation request that the user row does not hold (flags set by master, ACL). */
  private async afterCreate(user: UserRecord, changes: UserChanges): Promise<UserRecord> {
    if (changes.acl) await this.store.leancloud.setAcl(user.id, changes.acl);
    if (changes.emailVerified !== undefined || changes.phoneVerified !== undefined) {
      return this.users.update(user.id, {
        ...(changes.emailVerified !== undefined ? { emailVerified: changes.emailVerified } : {}),
        ...(changes.phoneVerified !== undefined ? { phoneVerified: changes.phoneVerified } : {}),
      });
    }
    return user;
  }

  /**
   * `POST /1.1/login`: username, email or mobilePhoneNumber with a password, or mobilePhoneNumber with
   * an smsCode (sent by requestLoginSmsCode or requestSmsCode). Lockout applies per identifier.
   * @throws AppError `user.username_required` (200, no identifier), `user.password_required` (201),
   *   `auth.invalid_credentials` (210), `user.not_found` (211; `data.identifier = 'phone'` → 213),
   *   `auth.too_many_failures` (219), `auth.user_suspended`, verification errors for a bad code
   */
  async logIn(body: LcObject, meta: RequestMeta): Promise<LcObject> {
    const str = (k: string) => (typeof body[k] === 'string' && body[k] !== '' ? (body[k] as string) : undefined);
    const username = str('username');
    const email = str('email');
    const phone = str('mobilePhoneNumber');
    if (body.smsCode !== undefined) {
      if (!phone) throw new AppError('user.phone_required');
      return this.logInWithSmsCode(phone, String(body.smsCode), meta);
    }
    const password = str('password');
    const [kind, value]: [IdentifierKind, string | undefined] = username ? ['username', username] : email ? ['email', email] : ['phone', phone];
    if (!value) throw new AppError('user.username_required');
    if (!password) throw new AppError('user.password_required');
    try {
      const { user, issued } = await this.auth.signInWithPassword(kind, value, password, meta);
      return await this.view(user, { sessionToken: issued.token });
    } catch (error) {
      // LeanCloud tells an unknown user (211/213) from a wrong password (210); the lockout above
      // counts both alike.
      if (isAppError(error, 'auth.invalid_credentials') && !(await this.users.findByIdentifier(kind, value))) {
        throw new AppError('user.not_found', kind === 'phone' ? { data: { identifier: 'phone' } } : {});
      }
      throw error;
    }
  }

  private async logInWithSmsCode(phone: string, code: string, meta: RequestMeta): Promise<LcObject> {
    const purpose = (await this.verification.latestLivePurpose('phone', phone, ['SignIn', 'Generic'])) ?? 'SignIn';
    try {
      const { user, issued } = await this.auth.signInWithCode({ channel: 'phone', identifier: phone, code, purpose }, meta);
      return await this.view(user, { sessionToken: issued.token });
    } catch (error) {
      if (isAppError(error, 'user.not_found')) throw new AppError('user.not_found', { data: { identifier: 'phone' } });
      throw error;
    }
  }

  /**
   * `POST /1.1/usersByMobilePhone`: signs in the owner of the number, or creates a user with it
   * (username = the number unless given, `mobilePhoneVerified: true`, password optional). The code may
   * come from requestSmsCode or requestLoginSmsCode.
   * @throws AppError `user.phone_required`, verification errors (603), creation errors
   */
  async signUpOrLogInWithPhone(caller: LcCaller, body: LcObject, meta: RequestMeta): Promise<LcSignedIn> {
    const { mobilePhoneNumber, smsCode, ...rest } = body;
    if (typeof mobilePhoneNumber !== 'string' || mobilePhoneNumber === '') throw new AppError('user.phone_required');
    if (typeof smsCode !== 'string' && typeof smsCode !== 'number') throw new AppError('verification.code_mismatch');
    const code = String(smsCode);
    const changes = this.parseChanges(rest, caller.master);
    const purpose = (await this.verification.latestLivePurpose('phone', mobilePhoneNumber, ['Generic', 'SignIn', 'Register'])) ?? 'Generic';
    if (await this.users.findByIdentifier('phone', mobilePhoneNumber)) {
      const { user, issued } = await this.auth.signInWithCode({ channel: 'phone', identifier: mobilePhoneNumber, code, purpose }, meta);
      return { object: await this.view(user, { sessionToken: issued.token }), created: false };
    }
    const phone = this.users.normalize('phone', mobilePhoneNumber);
    const { user, issued } = await this.auth.signUpWithCode(
      {
        channel: 'phone',
        identifier: phone,
        code,
        purpose,
        username: changes.username ?? phone,
        password: changes.password ?? null,
        customData: this.applyCustom({}, changes),
      },
      meta,
      { lenientUsername: true },
    );
    const final = await this.afterCreate(user, changes);
    return { object: await this.view(final, { sessionToken: issued.token }), created: true };
  }

  /**
   * `POST /1.1/users` with `authData`: signs in the user linked to one of the entries (or, through a
   * UnionID, to the `_<platform>_unionid` owner), merging the entries into their authData once the
   * sign-in succeeded (never before the MFA gate); otherwise creates a user (random 25-character
   * username unless given) unless `failOnNotExist`. authData is client-supplied and unchecked, so it
   * never matches an identity a social connector proved (migration 0013): such an entry signs nobody in
   * and nothing is written. Identities from the operator's LeanCloud import stay usable, as on LeanCloud.
   * @throws AppError `identity.invalid` (250), `identity.not_found` (211, failOnNotExist),
   *   `identity.verified_only` (208: a verified identity), `identity.already_linked` (208: an entry is
   *   another user's; nothing written), `auth.user_suspended`, `auth.mfa_required` (403), creation
   *   errors, `request.rate_limited`
   */
  async logInWithAuthData(caller: LcCaller, body: LcObject, options: { failOnNotExist: boolean }, meta: RequestMeta, retried = false): Promise<LcSignedIn> {
    const changes = this.parseChanges(body, caller.master);
    if (changes.link.length === 0) throw new AppError('identity.invalid', { message: 'authData needs at least one platform entry.' });
    await this.auth.throttle('signIn', meta);
    const { ownerId, entryOwners } = await this.findAuthDataOwner(changes.link);
    if (ownerId) {
      const owner = await this.users.require(ownerId);
      if (owner.isSuspended) throw new AppError('auth.user_suspended');
      // Every entry must be linkable to the owner before anything happens (no partial link).
      if (entryOwners.some((id) => id !== undefined && id !== owner.id)) throw new AppError('identity.already_linked');
      const { user, issued } = await this.auth.finishSignIn(owner, meta, ['fed']);
      // Extra entries join the owner only now that every factor passed.
      try {
        await this.linkEntries(owner.id, changes.link);
      } catch (error) {
        // Lost a race for an entry (another user linked it since the check): no session survives.
        await this.sessions.revokeToken(issued.token);
        throw error;
      }
      return { object: await this.view(user, { sessionToken: issued.token }), created: false };
    }
    if (options.failOnNotExist) throw new AppError('identity.not_found');
    await this.auth.throttle('signUp', meta);
    for (const entry of changes.link) await this.assertLinkable(undefined, entry);
    const created = await this.users.create(
      {
        username: changes.username ?? randomUsername(randomInt),
        email: changes.email ?? null,
        phone: changes.phone ?? null,
        password: changes.password ?? null,
        customData: this.applyCustom({}, changes),
      },
      { requireIdentifier: false, lenientUsername: true },
    );
    try {
      await this.linkEntries(created.id, changes.link);
    } catch (error) {
      // A concurrent request linked the same external account first: this user must not exist; sign
      // in to the winner instead.
      await this.users.delete(created.id);
      if (isAppError(error, 'identity.already_linked') && !retried) return this.logInWithAuthData(caller, body, options, meta, true);
      throw error;
    }
    const { user, issued } = await this.auth.finishSignIn(await this.afterCreate(created, changes), meta, ['fed']);
    return { object: await this.view(user, { sessionToken: issued.token }), created: true };
  }

  /**
   * The user linked to one of the entries, else the owner of one of their UnionIDs — never through an
   * identity a connector proved (client authData cannot prove what a provider proved); claimed and
   * imported identities only. Also returns the
   * owner of each entry (same order; undefined = nobody), so callers check links without re-reading.
   * @throws AppError `identity.verified_only` when an identity found was proven by a connector
   */
  private async findAuthDataOwner(entries: readonly AuthDataEntry[]): Promise<{ ownerId: string | undefined; entryOwners: Array<string | undefined> }> {
    const entryOwners: Array<string | undefined> = [];
    for (const e of entries) {
      const row = await this.identities.find(e.platform, e.subject);
      if (row?.verified && !row.imported) throw new AppError('identity.verified_only');
      entryOwners.push(row?.userId);
    }
    const direct = entryOwners.find((id) => id !== undefined);
    if (direct) return { ownerId: direct, entryOwners };
    for (const e of entries) {
      if (!e.union) continue;
      const row = await this.identities.find(unionProvider(e.union.platform), e.union.id);
      if (row?.verified && !row.imported) throw new AppError('identity.verified_only');
      if (row) return { ownerId: row.userId, entryOwners };
    }
    return { ownerId: undefined, entryOwners };
  }

  /**
   * Checks that unverified authData may link `entry` to `userId` (nothing is written).
   * @throws AppError `identity.verified_only` when a connector proved the entry's identity (even the
   *   owner's own session may not overwrite it from authData),
   *   `identity.already_linked` when another user (not `userId`) owns the entry
   */
  private async assertLinkable(userId: string | undefined, entry: AuthDataEntry): Promise<void> {
    const row = await this.identities.find(entry.platform, entry.subject);
    if (row?.verified && !row.imported) throw new AppError('identity.verified_only');
    if (row && row.userId !== userId) throw new AppError('identity.already_linked');
  }

  /**
   * Links entries to a user (replacing the user's entry of the same platform), records UnionIDs of main
   * accounts, and drops `anonymous` once a real platform is linked (LeanCloud does).
   */
  private async linkEntries(userId: string, entries: readonly AuthDataEntry[]): Promise<void> {
    for (const e of entries) {
      await this.identities.link(userId, e.platform, e.subject, e.data);
      if (e.union?.main) {
        const provider = unionProvider(e.union.platform);
        const owner = await this.identities.findOwner(provider, e.union.id);
        if (!owner) {
          await this.identities.link(userId, provider, e.union.id, { uid: e.union.id }).catch((error: unknown) => {
            // Another user claimed this UnionID concurrently: it stays theirs.
            if (!isAppError(error, 'identity.already_linked')) throw error;
          });
        }
      }
    }
    if (entries.some((e) => e.platform !== 'anonymous')) await this.identities.unlink(userId, 'anonymous');
  }

  /**
   * `GET /1.1/users/me`: the session's user with its token.
   * @throws AppError `user.not_found` (211) for a missing, unknown or expired token
   */
  async me(caller: LcCaller): Promise<LcObject> {
    if (!caller.session) throw new AppError('user.not_found');
    return this.view(caller.session.user, { sessionToken: caller.session.token });
  }

  /**
   * `GET /1.1/users/:id`: a user readable by the caller under its ACL (master reads all). `authData`
   * (third-party access tokens) is shown only to the user's own session and to the master key, as
   * Parse Server does (`cleanResultAuthData`); other fields follow LeanCloud (visible unless the ACL
   * hides the user).
   * @throws AppError `user.not_found` (211; also when the ACL hides the user)
   */
  async get(caller: LcCaller, id: string, options: { keys?: unknown; returnAcl?: boolean } = {}): Promise<LcObject> {
    const user = await this.users.findById(id);
    if (!user) throw new AppError('user.not_found');
    const acl = await this.store.leancloud.getAcl(id);
    if (!caller.master && !aclAllowsRead(acl, caller.session?.user.id)) throw new AppError('user.not_found');
    const object = toLcUser(user, await this.identities.list(id), { acl, returnAcl: options.returnAcl ?? false });
    if (!caller.master && caller.session?.user.id !== id) delete object.authData;
    return projectKeys(object, typeof options.keys === 'string' ? options.keys : undefined);
  }

  /** @throws AppError `user.not_found`, `user.session_required` (206) unless master or the user's own session */
  private async requireWritable(caller: LcCaller, id: string): Promise<UserRecord> {
    const user = await this.users.findById(id);
    if (!user) throw caller.master || caller.session?.user.id === id ? new AppError('user.not_found') : new AppError('user.session_required');
    if (!caller.master && caller.session?.user.id !== id) throw new AppError('user.session_required');
    return user;
  }

  /**
   * `$regex` needs the master key here: a pattern runs on the backtracking engine, so a client's
   * pattern could block the server (ReDoS). Queries are master-only already.
   * @throws AppError `object.condition_failed` (305) when `where` does not match the user,
   *   `object.invalid_query` (102) for a bad `where` or `$regex` without the master key
   */
  private async assertCondition(caller: LcCaller, user: UserRecord, where: string | undefined): Promise<void> {
    if (where === undefined || where === '') return;
    const predicate = compileWhere(parseJsonParam(where), { allowRegex: caller.master });
    if (!predicate(await this.view(user))) throw new AppError('object.condition_failed');
  }

  /**
   * `PUT /1.1/users/:id` and `/1.1/classes/_User/:id`: changes fields (plain values, `__op`s, dotted
   * paths), links and unlinks authData (merged per platform), sets the ACL. Only the user's own
   * session or the master key may write (ACLs are not consulted for `_User` writes, as in LeanCloud).
   * A client may not set `emailVerified`, `mobilePhoneVerified`, `sessionToken`, `salt`, nor replace an
   * existing password here (use updatePassword); a first password (anonymous, authData or SMS users)
   * may be set ({@link CredentialService.setPassword}: the user's other sessions end; with the master key,
   * every session, and only the policy's length bounds apply). Changing email or phone clears its
   * verified flag.
   * @returns `{objectId, updatedAt}` plus, with `returnNew`, the new value of every requested field
   * @throws AppError `user.session_required` (206), `user.not_found`, `object.*`, `user.*_taken`,
   *   `identity.already_linked` (208), `identity.verified_only` (208: authData naming a verified
   *   identity, master key included; nothing written), `password.rejected`, `object.condition_failed`
   */
  async update(caller: LcCaller, id: string, body: LcObject, options: LcUpdateOptions = {}, meta: RequestMeta = {}): Promise<LcObject> {
    const current = await this.requireWritable(caller, id);
    await this.assertCondition(caller, current, options.where);
    const changes = this.parseChanges(body, caller.master);
    if (!caller.master) await this.accountCenter.assertSelfEditable(...governedFields(changes));
    const authority = caller.master ? 'admin' : 'user';
    const newPassword = changes.password;
    if (newPassword !== undefined) {
      if (current.passwordHash && !caller.master) {
        throw new AppError('object.protected_field', { message: 'Use updatePassword to change an existing password.' });
      }
      this.credentials.assertAcceptable({ username: changes.username ?? current.username, primaryEmail: current.primaryEmail }, newPassword, authority);
    }
    for (const entry of changes.link) await this.assertLinkable(id, entry);
    // Fail fast on taken identifiers (the unique indexes still decide races).
    const preview = this.patchFor(current, changes);
    await this.users.assertAvailable({ username: preview.username, email: preview.primaryEmail, phone: preview.primaryPhone }, id);
    let updated: UserRecord | undefined;
    try {
      updated = await this.store.leancloud.updateUserWith(id, (row) => this.patchFor(row, changes));
    } catch (error) {
      if (error instanceof UniqueViolation) throw conflictError(error);
      throw error;
    }
    if (!updated) throw new AppError('user.not_found');
    if (changes.unlinkAll) for (const i of await this.identities.list(id)) await this.identities.unlink(id, i.provider);
    for (const platform of changes.unlink) await this.identities.unlink(id, platform);
    await this.linkEntries(id, changes.link);
    if (newPassword !== undefined) {
      // One rule for every surface: the user's other sessions end (all of them when the master key sets it).
      updated = await this.credentials.setPassword({
        user: updated,
        newPassword,
        authority,
        keep: { sessionId: caller.master ? null : (caller.session?.session.id ?? null) },
        audit: { action: caller.master ? 'admin_set_password' : 'set_password', ip: meta.ip ?? null },
      });
      if (updated.username) await this.identities.unlink(id, 'anonymous');
    }
    if (changes.acl !== undefined) await this.store.leancloud.setAcl(id, changes.acl);
    const out: LcObject = { objectId: id, updatedAt: new Date(updated.updatedAt).toISOString() };
    if (options.returnNew) {
      const object = await this.view(updated, { returnAcl: changes.acl !== undefined });
      for (const key of changes.requested) if (key !== 'password' && object[key] !== undefined) out[key] = object[key];
      if (changes.requested.includes('authData') && out.authData === undefined) out.authData = {};
    }
    return out;
  }

  /** The user-row patch of a change set applied to `current` (custom fields included). */
  private patchFor(current: UserRecord, changes: UserChanges): UserPatch {
    const patch: UserPatch = { updatedAt: Math.max(this.clock.now(), current.updatedAt + 1) };
    if (changes.username !== undefined && changes.username !== current.username) patch.username = this.users.normalize('username', changes.username, true);
    if (changes.email !== undefined) {
      const email = changes.email === null ? null : this.users.normalize('email', changes.email);
      if (email !== current.primaryEmail) patch.primaryEmail = email;
      // A different address (not just other letter case) must be verified again.
      if (email?.toLowerCase() !== current.primaryEmail?.toLowerCase()) patch.emailVerified = false;
    }
    if (changes.phone !== undefined) {
      const phone = changes.phone === null ? null : this.users.normalize('phone', changes.phone);
      if (phone !== current.primaryPhone) Object.assign(patch, { primaryPhone: phone, phoneVerified: false });
    }
    if (changes.emailVerified !== undefined) patch.emailVerified = changes.emailVerified;
    if (changes.phoneVerified !== undefined) patch.phoneVerified = changes.phoneVerified;
    if (changes.custom.length > 0) patch.customData = this.applyCustom(current.customData, changes);
    return patch;
  }

  /** Applies the custom-field updates of `changes` to a copy of `customData`. */
  private applyCustom(customData: Record<string, unknown>, changes: UserChanges): Record<string, unknown> {
    const next = structuredClone(customData);
    for (const { path, update } of changes.custom) applyUpdateAt(next, path, update);
    return next;
  }

  /**
   * Validates a request body into a change set. Unknown keys become custom fields; dotted keys are
   * paths (`authData.<platform>` links or, with Delete, unlinks).
   * @throws AppError `object.invalid_key`, `object.invalid_type`, `object.protected_field`,
   *   `object.invalid_acl`, `user.invalid_username`, `identity.invalid`, `user.password_required`
   */
  private parseChanges(body: LcObject, master: boolean): UserChanges {
    const changes: UserChanges = { link: [], unlink: [], unlinkAll: false, custom: [], requested: [] };
    const protectedField = (key: string) => new AppError('object.protected_field', { message: `${key} cannot be set by a client.` });
    const isDelete = (v: unknown) => v === null || (isOp(v) && v.__op === 'Delete');
    for (const [key, value] of Object.entries(body)) {
      const path = key.split('.');
      const top = path[0]!;
      if (!changes.requested.includes(top)) changes.requested.push(top);
      if (path.length > 1) {
        // No empty step, no `$`, and never `__proto__` / `constructor` / `prototype` (prototype pollution).
        assertPathSegments(path);
        if (top === 'authData' && path.length === 2) {
          if (isDelete(value)) changes.unlink.push(path[1]!);
          else changes.link.push(authDataEntry(path[1]!, value));
          continue;
        }
        if (SYSTEM_KEYS.has(top)) throw new AppError('object.invalid_key', { message: `Cannot update inside ${top}.` });
        assertFieldName(top);
        changes.custom.push({ path, update: value });
        continue;
      }
      switch (key) {
        case 'objectId':
        case 'createdAt':
        case 'updatedAt':
          throw new AppError('object.invalid_key', { message: `${key} is a reserved field.` });
        case 'sessionToken':
        case 'salt':
          throw protectedField(key);
        case 'emailVerified':
        case 'mobilePhoneVerified':
          if (!master) throw protectedField(key);
          if (typeof value !== 'boolean') throw new AppError('object.invalid_type', { message: `${key} must be a boolean.` });
          changes[key === 'emailVerified' ? 'emailVerified' : 'phoneVerified'] = value;
          break;
        case 'username':
          if (typeof value !== 'string') throw new AppError(isDelete(value) ? 'user.username_required' : 'object.invalid_type');
          if (value.trim() === '') throw new AppError('user.invalid_username');
          changes.username = value;
          break;
        case 'password':
          if (typeof value !== 'string' || value === '') throw new AppError('user.password_required');
          if (value.trim() === '') throw new AppError('password.rejected', { message: 'Invalid password, it must be a non-blank string.' });
          changes.password = value;
          break;
        case 'email':
        case 'mobilePhoneNumber': {
          const target = key === 'email' ? 'email' : 'phone';
          if (isDelete(value) || value === '') changes[target] = null;
          else if (typeof value === 'string') changes[target] = value;
          else throw new AppError('object.invalid_type', { message: `${key} must be a string.` });
          break;
        }
        case 'ACL':
          changes.acl = isDelete(value) ? null : parseAcl(value);
          break;
        case 'authData':
          if (isDelete(value)) {
            changes.unlinkAll = true;
            break;
          }
          if (!isPlainObject(value)) throw new AppError('object.invalid_type', { message: 'authData must be an object.' });
          for (const [platform, entry] of Object.entries(value)) {
            if (entry === null) changes.unlink.push(platform);
            else changes.link.push(authDataEntry(platform, entry));
          }
          break;
        default:
          assertFieldName(key);
          changes.custom.push({ path: [key], update: value });
      }
    }
    return changes;
  }

  /**
   * `DELETE /1.1/users/:id`: the user's own session or the master key; sessions, identities and
   * codes go with the user.
   * @throws AppError `user.session_required` (206), `user.not_found`, `object.condition_failed`
   */
  async delete(caller: LcCaller, id: string, options: { where?: string } = {}): Promise<void> {
    const user = await this.requireWritable(caller, id);
    await this.assertCondition(caller, user, options.where);
    if (!(await this.users.delete(id))) throw new AppError('user.not_found');
  }

  /**
   * `PUT /1.1/users/:id/refreshSessionToken`: issues a new session token and ends every other session
   * of the user (LeanCloud replaces the user's token).
   * @throws AppError `user.session_required` (206), `user.not_found`
   */
  async refreshSessionToken(caller: LcCaller, id: string, meta: RequestMeta): Promise<LcObject> {
    const user = await this.requireWritable(caller, id);
    const issued = await this.sessions.create(id, { ip: meta.ip ?? null, userAgent: meta.userAgent ?? null, amr: caller.session?.session.amr ?? ['pwd'] });
    await this.sessions.revokeAll(id, issued.session.id);
    return this.view(user, { sessionToken: issued.token });
  }

  /**
   * `PUT /1.1/users/:id/updatePassword` `{old_password, new_password}`: changes the password, ends every
   * session and returns a new token.
   * @returns `{objectId, updatedAt, sessionToken}`
   * @throws AppError `user.session_required` (206), `user.password_required` (201),
   *   `auth.invalid_credentials` (210), `password.rejected`
   */
  async updatePassword(caller: LcCaller, id: string, body: LcObject, meta: RequestMeta): Promise<LcObject> {
    await this.requireWritable(caller, id);
    await this.accountCenter.assertSelfEditable('password');
    const { old_password: oldPassword, new_password: newPassword } = body;
    if (typeof oldPassword !== 'string' || typeof newPassword !== 'string' || !oldPassword || !newPassword) {
      throw new AppError('user.password_required');
    }
    const { user, issued } = await this.auth.changePassword({ userId: id, oldPassword, newPassword }, meta);
    return { objectId: user.id, updatedAt: new Date(user.updatedAt).toISOString(), sessionToken: issued.token };
  }

  /**
   * `GET /1.1/classes/_User`: master key only (LeanCloud disables `find` on `_User` for clients).
   * Equality / `$in` on objectId, username, email, mobilePhoneNumber and createdAt/updatedAt ranges run
   * in the database; the rest of `where`, `order` and paging run here over the matching rows.
   * @returns `{results}` plus `count` when `count=1`
   * @throws AppError `object.forbidden` (no master key), `object.invalid_query`, `request.malformed_json`
   */
  async query(caller: LcCaller, params: LcQueryParams): Promise<{ results: LcObject[]; count?: number }> {
    if (!caller.master) throw new AppError('object.forbidden', { message: 'Forbidden to find by class permissions.' });
    const where = parseJsonParam(params.where);
    const predicate = compileWhere(where, { allowRegex: true });
    const filter = columnFilter(where);
    const order = compileOrder(typeof params.order === 'string' ? params.order : undefined);
    const count = params.count === '1' || params.count === 1 || params.count === 'true' || params.count === true;
    const paging = parsePaging(params.limit, params.skip, count);
    const returnAcl = params.returnACL === 'true' || params.returnACL === true;
    const matched: LcObject[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await this.store.leancloud.scanUsers(filter, after, 1000);
      if (page.length === 0) break;
      const ids = page.map((u) => u.id);
      const [identities, acls] = await Promise.all([this.identities.listMany(ids), returnAcl ? this.store.leancloud.getAcls(ids) : new Map<string, LcAcl>()]);
      for (const user of page) {
        const object = toLcUser(user, identities.get(user.id) ?? [], { acl: acls.get(user.id), returnAcl });
        if (predicate(object)) matched.push(object);
      }
      if (page.length < 1000) break;
      after = page[page.length - 1]!.id;
    }
    matched.sort(order);
    const keys = typeof params.keys === 'string' ? params.keys : undefined;
    const results = matched.slice(paging.skip, paging.skip + paging.limit).map((o) => projectKeys(o, keys));
    return count ? { results, count: matched.length } : { results };
  }
}
