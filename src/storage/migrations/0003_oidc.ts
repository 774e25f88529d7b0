import type { Kysely, Migration } from 'kysely';

/**
 * OAuth 2.0 / OIDC (issue 4): registered applications (OAuth clients), every node-oidc-provider
 * artefact (sessions, grants, codes, tokens, interactions…) in one table, and the provider's keys.
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('applications')
      .addColumn('id', 'varchar(128)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(256)', (c) => c.notNull())
      .addColumn('type', 'varchar(16)', (c) => c.notNull())
      .addColumn('secret_hash', 'varchar(128)')
      .addColumn('redirect_uris', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('post_logout_redirect_uris', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('cors_origins', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('is_management', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('applications_created_at_idx').on('applications').columns(['created_at', 'id']).execute();

    await db.schema
      .createTable('oidc_payloads')
      .addColumn('model', 'varchar(64)', (c) => c.notNull())
      .addColumn('id', 'varchar(255)', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('grant_id', 'varchar(255)')
      .addColumn('user_code', 'varchar(255)')
      .addColumn('uid', 'varchar(255)')
      .addColumn('account_id', 'varchar(128)')
      .addColumn('client_id', 'varchar(128)')
      .addColumn('expires_at', 'bigint')
      .addColumn('consumed_at', 'bigint')
      .addPrimaryKeyConstraint('oidc_payloads_pk', ['model', 'id'])
      .execute();
    await db.schema.createIndex('oidc_payloads_grant_id_idx').on('oidc_payloads').columns(['grant_id', 'model']).execute();
    await db.schema.createIndex('oidc_payloads_uid_idx').on('oidc_payloads').column('uid').execute();
    await db.schema.createIndex('oidc_payloads_user_code_idx').on('oidc_payloads').column('user_code').execute();
    await db.schema.createIndex('oidc_payloads_account_id_idx').on('oidc_payloads').column('account_id').execute();
    await db.schema.createIndex('oidc_payloads_client_id_idx').on('oidc_payloads').column('client_id').execute();
    await db.schema.createIndex('oidc_payloads_expires_at_idx').on('oidc_payloads').column('expires_at').execute();

    await db.schema
      .createTable('oidc_keys')
      .addColumn('kid', 'varchar(128)', (c) => c.primaryKey())
      .addColumn('kind', 'varchar(16)', (c) => c.notNull())
      .addColumn('alg', 'varchar(16)')
      .addColumn('jwk', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('retired_at', 'bigint')
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('oidc_keys').execute();
    await db.schema.dropTable('oidc_payloads').execute();
    await db.schema.dropTable('applications').execute();
  },
};
