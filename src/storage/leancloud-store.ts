import type { Kysely } from 'kysely';
import { toUniqueViolation, toUser, userColumns } from './kysely-store.js';
import type { Database } from './schema.js';
import type { UserPatch, UserRecord } from './store.js';

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
}

const CHUNK = 500;

/** Kysely implementation of {@link LeanCloudStore}. */
export class KyselyLeanCloudStore implements LeanCloudStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** {@inheritDoc LeanCloudStore.getAcl} */
  async getAcl(userId: string) {
    const row = await this.db.selectFrom('lc_user_acl').select('acl').where('user_id', '=', userId).executeTakeFirst();
    return row ? (JSON.parse(row.acl) as LcAcl) : undefined;
  }

  /** {@inheritDoc LeanCloudStore.getAcls} */
  async getAcls(userIds: readonly string[]) {
    const out = new Map<string, LcAcl>();
    for (let i = 0; i < userIds.length; i += CHUNK) {
      const rows = await this.db
        .selectFrom('lc_user_acl')
        .selectAll()
        .where('user_id', 'in', userIds.slice(i, i + CHUNK))
        .execute();
      for (const r of rows) out.set(r.user_id, JSON.parse(r.acl) as LcAcl);
    }
    return out;
  }

  /** {@inheritDoc LeanCloudStore.setAcl} */
  async setAcl(userId: string, acl: LcAcl | null) {
    if (acl === null) {
      await this.db.deleteFrom('lc_user_acl').where('user_id', '=', userId).execute();
      return;
    }
    const text = JSON.stringify(acl);
    await this.db
      .insertInto('lc_user_acl')
      .values({ user_id: userId, acl: text })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ acl: text }))
      .execute();
  }

  /** {@inheritDoc LeanCloudStore.updateUserWith} */
  async updateUserWith(id: string, compute: (current: UserRecord) => UserPatch): Promise<UserRecord | undefined> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        // A no-op write takes the row lock first (PostgreSQL row lock; SQLite's write lock), so
        // concurrent read-modify-writes of one user run one after the other.
        const locked = await trx.updateTable('users').set((eb) => ({ id: eb.ref('id') })).where('id', '=', id).executeTakeFirst();
        if (Number(locked.numUpdatedRows) === 0) return undefined;
        const row = await trx.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        const updated = await trx.updateTable('users').set(userColumns(compute(toUser(row)))).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
        return toUser(updated);
      });
    } catch (error) {
      throw toUniqueViolation(error) ?? error;
    }
  }

  /** {@inheritDoc LeanCloudStore.scanUsers} */
  async scanUsers(filter: UserColumnFilter, afterId: string | null, limit: number) {
    let q = this.db.selectFrom('users').selectAll();
    if (afterId !== null) q = q.where('id', '>', afterId);
    if (filter.ids) q = q.where('id', 'in', filter.ids.length ? [...filter.ids] : ['']);
    if (filter.usernames) q = q.where('username', 'in', filter.usernames.length ? [...filter.usernames] : ['']);
    if (filter.emailKeys) q = q.where('primary_email_key', 'in', filter.emailKeys.length ? [...filter.emailKeys] : ['']);
    if (filter.phones) q = q.where('primary_phone', 'in', filter.phones.length ? [...filter.phones] : ['']);
    for (const [column, range] of [['created_at', filter.createdAt], ['updated_at', filter.updatedAt]] as const) {
      if (!range) continue;
      if (range.gt !== undefined) q = q.where(column, '>', range.gt);
      if (range.gte !== undefined) q = q.where(column, '>=', range.gte);
      if (range.lt !== undefined) q = q.where(column, '<', range.lt);
      if (range.lte !== undefined) q = q.where(column, '<=', range.lte);
    }
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map(toUser);
  }
}
