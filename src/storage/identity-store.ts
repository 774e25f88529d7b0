import { type Kysely, type RawBuilder, type Selectable, sql } from 'kysely';
import { prepared } from './prepared.js';
import type { Database, UserIdentitiesTable } from './schema.js';

/**
 * Third-party identities: which external account (provider + subject) belongs to which user. A user has
 * at most one identity per provider, and an external account belongs to at most one user; both are
 * unique indexes, so the database decides races. Used by LeanCloud `authData` and by social sign-in.
 */
export interface IdentityRecord {
  userId: string;
  /** Provider / platform name (`weixin`, `anonymous`, `_weixin_unionid`, a connector id…). */
  provider: string;
  /** The provider's stable account id. */
  subject: string;
  /** Provider data as received (tokens, profile…), a JSON object. */
  data: Record<string, unknown>;
  /**
   * True when the row's origin is trustworthy: a social connector proved the account (sign-in, sign-up,
   * Account API link) or the operator imported it (`tessera import leancloud`). False for client-supplied
   * LeanCloud `authData`, which nobody checked (migration 0013). Optional on input (default false).
   */
  verified?: boolean;
  /**
   * True when the row came from the operator's LeanCloud import (implies `verified`): connectors trust
   * it, and — as LeanCloud itself did for these accounts — so does client `authData` (column value 2).
   * A connector sign-in keeps the mark. Optional on input (default false).
   */
  imported?: boolean;
  createdAt: number;
  updatedAt: number;
}

/** Thrown by {@link IdentityStore.upsert} when `(provider, subject)` already belongs to another user. */
export class IdentityConflict extends Error {
  constructor(readonly provider: string) {
    super(`identity of ${provider} already linked to another user`);
    this.name = 'IdentityConflict';
  }
}

/** Storage of {@link IdentityRecord}s. */
export interface IdentityStore {
  /** The identity of this external account, if any user has it. */
  findBySubject(provider: string, subject: string): Promise<IdentityRecord | undefined>;
  /** A user's identities, by provider name. */
  listByUser(userId: string): Promise<IdentityRecord[]>;
  /** The identities of several users (for list views). */
  listByUsers(userIds: readonly string[]): Promise<IdentityRecord[]>;
  /**
   * Sets the user's identity for `record.provider` (replacing the subject, data and `verified` flag of
   * an existing one, keeping its `createdAt`).
   * @throws IdentityConflict when another user has `(provider, subject)` (nothing is written)
   */
  upsert(record: IdentityRecord): Promise<void>;
  /** Removes the user's identity for `provider`. @returns true when one was removed. */
  delete(userId: string, provider: string): Promise<boolean>;
}

