import { KyselyResourceStore, KyselyRoleStore, type ResourceStore, type RoleStore } from './authorization-store.js';
import { KyselyOrganizationStore, type OrganizationStore } from './organization-store.js';
import { type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool, sql } from 'kysely';
import { type HookJobStore, type HookStore, type LogStore, KyselyHookJobStore, KyselyHookStore, KyselyLogStore } from './hook-store.js';
import { runInTransaction } from './transaction.js';
import type { DatabaseHandle } from './database.js';
import { prepared } from './prepared.js';
import { KyselyVerificationStore } from './verification-store.js';
import { type IdentityRecord, type IdentityStore, identitiesAggregate, identitiesFromAggregate, KyselyIdentityStore } from './identity-store.js';
import { KyselyLeanCloudStore, type LeanCloudStore } from './leancloud-store.js';
import { mapUnique, parseJson, toUniqueViolation, toUser, toUserRow, userColumns } from './user-rows.js';

export { toUserRow };
import {
  type ApplicationStore,
  KyselyApplicationStore,
  KyselyOidcKeyStore,
  KyselyOidcPayloadStore,
  type OidcKeyStore,
  type OidcPayloadStore,
} from './oidc-store.js';
import {
  KyselyPersonalAccessTokenStore,
  KyselySubjectTokenStore,
  KyselyTokenExchangeAuditStore,
  type PersonalAccessTokenStore,
  type SubjectTokenStore,
  type TokenExchangeAuditStore,
} from './token-store.js';
import { type AccountCenterStore, KyselyAccountCenterStore } from './account-center-store.js';
import { KyselySignInPreferenceStore, type SignInPreferenceStore } from './preference-store.js';
import { type AuthingKeyStore, KyselyAuthingKeyStore } from './authing-key-store.js';
import { type AccountAuditStore, KyselyAccountAuditStore } from './account-audit-store.js';
import { KyselyMfaStore, type MfaStore } from './mfa-store.js';
import { type ConnectorStore, KyselyConnectorStore, KyselySocialSessionStore, KyselySocialTokenSetStore, type SocialSessionStore, type SocialTokenSetStore } from './connector-store.js';
import { countUsers, indexCandidates, pgSearchDocumentLike, searchIndexQuery, sqliteSearchCandidates, trigramStatistics, UserPageReader } from './user-list.js';
import type { Database, SessionsTable, UsersTable } from './schema.js';
import {
  type SessionRecord,
  type SessionStore,
  type SignInGuardState,
  type SignInGuardStore,
  type UserListQuery,
  type UserPage,
  type UserSearchField,
  type VerificationStore,
  type Store,
  type UniqueField,
  UniqueViolation,
  type UserPatch,
  type UserRecord,
  type UserStore,
} from './store.js';

