import type { Kysely, Migration } from 'kysely';

/**
 * Audit log of the end-user Account API (issue 8 §4): one row per change a user made to their own
 * account — who, which action and fields, when, from which IP and OAuth client; never a value.
 * No foreign key, so the rows outlive a deleted account.
 * - `account_audit`: `(id, at, user_id, action, fields (JSON array), ip, client_id)`.
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('account_audit')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('action', 'varchar(64)', (c) => c.notNull())
      .addColumn('fields', 'text', (c) => c.notNull())
      .addColumn('ip', 'varchar(64)')
      .addColumn('client_id', 'varchar(255)')
      .execute();
    await db.schema.createIndex('account_audit_user_at_idx').on('account_audit').columns(['user_id', 'at']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('account_audit').execute();
  },
};
