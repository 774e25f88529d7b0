import type { Kysely, Migration } from 'kysely';

/**
 * Social sign-in (issue 7 §1–§3):
 * - `connectors`: the social connectors an admin configured through the Management API —
 *   `(id, type oidc|oauth2, preset github|google|wechat|NULL, target, name, config (JSON text, holds
 *   the client secret, never returned by an API), enabled 0/1, created_at, updated_at)`.
 * - `social_sessions`: one authorization attempt at an identity provider — first-party sign-in
 *   (`sign_in`), the OIDC sign-in page (`interaction`) or an Account API social verification record
 *   (`verification`, its id is the `verificationRecordId`). It keeps the SHA-256 of `state`, the PKCE
 *   verifier and the nonce until the callback, single use (`consumed_at`), expiring (`expires_at`,
 *   10 minutes). A verified `verification` row keeps the external identity it proved (`result`).
 * Identities themselves live in `user_identities` (provider = connector target).
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('connectors')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('type', 'varchar(16)', (c) => c.notNull())
      .addColumn('preset', 'varchar(16)')
      .addColumn('target', 'varchar(128)', (c) => c.notNull())
      .addColumn('name', 'varchar(256)', (c) => c.notNull())
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('social_sessions')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('kind', 'varchar(16)', (c) => c.notNull())
      .addColumn('connector_id', 'varchar(32)', (c) => c.notNull().references('connectors.id').onDelete('cascade'))
      .addColumn('state_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('redirect_uri', 'text', (c) => c.notNull())
      .addColumn('code_verifier', 'varchar(128)', (c) => c.notNull())
      .addColumn('nonce', 'varchar(128)', (c) => c.notNull())
      .addColumn('interaction_uid', 'varchar(128)')
      .addColumn('user_id', 'varchar(64)')
      .addColumn('result', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('verified_at', 'bigint')
      .addColumn('consumed_at', 'bigint')
      .execute();
    await db.schema.createIndex('social_sessions_state_idx').on('social_sessions').column('state_hash').execute();
    await db.schema.createIndex('social_sessions_expires_idx').on('social_sessions').column('expires_at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('social_sessions').execute();
    await db.schema.dropTable('connectors').execute();
  },
};
