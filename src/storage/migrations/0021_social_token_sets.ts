import type { Kysely, Migration } from 'kysely';

/**
 * Provider token storage (Logto's "Secret Vault", issue 19): a connector may keep the tokens its identity
 * provider issued at each sign-in or link (`connectors.enable_token_storage`, off by default), so the app can
 * call the provider's APIs for the user (`GET /api/my-account/identities/:target/access-token`).
 * `social_token_sets` holds one sealed set per user and target: `sealed` is the envelope-encrypted access,
 * refresh and ID tokens (domain/social/token-vault.ts), the other columns are what may be shown (scope,
 * token type, expiry in ms since the epoch, whether a refresh token is kept). The row goes with its user and
 * its connector (foreign keys, cascading).
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('connectors').addColumn('enable_token_storage', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema
      .createTable('social_token_sets')
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('target', 'varchar(128)', (c) => c.notNull())
      .addColumn('connector_id', 'varchar(64)', (c) => c.notNull().references('connectors.id').onDelete('cascade'))
      .addColumn('subject', 'varchar(512)', (c) => c.notNull())
      .addColumn('sealed', 'text', (c) => c.notNull())
      .addColumn('scope', 'text')
      .addColumn('token_type', 'varchar(64)')
      .addColumn('expires_at', 'bigint')
      .addColumn('has_refresh_token', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('social_token_sets_pk', ['user_id', 'target'])
      .execute();
    await db.schema.createIndex('social_token_sets_connector_idx').on('social_token_sets').column('connector_id').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('social_token_sets').execute();
    await db.schema.alterTable('connectors').dropColumn('enable_token_storage').execute();
  },
};
