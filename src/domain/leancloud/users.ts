import { randomInt } from 'node:crypto';
import { AppError, isAppError } from '../../errors/index.js';
import type { LcAcl, UserColumnFilter, UserPageQuery } from '../../storage/leancloud-store.js';
import { type Store, UniqueViolation, type UserPatch, type UserRecord } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import type { AuthService, RequestMeta } from '../sign-in/auth.js';
import type { IdentityRecord, IdentityService } from '../social/identities.js';
import type { IdentifierKind } from '../users/identifiers.js';
import { type AuthDataEntry, unionProvider } from './auth-data.js';
import { aclAllowsRead, applyUpdateAt, randomUsername } from './objects.js';
import type { AccountCenterField, AccountCenterService } from '../account/center.js';
import type { CredentialService } from '../credentials/index.js';
import type { ResolvedSession, SessionService } from '../sessions/index.js';
import { conflictError, type UserService } from '../users/index.js';
import type { VerificationService } from '../verification/index.js';

export type { LcAcl, UserColumnFilter } from '../../storage/leancloud-store.js';

/** Who is calling the `/1.1` API: master key or not, and the user of a valid `X-LC-Session`. */
export interface LcCaller {
  master: boolean;
  session?: ResolvedSession & { token: string };
}

/**
 * A user as the LeanCloud rules see it: the account, its linked identities (authData), its ACL when it
 * was asked for, and the session token just issued when the call signed someone in. The `/1.1` adapter
 * renders it as a `_User` object (`http/leancloud/wire.ts`).
 */
export interface LcUserView {
  user: UserRecord;
  identities: readonly IdentityRecord[];
  /** The stored ACL (undefined: none stored, or not loaded). */
  acl?: LcAcl | undefined;
  /**
   * The session token this call issued, or for `users/me` the caller's own (sent with the request);
   * never one read from storage (tokens are stored hashed).
   */
  issuedToken?: string;
}

/** A user created or found by a sign-up-or-login call. */
export interface LcSignedIn {
  view: LcUserView;
  /** True when the call created the user (LeanCloud answers 201), false when it signed in (200). */
  created: boolean;
}

/** A test of the current user that a conditional write must pass (LeanCloud's `where=` on PUT/DELETE). */
export type LcCondition = (view: LcUserView) => boolean;

/** Options of {@link LeanCloudUsers.update}. */
export interface LcUpdateOptions {
  /** Only update when the current user passes it (else `object.condition_failed`). */
  condition?: LcCondition;
  /** Load the ACL into the returned view. */
  withAcl?: boolean;
}

/** What `POST /1.1/login` sends: one identifier with a password, or a phone with an SMS code. */
export interface LcLogIn {
  username?: string;
  email?: string;
  phone?: string;
  password?: string;
  code?: string;
}

/**
 * What a `_User` write asks to change, read from the request by the adapter: identifiers, password,
 * verified flags (master key only), ACL, authData links and unlinks, and custom-field updates (a plain
 * value or an `__op`, at a path).
 */
export interface UserChanges {
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
   * @param options.withIdentities load the session user's identities with it, in the same query (for {@link me})
   */
  async resolveCaller(master: boolean, token: string | undefined, options: { withIdentities?: boolean } = {}): Promise<LcCaller> {
    if (!token) return { master };
    try {
      return { master, session: { ...(await this.sessions.authenticate(token, options)), token } };
    } catch (error) {
      if (isAppError(error)) return { master };
      throw error;
    }
  }

  /** The view of `user`: loads its identities (unless given), and its ACL when `withAcl`. */
  async view(user: UserRecord, options: { issuedToken?: string; withAcl?: boolean; identities?: readonly IdentityRecord[] } = {}): Promise<LcUserView> {
    const [identities, acl] = await Promise.all([
      options.identities ?? this.identities.list(user.id),
      options.withAcl ? this.store.leancloud.getAcl(user.id) : undefined,
    ]);
    return { user, identities, acl, ...(options.issuedToken ? { issuedToken: options.issuedToken } : {}) };
  }

