/**
 * The one storage interface the domain talks to. Routes never use it directly (DESIGN.md). Records are
 * camelCase with timestamps in **milliseconds since the epoch**. One implementation ({@link KyselyStore})
 * serves SQLite and PostgreSQL; `test/storage.conformance.test.ts` holds both to the same contract.
 */

import type { ResourceStore, RoleStore } from './authorization-store.js';
import type { OrganizationStore } from './organization-store.js';
import type { IdentityRecord, IdentityStore } from './identity-store.js';
import type { HookJobStore, HookStore, LogStore } from './hook-store.js';
import type { ApplicationStore, OidcKeyStore, OidcPayloadStore } from './oidc-store.js';
import type { PersonalAccessTokenStore, SubjectTokenStore, TokenExchangeAuditStore } from './token-store.js';
import type { AccountCenterStore } from './account-center-store.js';
import type { SignInPreferenceStore } from './preference-store.js';
import type { AuthingKeyStore } from './authing-key-store.js';
import type { AccountAuditStore } from './account-audit-store.js';
import type { MfaStore } from './mfa-store.js';
import type { ConnectorStore, SocialSessionStore, SocialTokenSetStore } from './connector-store.js';

/** OIDC standard claims kept on a user (OpenID Connect Core §5.1), camelCase. */
export interface UserProfile {
  familyName?: string;
  givenName?: string;
  middleName?: string;
  nickname?: string;
  preferredUsername?: string;
  profile?: string;
  website?: string;
  gender?: string;
  birthdate?: string;
  zoneinfo?: string;
  locale?: string;
  address?: {
    formatted?: string;
    streetAddress?: string;
    locality?: string;
    region?: string;
    postalCode?: string;
    country?: string;
  };
}

/** A user as stored. `passwordHash` never leaves the domain. */
export interface UserRecord {
  id: string;
  username: string | null;
  primaryEmail: string | null;
  /** E.164. */
  primaryPhone: string | null;
  name: string | null;
  avatar: string | null;
  profile: UserProfile;
  customData: Record<string, unknown>;
  passwordHash: string | null;
  passwordUpdatedAt: number | null;
  emailVerified: boolean;
  phoneVerified: boolean;
  isSuspended: boolean;
  createdAt: number;
  updatedAt: number;
  lastSignInAt: number | null;
  /** The next password sign-in must set a new password first (absent = false; migration 0011). */
  passwordResetRequired?: boolean;
}

/** Fields of a user that can be changed with {@link UserStore.update}. */
export type UserPatch = Partial<Omit<UserRecord, 'id' | 'createdAt'>>;

/** Which unique identifier a write collided with. */
export type UniqueField = 'username' | 'email' | 'phone';

/** Thrown by the store when a write violates a unique constraint; the database decides races. */
export class UniqueViolation extends Error {
  constructor(readonly field: UniqueField) {
    super(`unique violation on ${field}`);
    this.name = 'UniqueViolation';
  }
}

export interface UserStore {
  /** @throws UniqueViolation when username, email (case-insensitive) or phone is taken */
  insert(user: UserRecord): Promise<void>;
  findById(id: string): Promise<UserRecord | undefined>;
  /** Exact, case-sensitive match. */
  findByUsername(username: string): Promise<UserRecord | undefined>;
  /** Case-insensitive match. */
  findByEmail(email: string): Promise<UserRecord | undefined>;
  /** Exact E.164 match. */
  findByPhone(phone: string): Promise<UserRecord | undefined>;
  /**
   * The live node-oidc-provider access token stored under `tokenId` (an opaque token's value) and the
   * user it names, in one query (the Account API resolves both on every request). Undefined when the
   * token is unknown, expired at `now` (ms), or names no existing user.
   */
  findByAccessToken(tokenId: string, now: number): Promise<{ user: UserRecord; token: Record<string, unknown> } | undefined>;
  /**
   * Applies `patch` and returns the updated user, or undefined when no such user.
   * @throws UniqueViolation on a collision (nothing is written)
   */
  update(id: string, patch: UserPatch): Promise<UserRecord | undefined>;
  /** @returns true when a user was deleted (sessions cascade). */
  delete(id: string): Promise<boolean>;
  count(): Promise<number>;
  /**
   * One page of users matching `query.terms`, newest first (`createdAt` desc, then id desc), and the
   * number of all matching users. With `query.withIdentities`, also each listed user's identities
   * (ordered by provider, as {@link IdentityStore.listByUser}), read in the same statement as the page.
   */
  list(query: UserListQuery): Promise<UserPage>;
}