/** True when `error` is a unique-constraint failure of the database driver (SQLite or PostgreSQL). */
export function isUniqueError(error: unknown): boolean {
  const e = error as { code?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * A scalar subquery giving the identities of the user whose id is `userId` (a column reference) as one JSON
 * array of `user_identities` rows, in `provider` order as {@link IdentityStore.listByUser} lists them, for
 * a lookup that loads a user with its identities in one statement. PostgreSQL's driver answers it parsed,
 * SQLite's as text; {@link identitiesFromAggregate} reads either.
 */
export function identitiesAggregate(dialect: 'sqlite' | 'postgres', userId: RawBuilder<unknown>): RawBuilder<unknown> {
  return dialect === 'postgres'
    ? sql`(select coalesce(json_agg(i order by i.provider), '[]'::json) from user_identities i where i.user_id = ${userId})`
    : // SQLite has no row-to-JSON: the columns that toIdentity reads, by name.
      sql`(select json_group_array(json_object('user_id', i.user_id, 'provider', i.provider, 'subject', i.subject, 'data', i.data, 'verified', i.verified, 'created_at', i.created_at, 'updated_at', i.updated_at) order by i.provider) from user_identities i where i.user_id = ${userId})`;
}

/** The identities in the value of an {@link identitiesAggregate} column (JSON text or parsed). */
export function identitiesFromAggregate(value: unknown): IdentityRecord[] {
  const rows: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  return Array.isArray(rows) ? (rows as Array<Selectable<UserIdentitiesTable>>).map(toIdentity) : [];
}

function toIdentity(row: Selectable<UserIdentitiesTable>): IdentityRecord {
  let data: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(row.data);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) data = parsed as Record<string, unknown>;
  } catch {
    data = {};
  }
  return {
    userId: row.user_id,
    provider: row.provider,
    subject: row.subject,
    data,
    verified: Number(row.verified) >= 1,
    imported: Number(row.verified) === 2,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Kysely implementation of {@link IdentityStore} (SQLite and PostgreSQL). */
export class KyselyIdentityStore implements IdentityStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  /** {@inheritDoc IdentityStore.findBySubject} */
  async findBySubject(provider: string, subject: string) {
    const row = await this.db
      .selectFrom('user_identities')
      .selectAll()
      .where('provider', '=', provider)
      .where('subject', '=', subject)
      .executeTakeFirst();
    return row ? toIdentity(row) : undefined;
  }

  // Prepared: the user views of every surface read it per request (LeanCloud's authData, Logto's identities).
  private readonly byUser = prepared(() => this.db, (userId: string) =>
    this.db.selectFrom('user_identities').selectAll().where('user_id', '=', userId).orderBy('provider'),
  );

  /** {@inheritDoc IdentityStore.listByUser} */
  async listByUser(userId: string) {
    return (await this.byUser(userId)).map(toIdentity);
  }

  /**
   * The identities of many users in one prepared statement, the ids passed as one JSON array (so the SQL
   * is the same for any number of them, and no host-parameter limit applies): PostgreSQL expands it with
   * `jsonb_array_elements_text`, SQLite with `json_each`.
   */
  private readonly byUsers = prepared(() => this.db, (idsJson: string) =>
    this.db
      .selectFrom('user_identities')
      .selectAll()
      .where('user_id', 'in', this.dialect === 'postgres' ? sql<string>`(select jsonb_array_elements_text(cast(${idsJson} as jsonb)))` : sql<string>`(select value from json_each(${idsJson}))`)
      .orderBy('provider'),
  );

  /** {@inheritDoc IdentityStore.listByUsers} */
  async listByUsers(userIds: readonly string[]) {
    if (userIds.length === 0) return [];
    return (await this.byUsers(JSON.stringify(userIds))).map(toIdentity);
  }

  /** {@inheritDoc IdentityStore.upsert} */
  async upsert(r: IdentityRecord, attempt = 0): Promise<void> {
    const data = JSON.stringify(r.data);
    // 0 claimed by client authData, 1 proven by a connector, 2 imported by the operator.
    const verified = r.imported === true ? 2 : r.verified === true ? 1 : 0;
    try {
      const updated = await this.db
        .updateTable('user_identities')
        .set({ subject: r.subject, data, verified, updated_at: r.updatedAt })
        .where('user_id', '=', r.userId)
        .where('provider', '=', r.provider)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) > 0) return;
      await this.db
        .insertInto('user_identities')
        .values({ user_id: r.userId, provider: r.provider, subject: r.subject, data, verified, created_at: r.createdAt, updated_at: r.updatedAt })
        .execute();
    } catch (error) {
      if (!isUniqueError(error)) throw error;
      // Either (provider, subject) is someone else's, or a concurrent upsert for this user and provider
      // inserted first (then updating wins on a retry).
      const owner = await this.findBySubject(r.provider, r.subject);
      if ((owner && owner.userId !== r.userId) || attempt >= 2) throw new IdentityConflict(r.provider);
      return this.upsert(r, attempt + 1);
    }
  }

  /** {@inheritDoc IdentityStore.delete} */
  async delete(userId: string, provider: string) {
    const r = await this.db.deleteFrom('user_identities').where('user_id', '=', userId).where('provider', '=', provider).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
