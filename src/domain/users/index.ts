import type { Config } from '../../config/index.js';
import { AppError } from '../../errors/index.js';
import { UniqueViolation, type Store, type UserListQuery, type UserPage, type UserPatch, type UserProfile, type UserRecord } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import { newId } from '../../util/crypto.js';
import { type IdentifierKind, normalizeEmail, normalizePhone, validateUsername } from './identifiers.js';
import type { PasswordHasher, PasswordPolicy } from '../credentials/passwords.js';
import type { ActingSession } from '../sessions/index.js';
import { noteInteraction } from '../events/context.js';
import type { EventOutbox, HookEvent, UserSnapshot } from '../events/index.js';
import { toPublicUser } from './public-user.js';

export { type PublicUser, toPublicUser } from './public-user.js';

/** Input of {@link UserService.create}. Identifiers are raw and get normalised here. */
export interface CreateUserInput {
  id?: string;
  username?: string | null;
  email?: string | null;
  phone?: string | null;
  password?: string | null;
  /** A hash from an import (argon2/bcrypt/LeanCloud); exclusive with `password`. */
  passwordHash?: string | null;
  name?: string | null;
  avatar?: string | null;
  profile?: UserProfile;
  customData?: Record<string, unknown>;
  emailVerified?: boolean;
  phoneVerified?: boolean;
  createdAt?: number;
  /** The first password sign-in must set a new password (issue 6; default false). */
  passwordResetRequired?: boolean;
}

/** Options of {@link UserService.create}. */
export interface CreateUserOptions {
  /** Require at least one of username, email, phone (first-party sign-up). Default true. */
  requireIdentifier?: boolean;
  /** Run the whole password policy on `password` (default true); when false only its length bounds apply. */
  enforcePolicy?: boolean;
  /** Accept LeanCloud-style usernames (see {@link validateUsername}). */
  lenientUsername?: boolean;
  /**
   * Who creates the user: `self` (a sign-up, the default) reports `User.Created` and `PostRegister`;
   * `administrator` ({@link UserService.createByAdministrator}) reports `User.Created` only.
   */
  origin?: 'self' | 'administrator';
}

/** Patch keys that are sign-in bookkeeping, not a change of the user's data (no `User.Data.Updated`). */
const BOOKKEEPING = new Set<keyof UserPatch>(['lastSignInAt', 'updatedAt']);

/** Maps a storage unique violation to the stable user error code. */
export function conflictError(e: UniqueViolation): AppError {
  return new AppError(e.field === 'username' ? 'user.username_taken' : e.field === 'email' ? 'user.email_taken' : 'user.phone_taken');
}

/**
 * Users: creation with normalised, database-unique identifiers, lookup by identifier, and changes.
 * The rules live here once for every surface (native, Account, Management, LeanCloud).
 */
export class UserService {
  constructor(
    private readonly store: Store,
    private readonly hasher: PasswordHasher,
    private readonly policy: PasswordPolicy,
    private readonly config: Config,
    private readonly clock: Clock,
    /**
     * What "end every session of a user" means, one ender per kind of credential (first-party sessions,
     * OIDC sessions, grants and tokens, impersonation subject tokens); each must spare what `keep` names.
     */
    private readonly sessionEnders: ReadonlyArray<(userId: string, keep: ActingSession) => Promise<unknown>> = [],
    /** The outbox the user events go to (domain/events); without one no event is written. */
    private readonly events?: EventOutbox,
  ) {}