class KyselyUserStore implements UserStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  async insert(user: UserRecord): Promise<void> {
    await mapUnique(() => this.db.insertInto('users').values(toUserRow(user)).execute());
  }

  // The lookups every authenticated request and sign-in makes, compiled once (see prepared.ts).
  private readonly byId = prepared(() => this.db, (id: string) => this.db.selectFrom('users').selectAll().where('id', '=', id));
  private readonly byUsername = prepared(() => this.db, (username: string) => this.db.selectFrom('users').selectAll().where('username', '=', username));
  private readonly byEmailKey = prepared(() => this.db, (key: string) => this.db.selectFrom('users').selectAll().where('primary_email_key', '=', key));
  private readonly byPhone = prepared(() => this.db, (phone: string) => this.db.selectFrom('users').selectAll().where('primary_phone', '=', phone));

  private pageReader: UserPageReader | undefined;
  private get pages(): UserPageReader {
    return (this.pageReader ??= new UserPageReader(this.db, this.dialect));
  }

  private async one(rows: Promise<Array<Selectable<UsersTable>>>) {
    const row = (await rows)[0];
    return row ? toUser(row) : undefined;
  }

  findById(id: string) {
    return this.one(this.byId(id));
  }
  findByUsername(username: string) {
    return this.one(this.byUsername(username));
  }
  findByEmail(email: string) {
    return this.one(this.byEmailKey(email.toLowerCase()));
  }
  findByPhone(phone: string) {
    return this.one(this.byPhone(phone));
  }

  private readonly byAccessToken = prepared(() => this.db, (tokenId: string, now: number) =>
    this.db
      .selectFrom('oidc_payloads')
      .innerJoin('users', 'users.id', 'oidc_payloads.account_id')
      .selectAll('users')
      .select('oidc_payloads.payload as token_payload')
      .where('oidc_payloads.model', '=', 'AccessToken')
      .where('oidc_payloads.id', '=', tokenId)
      .where((eb) => eb.or([eb('oidc_payloads.expires_at', 'is', null), eb('oidc_payloads.expires_at', '>', now)])),
  );

  async findByAccessToken(tokenId: string, now: number) {
    const [row] = await this.byAccessToken(tokenId, now);
    if (!row) return undefined;
    const { token_payload: payload, ...user } = row;
    let token: unknown;
    try {
      token = JSON.parse(payload);
    } catch {
      return undefined;
    }
    if (!token || typeof token !== 'object' || Array.isArray(token)) return undefined;
    return { user: toUser(user), token: token as Record<string, unknown> };
  }

  async update(id: string, patch: UserPatch): Promise<UserRecord | undefined> {
    const columns = userColumns(patch);
    if (Object.keys(columns).length === 0) return this.findById(id);
    const row = await mapUnique(() =>
      this.db.updateTable('users').set(columns).where('id', '=', id).returningAll().executeTakeFirst(),
    );
    return row ? toUser(row) : undefined;
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  count(): Promise<number> {
    return countUsers(this.db);
  }

  async list(query: UserListQuery): Promise<UserPage> {
    const indexed: Array<number[] | undefined> = [];
    // Trigrams most users hold are not looked up in the trigram indexes (trigram-statistics.ts).
    const usesTrigrams = query.terms.some((term) => (this.dialect === 'sqlite' ? term.mode === 'like' || query.caseSensitive : term.mode === 'like' && !query.caseSensitive));
    const common = usesTrigrams ? await trigramStatistics(this.db, this.dialect).commonTrigrams() : new Set<string>();
    if (this.dialect === 'sqlite') {
      for (const term of query.terms) {
        // A case-insensitive exact term is `lower(column) IN (…)`, which the B-trees of migration 0031
        // answer directly; the trigram candidates would only cost time.
        if (term.mode === 'exact' && !query.caseSensitive) {
          indexed.push(undefined);
          continue;
        }
        const match = searchIndexQuery(term.fields.map((f) => SEARCH_COLUMNS[f]), term.values, term.mode, common);
        indexed.push(match ? await indexCandidates(this.db, match) : undefined);
      }
    }
    const where = (eb: ExpressionBuilder<Database, 'users'>) => {
      const terms = query.terms.map((term) => {
        // PostgreSQL, case-insensitive LIKE: per value, the trigram index over the search document (migration
        // 0030) narrows the rows, and the per-column condition decides.
        if (this.dialect === 'postgres' && !query.caseSensitive && term.mode === 'like') {
          return eb.or(
            term.values.map((value) => {
              const v = value.toLowerCase();
              const exact = eb.or(term.fields.map((field) => sql<SqlBool>`lower(${eb.ref(SEARCH_COLUMNS[field])}) like ${v} escape ''`));
              const narrowed = pgSearchDocumentLike(v, common);
              return narrowed ? eb.and([narrowed, exact]) : exact;
            }),
          );
        }
        return eb.or(
          term.fields.flatMap((field): Expression<SqlBool>[] => {
            const column = SEARCH_COLUMNS[field];
            // SQLite's LIKE already ignores ASCII case, and its lower() folds only ASCII: skipping lower()
            // there matches the same rows at 2.5 times the speed of a scan.
            if (!query.caseSensitive && term.mode === 'like' && this.dialect === 'sqlite') return term.values.map((v) => eb(eb.ref(column), 'like', v));
            const ref = query.caseSensitive ? eb.ref(column) : eb.fn<string>('lower', [eb.ref(column)]);
            const values = query.caseSensitive ? term.values : term.values.map((v) => v.toLowerCase());
            if (term.mode === 'exact') return [eb(ref, 'in', values)];
            // SQLite's LIKE ignores ASCII case; a case-sensitive match there uses GLOB.
            if (query.caseSensitive && this.dialect === 'sqlite') return values.map((v) => sql<SqlBool>`${ref} glob ${likeToGlob(v)}`);
            // PostgreSQL's LIKE treats `\` as an escape by default (a trailing one is error 22025);
            // ESCAPE '' makes it literal, as it is in SQLite's LIKE, so both match the same rows.
            if (this.dialect === 'postgres') return values.map((v) => sql<SqlBool>`${ref} like ${v} escape ''`);
            return values.map((v) => eb(ref, 'like', v));
          }),
        );
      });
      // SQLite: a term with few candidates in the FTS5 trigram index (migration 0019) reads them from it;
      // the exact condition then filters them. PostgreSQL's planner reads its trigram index
      // through pgSearchDocumentLike above.
      const narrowed = terms.map((condition, i) => {
        const rids = indexed[i];
        return rids ? eb.and([sqliteSearchCandidates(eb, rids), condition]) : condition;
      });
      return query.joint === 'and' ? eb.and(narrowed) : eb.or(narrowed);
    };
    // storage/user-list.ts: the counter and covering index without a search, one statement for most searches.
    const { rows, total, identities } = await this.pages.read(query.terms.length === 0 ? undefined : where, query);
    return identities ? { users: rows.map(toUser), total, identities } : { users: rows.map(toUser), total };
  }
}