/** What {@link UserStore.list} answers. */
export interface UserPage {
  users: UserRecord[];
  total: number;
  /** By user id, every listed user (an empty list when it has none); only with `withIdentities`. */
  identities?: Map<string, IdentityRecord[]>;
}

/** Columns a user search may look at (Logto's searchable user fields). */
export type UserSearchField = 'id' | 'username' | 'primaryEmail' | 'primaryPhone' | 'name';

/**
 * One search condition: `values` matched against `fields` (OR-ed over fields and values).
 * `exact` compares for equality; `like` uses SQL LIKE with the caller's `%` / `_` wildcards.
 */
export interface UserSearchTerm {
  fields: UserSearchField[];
  values: string[];
  mode: 'exact' | 'like';
}

/** Query of {@link UserStore.list}. */
export interface UserListQuery {
  terms: UserSearchTerm[];
  /** How terms combine (default `or`). */
  joint: 'or' | 'and';
  /** Default false: both sides lower-cased. */
  caseSensitive: boolean;
  offset: number;
  limit: number;
  /** Also read the listed users' identities (default false). */
  withIdentities?: boolean;
}

/** One signed-in device. */
export interface SessionRecord {
  id: string;
  userId: string;
  /** SHA-256 hex of the bearer token. */
  tokenHash: string;
  /** Authentication methods used (RFC 8176 values: `pwd`, `otp`, …). */
  amr: string[];
  ip: string | null;
  userAgent: string | null;
  createdAt: number;
  lastUsedAt: number;
  /** Absolute expiry. */
  expiresAt: number;
}

export interface SessionStore {
  insert(session: SessionRecord): Promise<void>;
  findByTokenHash(tokenHash: string): Promise<SessionRecord | undefined>;
  /**
   * The session stored under `tokenHash` and the user it belongs to, in one query (first-party
   * requests resolve both on every call). Undefined when no session has that hash or its user is gone.
   * Expiry is not checked here: that rule is the session service's.
   * @param options.withIdentities also read the user's linked identities in the same statement, as
   *   `IdentityStore.listByUser` lists them (LeanCloud's `/1.1/users/me` shows them as `authData`)
   */
  findWithUserByTokenHash(
    tokenHash: string,
    options?: { withIdentities?: boolean },
  ): Promise<{ session: SessionRecord; user: UserRecord; identities?: IdentityRecord[] } | undefined>;
  findById(id: string): Promise<SessionRecord | undefined>;
  listByUser(userId: string): Promise<SessionRecord[]>;
  /** Records use at `at` (ms). */
  touch(id: string, at: number): Promise<void>;
  /**
   * Replaces the token hash only if it is still `oldHash` (one statement, so of two concurrent
   * refreshes exactly one wins). @returns true when this call rotated it.
   */
  rotate(id: string, oldHash: string, newHash: string, at: number): Promise<boolean>;
  /** @returns true when a session was deleted. */
  delete(id: string): Promise<boolean>;
  /** Deletes every session of the user except `exceptId`. @returns how many were deleted. */
  deleteByUser(userId: string, exceptId?: string): Promise<number>;
  /** Deletes sessions whose absolute expiry or idle limit has passed. @returns how many. */
  deleteExpired(now: number, idleMs: number): Promise<number>;
}

/** State of the failed-sign-in counter of one identifier. */
export interface SignInGuardState {
  failures: number;
  windowStartedAt: number;
  lockedUntil: number | null;
}

