import type { Kysely, Migration } from 'kysely';

/**
 * A user's own sign-in preferences (Logto's `logtoConfig`, issue 19 item 6): `sign_in_preferences`, one
 * row per user that has set any (JSON text: `mfa.enabled`, `mfa.skipped`, `mfa.skipMfaOnSignIn`,
 * `mfa.additionalBindingSuggestionSkipped`, `passkeySignIn.skipped`). Goes with its user (cascade).
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('sign_in_preferences')
      .addColumn('user_id', 'varchar(64)', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('preferences', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('sign_in_preferences').execute();
  },
};
