import type { Kysely, Migration } from 'kysely';

/** Users, sessions and the failed-sign-in counters (issue 2). */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('users')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('username', 'varchar(128)')
      .addColumn('primary_email', 'varchar(320)')
      .addColumn('primary_email_key', 'varchar(320)')
      .addColumn('primary_phone', 'varchar(32)')
      .addColumn('name', 'varchar(256)')
      .addColumn('avatar', 'varchar(2048)')
      .addColumn('profile', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('custom_data', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('password_hash', 'varchar(512)')
      .addColumn('password_updated_at', 'bigint')
      .addColumn('email_verified', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('phone_verified', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('is_suspended', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('last_sign_in_at', 'bigint')
      .execute();
    await db.schema.createIndex('users_username_uq').on('users').column('username').unique().execute();
    await db.schema
      .createIndex('users_primary_email_key_uq')
      .on('users')
      .column('primary_email_key')
      .unique()
      .execute();
    await db.schema.createIndex('users_primary_phone_uq').on('users').column('primary_phone').unique().execute();
    await db.schema.createIndex('users_created_at_idx').on('users').columns(['created_at', 'id']).execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('amr', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('ip', 'varchar(64)')
      .addColumn('user_agent', 'varchar(512)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sessions_token_hash_uq').on('sessions').column('token_hash').unique().execute();
    await db.schema.createIndex('sessions_user_id_idx').on('sessions').column('user_id').execute();

    await db.schema
      .createTable('sign_in_guards')
      .addColumn('key', 'varchar(128)', (c) => c.primaryKey())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .addColumn('window_started_at', 'bigint', (c) => c.notNull())
      .addColumn('locked_until', 'bigint')
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('sign_in_guards').execute();
    await db.schema.dropTable('sessions').execute();
    await db.schema.dropTable('users').execute();
  },
};