export interface SignInGuardStore {
  get(key: string): Promise<SignInGuardState | undefined>;
  /**
   * Atomically counts one attempt at `now`, before its secret is checked (so N concurrent attempts get
   * the counts 1…N, never N times the same): a window older than `windowMs`, or a lock that has ended,
   * restarts at 1; reaching `maxFailures` sets `lockedUntil = now + lockMs`. While a lock is in force the
   * count still rises (past `maxFailures`) and `lockedUntil` stays as it is (an attempt refused during a
   * lock does not extend it). Times in ms since the epoch.
   * @returns the state after the update; the attempt is within the limit when `failures <= maxFailures`
   */
  reserveAttempt(key: string, now: number, windowMs: number, maxFailures: number, lockMs: number): Promise<SignInGuardState>;
  /**
   * Takes back one reserved attempt that turned out not to be a failure (the per-IP captcha counter counts
   * failures only); never below 0, and not while a lock is set (a lock is ended by {@link clear} or by time).
   */
  release(key: string): Promise<void>;
  /** Forgets the key (a success ends its failures and its lock). */
  clear(key: string): Promise<void>;
}

/** What a verification record proves (see domain/verification/index.ts). */
export type VerificationType = 'password' | 'email_code' | 'phone_code';

/** What a verification record may be used for. `Identity` is a proof of the caller's own identity. */
export type VerificationPurpose =
  | 'SignIn'
  | 'Register'
  | 'ForgotPassword'
  | 'BindNewIdentifier'
  | 'VerifyEmail'
  | 'Generic'
  | 'Identity';

/** A verification record as stored. Timestamps in ms. */
export interface VerificationRecord {
  id: string;
  type: VerificationType;
  purpose: VerificationPurpose;
  identifierType: 'email' | 'phone' | null;
  /** Lower-cased email or E.164 phone. */
  identifier: string | null;
  userId: string | null;
  codeHash: string | null;
  linkHash: string | null;
  attempts: number;
  ip: string | null;
  createdAt: number;
  expiresAt: number;
  verifiedAt: number | null;
  consumedAt: number | null;
}

export interface VerificationStore {
  insert(record: VerificationRecord): Promise<void>;
  findById(id: string): Promise<VerificationRecord | undefined>;
  findByLinkHash(linkHash: string): Promise<VerificationRecord | undefined>;
  /** The newest record for the identifier and purpose that is neither consumed nor expired at `now`. */
  findLatestLive(
    identifierType: 'email' | 'phone',
    identifier: string,
    purpose: VerificationPurpose,
    now: number,
  ): Promise<VerificationRecord | undefined>;
  /** Up to `limit` code records of a type and purpose that are neither consumed nor expired at `now`, newest first. */
  listLive(type: VerificationType, purpose: VerificationPurpose, now: number, limit: number): Promise<VerificationRecord[]>;
  /** Deletes the unconsumed records of an identifier and purpose except `exceptId` (a new code replaces old ones). */
  deleteUnconsumedFor(identifierType: 'email' | 'phone', identifier: string, purpose: VerificationPurpose, exceptId: string): Promise<number>;
  /**
   * Counts one code attempt, in one statement, only while `attempts < maxAttempts` and the record is
   * unconsumed. @returns the record after the update, or undefined when no attempt was left.
   */
  countAttempt(id: string, maxAttempts: number): Promise<VerificationRecord | undefined>;
  /** Sets `verifiedAt` (and the user, when learnt). @returns false when the record is gone or consumed. */
  markVerified(id: string, at: number, userId?: string | null): Promise<boolean>;
  /** Sets `consumedAt` only if it is unset: of concurrent calls exactly one gets true. */
  consume(id: string, at: number): Promise<boolean>;
  delete(id: string): Promise<boolean>;
  /** Deletes records whose expiry is at or before `now` (a record is dead at its `expiresAt`). @returns how many. */
  deleteExpired(now: number): Promise<number>;
}

