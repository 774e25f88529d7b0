import type { Kysely, Migration } from 'kysely';

/**
 * What the SDK surface (issue 6, seed 003) needs beyond the Account API:
 * - `users.password_reset_required` (0/1): the next password sign-in must set a new password first
 *   (Authing's "force password reset on first login");
 * - `password_reset_tokens`: single-use tokens handed out instead of a session to such users,
 *   `(token_hash pk = SHA-256 hex, user_id → users cascade, reason, created_at, expires_at, consumed_at)`;
 * - `password_levels`: the Authing password security level (1–3) of the user's current password,
 *   computed when we last saw it in clear, with the `password_updated_at` it belongs to (so a password
 *   changed elsewhere reads as "not checked");
 * - `custom_fields`: typed custom-field definitions (Authing UDF): `(key pk, type, label, description, …)`;
 * - `captchas`: sign-in captcha challenges `(id pk, answer_hash, ip, created_at, expires_at, consumed_at)`.
 * Times are ms since the epoch (bigint).
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('users').addColumn('password_reset_required', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema
      .createTable('password_reset_tokens')
      .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('reason', 'varchar(16)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('consumed_at', 'bigint')
      .execute();
    await db.schema.createIndex('password_reset_tokens_user_idx').on('password_reset_tokens').column('user_id').execute();
    await db.schema
      .createTable('password_levels')
      .addColumn('user_id', 'varchar(64)', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('level', 'integer', (c) => c.notNull())
      .addColumn('password_updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('custom_fields')
      .addColumn('key', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('type', 'varchar(16)', (c) => c.notNull())
      .addColumn('label', 'varchar(128)')
      .addColumn('description', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('captchas')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('answer_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('ip', 'varchar(64)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('consumed_at', 'bigint')
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('captchas').execute();
    await db.schema.dropTable('custom_fields').execute();
    await db.schema.dropTable('password_levels').execute();
    await db.schema.dropTable('password_reset_tokens').execute();
    await db.schema.alterTable('users').dropColumn('password_reset_required').execute();
  },
};
