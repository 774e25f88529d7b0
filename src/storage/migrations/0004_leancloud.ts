import type { Kysely, Migration } from 'kysely';

/**
 * Third-party identities and LeanCloud object ACLs (issue 5).
 * - `user_identities`: one row per (user, provider) — LeanCloud `authData.<platform>`, and the social
 *   connectors of later issues. `(provider, subject)` is unique, so one external account belongs to at
 *   most one user, decided by the database. `data` is the provider's JSON as received.
 * - `lc_user_acl`: the LeanCloud `ACL` of a `_User` object (absent = public read, owner write).
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('user_identities')
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('provider', 'varchar(128)', (c) => c.notNull())
      .addColumn('subject', 'varchar(512)', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('user_identities_pk', ['user_id', 'provider'])
      .execute();
    await db.schema
      .createIndex('user_identities_provider_subject_uq')
      .on('user_identities')
      .columns(['provider', 'subject'])
      .unique()
      .execute();

    await db.schema
      .createTable('lc_user_acl')
      .addColumn('user_id', 'varchar(64)', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('acl', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('lc_user_acl').execute();
    await db.schema.dropTable('user_identities').execute();
  },
};
