import type { Kysely, Migration } from 'kysely';

/**
 * Account-center settings (issue 4 §5, spec logto.md §3): one row `default`, disabled, every field
 * `Off` (an empty map: a missing field reads as Off), as Logto seeds user tenants.
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('account_center')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('fields', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.insertInto('account_center').values({ id: 'default', enabled: 0, fields: '{}', updated_at: Date.now() }).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('account_center').execute();
  },
};
