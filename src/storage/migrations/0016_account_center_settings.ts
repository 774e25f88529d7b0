import type { Kysely, Migration } from 'kysely';

/**
 * Logto's other account-center settings (issue 19 item 6, logto.md §3): `delete_account_url` (text,
 * nullable: where the account center sends a user who wants to delete their account) and
 * `webauthn_related_origins` (JSON text array of origins that may use this server's passkeys, served at
 * `/.well-known/webauthn`; default `[]`).
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('account_center').addColumn('delete_account_url', 'text').execute();
    await db.schema.alterTable('account_center').addColumn('webauthn_related_origins', 'text', (c) => c.notNull().defaultTo('[]')).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('account_center').dropColumn('webauthn_related_origins').execute();
    await db.schema.alterTable('account_center').dropColumn('delete_account_url').execute();
  },
};