/** Everything the domain can persist. */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  users: UserStore;
  sessions: SessionStore;
  signInGuards: SignInGuardStore;
  verifications: VerificationStore;
  /** Third-party identities (storage/identity-store.ts). */
  identities: IdentityStore;
  /** LeanCloud object ACLs, conditional updates and user scans (storage/leancloud-store.ts). */
  leancloud: LeanCloudStore;
  /** Registered applications, i.e. OAuth clients (storage/oidc-store.ts). */
  applications: ApplicationStore;
  /** node-oidc-provider's artefacts: sessions, grants, codes, tokens (storage/oidc-store.ts). */
  oidcPayloads: OidcPayloadStore;
  /** The OIDC provider's signing and cookie keys (storage/oidc-store.ts). */
  oidcKeys: OidcKeyStore;
  /** Personal access tokens of users (storage/token-store.ts). */
  personalAccessTokens: PersonalAccessTokenStore;
  /** Impersonation subject tokens (storage/token-store.ts). */
  subjectTokens: SubjectTokenStore;
  /** Audit log of token exchanges (storage/token-store.ts). */
  tokenExchangeAudit: TokenExchangeAuditStore;
  /** The account-center settings row (storage/account-center-store.ts). */
  accountCenter: AccountCenterStore;
  /** Users' own sign-in preferences (storage/preference-store.ts). */
  signInPreferences: SignInPreferenceStore;
  /** The Authing surface's RSA keys (storage/authing-key-store.ts). */
  authingKeys: AuthingKeyStore;
  /** The end-user Account API audit log (storage/account-audit-store.ts). */
  accountAudit: AccountAuditStore;
  /** MFA factors, backup codes, pending MFA sign-ins, WebAuthn challenges (storage/mfa-store.ts). */
  mfa: MfaStore;
  /** Social connectors (storage/connector-store.ts). */
  connectors: ConnectorStore;
  /** Pending social authorizations and social verification records (storage/connector-store.ts). */
  socialSessions: SocialSessionStore;
  /** Sealed provider token sets of connectors with token storage on (storage/connector-store.ts). */
  socialTokens: SocialTokenSetStore;
  /** Webhooks (storage/hook-store.ts). */
  hooks: HookStore;
  /** The outbox of webhook deliveries (storage/hook-store.ts). */
  hookJobs: HookJobStore;
  /** The audit log (storage/hook-store.ts). */
  logs: LogStore;
  /** API resources and their permissions (storage/authorization-store.ts). */
  resources: ResourceStore;
  /** Roles, their permissions, and the users and applications holding them (storage/authorization-store.ts). */
  roles: RoleStore;
  /** Organizations, their roles, scopes, members, invitations and JIT domains (storage/organization-store.ts). */
  organizations: OrganizationStore;
  /**
   * Runs `fn` in one database transaction that every store joins (storage/transaction.ts): all its writes
   * commit together or none does. Re-entrant. Keep network calls out of `fn`.
   */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Deletes a user and, in the same transaction, their OIDC sessions, grants and tokens; sessions,
   * identities, verification records and personal access tokens go by foreign-key cascade.
   * @returns true when a user was deleted
   */
  deleteAccount(userId: string): Promise<boolean>;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
}

/** A LeanCloud ACL: `"*"`, a user id or `role:<name>` → the permissions granted. */
export type LcAcl = Record<string, { read?: boolean; write?: boolean }>;

