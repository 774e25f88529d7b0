import type { Kysely, Migration } from 'kysely';

/**
 * Acting as a user (issue 4 §5): personal access tokens, impersonation subject tokens, the audit log
 * of token exchanges, and the per-application switch that allows the token-exchange grant.
 * - `personal_access_tokens`: unique `(user_id, name)`; only the SHA-256 of the value is kept (unique).
 * - `subject_tokens`: single use (`consumed_at`), short-lived; SHA-256 of the value (unique).
 * - `token_exchange_audit`: one row per exchange attempt; no foreign keys, so it outlives users and apps.
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('personal_access_tokens')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('name', 'varchar(256)', (c) => c.notNull())
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .execute();
    await db.schema.createIndex('personal_access_tokens_user_name_uq').on('personal_access_tokens').columns(['user_id', 'name']).unique().execute();
    await db.schema.createIndex('personal_access_tokens_token_hash_uq').on('personal_access_tokens').column('token_hash').unique().execute();

    await db.schema
      .createTable('subject_tokens')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('context', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('creator_application_id', 'varchar(128)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('consumed_at', 'bigint')
      .execute();
    await db.schema.createIndex('subject_tokens_token_hash_uq').on('subject_tokens').column('token_hash').unique().execute();
    await db.schema.createIndex('subject_tokens_user_id_idx').on('subject_tokens').column('user_id').execute();
    await db.schema.createIndex('subject_tokens_expires_at_idx').on('subject_tokens').column('expires_at').execute();

    await db.schema
      .createTable('token_exchange_audit')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('application_id', 'varchar(128)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(64)')
      .addColumn('token_kind', 'varchar(32)', (c) => c.notNull())
      .addColumn('token_id', 'varchar(64)')
      .addColumn('outcome', 'varchar(32)', (c) => c.notNull())
      .addColumn('resource', 'varchar(2048)')
      .addColumn('scope', 'varchar(1024)')
      .execute();
    await db.schema.createIndex('token_exchange_audit_user_at_idx').on('token_exchange_audit').columns(['user_id', 'at']).execute();
    await db.schema.createIndex('token_exchange_audit_application_at_idx').on('token_exchange_audit').columns(['application_id', 'at']).execute();

    await db.schema.alterTable('applications').addColumn('allow_token_exchange', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('applications').dropColumn('allow_token_exchange').execute();
    await db.schema.dropTable('token_exchange_audit').execute();
    await db.schema.dropTable('subject_tokens').execute();
    await db.schema.dropTable('personal_access_tokens').execute();
  },
};