/** Translates a LIKE pattern (`%`, `_`) into the equivalent SQLite GLOB pattern. */
function likeToGlob(pattern: string): string {
  return [...pattern].map((c) => (c === '%' ? '*' : c === '_' ? '?' : c === '*' || c === '?' || c === '[' ? `[${c}]` : c)).join('');
}

/** The column each searchable field reads. */
const SEARCH_COLUMNS = {
  id: 'id',
  username: 'username',
  primaryEmail: 'primary_email',
  primaryPhone: 'primary_phone',
  name: 'name',
} as const satisfies Record<UserSearchField, keyof UsersTable>;

function toSession(row: Selectable<SessionsTable>): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    tokenHash: row.token_hash,
    amr: parseJson(row.amr, [] as string[]),
    ip: row.ip,
    userAgent: row.user_agent,
    createdAt: Number(row.created_at),
    lastUsedAt: Number(row.last_used_at),
    expiresAt: Number(row.expires_at),
  };
}

class KyselySessionStore implements SessionStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  async insert(s: SessionRecord): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({
        id: s.id,
        user_id: s.userId,
        token_hash: s.tokenHash,
        amr: JSON.stringify(s.amr),
        ip: s.ip,
        user_agent: s.userAgent,
        created_at: s.createdAt,
        last_used_at: s.lastUsedAt,
        expires_at: s.expiresAt,
      })
      .execute();
  }

  private readonly byTokenHash = prepared(() => this.db, (hash: string) => this.db.selectFrom('sessions').selectAll().where('token_hash', '=', hash));

  async findByTokenHash(tokenHash: string) {
    const [row] = await this.byTokenHash(tokenHash);
    return row ? toSession(row) : undefined;
  }

  /** The session under `hash` joined with its user: the user's columns, and the session's aliased `s_*`. */
  private joinedByTokenHash(hash: string) {
    return this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .selectAll('users')
      .select([
        'sessions.id as s_id',
        'sessions.token_hash as s_token_hash',
        'sessions.amr as s_amr',
        'sessions.ip as s_ip',
        'sessions.user_agent as s_user_agent',
        'sessions.created_at as s_created_at',
        'sessions.last_used_at as s_last_used_at',
        'sessions.expires_at as s_expires_at',
      ])
      .where('sessions.token_hash', '=', hash);
  }

  private readonly withUserByTokenHash = prepared(() => this.db, (hash: string) => this.joinedByTokenHash(hash));

  private readonly withUserAndIdentitiesByTokenHash = prepared(() => this.db, (hash: string) =>
    this.joinedByTokenHash(hash).select(identitiesAggregate(this.dialect, sql.ref('users.id')).as('s_identities')),
  );

  async findWithUserByTokenHash(tokenHash: string, options: { withIdentities?: boolean } = {}) {
    const [row] = options.withIdentities ? await this.withUserAndIdentitiesByTokenHash(tokenHash) : await this.withUserByTokenHash(tokenHash);
    if (!row) return undefined;
    const { s_id, s_token_hash, s_amr, s_ip, s_user_agent, s_created_at, s_last_used_at, s_expires_at, ...rest } = row;
    const { s_identities, ...user } = rest as typeof rest & { s_identities?: unknown };
    const session = toSession({
      id: s_id,
      user_id: user.id,
      token_hash: s_token_hash,
      amr: s_amr,
      ip: s_ip,
      user_agent: s_user_agent,
      created_at: s_created_at,
      last_used_at: s_last_used_at,
      expires_at: s_expires_at,
    });
    const found: { session: SessionRecord; user: UserRecord; identities?: IdentityRecord[] } = { session, user: toUser(user) };
    if (options.withIdentities) found.identities = identitiesFromAggregate(s_identities);
    return found;
  }

  async findById(id: string) {
    const row = await this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toSession(row) : undefined;
  }

  async listByUser(userId: string) {
    const rows = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('last_used_at', 'desc')
      .execute();
    return rows.map(toSession);
  }

  async touch(id: string, at: number) {
    await this.db.updateTable('sessions').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  async rotate(id: string, oldHash: string, newHash: string, at: number) {
    const r = await this.db
      .updateTable('sessions')
      .set({ token_hash: newHash, last_used_at: at })
      .where('id', '=', id)
      .where('token_hash', '=', oldHash)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async delete(id: string) {
    const r = await this.db.deleteFrom('sessions').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async deleteByUser(userId: string, exceptId?: string) {
    let q = this.db.deleteFrom('sessions').where('user_id', '=', userId);
    if (exceptId) q = q.where('id', '!=', exceptId);
    const r = await q.executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async deleteExpired(now: number, idleMs: number) {
    const r = await this.db
      .deleteFrom('sessions')
      .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_used_at', '<=', now - idleMs)]))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

class KyselySignInGuardStore implements SignInGuardStore {
  constructor(private readonly db: Kysely<Database>) {}

  private readonly byKey = prepared(() => this.db, (key: string) => this.db.selectFrom('sign_in_guards').selectAll().where('key', '=', key));

  async get(key: string): Promise<SignInGuardState | undefined> {
    const [row] = await this.byKey(key);
    return row
      ? {
          failures: Number(row.failures),
          windowStartedAt: Number(row.window_started_at),
          lockedUntil: row.locked_until === null ? null : Number(row.locked_until),
        }
      : undefined;
  }

  async reserveAttempt(key: string, now: number, windowMs: number, maxFailures: number, lockMs: number) {
    const windowFloor = now - windowMs;
    const lockUntil = now + lockMs;
    // One statement, so concurrent attempts are counted one after another (the row lock of the upsert
    // on PostgreSQL, the single writer on SQLite): each sees the count its predecessors left.
    // `active`: a lock in force — the attempt is counted past maxFailures and the lock is not extended.
    // `restart`: the window is over or a lock has ended — counting starts again at 1.
    const active = sql`(sign_in_guards.locked_until is not null and sign_in_guards.locked_until > ${now})`;
    const restart = sql`(not ${active} and (sign_in_guards.window_started_at <= ${windowFloor} or sign_in_guards.locked_until is not null))`;
    const next = sql`(case when ${restart} then 1 else sign_in_guards.failures + 1 end)`;
    const row = await sql<{ failures: number; window_started_at: number; locked_until: number | null }>`
      insert into sign_in_guards (key, failures, window_started_at, locked_until)
      values (${key}, 1, ${now}, ${maxFailures <= 1 ? lockUntil : null})
      on conflict (key) do update set
        failures = ${next},
        window_started_at = case when ${restart} then ${now} else sign_in_guards.window_started_at end,
        locked_until = case when ${active} then sign_in_guards.locked_until
                            when ${next} >= ${maxFailures} then ${lockUntil}
                            else null end
      returning failures, window_started_at, locked_until`.execute(this.db);
    const r = row.rows[0]!;
    return {
      failures: Number(r.failures),
      windowStartedAt: Number(r.window_started_at),
      lockedUntil: r.locked_until === null ? null : Number(r.locked_until),
    };
  }

  async release(key: string) {
    await this.db
      .updateTable('sign_in_guards')
      .set((eb) => ({ failures: eb('failures', '-', 1) }))
      .where('key', '=', key)
      .where('failures', '>', 0)
      .where('locked_until', 'is', null)
      .execute();
  }

  async clear(key: string) {
    await this.db.deleteFrom('sign_in_guards').where('key', '=', key).execute();
  }
}

/** The Kysely implementation of {@link Store}, for SQLite and PostgreSQL alike. */
export class KyselyStore implements Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly signInGuards: SignInGuardStore;
  readonly verifications: VerificationStore;
  readonly identities: IdentityStore;
  readonly leancloud: LeanCloudStore;
  readonly applications: ApplicationStore;
  readonly oidcPayloads: OidcPayloadStore;
  readonly oidcKeys: OidcKeyStore;
  readonly personalAccessTokens: PersonalAccessTokenStore;
  readonly subjectTokens: SubjectTokenStore;
  readonly tokenExchangeAudit: TokenExchangeAuditStore;
  readonly accountCenter: AccountCenterStore;
  readonly signInPreferences: SignInPreferenceStore;
  readonly authingKeys: AuthingKeyStore;
  readonly accountAudit: AccountAuditStore;
  readonly mfa: MfaStore;
  readonly connectors: ConnectorStore;
  readonly socialSessions: SocialSessionStore;
  readonly socialTokens: SocialTokenSetStore;
  readonly hooks: HookStore;
  readonly hookJobs: HookJobStore;
  readonly logs: LogStore;
  readonly resources: ResourceStore;
  readonly roles: RoleStore;
  readonly organizations: OrganizationStore;
  readonly db: Kysely<Database>;

  constructor(handle: DatabaseHandle) {
    this.db = handle.db;
    this.dialect = handle.dialect;
    this.users = new KyselyUserStore(handle.db, handle.dialect);
    this.sessions = new KyselySessionStore(handle.db, handle.dialect);
    this.signInGuards = new KyselySignInGuardStore(handle.db);
    this.verifications = new KyselyVerificationStore(handle.db);
    this.identities = new KyselyIdentityStore(handle.db, handle.dialect);
    this.leancloud = new KyselyLeanCloudStore(handle.db);
    this.applications = new KyselyApplicationStore(handle.db);
    this.oidcPayloads = new KyselyOidcPayloadStore(handle.db);
    this.oidcKeys = new KyselyOidcKeyStore(handle.db);
    this.personalAccessTokens = new KyselyPersonalAccessTokenStore(handle.db);
    this.subjectTokens = new KyselySubjectTokenStore(handle.db);
    this.tokenExchangeAudit = new KyselyTokenExchangeAuditStore(handle.db);
    this.accountCenter = new KyselyAccountCenterStore(handle.db);
    this.signInPreferences = new KyselySignInPreferenceStore(handle.db);
    this.authingKeys = new KyselyAuthingKeyStore(handle.db);
    this.accountAudit = new KyselyAccountAuditStore(handle.db);
    this.mfa = new KyselyMfaStore(handle.db);
    this.connectors = new KyselyConnectorStore(handle.db);
    this.socialSessions = new KyselySocialSessionStore(handle.db);
    this.socialTokens = new KyselySocialTokenSetStore(handle.db);
    this.hooks = new KyselyHookStore(handle.db);
    this.hookJobs = new KyselyHookJobStore(handle.db, handle.dialect);
    this.logs = new KyselyLogStore(handle.db);
    this.resources = new KyselyResourceStore(handle.db);
    this.roles = new KyselyRoleStore(handle.db);
    this.organizations = new KyselyOrganizationStore(handle.db);
  }

  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return runInTransaction(this.db, fn);
  }

  async deleteAccount(userId: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('oidc_payloads').where('account_id', '=', userId).execute();
      const r = await trx.deleteFrom('users').where('id', '=', userId).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  async ping(): Promise<boolean> {
    try {
      await sql`select 1`.execute(this.db);
      return true;
    } catch {
      return false;
    }
  }
}