/** Range bounds on a millisecond timestamp column. */
export interface TimeRange {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/**
 * Conditions on user columns that a LeanCloud query can hand to the database (the rest of a `where` is
 * evaluated in the domain). Every given list restricts to rows whose column is in it.
 */
export interface UserColumnFilter {
  ids?: readonly string[];
  usernames?: readonly string[];
  /** Lower-cased emails. */
  emailKeys?: readonly string[];
  /** E.164 phones. */
  phones?: readonly string[];
  createdAt?: TimeRange;
  updatedAt?: TimeRange;
  /** A condition tree over the user columns (see {@link UserCondition}), ANDed with the fields above. */
  condition?: UserCondition;
}

/**
 * A `users` column a LeanCloud query can filter or order on. Strings: `id`, `username`, `primary_email`,
 * `primary_email_key` (lower-cased email), `primary_phone`; 0/1 flags: `email_verified`, `phone_verified`;
 * epoch milliseconds: `created_at`, `updated_at`. Only `username`, `primary_email`, `primary_email_key` and
 * `primary_phone` may be NULL.
 */
export type UserQueryColumn =
  | 'id'
  | 'username'
  | 'primary_email'
  | 'primary_email_key'
  | 'primary_phone'
  | 'email_verified'
  | 'phone_verified'
  | 'created_at'
  | 'updated_at';

/**
 * A condition on user columns, in two-valued logic (a NULL column never makes a condition unknown):
 * - `const`: always true / false;
 * - `and` / `or` of sub-conditions;
 * - `null`: the column is NULL;
 * - `in`: the column equals one of `values` (an empty list matches nothing);
 * - `compare`: the column compared with `value`; strings compare by Unicode code point (SQLite's BINARY,
 *   PostgreSQL's `COLLATE "C"`), numbers numerically;
 * - `prefix` / `contains`: the column starts with / contains `text`, exactly (code points, case-sensitive);
 *   with `caseInsensitive` the store may match more (it only narrows: ASCII case folding through the
 *   search indexes, or nothing at all), so such a condition is never exact.
 * `negate` on `null` / `in` / `compare` means "the column is NULL, or the condition is false", so that
 * `$ne` / `$nin` / `$exists:false` keep the rows without a value.
 */
export type UserCondition =
  | { kind: 'const'; value: boolean }
  | { kind: 'and' | 'or'; of: readonly UserCondition[] }
  | { kind: 'null'; column: UserQueryColumn; negate?: boolean }
  | { kind: 'in'; column: UserQueryColumn; values: readonly (string | number)[]; negate?: boolean }
  | { kind: 'compare'; column: UserQueryColumn; op: '<' | '<=' | '>' | '>='; value: string | number; negate?: boolean }
  | { kind: 'prefix' | 'contains'; column: UserQueryColumn; text: string; caseInsensitive?: boolean };

/** One key of an ORDER BY over user columns (NULL sorts first ascending, last descending). */
export interface UserOrderKey {
  column: UserQueryColumn;
  desc: boolean;
}

/** A page of users in SQL: `condition` (exact), ordered by `order` then `id` ascending, `skip` rows skipped. */
export interface UserPageQuery {
  condition: UserCondition;
  order: readonly UserOrderKey[];
  limit: number;
  skip: number;
}

/** Storage the LeanCloud surface needs beyond the shared user store. */
export interface LeanCloudStore {
  /** The ACL of a user object, or undefined when none was set. */
  getAcl(userId: string): Promise<LcAcl | undefined>;
  /** ACLs of several users (absent ids have none). */
  getAcls(userIds: readonly string[]): Promise<Map<string, LcAcl>>;
  /** Sets (or, with null, removes) a user's ACL. */
  setAcl(userId: string, acl: LcAcl | null): Promise<void>;
  /**
   * Read-modify-write of one user under a row lock (one transaction): `compute` receives the current
   * row and returns the patch to apply, so operations such as Increment never lose a concurrent update.
   * `compute` must not touch the database. @returns the updated user, or undefined when there is none
   * @throws UniqueViolation when the patch collides with another user's identifier (nothing is written);
   *   whatever `compute` throws (nothing is written)
   */
  updateUserWith(id: string, compute: (current: UserRecord) => UserPatch): Promise<UserRecord | undefined>;
  /** Up to `limit` users matching `filter` with id greater than `afterId`, in id order (keyset paging). */
  scanUsers(filter: UserColumnFilter, afterId: string | null, limit: number): Promise<UserRecord[]>;
  /**
   * One page of users, filtered, ordered and paged by the database (`limit` 0 reads no rows); ids compare
   * by code point (PostgreSQL: `COLLATE "C"`).
   */
  pageUsers(query: UserPageQuery): Promise<UserRecord[]>;
  /** How many users match `condition`. */
  countUsers(condition: UserCondition): Promise<number>;
}
