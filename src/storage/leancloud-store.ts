import type { Kysely } from 'kysely';
import { toUniqueViolation, toUser, userColumns } from './user-rows.js';
import type { Database } from './schema.js';
import type { LcAcl, LeanCloudStore, UserColumnFilter, UserPatch, UserRecord } from './store.js';

export type { LcAcl, LeanCloudStore, TimeRange, UserColumnFilter } from './store.js';

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