  /**
   * Runs `fn` in one database transaction with the user writes and events it makes (see `Store.transaction`):
   * for services that write a user change together with rows of their own (a session, an audit entry).
   */
  inTransaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.store.transaction(fn);
  }

  /**
   * Just-in-time membership (issue 18): joins the organizations listing the user's verified email domain, with
   * their JIT roles, and reports `Organization.Membership.Updated` for each joined one, as a manual add does
   * (same entity and details). Call inside `store.transaction` with the change.
   */
  private async joinJit(userId: string, at: number): Promise<void> {
    for (const organizationId of await this.store.organizations.addJitMemberships(userId, at)) {
      const delta = { addedUserIds: [userId] };
      await this.events?.emit({ event: 'Organization.Membership.Updated', userId: null, entity: { kind: 'organizationMembership', organizationId, ...delta }, details: { organizationId, ...delta } });
    }
  }

  /**
   * Queues a user event in the ambient transaction (call inside `store.transaction` with the change).
   * @param user the user the event carries (as after the change; as before it for `User.Deleted`)
   */
  async emit(event: HookEvent, user: UserRecord, extra: { sessionId?: string | null } = {}): Promise<void> {
    await this.events?.emit({ event, userId: user.id, ...extra, snapshot: () => this.snapshot(user) });
  }

  /** The user and their identity records, as an event carries them. */
  private async snapshot(user: UserRecord): Promise<UserSnapshot> {
    return { user: toPublicUser(user), identities: await this.store.identities.listByUser(user.id) };
  }

  /** Normalises an identifier of the given kind (email trimmed, phone to E.164, username validated). */
  normalize(kind: IdentifierKind, value: string, lenientUsername = false): string {
    if (kind === 'email') return normalizeEmail(value);
    if (kind === 'phone') return normalizePhone(value, this.config.defaultPhoneRegion);
    return validateUsername(value, lenientUsername);
  }

  /**
   * Creates a user on an administrator's word — the Management API, Authing's ManagementClient, the
   * operator's CLI and the imports: the password's length bounds apply but not the rest of the policy (the
   * administrator chose it), and usernames of the vendors' wider rules are accepted. Identifiers are still
   * validated and unique.
   * @param options `requireIdentifier` (default false: a user may be created to be linked later)
   * @throws as {@link create}
   */
  createByAdministrator(input: CreateUserInput, options: { requireIdentifier?: boolean } = {}): Promise<UserRecord> {
    return this.create(input, { requireIdentifier: options.requireIdentifier ?? false, enforcePolicy: false, lenientUsername: true, origin: 'administrator' });
  }

  /**
   * Creates a user. The password (if any) is checked against the policy and hashed with argon2id.
   * Reports `User.Created` (and `PostRegister` for a sign-up) in the transaction of the insert.
   * @returns the stored user
   * @throws AppError `user.identifier_required`, `user.invalid_username|email|phone`, `password.rejected`,
   *   `user.username_taken|email_taken|phone_taken` (decided by the database's unique indexes, so
   *   concurrent sign-ups with one identifier yield exactly one user)
   */
  async create(input: CreateUserInput, options: CreateUserOptions = {}): Promise<UserRecord> {
    const username = input.username ? this.normalize('username', input.username, options.lenientUsername) : null;
    const email = input.email ? normalizeEmail(input.email) : null;
    const phone = input.phone ? normalizePhone(input.phone, this.config.defaultPhoneRegion) : null;
    if ((options.requireIdentifier ?? true) && !username && !email && !phone) throw new AppError('user.identifier_required');
    if (input.password) {
      if (options.enforcePolicy ?? true) this.policy.assert(input.password, { username, email });
      else this.policy.assertLength(input.password);
    }
    const now = this.clock.now();
    // Cheap duplicate check first so a taken identifier does not cost an argon2 hash; the unique
    // index still decides races.
    await this.assertAvailable({ username, email, phone });
    const passwordHash = input.password ? await this.hasher.hash(input.password) : (input.passwordHash ?? null);
    const user: UserRecord = {
      id: input.id ?? newId(now),
      username,
      primaryEmail: email,
      primaryPhone: phone,
      name: input.name ?? null,
      avatar: input.avatar ?? null,
      profile: input.profile ?? {},
      customData: input.customData ?? {},
      passwordHash,
      passwordUpdatedAt: passwordHash ? now : null,
      emailVerified: input.emailVerified ?? false,
      phoneVerified: input.phoneVerified ?? false,
      isSuspended: false,
      createdAt: input.createdAt ?? now,
      updatedAt: now,
      lastSignInAt: null,
      ...(input.passwordResetRequired ? { passwordResetRequired: true } : {}),
    };
    const self = (options.origin ?? 'self') === 'self';
    try {
      await this.store.transaction(async () => {
        await this.store.users.insert(user);
        // Logto's default roles (`isDefault` User roles) go to every new user, whoever creates it (issue 18).
        await this.store.roles.addDefaultRoles(user.id, now);
        // Organizations listing the domain of a verified primary email take the user in (JIT, issue 18 item 4);
        // without a verified email there is nothing to ask.
        if (user.emailVerified && user.primaryEmail) await this.joinJit(user.id, now);
        await this.emit('User.Created', user);
        if (self) await this.emit('PostRegister', user);
      });
    } catch (error) {
      if (error instanceof UniqueViolation) throw conflictError(error);
      throw error;
    }
    // The sign-in that ends this sign-up reports PostRegister, not PostSignIn (as Logto's Register flow).
    if (self) noteInteraction('Register');
    return user;
  }

  /**
   * Fails fast when an identifier is already taken (advisory; the database decides races).
   * @throws AppError `user.username_taken|email_taken|phone_taken`
   */
  async assertAvailable(ids: { username?: string | null; email?: string | null; phone?: string | null }, exceptUserId?: string) {
    const checks: Array<[string | null | undefined, (v: string) => Promise<UserRecord | undefined>, 'username' | 'email' | 'phone']> = [
      [ids.username, (v) => this.store.users.findByUsername(v), 'username'],
      [ids.email, (v) => this.store.users.findByEmail(v), 'email'],
      [ids.phone, (v) => this.store.users.findByPhone(v), 'phone'],
    ];
    for (const [value, find, field] of checks) {
      if (!value) continue;
      const other = await find(value);
      if (other && other.id !== exceptUserId) throw conflictError(new UniqueViolation(field));
    }
  }

  /** The user with this id, or undefined. */
  findById(id: string): Promise<UserRecord | undefined> {
    return this.store.users.findById(id);
  }

  /**
   * The user a (raw) identifier names, or undefined — also when the identifier is malformed, so
   * callers cannot tell "bad format" from "no such user" on sign-in paths.
   */
  async findByIdentifier(kind: IdentifierKind, raw: string): Promise<UserRecord | undefined> {
    let value: string;
    try {
      value = this.normalize(kind, raw, true);
    } catch {
      return undefined;
    }
    if (kind === 'email') return this.store.users.findByEmail(value);
    if (kind === 'phone') return this.store.users.findByPhone(value);
    return this.store.users.findByUsername(value);
  }

  /**
   * The user with this id.
   * @throws AppError `user.not_found`
   */
  async require(id: string): Promise<UserRecord> {
    const user = await this.store.users.findById(id);
    if (!user) throw new AppError('user.not_found');
    return user;
  }

  /**
   * Applies a patch (bumping `updatedAt`) and, in the same transaction, reports `event` — by default
   * `User.Data.Updated`, or nothing when the patch is only sign-in bookkeeping (`lastSignInAt`).
   * @throws AppError `user.not_found`, or a `user.*_taken` conflict (nothing written)
   */
  async update(id: string, patch: UserPatch, event?: HookEvent): Promise<UserRecord> {
    const reported = event ?? (Object.keys(patch).some((k) => !BOOKKEEPING.has(k as keyof UserPatch)) ? 'User.Data.Updated' : undefined);
    try {
      return await this.store.transaction(async () => {
        const user = await this.store.users.update(id, { ...patch, updatedAt: this.clock.now() });
        if (!user) throw new AppError('user.not_found');
        // A newly verified email may be at an organization's JIT domain (issue 18 item 4).
        if (user.emailVerified && (patch.emailVerified === true || patch.primaryEmail !== undefined)) await this.joinJit(id, this.clock.now());
        if (reported) await this.emit(reported, user);
        return user;
      });
    } catch (error) {
      if (error instanceof UniqueViolation) throw conflictError(error);
      throw error;
    }
  }

  /**
   * Deletes a user, every surface alike: first ends every session and token of the user (including
   * OAuth grants, which are not tied to the row by a foreign key), then deletes the row; sessions and
   * verification records go with it (foreign keys cascade). Reports `User.Deleted` (with the user as it
   * was) in the transaction of the delete.
   * @returns true when a user was deleted
   */
  async delete(id: string): Promise<boolean> {
    await this.endAllSessions(id);
    return this.deleteRow(id, () => this.store.users.delete(id));
  }

  /**
   * Deletes a user with `remove` (the caller's own statement, e.g. one that also ends OIDC artefacts) and
   * reports `User.Deleted` in the same transaction.
   * @returns what `remove` returned: true when a user was deleted
   */
  async deleteRow(id: string, remove: () => Promise<boolean>): Promise<boolean> {
    const before = await this.store.users.findById(id);
    // The snapshot is read before the row (and its identities, by cascade) goes.
    const snapshot = before ? await this.snapshot(before) : undefined;
    return this.store.transaction(async () => {
      const deleted = await remove();
      if (deleted && before) await this.events?.emit({ event: 'User.Deleted', userId: id, snapshot: async () => snapshot });
      return deleted;
    });
  }

  /**
   * One page of users, newest first, and the number of all matches.
   * @param query search terms and paging (offset/limit in rows); `withIdentities` also answers each
   *   listed user's identities (read with the page: one statement for most pages)
   */
  list(query: UserListQuery): Promise<UserPage> {
    return this.store.users.list(query);
  }

  /**
   * Changes identifiers and basic fields as an administrator would (Logto's PATCH /api/users/:id):
   * identifiers are normalised and checked for uniqueness; `null` (or `''`) clears a field; `profile`
   * and `customData` are replaced. Clearing every way to sign in is allowed here, as in Logto.
   * @throws AppError `user.not_found`, `user.invalid_username|email|phone`, `user.*_taken`
   */
  async adminUpdate(
    id: string,
    input: {
      username?: string | null;
      primaryEmail?: string | null;
      primaryPhone?: string | null;
      name?: string | null;
      avatar?: string | null;
      profile?: UserProfile;
      customData?: Record<string, unknown>;
      /** Force a new password at the next password sign-in (issue 6). */
      passwordResetRequired?: boolean;
    },
  ): Promise<UserRecord> {
    await this.require(id);
    const patch: UserPatch = {};
    const clear = (v: string | null | undefined) => v === null || v === '';
    if (input.username !== undefined) patch.username = clear(input.username) ? null : this.normalize('username', input.username!, true);
    if (input.primaryEmail !== undefined) {
      patch.primaryEmail = clear(input.primaryEmail) ? null : normalizeEmail(input.primaryEmail!);
      patch.emailVerified = false;
    }
    if (input.primaryPhone !== undefined) {
      patch.primaryPhone = clear(input.primaryPhone) ? null : normalizePhone(input.primaryPhone!, this.config.defaultPhoneRegion);
      patch.phoneVerified = false;
    }
    if (input.name !== undefined) patch.name = clear(input.name) ? null : input.name;
    if (input.avatar !== undefined) patch.avatar = clear(input.avatar) ? null : input.avatar;
    if (input.profile !== undefined) patch.profile = input.profile;
    if (input.customData !== undefined) patch.customData = input.customData;
    if (input.passwordResetRequired !== undefined) patch.passwordResetRequired = input.passwordResetRequired;
    return this.update(id, patch);
  }

  /**
   * Shallow-merges `profile` into the stored profile (top-level keys; `address` is replaced as a whole),
   * as Logto's PATCH …/profile does. @returns the new profile
   * @throws AppError `user.not_found`
   */
  async mergeProfile(id: string, profile: UserProfile): Promise<UserProfile> {
    const user = await this.require(id);
    return (await this.update(id, { profile: { ...user.profile, ...profile } })).profile;
  }

  /**
   * Shallow-merges `customData` into the stored custom data (top-level keys). @returns the new custom data
   * @throws AppError `user.not_found`
   */
  async mergeCustomData(id: string, customData: Record<string, unknown>): Promise<Record<string, unknown>> {
    const user = await this.require(id);
    return (await this.update(id, { customData: { ...user.customData, ...customData } })).customData;
  }

  /**
   * Suspends or restores a user (reporting `User.SuspensionStatus.Updated`). Suspending ends every session and token of the user and blocks
   * sign-in (`auth.user_suspended`); restoring allows sign-in again.
   * @throws AppError `user.not_found`
   */
  async setSuspended(id: string, isSuspended: boolean): Promise<UserRecord> {
    await this.require(id);
    const user = await this.update(id, { isSuspended }, 'User.SuspensionStatus.Updated');
    if (isSuspended) await this.endAllSessions(id);
    return user;
  }

  /**
   * Ends every session and token of a user (password change or reset, suspension) but the acting
   * session `keep` names (default: none is kept).
   */
  async endAllSessions(userId: string, keep: ActingSession = {}): Promise<void> {
    for (const end of this.sessionEnders) await end(userId, keep);
  }

  /**
   * Checks a password against the user's stored hash (same work whether or not one is set).
   * @returns true when it matches
   * @throws AppError `user.not_found`
   */
  async checkPassword(id: string, password: string): Promise<boolean> {
    const user = await this.require(id);
    return (await this.hasher.verify(user.passwordHash, password)).ok;
  }
}