  /**
   * `POST /1.1/users` without authData: creates a user with username and password (and any other
   * fields), signs them in.
   * @throws AppError `user.username_required` (200), `user.password_required` (201), `user.invalid_*`,
   *   `password.rejected`, `user.*_taken`, `object.*` (bad fields), `request.rate_limited`
   */
  async signUp(changes: UserChanges, meta: RequestMeta): Promise<LcUserView> {
    if (changes.username === undefined) throw new AppError('user.username_required');
    if (changes.password === undefined) throw new AppError('user.password_required');
    const customData = this.applyCustom({}, changes);
    const { user, issued } = await this.auth.signUp(
      { username: changes.username, email: changes.email ?? null, phone: changes.phone ?? null, password: changes.password, customData },
      meta,
      { lenientUsername: true },
    );
    const final = await this.afterCreate(user, changes);
    return this.view(final, { issuedToken: issued.token });
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
   * an code (sent by requestLoginSmsCode or requestSmsCode). Lockout applies per identifier.
   * @throws AppError `user.username_required` (200, no identifier), `user.password_required` (201),
   *   `auth.invalid_credentials` (210), `user.not_found` (211; `data.identifier = 'phone'` → 213),
   *   `auth.too_many_failures` (219), `auth.user_suspended`, verification errors for a bad code
   */
  async logIn(input: LcLogIn, meta: RequestMeta): Promise<LcUserView> {
    const { username, email, phone, password } = input;
    if (input.code !== undefined) {
      if (!phone) throw new AppError('user.phone_required');
      return this.logInWithSmsCode(phone, input.code, meta);
    }
    const [kind, value]: [IdentifierKind, string | undefined] = username ? ['username', username] : email ? ['email', email] : ['phone', phone];
    if (!value) throw new AppError('user.username_required');
    if (!password) throw new AppError('user.password_required');
    try {
      const { user, issued } = await this.auth.signInWithPassword(kind, value, password, meta);
      return await this.view(user, { issuedToken: issued.token });
    } catch (error) {
      // LeanCloud tells an unknown user (211/213) from a wrong password (210); the lockout above
      // counts both alike.
      if (isAppError(error, 'auth.invalid_credentials') && !(await this.users.findByIdentifier(kind, value))) {
        throw new AppError('user.not_found', kind === 'phone' ? { data: { identifier: 'phone' } } : {});
      }
      throw error;
    }
  }

  private async logInWithSmsCode(phone: string, code: string, meta: RequestMeta): Promise<LcUserView> {
    const purpose = (await this.verification.latestLivePurpose('phone', phone, ['SignIn', 'Generic'])) ?? 'SignIn';
    try {
      const { user, issued } = await this.auth.signInWithCode({ channel: 'phone', identifier: phone, code, purpose }, meta);
      return await this.view(user, { issuedToken: issued.token });
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
  async signUpOrLogInWithPhone(input: { phone: string; code: string; changes: UserChanges }, meta: RequestMeta): Promise<LcSignedIn> {
    const { phone: given, code, changes } = input;
    if (given === '') throw new AppError('user.phone_required');
    if (code === '') throw new AppError('verification.code_mismatch');
    const purpose = (await this.verification.latestLivePurpose('phone', given, ['Generic', 'SignIn', 'Register'])) ?? 'Generic';
    if (await this.users.findByIdentifier('phone', given)) {
      const { user, issued } = await this.auth.signInWithCode({ channel: 'phone', identifier: given, code, purpose }, meta);
      return { view: await this.view(user, { issuedToken: issued.token }), created: false };
    }
    const phone = this.users.normalize('phone', given);
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
    return { view: await this.view(final, { issuedToken: issued.token }), created: true };
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
  async logInWithAuthData(changes: UserChanges, options: { failOnNotExist: boolean }, meta: RequestMeta, retried = false): Promise<LcSignedIn> {
    if (changes.link.length === 0) throw new AppError('identity.invalid', { message: 'authData needs at least one platform entry.' });
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
      return { view: await this.view(user, { issuedToken: issued.token }), created: false };
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
      if (isAppError(error, 'identity.already_linked') && !retried) return this.logInWithAuthData(changes, options, meta, true);
      throw error;
    }
    const { user, issued } = await this.auth.finishSignIn(await this.afterCreate(created, changes), meta, ['fed']);
    return { view: await this.view(user, { issuedToken: issued.token }), created: true };
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
  async me(caller: LcCaller): Promise<LcUserView> {
    if (!caller.session) throw new AppError('user.not_found');
    const { user, identities, token } = caller.session;
    // Identities the caller's resolution already read (resolveCaller `withIdentities`) are not read again.
    return this.view(user, { issuedToken: token, ...(identities ? { identities } : {}) });
  }

  /**
   * `GET /1.1/users/:id`: a user readable by the caller under its ACL (master reads all). The linked
   * identities (authData: third-party access tokens) are in the view only for the user's own session and
   * the master key, as Parse Server does (`cleanResultAuthData`); other fields follow LeanCloud (visible
   * unless the ACL hides the user). The view always carries the ACL.
   * @throws AppError `user.not_found` (211; also when the ACL hides the user)
   */
  async get(caller: LcCaller, id: string): Promise<LcUserView> {
    const user = await this.users.findById(id);
    if (!user) throw new AppError('user.not_found');
    const acl = await this.store.leancloud.getAcl(id);
    if (!caller.master && !aclAllowsRead(acl, caller.session?.user.id)) throw new AppError('user.not_found');
    const ownerOrMaster = caller.master || caller.session?.user.id === id;
    return { user, identities: ownerOrMaster ? await this.identities.list(id) : [], acl };
  }

  /** @throws AppError `user.not_found`, `user.session_required` (206) unless master or the user's own session */
  private async requireWritable(caller: LcCaller, id: string): Promise<UserRecord> {
    const user = await this.users.findById(id);
    if (!user) throw caller.master || caller.session?.user.id === id ? new AppError('user.not_found') : new AppError('user.session_required');
    if (!caller.master && caller.session?.user.id !== id) throw new AppError('user.session_required');
    return user;
  }

  /** @throws AppError `object.condition_failed` (305) when the user does not pass `condition` */
  private async assertCondition(user: UserRecord, condition: LcCondition | undefined): Promise<void> {
    if (condition && !condition(await this.view(user))) throw new AppError('object.condition_failed');
  }

  /**
   * `PUT /1.1/users/:id` and `/1.1/classes/_User/:id`: changes fields (plain values, `__op`s, dotted
   * paths), links and unlinks authData (merged per platform), sets the ACL. Only the user's own
   * session or the master key may write (ACLs are not consulted for `_User` writes, as in LeanCloud).
   * A client may not set `emailVerified`, `mobilePhoneVerified`, `issuedToken`, `salt`, nor replace an
   * existing password here (use updatePassword); a first password (anonymous, authData or SMS users)
   * may be set ({@link CredentialService.setPassword}: the user's other sessions end; with the master key,
   * every session, and only the policy's length bounds apply). Changing email or phone clears its
   * verified flag. `readChanges` reads the request only once the caller may write (so a caller without
   * the right learns nothing from validation); `options.condition` runs then too.
   * @returns the updated user (with its ACL when `withAcl`)
   * @throws AppError `user.session_required` (206), `user.not_found`, `object.*`, `user.*_taken`,
   *   `identity.already_linked` (208), `identity.verified_only` (208: authData naming a verified
   *   identity, master key included; nothing written), `password.rejected`, `object.condition_failed`
   */
  async update(caller: LcCaller, id: string, readChanges: () => UserChanges, options: LcUpdateOptions = {}, meta: RequestMeta = {}): Promise<LcUserView> {
    const current = await this.requireWritable(caller, id);
    await this.assertCondition(current, options.condition);
    const changes = readChanges();
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
      updated = await this.store.transaction(async () => {
        const row = await this.store.leancloud.updateUserWith(id, (current) => this.patchFor(current, changes));
        if (row) await this.users.emit('User.Data.Updated', row);
        return row;
      });
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
    return this.view(updated, { withAcl: options.withAcl ?? false });
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
   * `DELETE /1.1/users/:id`: the user's own session or the master key; sessions, identities and
   * codes go with the user.
   * @throws AppError `user.session_required` (206), `user.not_found`, `object.condition_failed`
   */
  async delete(caller: LcCaller, id: string, options: { condition?: LcCondition } = {}): Promise<void> {
    const user = await this.requireWritable(caller, id);
    await this.assertCondition(user, options.condition);
    if (!(await this.users.delete(id))) throw new AppError('user.not_found');
  }

  /**
   * `PUT /1.1/users/:id/refreshSessionToken`: issues a new session token and ends every other session
   * of the user (LeanCloud replaces the user's token).
   * @throws AppError `user.session_required` (206), `user.not_found`
   */
  async refreshSessionToken(caller: LcCaller, id: string, meta: RequestMeta): Promise<LcUserView> {
    const user = await this.requireWritable(caller, id);
    const issued = await this.sessions.create(id, { ip: meta.ip ?? null, userAgent: meta.userAgent ?? null, amr: caller.session?.session.amr ?? ['pwd'] });
    await this.sessions.revokeAll(id, issued.session.id);
    return this.view(user, { issuedToken: issued.token });
  }

  /**
   * `PUT /1.1/users/:id/updatePassword` `{old_password, new_password}`: changes the password, ends every
   * session and issues a new token (in the returned view; identities are not loaded).
   * @throws AppError `user.session_required` (206), `user.password_required` (201, either one empty),
   *   `auth.invalid_credentials` (210), `password.rejected`
   */
  async updatePassword(caller: LcCaller, id: string, input: { oldPassword: string; newPassword: string }, meta: RequestMeta): Promise<LcUserView> {
    await this.requireWritable(caller, id);
    await this.accountCenter.assertSelfEditable('password');
    const { oldPassword, newPassword } = input;
    if (!oldPassword || !newPassword) throw new AppError('user.password_required');
    const { user, issued } = await this.auth.changePassword({ userId: id, oldPassword, newPassword }, meta);
    return { user, identities: [], issuedToken: issued.token };
  }

  /**
   * Who may query `_User`: the master key only (LeanCloud disables `find` on `_User` for clients).
   * @throws AppError `object.forbidden` (119)
   */
  assertMayQuery(caller: LcCaller): void {
    if (!caller.master) throw new AppError('object.forbidden', { message: 'Forbidden to find by class permissions.' });
  }

  /**
   * The users of `GET /1.1/classes/_User`, master key only (LeanCloud disables `find` on `_User` for
   * clients): every user whose columns pass `filter` (its `condition`, or the older lists and time ranges;
   * evaluated by the database), in pages of up to 1 000 views in id order, with their identities
   * and, when `withAcl`, their ACLs. The adapter evaluates the rest of the query on the rendered objects.
   * @throws AppError `object.forbidden` (no master key)
   */
  async *scan(caller: LcCaller, filter: UserColumnFilter, options: { withAcl?: boolean } = {}): AsyncGenerator<LcUserView[]> {
    this.assertMayQuery(caller);
    let after: string | null = null;
    for (;;) {
      const page = await this.store.leancloud.scanUsers(filter, after, 1000);
      if (page.length === 0) return;
      const ids = page.map((u) => u.id);
      const [identities, acls] = await Promise.all([this.identities.listMany(ids), options.withAcl ? this.store.leancloud.getAcls(ids) : new Map<string, LcAcl>()]);
      yield page.map((user) => ({ user, identities: identities.get(user.id) ?? [], acl: acls.get(user.id) }));
      if (page.length < 1000) return;
      after = page[page.length - 1]!.id;
    }
  }

  /**
   * One page of `GET /1.1/classes/_User` answered by the database, master key only: the users matching
   * `query.condition` (which must be the whole `where`), in `query.order` then id order, `skip` / `limit`
   * applied, as views with identities and (when `withAcl`) ACLs; with `count`, also how many users match.
   * @throws AppError `object.forbidden` (no master key)
   */
  async findPage(caller: LcCaller, query: UserPageQuery, options: { count?: boolean; withAcl?: boolean } = {}): Promise<{ views: LcUserView[]; count?: number }> {
    this.assertMayQuery(caller);
    const [page, count] = await Promise.all([this.store.leancloud.pageUsers(query), options.count ? this.store.leancloud.countUsers(query.condition) : undefined]);
    const ids = page.map((u) => u.id);
    const [identities, acls] = await Promise.all([
      ids.length ? this.identities.listMany(ids) : new Map<string, IdentityRecord[]>(),
      options.withAcl && ids.length ? this.store.leancloud.getAcls(ids) : new Map<string, LcAcl>(),
    ]);
    const views = page.map((user) => ({ user, identities: identities.get(user.id) ?? [], acl: acls.get(user.id) }));
    return count === undefined ? { views } : { views, count };
  }
}
